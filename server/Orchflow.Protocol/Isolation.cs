namespace Orchflow.Protocol;

/// <summary>How a workspace's processes are confined by the operating system.</summary>
public enum IsolationMechanism
{
    /// <summary>No operating-system sandbox: only the daemon's own checks (environment, cwd, allowed_commands at launch).</summary>
    None,

    /// <summary>bubblewrap (<c>bwrap</c>): mount, PID, IPC, UTS, cgroup, user and (for network "none") network namespaces.</summary>
    Bubblewrap,

    /// <summary>
    /// Landlock, where bubblewrap cannot run: file-system access rules, TCP rules and signal scoping applied by the
    /// kernel to the process tree; no namespaces (see each workspace's features for what that leaves).
    /// </summary>
    Landlock,
}

/// <summary>One promise of a security tier, and whether it is kept for this workspace on this machine.</summary>
public sealed record IsolationFeature
{
    /// <summary>
    /// What is promised: <c>environment</c>, <c>cwd</c>, <c>secrets</c>, <c>allowed_commands</c>, <c>restricted_paths</c>,
    /// <c>filesystem</c>, <c>processes</c>, <c>terminals</c>, <c>network</c>.
    /// </summary>
    public required string Name { get; init; }

    /// <summary>True when the promise is kept; false when it was requested (or belongs to the tier) and is not.</summary>
    public required bool Enforced { get; init; }

    /// <summary>How it is kept, or why it is not.</summary>
    public required string Detail { get; init; }
}

/// <summary>
/// The isolation a workspace actually has on this machine, as opposed to the tier its config asks for.
/// Clients show <see cref="Summary"/> as is; it never claims more than <see cref="Features"/> say is enforced.
/// </summary>
public sealed record WorkspaceIsolation
{
    /// <summary>security.tier of the workspace's config.</summary>
    public required SecurityTier RequestedTier { get; init; }

    /// <summary>The highest tier whose every promise is kept. Standard is always kept: the daemon keeps it alone.</summary>
    public required SecurityTier EnforcedTier { get; init; }

    /// <summary>The operating-system mechanism in use for this workspace's processes.</summary>
    public required IsolationMechanism Mechanism { get; init; }

    /// <summary>One line, e.g. "strict: enforced by bubblewrap 0.8.0" or "strict requested: NOT enforced, bubblewrap unavailable (…)".</summary>
    public required string Summary { get; init; }

    /// <summary>Why the enforced tier is below the requested one, and what even the enforced tier does not cover.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }

    /// <summary>Every promise of the requested tier, each enforced or not.</summary>
    public required IReadOnlyList<IsolationFeature> Features { get; init; }
}

/// <summary>What this machine offers for isolation and limits, measured when the daemon started.</summary>
public sealed record HostIsolation
{
    /// <summary>True when a trial sandbox ran: bubblewrap is installed and allowed to create namespaces here.</summary>
    public required bool BubblewrapAvailable { get; init; }

    /// <summary>The program found, e.g. /usr/bin/bwrap, or null.</summary>
    public string? BubblewrapPath { get; init; }

    /// <summary>e.g. "0.8.0".</summary>
    public string? BubblewrapVersion { get; init; }

    /// <summary>Why bubblewrap is unavailable, when it is.</summary>
    public string? BubblewrapProblem { get; init; }

    /// <summary>The Landlock ABI version the kernel reports, or null when Landlock is unavailable.</summary>
    public int? LandlockAbi { get; init; }

    /// <summary>True when a trial run of Orchflow's Landlock launcher confined a process here (the fallback sandbox).</summary>
    public bool LandlockAvailable { get; init; }

    /// <summary>Orchflow's Landlock launcher (orchflow-landlock, next to the daemon), or null when it is missing.</summary>
    public string? LandlockLauncher { get; init; }

    /// <summary>Why the Landlock fallback is unavailable, when it is.</summary>
    public string? LandlockProblem { get; init; }

    /// <summary>Orchflow's network relay (orchflow-netproxy, next to the daemon), which lets strict workspaces use an allow-list; null when missing.</summary>
    public string? NetworkRelay { get; init; }

    /// <summary>dev.tty.legacy_tiocsti: when true, a process holding a terminal can push input into it (TIOCSTI).</summary>
    public bool? LegacyTiocsti { get; init; }

    /// <summary>"v1", "v2" or "none": the control groups Orchflow uses for limits and hibernation.</summary>
    public string? Cgroups { get; init; }

    /// <summary>What the control groups are, or why none is used (then the daemon's watchdog enforces limits).</summary>
    public string? CgroupsDetail { get; init; }
}

public enum AuditKind
{
    /// <summary>Orchflow refused to launch something (a command outside allowed_commands, for example).</summary>
    Refused,

    /// <summary>The sandbox or a limit stopped something the workspace attempted.</summary>
    Denied,

    /// <summary>A process started with less isolation than the workspace's tier asks for, because this machine cannot enforce it.</summary>
    NotEnforced,

    /// <summary>The workspace's security policy changed (its config file was edited).</summary>
    PolicyChanged,

    /// <summary>A secret was set or removed (its value is never recorded).</summary>
    Secret,

    /// <summary>A resource limit acted: an agent paused or stopped, a workspace suspended or resumed.</summary>
    Limit,
}

/// <summary>One line of a workspace's audit log.</summary>
public sealed record AuditEntry
{
    public required DateTimeOffset At { get; init; }
    public required string WorkspaceId { get; init; }
    public required AuditKind Kind { get; init; }

    /// <summary>What happened, in a sentence a user can act on.</summary>
    public required string Message { get; init; }

    /// <summary>The rule that decided, e.g. "security.allowed_commands", when there is one.</summary>
    public string? Rule { get; init; }

    /// <summary>The terminal or agent concerned, when there is one.</summary>
    public string? Subject { get; init; }
}

public sealed record WorkspaceAuditParams
{
    /// <summary>A workspace id, name or root path.</summary>
    public required string Id { get; init; }

    /// <summary>Only the newest entries, at most this many (default 100).</summary>
    public int? Limit { get; init; }
}

public sealed record WorkspaceAuditResult
{
    /// <summary>Oldest first.</summary>
    public required IReadOnlyList<AuditEntry> Entries { get; init; }

    /// <summary>The file the log is kept in (JSON lines, outside every workspace root).</summary>
    public required string Path { get; init; }
}

public enum NoticeLevel
{
    Info,
    Warning,
    Error,
}

/// <summary>What a <see cref="WorkspaceNotice"/> reports, so that a client can offer the action that fits (resume, show the agent).</summary>
public enum NoticeKind
{
    /// <summary>The workspace was suspended (by a client, or by hibernation.idle_after: "idle").</summary>
    Suspended,

    /// <summary>The workspace was resumed (by a client, or woken by input to one of its terminals).</summary>
    Resumed,

    /// <summary>Above the soft memory limit: the workspace's newest running agent (<see cref="WorkspaceNotice.AgentId"/>) was paused.</summary>
    AgentPaused,

    /// <summary>Above the soft memory limit with no running agent to pause.</summary>
    SoftLimit,

    /// <summary>At a hard limit (watchdog): the agent or terminal that pushed the workspace over was stopped.</summary>
    Stopped,

    /// <summary>The kernel killed processes of the workspace at its memory limit.</summary>
    OutOfMemory,

    /// <summary>The workspace reached its process limit: forks were refused.</summary>
    ForkRefused,

    /// <summary>
    /// At start: a daemon of this home that did not stop cleanly (kill -9, a crash) left processes in the workspace's
    /// control group, frozen by a suspension or not; they were thawed and killed, and the group removed.
    /// </summary>
    Recovered,
}

/// <summary>Server to every client: something happened to a workspace that its user should know, and why (a limit acted, it was suspended).</summary>
public sealed record WorkspaceNotice
{
    public required string WorkspaceId { get; init; }
    public required NoticeKind Kind { get; init; }
    public required NoticeLevel Level { get; init; }
    public required string Message { get; init; }

    /// <summary>The agent concerned (paused or stopped), when there is one.</summary>
    public string? AgentId { get; init; }

    /// <summary>The terminal concerned (stopped), when there is one.</summary>
    public string? TerminalId { get; init; }

    /// <summary>The setting that acted, e.g. "resources.memory_limit".</summary>
    public string? Rule { get; init; }

    public required DateTimeOffset At { get; init; }
}

/// <summary>A suspended (hibernating) workspace: its processes stopped, resumable exactly where they were.</summary>
public sealed record WorkspaceHibernation
{
    public required DateTimeOffset Since { get; init; }

    /// <summary>Who suspended it: a client's name, or "idle" when hibernation.idle_after did.</summary>
    public required string By { get; init; }

    /// <summary>How its processes are stopped: "cgroup freezer" or "SIGSTOP".</summary>
    public required string Mechanism { get; init; }

    /// <summary>Processes stopped when it was suspended.</summary>
    public required int Processes { get; init; }
}

public sealed record WorkspaceSuspendResult
{
    public required WorkspaceInfo Workspace { get; init; }

    /// <summary>Processes stopped (suspend) or continued (resume).</summary>
    public required int Processes { get; init; }

    /// <summary>Agents paused by the suspension (and resumed by the resume).</summary>
    public required IReadOnlyList<string> Agents { get; init; }

    /// <summary>What else was released, in words (caches, models); empty when the workspace held nothing else.</summary>
    public required IReadOnlyList<string> Released { get; init; }
}
