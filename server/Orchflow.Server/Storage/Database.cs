using LiteDB;

namespace Orchflow.Server.Storage;

/// <summary>
/// The daemon's one LiteDB file. Exactly one process may open it (two Direct-mode openers corrupt it on Linux,
/// measured): the daemon's lock file guarantees that, and nothing else opens this path.
/// The file is checked at start: a damaged file is reported with its path and moved aside, never silently emptied.
/// </summary>
public sealed class Database : IDisposable
{
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
