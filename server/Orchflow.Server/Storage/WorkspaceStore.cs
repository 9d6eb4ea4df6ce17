using LiteDB;

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
}

public sealed class WorkspaceStore
{
    private readonly ILiteCollection<WorkspaceRecord> _collection;

    public WorkspaceStore(Database database)
    {
        _collection = database.Db.GetCollection<WorkspaceRecord>("workspaces");
        _collection.EnsureIndex(w => w.RootPath, unique: true);
        _collection.EnsureIndex(w => w.Namespace, unique: true);
    }

    public IReadOnlyList<WorkspaceRecord> All() => _collection.FindAll().ToList();

    public void Insert(WorkspaceRecord record) => _collection.Insert(record);

    public void Update(WorkspaceRecord record) => _collection.Update(record);

    public bool Delete(string id) => _collection.Delete(id);
}
