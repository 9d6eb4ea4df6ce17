using LiteDB;

namespace Orchflow.Server.Storage;

/// <summary>A terminal as stored: enough to list it and to report it as lost after the daemon stops or crashes.</summary>
public sealed class TerminalRecord
{
    [BsonId]
    public string Id { get; set; } = "";

    public string WorkspaceId { get; set; } = "";

    public string Namespace { get; set; } = "";

    public string Name { get; set; } = "";

    public string Purpose { get; set; } = "shell";

    public string? AgentId { get; set; }

    public List<string> Command { get; set; } = [];

    public string Cwd { get; set; } = "";

    public string Status { get; set; } = "running";

    public int? ExitCode { get; set; }

    public int? Signal { get; set; }

    public int Columns { get; set; }

    public int Rows { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? EndedAt { get; set; }
}

public sealed class TerminalStore
{
    private readonly ILiteCollection<TerminalRecord> _collection;

    public TerminalStore(Database database)
    {
        _collection = database.Db.GetCollection<TerminalRecord>("terminals");
        _collection.EnsureIndex(t => t.WorkspaceId);
    }

    public IReadOnlyList<TerminalRecord> All() => _collection.FindAll().ToList();

    public void Upsert(TerminalRecord record) => _collection.Upsert(record);

    public void Delete(string id) => _collection.Delete(id);
}
