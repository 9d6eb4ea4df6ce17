namespace Orchflow.Protocol;

public enum ProjectType
{
    Unknown,
    Rust,
    Node,
    Python,
    Dotnet,
    Go,
    Java,
    Mixed,
}

/// <summary>
/// How much isolation a workspace's processes get. Declared weakest first: the daemon compares tiers in this order, and
/// clients by the generated <c>SecurityTierValues</c>.
/// </summary>
public enum SecurityTier
{
    Standard,
    Enhanced,
    Strict,
}

public enum NetworkPolicy
{
    Full,
    None,
    Allowlist,
}

/// <summary>Git metadata of a workspace root that is a repository, read when the workspace is created or refreshed.</summary>
public sealed record VcsInfo
{
    public required string Kind { get; init; }
    public string? Branch { get; init; }
    public string? Head { get; init; }
    public string? RemoteUrl { get; init; }
    public required bool Dirty { get; init; }
}

/// <summary>Effective limits of a workspace: its config file's values, falling back to the global config's defaults.</summary>
public sealed record ResourceLimits
{
    public required int MaxAgents { get; init; }

    /// <summary>Memory limit in bytes, or null for none.</summary>
    public long? MemoryLimitBytes { get; init; }

    public required int CpuShares { get; init; }
    public required int TerminalLimit { get; init; }
    public required int ProcessLimit { get; init; }
}

public sealed record SecurityPolicy
{
    public required SecurityTier Tier { get; init; }
    public required IReadOnlyList<string> AllowedCommands { get; init; }
    public required IReadOnlyList<string> RestrictedPaths { get; init; }
    public required NetworkPolicy Network { get; init; }
    public required IReadOnlyList<string> AllowedHosts { get; init; }

    /// <summary>security.secrets_file: a dotenv file of secrets, relative to the root; null when there is none.</summary>
    public string? SecretsFile { get; init; }
}

/// <summary>The per-workspace models block (the spec's <c>ruv_fann</c> block).</summary>
public sealed record ModelSettings
{
    public required IReadOnlyList<string> Models { get; init; }
    public long? MemorySizeBytes { get; init; }
    public required bool TrainingEnabled { get; init; }
}

/// <summary>The spec's WorkspaceMetadata.</summary>
public sealed record WorkspaceMetadata
{
    public required ProjectType ProjectType { get; init; }
    public VcsInfo? Vcs { get; init; }
    public required IReadOnlyList<string> ActiveAgents { get; init; }
    public required string MemoryNamespace { get; init; }
    public required ResourceLimits ResourceLimits { get; init; }
    public required SecurityTier SecurityTier { get; init; }
}

/// <summary>The state of a workspace's <c>.orchflow/workspace.json</c>.</summary>
public sealed record WorkspaceConfigState
{
    /// <summary>Absolute path of the config file, or null when the workspace has none (defaults apply).</summary>
    public string? Path { get; init; }

    /// <summary>Problems found the last time the file was read. When there are errors, the last good config stays in force.</summary>
    public required IReadOnlyList<Diagnostic> Diagnostics { get; init; }

    /// <summary>When the config now in force was read.</summary>
    public DateTimeOffset? LoadedAt { get; init; }
}

/// <summary>The spec's WorkspaceContext, as sent to clients.</summary>
public sealed record WorkspaceInfo
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string RootPath { get; init; }
    public string? RepoUrl { get; init; }
    public required string Namespace { get; init; }
    public required WorkspaceMetadata Metadata { get; init; }
    public required SecurityPolicy Security { get; init; }
    public required ModelSettings Models { get; init; }
    public required IReadOnlyDictionary<string, string> SharedEnv { get; init; }
    public required WorkspaceConfigState Config { get; init; }

    /// <summary>The isolation this workspace actually has on this machine: requested and enforced tier, mechanism, reasons.</summary>
    public required WorkspaceIsolation Isolation { get; init; }

    /// <summary>Set while the workspace is suspended (hibernating): its processes are stopped.</summary>
    public WorkspaceHibernation? Hibernation { get; init; }

    /// <summary>
    /// Set while <c>.orchflow/workspace.json</c> asks for weaker isolation than the policy in force (<see cref="Security"/>),
    /// which keeps holding until a person confirms the change (<c>orchflow workspace confirm-policy</c>, or VS Code).
    /// </summary>
    public PendingPolicy? PendingPolicy { get; init; }

    /// <summary>
    /// Set while the folder at <see cref="RootPath"/> is not the one registered (moved aside and replaced, or gone):
    /// its config is not read, the workspace keeps its last policy, and nothing is launched in it.
    /// </summary>
    public WorkspaceRootProblem? RootProblem { get; init; }

    /// <summary>True for the built-in workspace that receives whatever is created without naming one.</summary>
    public required bool IsDefault { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset LastAccessed { get; init; }
}

/// <summary>A weaker security policy that the workspace's config file asks for, held until a person confirms it.</summary>
public sealed record PendingPolicy
{
    /// <summary>The policy the file asks for; until it is confirmed, <see cref="WorkspaceInfo.Security"/> holds.</summary>
    public required SecurityPolicy Requested { get; init; }

    /// <summary>One line per weakening, e.g. "lowers its tier strict → standard" or "adds curl to allowed_commands".</summary>
    public required IReadOnlyList<string> Changes { get; init; }

    /// <summary>When the daemon first read this request.</summary>
    public required DateTimeOffset SeenAt { get; init; }

    /// <summary>Names this very request: a confirmation must quote it, so that nobody confirms a change they were not shown.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Set when a person chose to keep the current policy; the request stays shown until the file changes again.</summary>
    public DateTimeOffset? RejectedAt { get; init; }

    /// <summary>Who rejected it: the client's name (orchflow-cli, vscode) and, when known, its process.</summary>
    public string? RejectedBy { get; init; }
}

public enum RootProblemKind
{
    /// <summary>A different folder is at the registered path (device and inode, or birth time, differ).</summary>
    Replaced,

    /// <summary>Nothing (or no directory) is at the registered path.</summary>
    Missing,
}

/// <summary>The folder at a workspace's root path is not the one that was registered.</summary>
public sealed record WorkspaceRootProblem
{
    public required RootProblemKind Kind { get; init; }

    /// <summary>The state in one sentence, with what a person can do, e.g. "root replaced: the folder at /p/b is not the one registered (device:inode changed); …".</summary>
    public required string Message { get; init; }

    /// <summary>The identity recorded when the workspace was created (or adopted), e.g. "device 254:0, inode 1234".</summary>
    public required string Registered { get; init; }

    /// <summary>The identity of what is there now; null when nothing is.</summary>
    public string? Found { get; init; }

    public required DateTimeOffset SeenAt { get; init; }
}

/// <summary>A person's answer to a workspace's pending policy change.</summary>
public sealed record WorkspacePolicyDecision
{
    /// <summary>A workspace id, name or root path.</summary>
    public required string Id { get; init; }

    /// <summary>The <see cref="PendingPolicy.Fingerprint"/> of the change the person was shown; any other is refused.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Keep the current policy instead of applying the change (the file is left as it is).</summary>
    public bool Reject { get; init; }
}

public sealed record WorkspaceListParams
{
}

public sealed record WorkspaceListResult
{
    public required IReadOnlyList<WorkspaceInfo> Workspaces { get; init; }

    /// <summary>The active workspace of the calling client, or null before it switched to one.</summary>
    public string? ActiveWorkspaceId { get; init; }
}

public sealed record WorkspaceCreateParams
{
    /// <summary>Absolute path of the folder to register.</summary>
    public required string Path { get; init; }

    public string? Name { get; init; }
    public string? Id { get; init; }
    public string? Namespace { get; init; }

    /// <summary>Write a <c>.orchflow/workspace.json</c> with the detected values when the folder has none.</summary>
    public bool WriteConfig { get; init; }
}

/// <summary>Names one workspace by id, name, or absolute root path.</summary>
public sealed record WorkspaceRef
{
    public required string Id { get; init; }
}

public sealed record WorkspaceUpdateParams
{
    public required string Id { get; init; }
    public string? Name { get; init; }
    public string? RepoUrl { get; init; }

    /// <summary>Re-run project type and git detection.</summary>
    public bool Redetect { get; init; }

    /// <summary>
    /// Adopt the folder now at the root path as this workspace's root (after it was replaced); a person's decision,
    /// refused from any process Orchflow started. Its config is then read like an edit: weakenings wait for confirm-policy.
    /// </summary>
    public bool AcceptRoot { get; init; }
}

public sealed record WorkspaceResolveParams
{
    /// <summary>An absolute path; the result is the workspace whose root is or contains it.</summary>
    public required string Path { get; init; }
}

public sealed record WorkspaceResolveResult
{
    public WorkspaceInfo? Workspace { get; init; }
}

public sealed record WorkspaceDeleteResult
{
    public required string Id { get; init; }
}

public enum WorkspaceChangeKind
{
    Created,
    Updated,
    Deleted,
    Switched,
}

/// <summary>Pushed to every connected client when a workspace changes (Switched goes only to the client that switched).</summary>
public sealed record WorkspaceChangedNotification
{
    public required WorkspaceChangeKind Kind { get; init; }
    public required string Id { get; init; }

    /// <summary>The workspace after the change; null when it was deleted.</summary>
    public WorkspaceInfo? Workspace { get; init; }
}

public sealed record StatusParams
{
}

public sealed record StatusResult
{
    public required string Version { get; init; }
    public required DaemonInfo Daemon { get; init; }
    public required double UptimeSeconds { get; init; }
    public required int Clients { get; init; }
    public required int WorkspaceCount { get; init; }
    public required int MaxWorkspaces { get; init; }
    public string? ActiveWorkspaceId { get; init; }

    /// <summary>Resident memory of the daemon process in bytes, read from the operating system.</summary>
    public required long DaemonMemoryBytes { get; init; }

    /// <summary>Problems in the global orchflow.toml; when there are errors the last good config stays in force.</summary>
    public required IReadOnlyList<Diagnostic> ConfigDiagnostics { get; init; }

    /// <summary>Terminals that were running when the daemon last stopped or crashed; their processes are gone.</summary>
    public required IReadOnlyList<TerminalInfo> LostTerminals { get; init; }

    /// <summary>What this daemon cleaned up at its start after a daemon that did not stop cleanly (<see cref="NoticeKind.Recovered"/>).</summary>
    public required IReadOnlyList<WorkspaceNotice> StartNotices { get; init; }

    /// <summary>Workspaces whose own config file has errors.</summary>
    public required IReadOnlyList<string> WorkspacesWithConfigErrors { get; init; }

    /// <summary>Workspaces whose memory segment was found damaged (not served until replaced; see orchflow/memory/stats).</summary>
    public IReadOnlyList<string>? DamagedMemory { get; init; }

    /// <summary>What this machine offers for isolation (bubblewrap, Landlock, control groups), measured when the daemon started.</summary>
    public required HostIsolation Isolation { get; init; }
}

public sealed record ConfigChangedNotification
{
    public required IReadOnlyList<Diagnostic> Diagnostics { get; init; }
}
