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

/// <summary>
/// Terminal records: enough to report a terminal lost with a crashed daemon. Each write returns once it is on disk
/// (<see cref="Database.Write{T}"/>), so a terminal whose creation was acknowledged is known after a kill -9. A write
/// that fails is logged and the terminal keeps running: its record is not what keeps it alive.
/// </summary>
public sealed class TerminalStore
{
    private readonly Database _database;
    private readonly ILiteCollection<TerminalRecord> _collection;
    private readonly Action<Exception>? _onError;

    public TerminalStore(Database database, Action<Exception>? onError = null)
    {
        _database = database;
        _collection = database.Db.GetCollection<TerminalRecord>("terminals");
        _collection.EnsureIndex(t => t.WorkspaceId);
        _onError = onError;
    }

    /// <summary>What is on disk.</summary>
    public IReadOnlyList<TerminalRecord> All() => _database.Read(() => _collection.FindAll().ToList());

    public void Upsert(TerminalRecord record) => Write(() => _collection.Upsert(record));

    public void Delete(string id) => Write(() => _collection.Delete(id));

    private void Write(Action write)
    {
        try
        {
            _database.Write(write);
        }
        catch (Exception ex) when (ex is LiteException or IOException or ObjectDisposedException)
        {
            _onError?.Invoke(ex);
        }
    }
}
