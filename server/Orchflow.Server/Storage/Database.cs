using LiteDB;

namespace Orchflow.Server.Storage;

/// <summary>
/// The daemon's one LiteDB file. Exactly one process may open it (two Direct-mode openers corrupt it on Linux,
/// measured): the daemon's lock file guarantees that, and nothing else opens this path.
/// The file is checked at start: a damaged file is reported with its path and moved aside, never silently emptied.
/// Every write goes through <see cref="Write{T}"/>, which returns only once it is on disk, and every read through <see cref="Read{T}"/>.
/// </summary>
public sealed class Database : IDisposable
{
    private readonly Lock _writeGate = new();

    private Database(LiteDatabase db, string? path)
    {
        Db = db;
        Path = path;
    }

    public LiteDatabase Db { get; }

    /// <summary>The file, or null for an in-memory database (tests).</summary>
    public string? Path { get; }

    /// <summary>Set when the file was unreadable at start and was moved aside; the daemon reports it in its log and status.</summary>
    public string? RecoveredFrom { get; private init; }

    /// <summary>
    /// Runs one write and returns once it is on disk (<see cref="LiteDurability"/>), so that a write a caller
    /// acknowledges survives a kill -9 of the daemon. Writes to this file are serialized here: LiteDB's wait for its
    /// writer must not race another writer of the same database.
    /// </summary>
    public T Write<T>(Func<T> write)
    {
        lock (_writeGate)
        {
            var result = write();
            LiteDurability.WaitForDisk(Db);
            return result;
        }
    }

    /// <summary>
    /// Runs one read under the same lock as the writes. LiteDB 5.0.20 can misread a page when a read transaction starts
    /// while another commits ("empty page must be defined as empty type", fixed in 5.0.21 by litedb-org/LiteDB#2504,
    /// measured here under concurrent agent spawns); the main file is read rarely, so every access is serialized.
    /// </summary>
    public T Read<T>(Func<T> read)
    {
        lock (_writeGate)
        {
            return read();
        }
    }

    /// <inheritdoc cref="Write{T}(Func{T})"/>
    public void Write(Action write) => Write(() =>
    {
        write();
        return true;
    });

    public static Database InMemory() => new(new LiteDatabase(":memory:"), null);

    public static Database Open(string path, Hosting.Log log)
    {
        try
        {
            var db = new LiteDatabase(ConnectionString(path));
            // Touch every collection so a damaged page surfaces now, not during a user's request.
            foreach (var name in db.GetCollectionNames().ToList())
            {
                _ = db.GetCollection(name).Count();
            }

            return new Database(db, path);
        }
        catch (Exception ex) when (ex is LiteException or IOException or InvalidCastException or IndexOutOfRangeException)
        {
            var aside = $"{path}.damaged-{DateTimeOffset.UtcNow:yyyyMMddTHHmmss}";
            log.Error($"Database {path} is damaged; moved it to {aside} and started a new one", ex);
            File.Move(path, aside);
            return new Database(new LiteDatabase(ConnectionString(path)), path) { RecoveredFrom = aside };
        }
    }

    private static ConnectionString ConnectionString(string path) => new()
    {
        Filename = path,
        Connection = ConnectionType.Direct,
        Upgrade = false,
    };

    public void Dispose() => Db.Dispose();
}
