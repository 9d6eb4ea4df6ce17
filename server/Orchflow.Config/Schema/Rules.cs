using System.Text.RegularExpressions;

namespace Orchflow.Config;

/// <summary>String rules shared by both files. Patterns are ECMAScript-compatible since the schemas carry them verbatim.</summary>
internal static class Rules
{
    /// <summary>Ids end up in terminal names, memory namespaces and cgroup names, so they follow DNS label rules.</summary>
    public static readonly StringRule Slug = new(
        "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        "is not a valid id: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit");

    public static readonly StringRule AbsolutePath = new("^/", "must be an absolute path");

    public static readonly StringRule RelativePath = new(
        "^(?!/)(?!\\.\\.(/|$))(?!.*/\\.\\.(/|$)).+$",
        "must be a path relative to the workspace root, without '..'");

    /// <summary>A relative path like "bin/tool" would depend on the agent's cwd, which is exactly what an allow list must not.</summary>
    public static readonly StringRule Command = new(
        "^(/.*|[^/\\s]+)$",
        "must be a command name without '/' (looked up on PATH) or an absolute path");

    public static readonly StringRule EnvName = new(
        NamePatterns.EnvironmentVariable,
        "is not a valid environment variable name (letters, digits and '_', not starting with a digit)");

    public static readonly StringRule NotReservedEnv = new(
        "^(?!" + NamePatterns.ReservedEnvPrefix + ")",
        "is reserved: variables starting with ORCHFLOW_ are set by orchflow itself");

    public static readonly StringRule Host = new(
        "^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?(/[0-9]{1,3})?$",
        "is not a host name, '*.domain' wildcard or IPv4 address (optionally with :port or /prefix)");

    public static readonly StringRule ModelName = new(
        "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        "is not a valid model name: use up to 64 letters, digits, '_', '.' and '-'");

    public static readonly StringRule AgentTypeName = new(
        NamePatterns.AgentType,
        "is not a valid agent type name: use up to 64 letters, digits, '_' and '-'");

    public static readonly IReadOnlyList<StringRule> EnvKey = [EnvName, NotReservedEnv];

    /// <summary>Agent output patterns are compiled by .NET, so that is the syntax that must be accepted.</summary>
    public static string? ValidRegex(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException e)
        {
            return "is not a valid regular expression: " + e.Message;
        }
    }
}

/// <summary>The <c>agents</c> block, identical in workspace.json and orchflow.toml.</summary>
internal static class AgentFields
{
    public static readonly StringField Command = new("command",
        "Command line that starts the agent CLI in the workspace root. {task} is replaced by the task text.")
    { Required = true };

    public static readonly MapField<string> Env = new("env",
        "Extra environment variables for agents of this type, on top of the workspace's shared_env.",
        Rules.EnvKey,
        new StringField("", "") { MinLength = 0, MaxLength = 32768 },
        " of strings");

    public static readonly StringField Purpose = new("purpose",
        "What this agent type is for, shown when choosing an agent.")
    { MaxLength = 200 };

    public static readonly StringListField NeedsInputPatterns = new("needs_input_patterns",
        "Regular expressions (.NET syntax) matched against the agent's latest terminal output; a match means the agent is waiting for input.",
        new StringField("", "") { Check = Rules.ValidRegex, SchemaFormat = "regex" });

    public static readonly StringListField DonePatterns = new("done_patterns",
        "Regular expressions (.NET syntax) matched against the agent's latest terminal output; a match means the agent has finished its task.",
        new StringField("", "") { Check = Rules.ValidRegex, SchemaFormat = "regex" });

    public static readonly ObjectField Type = new("", "An agent type.",
        Command, Env, Purpose, NeedsInputPatterns, DonePatterns);

    public static readonly MapField<Section> Types = new("types",
        "Agent types by name. A workspace's types add to the global ones and replace a global type of the same name.",
        [Rules.AgentTypeName], Type, "");

    public static readonly ObjectField Agents = new("agents", "Agent CLIs orchflow can start.", Types);

    public static IReadOnlyDictionary<string, AgentTypeConfig> Build(Section agents) =>
        agents.Get(Types).ToDictionary(
            e => e.Key,
            e => new AgentTypeConfig(
                e.Key,
                e.Value.Get(Command),
                e.Value.Get(Env),
                e.Value.GetRefOrNull(Purpose),
                e.Value.Get(NeedsInputPatterns),
                e.Value.Get(DonePatterns)),
            StringComparer.Ordinal).AsReadOnly();
}

/// <summary>Ranges shared by a workspace setting and the global default it falls back to.</summary>
internal static class Ranges
{
    public const int AgentsMin = 1;
    public const int AgentsMax = 256;
    public const int TerminalsMin = 1;
    public const int TerminalsMax = 1000;
    public const int ProcessesMin = 1;
    public const int ProcessesMax = 100_000;

    /// <summary>A memory limit below this cannot run an agent CLI at all, so it is certainly a typo ("4KB" for "4GB").</summary>
    public const long MemoryMin = 1024 * 1024;
}

/// <summary>What a setting that is accepted but not yet used waits for (<see cref="Field.NotYetUsed"/>).</summary>
internal static class NotYetUsedReason
{
    public const string Bridges = "bridges between workspaces are not built yet, so nothing crosses between workspaces whatever it says";

    public const string Models = "per-workspace models are not built yet, so no model is loaded or trained";
}
