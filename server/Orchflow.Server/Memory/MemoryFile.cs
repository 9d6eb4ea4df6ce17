using System.Globalization;
using LiteDB;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Memory;

/// <summary>
/// A segment's LiteDB file on disk and the write-ahead log beside it: how it is opened, checked before it is trusted,
/// kept private, measured, and moved aside (never deleted) when it is damaged.
/// </summary>
internal static class MemoryFile
{
    /// <summary>The collection that holds the entries.</summary>
    public const string Collection = "entries";

    /// <summary>The write-ahead log LiteDB keeps beside <paramref name="file"/> ("x.db" → "x-log.db").</summary>
    public static string LogFileOf(string file) =>
        Path.Combine(Path.GetDirectoryName(file) ?? "", Path.GetFileNameWithoutExtension(file) + "-log" + Path.GetExtension(file));

    /// <summary>How to recover a damaged segment: what every error and log line about one says.</summary>
    public static string RecoveryHint(string workspaceId, string? file) =>
        $"The file is kept as it is. To start again from a backup, run `orchflow memory import --workspace {workspaceId} --replace BACKUP.jsonl` "
        + $"(an empty file starts empty); it moves {file ?? "the file"} aside to a .damaged-<time> file, which is never deleted.";

    /// <summary>
    /// Opens <paramref name="file"/> (created with its directory when absent; null: a database in memory only) once it
    /// has been verified, with the indexes a segment needs. Throws when it cannot be read, leaving it as it was found.
    /// </summary>
    public static (LiteDatabase Db, ILiteCollection<MemoryRecord> Entries, long Count, long Bytes) Open(string? file)
    {
        LiteDatabase? db = null;
        try
        {
            if (file is not null)
            {
                var dir = Path.GetDirectoryName(file)!;
                Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            long count, bytes;
            if (file is not null && File.Exists(file))
            {
                CheckLength(file);

                // Verified read-only first: LiteDB marks a file it fails to read in its header, and a damaged file
                // must stay exactly as it was found.
                using (var check = new LiteDatabase(Connection(file, readOnly: true)))
                {
                    (count, bytes) = Verify(check.GetCollection<MemoryRecord>(Collection));
                }
            }
            else
            {
                (count, bytes) = (0, 0);
            }

            db = new LiteDatabase(Connection(file ?? ":memory:", readOnly: false));
            var entries = db.GetCollection<MemoryRecord>(Collection);
            if (entries.Count() != count)
            {
                throw new InvalidDataException($"the file changed while it was being opened ({count} entries read, {entries.Count()} now)");
            }

            entries.EnsureIndex(x => x.AccessedAt);
            entries.EnsureIndex(x => x.ExpiresAt);
            entries.EnsureIndex("Tags", "$.Tags[*]");
            if (file is not null)
            {
                Restrict(file);
            }

            return (db, entries, count, bytes);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            try
            {
                db?.Dispose();
            }
            catch (Exception)
            {
                // Closing a database that failed to read may fail as well; the file stays as it is either way.
            }

            throw;
        }
    }

    private static ConnectionString Connection(string filename, bool readOnly) => new()
    {
        Filename = filename,
        Connection = ConnectionType.Direct,
        Upgrade = false,
        ReadOnly = readOnly,

        // Keys are compared ordinally: "A" and "a" are two keys (LiteDB's default collation ignores case).
        Collation = new Collation(CultureInfo.InvariantCulture.LCID, CompareOptions.Ordinal),
    };

    /// <summary>
    /// A file cut short (a partial copy, a full disk) loses its last pages, which LiteDB would read as empty: the
    /// collection would open with no entries. The header (page 0) records the last page's id at byte 64, so a file
    /// shorter than that many pages is damaged. (Pages not yet checkpointed live in the -log file, and the data file's
    /// header only counts checkpointed pages.)
    /// </summary>
    private static void CheckLength(string file)
    {
        const int PageSize = 8192, LastPageIdOffset = 64;
        using var f = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var header = new byte[LastPageIdOffset + 4];
        if (f.Length < PageSize || f.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
        {
            throw new InvalidDataException($"the file has {f.Length} bytes, less than LiteDB's first page");
        }

        long lastPage = BitConverter.ToUInt32(header, LastPageIdOffset);
        if (f.Length < (lastPage + 1) * PageSize)
        {
            throw new InvalidDataException($"the file has {f.Length} bytes but its header counts {lastPage + 1} pages of {PageSize} bytes: it was cut short");
        }
    }

    /// <summary>Reads every document, then compares their number with the key index.</summary>
    private static (long Count, long Bytes) Verify(ILiteCollection<MemoryRecord> entries)
    {
        long count = 0, bytes = 0;
        foreach (var r in entries.FindAll())
        {
            if (string.IsNullOrEmpty(r.Key) || r.Size < 0)
            {
                throw new InvalidDataException($"entry {count + 1} has no key or a negative size");
            }

            count++;
            bytes += r.Size;
        }

        int indexed = entries.Count();
        if (indexed != count)
        {
            throw new InvalidDataException($"the key index lists {indexed} entries but {count} documents were read");
        }

        return (count, bytes);
    }

    /// <summary>The file and its log are readable by the daemon's user alone.</summary>
    private static void Restrict(string file)
    {
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        foreach (var f in new[] { file, LogFileOf(file) })
        {
            if (File.Exists(f))
            {
                File.SetUnixFileMode(f, Private);
            }
        }
    }

    /// <summary>The bytes of the file and its log; null when neither exists yet.</summary>
    public static long? SizeOnDisk(string file)
    {
        long total = 0;
        bool any = false;
        foreach (var f in new[] { file, LogFileOf(file) })
        {
            var info = new FileInfo(f);
            if (info.Exists)
            {
                total += info.Length;
                any = true;
            }
        }

        return any ? total : null;
    }

    /// <summary>Renames the file and its log to <c>.damaged-&lt;time&gt;</c> files (never deleted); returns the file's new name.</summary>
    public static string MoveAside(string file, DateTimeOffset now)
    {
        var stamp = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var aside = $"{file}.damaged-{stamp}";
        if (File.Exists(file))
        {
            File.Move(file, aside);
        }

        var log = LogFileOf(file);
        if (File.Exists(log))
        {
            File.Move(log, $"{log}.damaged-{stamp}");
        }

        return aside;
    }

    /// <summary>Deletes the file and its log (a sound segment of a deleted workspace).</summary>
    public static void Delete(string file)
    {
        foreach (var f in new[] { file, LogFileOf(file) })
        {
            File.Delete(f);
        }
    }
}
