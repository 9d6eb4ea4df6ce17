using Orchflow.Protocol;

namespace Orchflow.Config;

/// <summary>
/// The field table of <c>.orchflow/workspace.json</c>: every key, what it accepts, its description and
/// default. The loader validates with it and <see cref="ConfigSchemas.WorkspaceSchemaJson"/> renders it.
/// Declaration order is the order of the schema's properties (static fields initialize top to bottom, so
/// each object is declared after its fields).
/// </summary>
internal static class WorkspaceFields
{
    public static readonly StringField Schema = new("$schema",
        "The JSON Schema of this file, for editor completion and hover docs. Ignored by orchflow.");

    public static readonly StringField Id = new("id",
        "Stable id of the workspace: 1-63 lowercase letters, digits and '-'. Defaults to one derived from the folder name.")
    { Rules = [Rules.Slug], MaxLength = 63 };

    public static readonly StringField Name = new("name",
        "Display name of the workspace. Defaults to the folder name.")
    { MaxLength = 200 };

    public static readonly StringField RootPath = new("root",
        "Absolute path of the project folder. Defaults to the folder that contains .orchflow/.")
    { Rules = [Rules.AbsolutePath] };

    public static readonly EnumField<ProjectKind> Type = new("type",
        "Kind of project, used to pick agent defaults. Detected from the files in the root when absent.",
        new("rust", ProjectKind.Rust, "Rust (Cargo.toml)."),
        new("node", ProjectKind.Node, "JavaScript or TypeScript (package.json)."),
        new("python", ProjectKind.Python, "Python (pyproject.toml, requirements.txt)."),
        new("dotnet", ProjectKind.Dotnet, ".NET (*.sln, *.csproj)."),
        new("go", ProjectKind.Go, "Go (go.mod)."),
        new("java", ProjectKind.Java, "Java or Kotlin (pom.xml, build.gradle)."),
        new("mixed", ProjectKind.Mixed, "Several of the above."),
        new("unknown", ProjectKind.Unknown, "None of the above."));

    // namespace
    public static readonly StringField Prefix = new("prefix",
        "Prefix of terminal, session and memory names of this workspace. Defaults to the workspace id.")
    { Rules = [Rules.Slug], MaxLength = 63 };

    public static readonly EnumField<IsolationLevel> Isolation = new("isolation",
        "How strictly this workspace's terminals, agents and memory are kept apart from other workspaces.",
        new("none", IsolationLevel.None, "Shared: other workspaces can see this workspace's sessions and memory."),
        new("standard", IsolationLevel.Standard, "Separate sessions and memory; crossing workspaces needs an explicit bridge."),
        new("strict", IsolationLevel.Strict, "As standard, and bridges to this workspace are refused."))
    { Default = Defaults.Isolation, NotYetUsed = NotYetUsedReason.Bridges };

    public static readonly ObjectField Namespace = new("namespace",
        "Naming and isolation of the workspace's terminals, agents and memory.",
        Prefix, Isolation);

    // resources
    public static readonly IntField MaxAgents = new("max_agents", Ranges.AgentsMin, Ranges.AgentsMax,
        "Most agents that may run at once in this workspace. Defaults to orchestration.default_agent_limit of the global orchflow.toml.")
    { SchemaDefault = Defaults.DefaultAgentLimit };

    public static readonly SizeField MemoryLimit = new("memory_limit", Ranges.MemoryMin,
        "Memory limit for all processes of this workspace together, e.g. \"4GB\". No limit when absent. " + ByteSize.Explanation);

    public static readonly IntField CpuShares = new("cpu_shares", 2, 262_144,
        "Relative CPU weight of this workspace's processes (cgroup cpu.shares); 1024 is the normal weight.")
    { SchemaDefault = Defaults.CpuShares };

    public static readonly IntField TerminalLimit = new("terminal_limit", Ranges.TerminalsMin, Ranges.TerminalsMax,
        "Most terminals open at once in this workspace. Defaults to orchestration.resources.terminal_limit_per_workspace of the global orchflow.toml.")
    { SchemaDefault = Defaults.TerminalLimitPerWorkspace };

    public static readonly IntField ProcessLimit = new("process_limit", Ranges.ProcessesMin, Ranges.ProcessesMax,
        "Most processes at once in this workspace (cgroup pids.max). Defaults to orchestration.resources.process_limit_per_workspace of the global orchflow.toml.")
    { SchemaDefault = Defaults.ProcessLimitPerWorkspace };

    public static readonly ObjectField Resources = new("resources",
        "Resource limits of this workspace.",
        MaxAgents, MemoryLimit, CpuShares, TerminalLimit, ProcessLimit);

    // models (the spec's ruv_fann)
    public static readonly StringListField ModelList = new("models",
        "Names of the neural models this workspace uses.",
        new StringField("", "") { Rules = [Rules.ModelName], MaxLength = 64 })
    { MaxItems = 64, NotYetUsed = NotYetUsedReason.Models };

    public static readonly SizeField MemorySize = new("memory_size", Ranges.MemoryMin,
        "Memory for this workspace's models, and the byte capacity of its shared agent memory (keys, values and tags of the memory segment), e.g. \"512MB\". Defaults to orchestration.models.memory_per_workspace of the global orchflow.toml. " + ByteSize.Explanation);

    public static readonly BoolField TrainingEnabled = new("training_enabled",
        "Whether the models may keep learning from this workspace's activity.")
    { Default = Defaults.TrainingEnabled, NotYetUsed = NotYetUsedReason.Models };

    public static readonly ObjectField Models = new("models",
        "Neural models (ruv-FANN) of this workspace.",
        ModelList, MemorySize, TrainingEnabled)
    { Alias = "ruv_fann" };

    // security
    public static readonly EnumField<SecurityTier> Tier = new("tier",
        "Security tier of the workspace's agents and terminals.",
        new("standard", SecurityTier.Standard, "Built environment, working directory inside the root, per-workspace secrets; no operating-system sandbox."),
        new("enhanced", SecurityTier.Enhanced, "Also allowed_commands for every command Orchflow launches, and restricted_paths hidden from the workspace's processes (bubblewrap)."),
        new("strict", SecurityTier.Strict, "Also an operating-system sandbox (bubblewrap): only the root writable, other workspaces and Orchflow's files hidden, own processes and terminals only, and the network policy applied."))
    { Default = Defaults.Tier };

    public static readonly StringListField AllowedCommands = new("allowed_commands",
        "Commands Orchflow may launch in this workspace (agents, --cmd terminals, each command of a command line) from tier enhanced: names looked up on PATH (\"cargo\") or absolute paths. Empty means no restriction.",
        new StringField("", "") { Rules = [Rules.Command] });

    public static readonly StringListField RestrictedPaths = new("restricted_paths",
        "Absolute paths that agents and terminals of this workspace may not access (from tier enhanced).",
        new StringField("", "") { Rules = [Rules.AbsolutePath] });

    public static readonly EnumField<NetworkPolicy> Network = new("network",
        "Network access of the workspace's processes; applied at tier strict.",
        new("full", NetworkPolicy.Full, "Unrestricted network access."),
        new("none", NetworkPolicy.None, "No network access."),
        new("allowlist", NetworkPolicy.Allowlist, "Only the hosts in allowed_hosts."))
    { Default = Defaults.Network };

    public static readonly StringListField AllowedHosts = new("allowed_hosts",
        "Hosts reachable when network is \"allowlist\": host names, \"*.example.com\" wildcards or IPv4 addresses, each optionally with :port.",
        new StringField("", "") { Rules = [Rules.Host], MaxLength = 253 });

    public static readonly StringField SecretsFile = new("secrets_file",
        "A file of secrets inside the workspace root, one NAME=value per line (dotenv), e.g. \".orchflow/secrets.env\". They are injected into this workspace's processes only, like those set with `orchflow secret set`, which override them.")
    { Rules = [Rules.RelativePath] };

    public static readonly ObjectField Security = new("security",
        "What the workspace's agents and terminals may do.",
        Tier, AllowedCommands, RestrictedPaths, Network, AllowedHosts, SecretsFile)
    {
        // Each setting alone is valid; together they can silently mean something other than intended.
        CrossCheck = (section, ctx, path) =>
        {
            var network = section.Get(Network);
            if (section.Has(AllowedHosts) && network != NetworkPolicy.Allowlist)
            {
                ctx.Warning(section.KeyPosition(AllowedHosts), path,
                    $"allowed_hosts has no effect unless network is \"allowlist\" (it is \"{Network.NameOf(network)}\")");
            }
            else if (network == NetworkPolicy.Allowlist && section.Get(AllowedHosts).Count == 0)
            {
                ctx.Warning(section.ValuePosition(Network), path,
                    "network \"allowlist\" without allowed_hosts blocks all network access");
            }
        },
    };

    public static readonly MapField<string> SharedEnv = new("shared_env",
        "Environment variables set in every terminal and agent of this workspace. Names starting with ORCHFLOW_ are reserved.",
        Rules.EnvKey,
        new StringField("", "") { MinLength = 0, MaxLength = 32768 },
        " of strings");

    // memory
    public static readonly IntField CapacityEntries = new("capacity_entries", 1, 10_000_000,
        "Most entries the workspace's shared agent memory holds.")
    { Default = Defaults.MemoryCapacityEntries };

    public static readonly EnumField<WhenFull> WhenFull = new("when_full",
        "What happens when the memory is at capacity_entries.",
        new("evict_lru", Config.WhenFull.EvictLru, "Drop the least recently used entries to make room."),
        new("refuse", Config.WhenFull.Refuse, "Reject new entries until some are deleted or expire."))
    { Default = Defaults.MemoryWhenFull };

    public static readonly EnumField<Persistence> Persistence = new("persistence",
        "Where the memory is kept.",
        new("disk", Config.Persistence.Disk, "On disk, surviving daemon restarts."),
        new("memory", Config.Persistence.Memory, "In memory only; lost when the daemon stops."))
    { Default = Defaults.MemoryPersistence };

    public static readonly DurationField DefaultTtl = new("default_ttl",
        "How long an entry lives unless it sets its own expiry, e.g. \"7d\". Entries do not expire when absent.");

    public static readonly ObjectField Memory = new("memory",
        "The workspace's shared agent memory: one segment of its own (a LiteDB file under Orchflow's data directory), which its agents reach through Orchflow's MCP server and people through `orchflow memory`. Its byte capacity is models.memory_size.",
        CapacityEntries, WhenFull, Persistence, DefaultTtl);

    public static readonly StringListField EnvPassthrough = new("env_passthrough",
        "Variables of the user's own environment (the daemon's) that agents of this workspace get, e.g. [\"ANTHROPIC_API_KEY\"]. "
        + "A vendor's variables (ANTHROPIC_* and CLAUDE_*, OPENAI_* and CODEX_*, GEMINI_* and GOOGLE_*) reach only that vendor's agents; "
        + "other names reach every agent of the workspace. Terminals and other workspaces never get them.",
        new StringField("", "") { Rules = Rules.EnvKey })
    { MaxItems = 100 };

    /// <summary>The workspace's agents block: the agent types, and what of the user's environment its agents get.</summary>
    public static readonly ObjectField Agents = new("agents", "Agent CLIs orchflow can start, and what of the user's environment they get in this workspace.",
        AgentFields.Types, EnvPassthrough);

    public static readonly ObjectField Workspace = new("workspace",
        "Settings of this workspace. Every key is optional.",
        Id, Name, RootPath, Type, Namespace, Resources, Models, Security, SharedEnv, Memory, Agents)
    { Required = true };

    public static readonly ObjectField Document = new("",
        "Orchflow workspace settings for the project this .orchflow folder is in.",
        Schema, Workspace);

    public static WorkspaceFileConfig Build(Section ws)
    {
        var ns = ws.Get(Namespace);
        var resources = ws.Get(Resources);
        var models = ws.Get(Models);
        var security = ws.Get(Security);
        var memory = ws.Get(Memory);
        return new WorkspaceFileConfig(
            Id: ws.GetRefOrNull(Id),
            Name: ws.GetRefOrNull(Name),
            Root: ws.GetRefOrNull(RootPath),
            ProjectType: ws.GetValueOrNull(Type),
            Namespace: new NamespaceConfig(ns.GetRefOrNull(Prefix), ns.Get(Isolation)),
            Resources: new WorkspaceResources(
                resources.GetValueOrNull(MaxAgents),
                resources.GetValueOrNull(MemoryLimit),
                resources.GetValueOrNull(CpuShares),
                resources.GetValueOrNull(TerminalLimit),
                resources.GetValueOrNull(ProcessLimit)),
            Models: new ModelsConfig(models.Get(ModelList), models.GetValueOrNull(MemorySize), models.Get(TrainingEnabled)),
            Security: new SecurityConfig(
                security.Get(Tier),
                security.Get(AllowedCommands),
                security.Get(RestrictedPaths),
                security.Get(Network),
                security.Get(AllowedHosts),
                security.GetRefOrNull(SecretsFile)),
            SharedEnv: ws.Get(SharedEnv),
            Memory: new MemoryConfig(memory.Get(CapacityEntries), memory.Get(WhenFull), memory.Get(Persistence), memory.GetValueOrNull(DefaultTtl)),
            AgentTypes: AgentFields.Build(ws.Get(Agents)),
            EnvPassthrough: ws.Get(Agents).Get(EnvPassthrough));
    }
}
