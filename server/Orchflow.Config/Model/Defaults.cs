using Orchflow.Protocol;

namespace Orchflow.Config;

/// <summary>
/// Every default value of both config files, in one place. The field tables hand these to the parser (what an
/// absent key resolves to) and to the JSON Schemas (the <c>default</c> shown in editors), and
/// <see cref="GlobalConfig.Default"/> is built from them, so the three cannot disagree.
/// </summary>
/// <remarks>
/// Workspace settings that fall back to a global setting (max_agents, terminal_limit, process_limit,
/// memory_size) have no default here: they stay null in <see cref="WorkspaceFileConfig"/> so the daemon can tell
/// "absent" from "set" and apply the global value.
/// </remarks>
public static class Defaults
{
    // [orchestration]

    /// <summary>
    /// The spec's example sets 5; that is a setting, not a default. 20 comfortably covers the spec's
    /// "10+ active workspaces" goal while still bounding a runaway script that registers folders in a loop.
    /// </summary>
    public const int MaxWorkspaces = 20;

    public const int DefaultAgentLimit = 6;

    /// <summary>Off: the spec requires explicit bridges between workspaces, so crossing them is opt-in.</summary>
    public const bool EnableCrossWorkspace = false;

    // [orchestration.models] (the spec's [orchestration.ruv_fann])
    public const bool NamespaceIsolation = true;
    public const bool SharedModelCache = true;
    public const long MemoryPerWorkspaceBytes = 512L * 1024 * 1024;

    // [orchestration.resources]
    // total_memory_limit has no default: absent means no global memory limit.
    public const CpuAllocationStrategy CpuAllocation = CpuAllocationStrategy.Fair;
    public const int TerminalLimitPerWorkspace = 12;
    public const int ProcessLimitPerWorkspace = 512;

    // [terminals]
    // default_shell has no default: absent means the user's $SHELL.
    public const long ScrollbackBytes = 1024 * 1024;

    // [hibernation]
    public static readonly TimeSpan HibernateIdleAfter = TimeSpan.FromMinutes(30);

    // [daemon]

    /// <summary>
    /// 16 MiB: far above any message Orchflow's clients send (terminal input and memory values are small; the largest are
    /// workspace lists), and low enough that a client cannot make the daemon hold hundreds of megabytes per message.
    /// </summary>
    public const long MaxMessageSizeBytes = 16L * 1024 * 1024;

    /// <summary>Below this, ordinary messages (a workspace list with many workspaces) would be refused.</summary>
    public const long MinMessageSizeBytes = 64L * 1024;

    /// <summary>StreamJsonRpc reads a message's length as an int; 1 GiB keeps well inside it.</summary>
    public const long MaxMessageSizeLimitBytes = 1024L * 1024 * 1024;

    /// <summary>A local client writes a whole message in microseconds; 30 s leaves room for a machine under heavy load.</summary>
    public static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(30);

    // workspace.json

    /// <summary>The kernel's own default weight (cgroup v1 cpu.shares), so an unconfigured workspace is neutral.</summary>
    public const int CpuShares = 1024;

    public const IsolationLevel Isolation = IsolationLevel.Standard;
    public const SecurityTier Tier = SecurityTier.Standard;
    public const NetworkPolicy Network = NetworkPolicy.Full;
    public const bool TrainingEnabled = false;
    public const int MemoryCapacityEntries = 10_000;
    public const WhenFull MemoryWhenFull = WhenFull.EvictLru;
    public const Persistence MemoryPersistence = Persistence.Disk;
    // memory.default_ttl has no default: absent means entries do not expire (eviction is by capacity).
}
