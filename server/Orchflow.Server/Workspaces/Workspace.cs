using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Configuration;
using Orchflow.Server.Storage;
using ProtocolDiagnostic = Orchflow.Protocol.Diagnostic;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// A registered workspace in the daemon's memory: its stored record, the workspace.json in force (the last one
/// that parsed without errors), the problems of the file as it is now on disk, the security policy in force (which
/// may be stricter than the file: a weakening waits for a person) and whether the folder at its root is still the one
/// registered.
/// Mutated only by <see cref="WorkspaceService"/> under its lock; readers get <see cref="Protocol.WorkspaceInfo"/> snapshots.
/// </summary>
public sealed class Workspace
{
    private SecurityPolicy _policy = PolicyChange.Defaults;
    private PolicyRequest? _pending;
    private RootIdentity? _identity;

    internal Workspace(WorkspaceRecord record)
    {
        Record = record;
        _identity = record.RootIdentity?.ToIdentity();
        _pending = record.PendingPolicy is { } stored && stored.Requested?.ToPolicy() is { } requested
            ? new PolicyRequest(requested, stored.FileRemoved, Utc(stored.SeenAt), stored.RejectedAt is { } at ? Utc(at) : null, stored.RejectedBy)
            : null;
    }

    internal WorkspaceRecord Record { get; }

    public string Id => Record.Id;

    public string RootPath => Record.RootPath;

    public string Namespace => Record.Namespace;

    public bool IsDefault => Record.IsDefault;

    /// <summary>The workspace.json in force, or null when the workspace has none (defaults apply).</summary>
    public WorkspaceFileConfig? Config { get; internal set; }

    public DateTimeOffset? ConfigLoadedAt { get; internal set; }

    public IReadOnlyList<ProtocolDiagnostic> ConfigDiagnostics { get; internal set; } = [];

    internal FileStamp ConfigStamp { get; set; } = FileStamp.Missing;

    /// <summary>The security policy every launch gets; it changes only to something stricter, or when a person confirms.</summary>
    internal SecurityPolicy Policy
    {
        get => _policy;
        set
        {
            _policy = value;
            Record.Policy = PolicyRecord.From(value);
        }
    }

    /// <summary>A weaker policy the config file asks for, waiting for a person; null when there is none.</summary>
    internal PolicyRequest? Pending
    {
        get => _pending;
        set
        {
            _pending = value;
            Record.PendingPolicy = value is null ? null : new PendingPolicyRecord
            {
                Requested = PolicyRecord.From(value.Requested),
                FileRemoved = value.FileRemoved,
                SeenAt = value.SeenAt.UtcDateTime,
                RejectedAt = value.RejectedAt?.UtcDateTime,
                RejectedBy = value.RejectedBy,
            };
        }
    }

    /// <summary>Which folder the root is; null until it was first recorded.</summary>
    internal RootIdentity? Identity
    {
        get => _identity;
        set
        {
            _identity = value;
            Record.RootIdentity = value is null ? null : RootIdentityRecord.From(value);
        }
    }

    /// <summary>Set while the folder at the root path is not the registered one; not stored: every start looks again.</summary>
    internal WorkspaceRootProblem? RootProblem { get; set; }

    public string ConfigPath => Path.Combine(Record.RootPath, WorkspaceConfigLoader.RelativePath);

    /// <summary>True when <paramref name="path"/> (canonical, absolute) is the root or inside it.</summary>
    public bool Contains(string path) => PathRules.IsSameOrInside(path, Record.RootPath);

    /// <summary>A time read back from LiteDB (which may return local time) as UTC.</summary>
    internal static DateTimeOffset Utc(DateTime t) => t.Kind == DateTimeKind.Local ? new DateTimeOffset(t.ToUniversalTime()) : new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc));
}

/// <summary>A weaker policy requested by the config file (or by its removal), and what a person said about it so far.</summary>
internal sealed record PolicyRequest(SecurityPolicy Requested, bool FileRemoved, DateTimeOffset SeenAt, DateTimeOffset? RejectedAt = null, string? RejectedBy = null)
{
    public string Fingerprint => PolicyChange.Fingerprint(Requested, FileRemoved);
}
