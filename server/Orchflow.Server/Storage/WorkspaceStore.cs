using LiteDB;
using Orchflow.Protocol;

namespace Orchflow.Server.Storage;

/// <summary>A workspace as stored: the one place that knows the LiteDB document shape.</summary>
public sealed class WorkspaceRecord
{
    [BsonId]
    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    public string RootPath { get; set; } = "";

    public string? RepoUrl { get; set; }

    public string Namespace { get; set; } = "";

    /// <summary>True when the namespace came from the user (config or parameter), not derived from the id.</summary>
    public bool NamespaceExplicit { get; set; }

    public string ProjectType { get; set; } = "unknown";

    public string? VcsKind { get; set; }

    public string? VcsBranch { get; set; }

    public string? VcsHead { get; set; }

    public string? VcsRemoteUrl { get; set; }

    public bool VcsDirty { get; set; }

    public bool IsDefault { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime LastAccessed { get; set; }

    /// <summary>The text of the last workspace.json that parsed without errors, so an invalid edit never loses the config in force, even across restarts.</summary>
    public string? LastGoodConfigText { get; set; }

    public DateTime? LastGoodConfigAt { get; set; }

    /// <summary>Which folder the root is (device, inode, birth time); null in databases from before it was recorded, until the next start records it.</summary>
    public RootIdentityRecord? RootIdentity { get; set; }

    /// <summary>The security policy in force: what a person confirmed, or what applied at once. It holds after a restart, whatever the file says by then.</summary>
    public PolicyRecord? Policy { get; set; }

    /// <summary>A weaker policy the config file asks for, waiting for a person.</summary>
    public PendingPolicyRecord? PendingPolicy { get; set; }
}

public sealed class RootIdentityRecord
{
    public long Device { get; set; }

    public long Inode { get; set; }

    public long? BirthNanoseconds { get; set; }

    public static RootIdentityRecord From(Workspaces.RootIdentity id) => new() { Device = unchecked((long)id.Device), Inode = unchecked((long)id.Inode), BirthNanoseconds = id.BirthNanoseconds };

    public Workspaces.RootIdentity ToIdentity() => new(unchecked((ulong)Device), unchecked((ulong)Inode), BirthNanoseconds);
}

/// <summary>A <see cref="SecurityPolicy"/> as stored; enums by name, so that a reordering never changes a stored tier.</summary>
public sealed class PolicyRecord
{
    public string Tier { get; set; } = "";

    public List<string> AllowedCommands { get; set; } = [];

    public List<string> RestrictedPaths { get; set; } = [];

    public string Network { get; set; } = "";

    public List<string> AllowedHosts { get; set; } = [];

    public string? SecretsFile { get; set; }

    public static PolicyRecord From(SecurityPolicy p) => new()
    {
        Tier = p.Tier.ToString(),
        AllowedCommands = [.. p.AllowedCommands],
        RestrictedPaths = [.. p.RestrictedPaths],
        Network = p.Network.ToString(),
        AllowedHosts = [.. p.AllowedHosts],
        SecretsFile = p.SecretsFile,
    };

    /// <summary>The stored policy; null when a field cannot be read back (the caller then derives it again from the stored config).</summary>
    public SecurityPolicy? ToPolicy() =>
        Enum.TryParse<SecurityTier>(Tier, out var tier) && Enum.TryParse<NetworkPolicy>(Network, out var network)
            ? new SecurityPolicy
            {
                Tier = tier,
                AllowedCommands = AllowedCommands ?? [],
                RestrictedPaths = RestrictedPaths ?? [],
                Network = network,
                AllowedHosts = AllowedHosts ?? [],
                SecretsFile = SecretsFile,
            }
            : null;
}

public sealed class PendingPolicyRecord
{
    public PolicyRecord Requested { get; set; } = new();

    /// <summary>The request is the config file's removal (its policy is the defaults').</summary>
    public bool FileRemoved { get; set; }

    public DateTime SeenAt { get; set; }

    public DateTime? RejectedAt { get; set; }

    public string? RejectedBy { get; set; }
}

/// <summary>The workspace registry as stored; each write returns once it is on disk (<see cref="Database.Write{T}"/>).</summary>
public sealed class WorkspaceStore
{
    private readonly Database _database;
    private readonly ILiteCollection<WorkspaceRecord> _collection;

    public WorkspaceStore(Database database)
    {
        _database = database;
        _collection = database.Db.GetCollection<WorkspaceRecord>("workspaces");
        _collection.EnsureIndex(w => w.RootPath, unique: true);
        _collection.EnsureIndex(w => w.Namespace, unique: true);
    }

    public IReadOnlyList<WorkspaceRecord> All() => _database.Read(() => _collection.FindAll().ToList());

    public void Insert(WorkspaceRecord record) => _database.Write(() => _collection.Insert(record));

    public void Update(WorkspaceRecord record) => _database.Write(() => _collection.Update(record));

    public bool Delete(string id) => _database.Write(() => _collection.Delete(id));
}
