using System.Threading.Channels;
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
/// Terminal records, written behind: <see cref="Upsert"/> and <see cref="Delete"/> return at once and one background
/// writer applies them in the order they were made, so a LiteDB commit (an fsync, 2 to 3 ms here) is never on the
/// path from "create" to a terminal's first byte. The records exist to report terminals lost with a crashed daemon;
/// a crash can lose only the last few milliseconds of changes. <see cref="Dispose"/> writes everything queued before
/// the database closes.
/// </summary>
public sealed class TerminalStore : IDisposable
{
    private readonly ILiteCollection<TerminalRecord> _collection;
    private readonly Channel<(TerminalRecord? Record, string Id)> _queue =
        Channel.CreateUnbounded<(TerminalRecord?, string)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly Action<Exception>? _onError;

    public TerminalStore(Database database, Action<Exception>? onError = null)
    {
        _collection = database.Db.GetCollection<TerminalRecord>("terminals");
        _collection.EnsureIndex(t => t.WorkspaceId);
        _onError = onError;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>What is on disk (read at start, before anything is queued).</summary>
    public IReadOnlyList<TerminalRecord> All() => _collection.FindAll().ToList();

    public void Upsert(TerminalRecord record) => _queue.Writer.TryWrite((record, record.Id));

    public void Delete(string id) => _queue.Writer.TryWrite((null, id));

    private async Task WriteAsync()
    {
        await foreach (var (record, id) in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (record is not null)
                {
                    _collection.Upsert(record);
                }
                else
                {
                    _collection.Delete(id);
                }
            }
            catch (Exception ex) when (ex is LiteException or IOException or ObjectDisposedException)
            {
                // A terminal keeps running whatever its record does; the log says the record was not kept.
                _onError?.Invoke(ex);
            }
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.GetAwaiter().GetResult();
    }
}
