namespace Orchflow.Config;

/// <summary>
/// The field table of the global <c>orchflow.toml</c>; see <see cref="WorkspaceFields"/> for how it is used.
/// Every setting here has a default (from <see cref="Defaults"/>) unless absence means "no limit" or "$SHELL".
/// </summary>
internal static class GlobalFields
{
    // [orchestration]
    public static readonly IntField MaxWorkspaces = new("max_workspaces", 1, 256,
        "Most workspaces registered at once.")
    { Default = Defaults.MaxWorkspaces };

    public static readonly IntField DefaultAgentLimit = new("default_agent_limit", Ranges.AgentsMin, Ranges.AgentsMax,
        "Most agents at once in a workspace whose workspace.json does not set resources.max_agents.")
    { Default = Defaults.DefaultAgentLimit };

    public static readonly BoolField EnableCrossWorkspace = new("enable_cross_workspace",
        "Whether bridges between workspaces (messages, shared resources) may be created at all.")
    { Default = Defaults.EnableCrossWorkspace, NotYetUsed = NotYetUsedReason.Bridges };

    // [orchestration.models]
    public static readonly BoolField NamespaceIsolation = new("namespace_isolation",
        "Keep each workspace's model state in its own namespace.")
    { Default = Defaults.NamespaceIsolation, NotYetUsed = NotYetUsedReason.Models };

    public static readonly BoolField SharedModelCache = new("shared_model_cache",
        "Load a model once and share the weights between workspaces that use it.")
    { Default = Defaults.SharedModelCache, NotYetUsed = NotYetUsedReason.Models };

    public static readonly SizeField MemoryPerWorkspace = new("memory_per_workspace", Ranges.MemoryMin,
        "Model memory of a workspace whose workspace.json does not set models.memory_size. " + ByteSize.Explanation)
    { Default = Defaults.MemoryPerWorkspaceBytes };

    public static readonly ObjectField Models = new("models",
        "Neural models (ruv-FANN) across workspaces.",
        NamespaceIsolation, SharedModelCache, MemoryPerWorkspace)
    { Alias = "ruv_fann" };

    // [orchestration.resources]
    public static readonly SizeField TotalMemoryLimit = new("total_memory_limit", Ranges.MemoryMin,
        "Memory limit for all workspaces together, e.g. \"16GB\". No limit when absent. " + ByteSize.Explanation);

    public static readonly EnumField<CpuAllocationStrategy> CpuAllocation = new("cpu_allocation_strategy",
        "How CPU time is divided between workspaces.",
        new("fair", CpuAllocationStrategy.Fair, "In proportion to each workspace's cpu_shares."),
        new("equal", CpuAllocationStrategy.Equal, "The same share for every active workspace, ignoring cpu_shares."),
        new("none", CpuAllocationStrategy.None, "Not managed; the operating system's scheduler decides."))
    { Default = Defaults.CpuAllocation };

    public static readonly IntField TerminalLimitPerWorkspace = new("terminal_limit_per_workspace", Ranges.TerminalsMin, Ranges.TerminalsMax,
        "Most terminals at once in a workspace whose workspace.json does not set resources.terminal_limit.")
    { Default = Defaults.TerminalLimitPerWorkspace };

    public static readonly IntField ProcessLimitPerWorkspace = new("process_limit_per_workspace", Ranges.ProcessesMin, Ranges.ProcessesMax,
        "Most processes at once in a workspace whose workspace.json does not set resources.process_limit.")
    { Default = Defaults.ProcessLimitPerWorkspace };

    public static readonly ObjectField Resources = new("resources",
        "Resource limits across workspaces, and per-workspace defaults.",
        TotalMemoryLimit, CpuAllocation, TerminalLimitPerWorkspace, ProcessLimitPerWorkspace);

    public static readonly ObjectField Orchestration = new("orchestration",
        "Limits and features across all workspaces.",
        MaxWorkspaces, DefaultAgentLimit, EnableCrossWorkspace, Models, Resources);

    // [terminals]
    public static readonly SizeField Scrollback = new("scrollback_bytes", 0,
        "Output kept per terminal for scrollback and for clients that attach later. " + ByteSize.Explanation)
    { Default = Defaults.ScrollbackBytes, Max = 1024L * 1024 * 1024 };

    public static readonly StringField DefaultShell = new("default_shell",
        "Absolute path of the shell new terminals run. Defaults to the user's $SHELL.")
    { Rules = [Rules.AbsolutePath] };

    public static readonly ObjectField Terminals = new("terminals",
        "Terminal settings.",
        Scrollback, DefaultShell);

    // [hibernation]
    public static readonly DurationField IdleAfter = new("idle_after",
        "How long a workspace may be idle (no attached client, no running agent) before it is hibernated, e.g. \"30m\"; \"off\" never hibernates.")
    { Default = Defaults.HibernateIdleAfter, AllowOff = true, Min = TimeSpan.FromMinutes(1) };

    public static readonly ObjectField Hibernation = new("hibernation",
        "Hibernation of idle workspaces.",
        IdleAfter);

    // [daemon]
    public static readonly SizeField MaxMessageSize = new("max_message_size", Defaults.MinMessageSizeBytes,
        "Largest JSON-RPC message a client may send the daemon, e.g. \"16MB\"; a larger one is refused with an error and its connection closed, before its body is read. " + ByteSize.Explanation)
    { Default = Defaults.MaxMessageSizeBytes, Max = Defaults.MaxMessageSizeLimitBytes };

    public static readonly DurationField FrameTimeout = new("frame_timeout",
        "How long a client may take to send the rest of a message it has started (headers and body), e.g. \"30s\"; a connection that stalls mid-message is closed. An idle connection between messages is never closed.")
    { Default = Defaults.FrameTimeout, Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromHours(1) };

    public static readonly ObjectField Daemon = new("daemon",
        "The daemon's connections.",
        MaxMessageSize, FrameTimeout);

    public static readonly ObjectField Document = new("",
        "Global orchflow settings (orchflow.toml).",
        Orchestration, Terminals, AgentFields.Agents, Hibernation, Daemon);

    public static GlobalConfig Build(Section root)
    {
        var orchestration = root.Get(Orchestration);
        var models = orchestration.Get(Models);
        var resources = orchestration.Get(Resources);
        var terminals = root.Get(Terminals);
        var idleAfter = root.Get(Hibernation).Get(IdleAfter);
        var daemon = root.Get(Daemon);
        return new GlobalConfig(
            new OrchestrationConfig(
                orchestration.Get(MaxWorkspaces),
                orchestration.Get(DefaultAgentLimit),
                orchestration.Get(EnableCrossWorkspace),
                new GlobalModelsConfig(models.Get(NamespaceIsolation), models.Get(SharedModelCache), models.Get(MemoryPerWorkspace)),
                new GlobalResourcesConfig(
                    resources.GetValueOrNull(TotalMemoryLimit),
                    resources.Get(CpuAllocation),
                    resources.Get(TerminalLimitPerWorkspace),
                    resources.Get(ProcessLimitPerWorkspace))),
            new TerminalsConfig(terminals.Get(Scrollback), terminals.GetRefOrNull(DefaultShell)),
            AgentFields.Build(root.Get(AgentFields.Agents)),
            new HibernationConfig(idleAfter == DurationField.Off ? null : idleAfter),
            new DaemonConfig(daemon.Get(MaxMessageSize), daemon.Get(FrameTimeout)));
    }
}
