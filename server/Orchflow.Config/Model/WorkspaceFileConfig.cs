using Orchflow.Protocol;

namespace Orchflow.Config;

/// <summary>
/// A parsed <c>.orchflow/workspace.json</c>, with every value resolved (sizes in bytes, durations as TimeSpan,
/// enums as C# enums). Nullable members are the ones whose absence matters: the daemon derives them (id, name,
/// root, project type) or falls back to the global config (limits, model memory).
/// </summary>
/// <param name="EnvPassthrough">agents.env_passthrough: variables of the user's environment its agents get; null or empty for none.</param>
public sealed record WorkspaceFileConfig(
    string? Id,
    string? Name,
    string? Root,
    ProjectKind? ProjectType,
    NamespaceConfig Namespace,
    WorkspaceResources Resources,
    ModelsConfig Models,
    SecurityConfig Security,
    IReadOnlyDictionary<string, string> SharedEnv,
    MemoryConfig Memory,
    IReadOnlyDictionary<string, AgentTypeConfig> AgentTypes,
    IReadOnlyList<string>? EnvPassthrough = null);

/// <summary>The terminal and memory namespace of a workspace.</summary>
/// <param name="Prefix">Prefix for terminal and session names; null means the workspace id.</param>
public sealed record NamespaceConfig(string? Prefix, IsolationLevel Isolation);

/// <summary>Per-workspace limits. Null means "use the global default" (or, for memory and CPU, no explicit setting).</summary>
public sealed record WorkspaceResources(
    int? MaxAgents,
    long? MemoryLimitBytes,
    int? CpuShares,
    int? TerminalLimit,
    int? ProcessLimit);

/// <summary>The workspace's neural models block, written <c>models</c> or (as in the spec) <c>ruv_fann</c>.</summary>
/// <param name="MemorySizeBytes">Null means the global <c>orchestration.models.memory_per_workspace</c>.</param>
public sealed record ModelsConfig(IReadOnlyList<string> Models, long? MemorySizeBytes, bool TrainingEnabled);

/// <param name="AllowedCommands">Empty means no command restriction beyond the tier's.</param>
/// <param name="AllowedHosts">Only meaningful with <see cref="NetworkPolicy.Allowlist"/>.</param>
/// <param name="SecretsFile">A dotenv file of secrets, relative to the workspace root; null when there is none.</param>
public sealed record SecurityConfig(
    SecurityTier Tier,
    IReadOnlyList<string> AllowedCommands,
    IReadOnlyList<string> RestrictedPaths,
    NetworkPolicy Network,
    IReadOnlyList<string> AllowedHosts,
    string? SecretsFile = null);

/// <summary>The workspace's shared agent memory store.</summary>
/// <param name="DefaultTtl">Null means entries never expire (only capacity evicts them).</param>
public sealed record MemoryConfig(int CapacityEntries, WhenFull WhenFull, Persistence Persistence, TimeSpan? DefaultTtl);

/// <summary>
/// An agent type: how to start an agent CLI and how to read its terminal. The same shape appears under
/// <c>agents.types.&lt;name&gt;</c> in both files; a workspace's types add to or replace the global ones by name.
/// </summary>
/// <param name="Command">Command line; <c>{task}</c> is replaced by the task text.</param>
/// <param name="NeedsInputPatterns">Regular expressions (.NET syntax) that mean the agent waits for input.</param>
/// <param name="DonePatterns">Regular expressions (.NET syntax) that mean the agent finished.</param>
public sealed record AgentTypeConfig(
    string Name,
    string Command,
    IReadOnlyDictionary<string, string> Env,
    string? Purpose,
    IReadOnlyList<string> NeedsInputPatterns,
    IReadOnlyList<string> DonePatterns);
