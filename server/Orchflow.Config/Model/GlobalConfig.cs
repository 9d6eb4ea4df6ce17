namespace Orchflow.Config;

/// <summary>
/// The parsed global <c>orchflow.toml</c>. Unlike the workspace file, everything here is resolved against
/// <see cref="Defaults"/> since there is no further level to fall back to; the only nulls mean "no limit" or
/// "off".
/// </summary>
public sealed record GlobalConfig(
    OrchestrationConfig Orchestration,
    TerminalsConfig Terminals,
    IReadOnlyDictionary<string, AgentTypeConfig> AgentTypes,
    HibernationConfig Hibernation,
    DaemonConfig Daemon)
{
    /// <summary>The configuration in force when there is no orchflow.toml, built by the same code that parses one.</summary>
    public static GlobalConfig Default { get; } = GlobalConfigLoader.Parse(string.Empty, GlobalConfigLoader.FileName).Value
        ?? throw new InvalidOperationException("The empty global config must be valid.");
}

public sealed record OrchestrationConfig(
    int MaxWorkspaces,
    int DefaultAgentLimit,
    bool EnableCrossWorkspace,
    GlobalModelsConfig Models,
    GlobalResourcesConfig Resources);

/// <summary>The spec's <c>[orchestration.ruv_fann]</c>, also accepted as <c>[orchestration.models]</c>.</summary>
public sealed record GlobalModelsConfig(bool NamespaceIsolation, bool SharedModelCache, long MemoryPerWorkspaceBytes);

/// <param name="TotalMemoryLimitBytes">Null means no limit across all workspaces.</param>
public sealed record GlobalResourcesConfig(
    long? TotalMemoryLimitBytes,
    CpuAllocationStrategy CpuAllocationStrategy,
    int TerminalLimitPerWorkspace,
    int ProcessLimitPerWorkspace);

/// <param name="DefaultShell">Absolute path of the shell for new terminals; null means the user's $SHELL.</param>
public sealed record TerminalsConfig(long ScrollbackBytes, string? DefaultShell);

/// <param name="IdleAfter">How long a workspace may sit idle before it is hibernated; null means never ("off").</param>
public sealed record HibernationConfig(TimeSpan? IdleAfter);

/// <param name="MaxMessageSizeBytes">The largest JSON-RPC message (its Content-Length) a client may send.</param>
/// <param name="FrameTimeout">How long a started message (first header byte to last body byte) may take to arrive.</param>
public sealed record DaemonConfig(long MaxMessageSizeBytes, TimeSpan FrameTimeout);
