using System.Globalization;
using System.Text;
using System.Text.Json;
using LiteDB;
using Orchflow.Protocol;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Memory;

/// <summary>The settings in force for one call, read from the workspace's config each time (so an edit applies at once).</summary>
public sealed record MemoryLimits(long CapacityEntries, long CapacityBytes, MemoryWhenFull WhenFull, TimeSpan? DefaultTtl);

/// <summary>An entry to write, already taken apart from its wire form.</summary>
public sealed record MemoryWrite(string Key, string Value, MemoryValueKind Kind, IReadOnlyList<string> Tags, long? TtlSeconds);

/// <summary>Who writes: decided by the daemon from the connection (and, for agents, from the token), never by the caller.</summary>
public sealed record MemoryWriter(MemoryWriterKind Kind, string? AgentId, string? TerminalId, string? User, string? Tool);

/// <summary>The search filters; each given one must match.</summary>
public sealed record MemoryQuery(string? Prefix, IReadOnlyList<string> Tags, string? Text, int Limit);

/// <summary>
/// One workspace's memory: its own LiteDB database (a file under <c>data/memory/</c>, or in memory only), opened by the
/// daemon alone. Keys are opaque strings compared ordinally; nothing in a key can name another segment, because a
/// segment is only ever reached through its workspace id, which the caller never spells as part of a key.
/// </summary>
/// <remarks>
/// <para>
/// Durability: a write returns only after LiteDB committed it (its commit writes the transaction to the write-ahead
/// log and waits for the disk), so an acknowledged entry survives a crash of the daemon. Capacity eviction and the write
/// that needed it commit together.
/// </para>
/// <para>
/// Reads update an entry's access time and count. Doing that as a write per read would make every get cost a disk
/// commit (about 2.5 ms here), so reads are recorded in memory and written in one transaction at most
/// <see cref="MemoryService.TouchFlushInterval"/> later, before any eviction, at export and at close. A crash loses at
/// most that much access history, never an entry.
/// </para>
/// <para>
/// Opening reads every document and compares the count with the key index; any failure marks the segment damaged.
/// A damaged segment serves nothing and its file is left as it is; only an explicit <c>import --replace</c> moves it
/// aside (never deletes it) and starts a new one.
/// </para>
/// </remarks>
public sealed class MemorySegment : IDisposable
{
    public const int MaxKeyBytes = 512;
    public const int MaxValueBytes = 1024 * 1024;
    public const int MaxTags = 32;
    public const int MaxTagChars = 64;
    public const int MaxResults = 10_000;
    public const int DefaultResults = 100;

    /// <summary>A hundred years: longer is a mistake, and it keeps the arithmetic far from overflow.</summary>
    public const long MaxTtlSeconds = 100L * 365 * 24 * 3600;

    private const string Collection = "entries";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (long At, long Count)> _touches = new(StringComparer.Ordinal);
    private LiteDatabase? _db;
    private ILiteCollection<MemoryRecord>? _entries;
    private long _count;
    private long _bytes;
    private bool _disposed;

    private MemorySegment(string workspaceId, string? file, TimeProvider time)
    {
        WorkspaceId = workspaceId;
        File = file;
        _time = time;
    }

    public string WorkspaceId { get; }

    /// <summary>The LiteDB file; null for a segment kept in memory only.</summary>
    public string? File { get; }

    public MemoryPersistence Persistence => File is null ? MemoryPersistence.Memory : MemoryPersistence.Disk;

    public MemorySegmentState State { get; private set; }

    /// <summary>What is wrong with a damaged segment.</summary>
    public string? Problem { get; private set; }

    public long Evictions { get; private set; }

    public long Expirations { get; private set; }

    /// <summary>Opens (creating when absent) and verifies a segment. A damaged file yields a segment in state damaged; it never throws for that.</summary>
    public static MemorySegment Open(string workspaceId, string? file, TimeProvider? time = null)
    {
        var segment = new MemorySegment(workspaceId, file, time ?? TimeProvider.System);
        segment.OpenCore();
        return segment;
    }

    /// <summary>The write-ahead log LiteDB keeps beside <paramref name="file"/> ("x.db" → "x-log.db").</summary>
    public static string LogFileOf(string file) =>
        Path.Combine(Path.GetDirectoryName(file) ?? "", Path.GetFileNameWithoutExtension(file) + "-log" + Path.GetExtension(file));

    private void OpenCore()
    {
        LiteDatabase? db = null;
        try
        {
            if (File is not null)
            {
                var dir = Path.GetDirectoryName(File)!;
                Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            long count, bytes;
            if (File is not null && System.IO.File.Exists(File))
            {
                CheckLength(File);

                // Verified read-only first: LiteDB marks a file it fails to read in its header, and a damaged file
                // must stay exactly as it was found.
                using (var check = new LiteDatabase(Connection(File, readOnly: true)))
                {
                    (count, bytes) = Verify(check.GetCollection<MemoryRecord>(Collection));
                }
            }
            else
            {
                (count, bytes) = (0, 0);
            }

            db = new LiteDatabase(Connection(File ?? ":memory:", readOnly: false));
            var entries = db.GetCollection<MemoryRecord>(Collection);
            if (entries.Count() != count)
            {
                throw new InvalidDataException($"the file changed while it was being opened ({count} entries read, {entries.Count()} now)");
            }

            entries.EnsureIndex(x => x.AccessedAt);
            entries.EnsureIndex(x => x.ExpiresAt);
            entries.EnsureIndex("Tags", "$.Tags[*]");
            if (File is not null)
            {
                Restrict(File);
            }

            _db = db;
            _entries = entries;
            _count = count;
            _bytes = bytes;
            State = MemorySegmentState.Ok;
            Problem = null;
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

            State = MemorySegmentState.Damaged;
            Problem = $"{File ?? "the in-memory segment"} cannot be read: {ex.Message}";
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

    private static void Restrict(string file)
    {
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        foreach (var f in new[] { file, LogFileOf(file) })
        {
            if (System.IO.File.Exists(f))
            {
                System.IO.File.SetUnixFileMode(f, Private);
            }
        }
    }

    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    // ---- Operations (each under the segment's lock) ----

    public MemorySetResult Set(MemoryWrite write, MemoryWriter writer, MemoryLimits limits)
    {
        ValidateKey(write.Key);
        var tags = ValidateTags(write.Tags);
        ValidateValue(write.Value, write.Kind);
        long size = SizeOf(write.Key, write.Value, tags);
        if (size > limits.CapacityBytes)
        {
            throw new OrchflowException(ErrorCodes.LimitReached,
                $"The entry takes {size} bytes, more than the whole memory of workspace '{WorkspaceId}' ({limits.CapacityBytes} bytes, memory_size).",
                "Store less, or raise models.memory_size in the workspace's .orchflow/workspace.json.");
        }

        lock (_gate)
        {
            var entries = EnsureOpen();
            long now = Now();
            var existing = entries.FindById(write.Key);
            if (existing is not null && existing.ExpiresAt <= now)
            {
                existing = null; // Replaced like an absent one; the expired document is overwritten below.
            }

            var ttl = ResolveTtl(write.TtlSeconds, limits);
            var record = new MemoryRecord
            {
                Key = write.Key,
                Value = write.Value,
                Kind = write.Kind == MemoryValueKind.Json ? "json" : "text",
                Tags = tags,
                CreatedAt = existing?.CreatedAt ?? now,
                UpdatedAt = now,
                ExpiresAt = ttl is { } t ? now + (t * 1000) : long.MaxValue,
                AccessedAt = now,
                AccessCount = existing?.AccessCount ?? 0,
                Size = size,
                WriterKind = Wire(writer.Kind),
                WriterAgent = writer.AgentId,
                WriterTerminal = writer.TerminalId,
                WriterUser = writer.User,
                WriterTool = writer.Tool,
                WrittenAt = now,
            };

            // What the stored document (expired or not) occupies now, and what the counters become.
            var stored = existing ?? entries.FindById(write.Key);
            long count = _count + (stored is null ? 1 : 0);
            long bytes = _bytes - (stored?.Size ?? 0) + size;
            var victims = new List<MemoryRecord>();
            int expiredCount = 0;
            _db!.BeginTrans();
            try
            {
                if (count > limits.CapacityEntries || bytes > limits.CapacityBytes)
                {
                    var expired = PurgeExpiredInTransaction(now, except: write.Key);
                    expiredCount = expired.Count;
                    count -= expired.Count;
                    bytes -= expired.Sum(e => e.Size);
                    if (count > limits.CapacityEntries || bytes > limits.CapacityBytes)
                    {
                        if (limits.WhenFull == MemoryWhenFull.Refuse)
                        {
                            throw Full(limits, count, bytes);
                        }

                        FlushTouchesInTransaction();
                        EvictLru(victims, ref count, ref bytes, limits, key => key == write.Key);
                    }
                }

                entries.Upsert(record);
                Commit();
            }
            catch
            {
                _db.Rollback();
                throw;
            }

            _count = count;
            _bytes = bytes;
            Evictions += victims.Count;
            Expirations += expiredCount;
            _touches.Remove(write.Key);
            foreach (var v in victims)
            {
                _touches.Remove(v.Key);
            }

            return new MemorySetResult { Entry = ToEntry(record), Replaced = existing is not null, Evicted = victims.Select(v => v.Key).ToList() };
        }
    }

    public MemoryEntry? Get(string key)
    {
        ValidateKey(key);
        lock (_gate)
        {
            var entries = EnsureOpen();
            var r = entries.FindById(key);
            if (r is null)
            {
                return null;
            }

            long now = Now();
            if (r.ExpiresAt <= now)
            {
                RemoveExpired(r);
                return null;
            }

            var touch = _touches.GetValueOrDefault(key);
            touch = (now, touch.Count + 1);
            _touches[key] = touch;
            r.AccessedAt = touch.At;
            r.AccessCount += touch.Count;
            return ToEntry(r);
        }
    }

    public bool Delete(string key)
    {
        ValidateKey(key);
        lock (_gate)
        {
            var entries = EnsureOpen();
            var r = entries.FindById(key);
            if (r is null)
            {
                return false;
            }

            entries.Delete(key);
            if (File is not null)
            {
                LiteDurability.WaitForDisk(_db!);
            }

            _count--;
            _bytes -= r.Size;
            _touches.Remove(key);
            return r.ExpiresAt > Now();
        }
    }

    public MemorySearchResult Search(MemoryQuery q)
    {
        if (q.Prefix is { Length: > 0 } p)
        {
            ValidateKey(p, "prefix");
        }

        var tags = ValidateTags(q.Tags);
        int limit = ValidateLimit(q.Limit);
        lock (_gate)
        {
            var entries = EnsureOpen();
            long now = Now();
            IEnumerable<MemoryRecord> candidates;
            bool keyOrdered = true;
            if (q.Prefix is { Length: > 0 } prefix)
            {
                candidates = entries.Find(Query.StartsWith("_id", prefix));
            }
            else if (tags.Count > 0)
            {
                var first = tags[0];
                candidates = entries.Find(x => x.Tags.Contains(first));
                keyOrdered = false;
            }
            else if (q.Text is { Length: > 0 } scanText)
            {
                // A text search reads every entry: test the raw documents and map only the matches to records,
                // which halves the cost of a scan (most of it is the mapping).
                candidates = ScanText(scanText, now);
            }
            else
            {
                candidates = entries.FindAll();
            }

            var matches = new List<MemoryRecord>();
            bool truncated = false;
            foreach (var r in candidates)
            {
                if (r.ExpiresAt <= now
                    || (q.Prefix is { Length: > 0 } pre && !r.Key.StartsWith(pre, StringComparison.Ordinal))
                    || !tags.All(t => r.Tags.Contains(t, StringComparer.Ordinal))
                    || (q.Text is { Length: > 0 } text && !r.Key.Contains(text, StringComparison.OrdinalIgnoreCase) && !r.Value.Contains(text, StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                if (keyOrdered && matches.Count == limit)
                {
                    truncated = true;
                    break;
                }

                matches.Add(r);
            }

            if (!keyOrdered)
            {
                matches.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
                truncated = matches.Count > limit;
                if (truncated)
                {
                    matches.RemoveRange(limit, matches.Count - limit);
                }
            }

            return new MemorySearchResult { Entries = matches.Select(WithTouches).ToList(), Truncated = truncated };
        }
    }

    public MemoryListResult List(string? after, int? limit)
    {
        int n = ValidateLimit(limit);
        lock (_gate)
        {
            var entries = EnsureOpen();
            long now = Now();
            var found = after is null ? entries.Find(Query.All("_id", Query.Ascending)) : entries.Find(Query.GT("_id", after));
            var page = new List<MemoryRecord>(Math.Min(n, 1024));
            bool more = false;
            foreach (var r in found)
            {
                if (r.ExpiresAt <= now)
                {
                    continue;
                }

                if (page.Count == n)
                {
                    more = true;
                    break;
                }

                page.Add(r);
            }

            return new MemoryListResult { Entries = page.Select(WithTouches).ToList(), NextAfter = more ? page[^1].Key : null };
        }
    }

    private IEnumerable<MemoryRecord> ScanText(string text, long now)
    {
        var raw = _db!.GetCollection(Collection);
        foreach (var doc in raw.Find(Query.All("_id", Query.Ascending)))
        {
            if (doc["ExpiresAt"].AsInt64 <= now)
            {
                continue;
            }

            if (doc["_id"].AsString.Contains(text, StringComparison.OrdinalIgnoreCase) || doc["Value"].AsString.Contains(text, StringComparison.OrdinalIgnoreCase))
            {
                yield return BsonMapper.Global.ToObject<MemoryRecord>(doc);
            }
        }
    }

    /// <summary>Removes expired entries now; returns how many.</summary>
    public int PurgeExpired()
    {
        lock (_gate)
        {
            if (State != MemorySegmentState.Ok || _disposed)
            {
                return 0;
            }

            long now = Now();
            var entries = _entries!;
            if (entries.Count(Query.LTE(nameof(MemoryRecord.ExpiresAt), now)) == 0)
            {
                return 0;
            }

            _db!.BeginTrans();
            List<MemoryRecord> expired;
            try
            {
                expired = PurgeExpiredInTransaction(now, except: null);
                Commit();
            }
            catch
            {
                _db.Rollback();
                throw;
            }

            _count -= expired.Count;
            _bytes -= expired.Sum(e => e.Size);
            Expirations += expired.Count;
            return expired.Count;
        }
    }

    /// <summary>Writes the access times and counts recorded by reads, in one transaction.</summary>
    public void FlushTouches()
    {
        lock (_gate)
        {
            if (_touches.Count == 0 || State != MemorySegmentState.Ok || _disposed)
            {
                return;
            }

            _db!.BeginTrans();
            try
            {
                FlushTouchesInTransaction();
                Commit();
            }
            catch
            {
                _db.Rollback();
                throw;
            }
        }
    }

    public MemoryStats Stats(MemoryLimits limits, string? hint)
    {
        if (State == MemorySegmentState.Ok)
        {
            PurgeExpired();
        }

        lock (_gate)
        {
            long? fileBytes = File is null ? null : SizeOnDisk(File);
            double used = limits.CapacityEntries <= 0 || limits.CapacityBytes <= 0
                ? 0
                : Math.Round(100.0 * Math.Max((double)_count / limits.CapacityEntries, (double)_bytes / limits.CapacityBytes), 2);
            return new MemoryStats
            {
                WorkspaceId = WorkspaceId,
                State = State,
                Entries = _count,
                Bytes = _bytes,
                CapacityEntries = limits.CapacityEntries,
                CapacityBytes = limits.CapacityBytes,
                UsedPercent = used,
                WhenFull = limits.WhenFull,
                Persistence = Persistence,
                DefaultTtlSeconds = limits.DefaultTtl is { } d ? (long)d.TotalSeconds : null,
                File = File,
                FileBytes = fileBytes,
                Evictions = Evictions,
                Expirations = Expirations,
                Problem = State == MemorySegmentState.Damaged ? Problem : null,
                Hint = State == MemorySegmentState.Damaged ? hint : null,
            };
        }
    }

    /// <summary>Every live entry in key order, with its access history up to date.</summary>
    public IReadOnlyList<MemoryEntry> Export()
    {
        lock (_gate)
        {
            var entries = EnsureOpen();
            if (_touches.Count > 0)
            {
                _db!.BeginTrans();
                try
                {
                    FlushTouchesInTransaction();
                    Commit();
                }
                catch
                {
                    _db.Rollback();
                    throw;
                }
            }

            long now = Now();
            return entries.Find(Query.All("_id", Query.Ascending)).Where(r => r.ExpiresAt > now).Select(ToEntry).ToList();
        }
    }

    /// <summary>
    /// Imports entries in one transaction: all or nothing. Capacity applies to the result; with evict_lru the least
    /// recently used entries that the import does not replace make room. With <paramref name="replace"/> the segment
    /// starts empty; a damaged one first has its file moved aside.
    /// </summary>
    public (int Imported, int Replaced, IReadOnlyList<string> Evicted, string? MovedAside) Import(IReadOnlyList<MemoryRecord> records, bool replace, MemoryLimits limits)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            string? movedAside = null;
            if (State == MemorySegmentState.Damaged)
            {
                if (!replace)
                {
                    throw DamagedError();
                }

                movedAside = MoveAside();
                OpenCore();
                if (State != MemorySegmentState.Ok)
                {
                    throw new OrchflowException(ErrorCodes.Damaged, $"A new memory file for workspace '{WorkspaceId}' could not be created: {Problem}", "Check the permissions and free space of Orchflow's data directory.");
                }
            }

            var entries = EnsureOpen();
            long now = Now();

            // The last line of a key wins, as if they had been written one after the other.
            var byKey = new Dictionary<string, MemoryRecord>(StringComparer.Ordinal);
            foreach (var r in records)
            {
                byKey[r.Key] = r;
            }

            long importBytes = byKey.Values.Sum(r => r.Size);
            if (byKey.Count > limits.CapacityEntries || importBytes > limits.CapacityBytes)
            {
                throw new OrchflowException(ErrorCodes.LimitReached,
                    $"The import has {byKey.Count} entries ({importBytes} bytes); workspace '{WorkspaceId}' holds at most {limits.CapacityEntries} entries and {limits.CapacityBytes} bytes.",
                    "Raise memory.capacity_entries or models.memory_size in the workspace's .orchflow/workspace.json, or import fewer entries.");
            }

            var victims = new List<MemoryRecord>();
            int replaced = 0, expiredCount = 0;
            long count, bytes;
            _db!.BeginTrans();
            try
            {
                if (replace)
                {
                    entries.DeleteAll();
                    count = 0;
                    bytes = 0;
                }
                else
                {
                    count = _count;
                    bytes = _bytes;
                    foreach (var r in byKey.Values)
                    {
                        if (entries.FindById(r.Key) is { } old)
                        {
                            count--;
                            bytes -= old.Size;
                            replaced += old.ExpiresAt > now ? 1 : 0;
                        }
                    }
                }

                count += byKey.Count;
                bytes += importBytes;
                if (count > limits.CapacityEntries || bytes > limits.CapacityBytes)
                {
                    var expired = PurgeExpiredInTransaction(now, except: null, keep: byKey);
                    count -= expired.Count;
                    bytes -= expired.Sum(e => e.Size);
                    expiredCount = expired.Count;
                    if (count > limits.CapacityEntries || bytes > limits.CapacityBytes)
                    {
                        if (limits.WhenFull == MemoryWhenFull.Refuse)
                        {
                            throw Full(limits, count, bytes);
                        }

                        FlushTouchesInTransaction();
                        EvictLru(victims, ref count, ref bytes, limits, byKey.ContainsKey);
                    }
                }

                entries.Upsert(byKey.Values);
                Commit();
            }
            catch
            {
                _db.Rollback();
                throw;
            }

            _count = count;
            _bytes = bytes;
            Evictions += victims.Count;
            Expirations += expiredCount;
            _touches.Clear();
            return (byKey.Count, replaced, victims.Select(v => v.Key).ToList(), movedAside);
        }
    }

    /// <summary>Closes the segment and deletes its files (the workspace was deleted).</summary>
    public void Destroy()
    {
        lock (_gate)
        {
            CloseCore(flush: false);
            if (File is not null && State == MemorySegmentState.Damaged)
            {
                // Even now the damaged file is not deleted: it may hold the only copy of something.
                MoveAside();
            }
            else if (File is not null)
            {
                foreach (var f in new[] { File, LogFileOf(File) })
                {
                    System.IO.File.Delete(f);
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            CloseCore(flush: true);
        }
    }

    // ---- Internals ----

    private void CloseCore(bool flush)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_db is null)
        {
            return;
        }

        if (flush && _touches.Count > 0)
        {
            try
            {
                _db.BeginTrans();
                FlushTouchesInTransaction();
                Commit();
            }
            catch (LiteException)
            {
                // Access history only; the entries themselves are committed.
            }
        }

        _db.Dispose();
        _db = null;
        _entries = null;
    }

    /// <summary>Commits the transaction and returns once it is on disk (see <see cref="LiteDurability"/>): only then is a write acknowledged.</summary>
    private void Commit()
    {
        _db!.Commit();
        if (File is not null)
        {
            LiteDurability.WaitForDisk(_db);
        }
    }

    private ILiteCollection<MemoryRecord> EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (State == MemorySegmentState.Damaged)
        {
            throw DamagedError();
        }

        return _entries!;
    }

    /// <summary>The error of every call to a damaged segment: what is wrong, that the file is kept, and how to get back.</summary>
    public OrchflowException DamagedError() => new(ErrorCodes.Damaged,
        $"The memory of workspace '{WorkspaceId}' is damaged and is not served: {Problem}",
        RecoveryHint(WorkspaceId, File));

    public static string RecoveryHint(string workspaceId, string? file) =>
        $"The file is kept as it is. To start again from a backup, run `orchflow memory import --workspace {workspaceId} --replace BACKUP.jsonl` "
        + $"(an empty file starts empty); it moves {file ?? "the file"} aside to a .damaged-<time> file, which is never deleted.";

    private string MoveAside()
    {
        if (File is null)
        {
            return "";
        }

        var stamp = _time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var aside = $"{File}.damaged-{stamp}";
        if (System.IO.File.Exists(File))
        {
            System.IO.File.Move(File, aside);
        }

        var log = LogFileOf(File);
        if (System.IO.File.Exists(log))
        {
            System.IO.File.Move(log, $"{log}.damaged-{stamp}");
        }

        return aside;
    }

    /// <summary>
    /// Deletes least recently used entries (not the protected ones) until the counts fit. The candidates are read in
    /// small batches and each batch is materialized before deleting: deleting under a live cursor of the same
    /// transaction invalidates it.
    /// </summary>
    private void EvictLru(List<MemoryRecord> victims, ref long count, ref long bytes, MemoryLimits limits, Func<string, bool> isProtected)
    {
        const int Batch = 64;
        var entries = _entries!;
        int skipped = 0;
        while (count > limits.CapacityEntries || bytes > limits.CapacityBytes)
        {
            var batch = entries.Find(Query.All(nameof(MemoryRecord.AccessedAt), Query.Ascending), skipped, Batch).ToList();
            if (batch.Count == 0)
            {
                break;
            }

            foreach (var lru in batch)
            {
                if (count <= limits.CapacityEntries && bytes <= limits.CapacityBytes)
                {
                    break;
                }

                if (isProtected(lru.Key))
                {
                    skipped++;
                    continue;
                }

                entries.Delete(lru.Key);
                victims.Add(lru);
                count--;
                bytes -= lru.Size;
            }
        }
    }

    private List<MemoryRecord> PurgeExpiredInTransaction(long now, string? except, IReadOnlyDictionary<string, MemoryRecord>? keep = null)
    {
        var entries = _entries!;
        var expired = entries.Find(Query.LTE(nameof(MemoryRecord.ExpiresAt), now))
            .Where(r => r.Key != except && (keep is null || !keep.ContainsKey(r.Key))).ToList();
        foreach (var r in expired)
        {
            entries.Delete(r.Key);
            _touches.Remove(r.Key);
        }

        return expired;
    }

    private void RemoveExpired(MemoryRecord r)
    {
        _entries!.Delete(r.Key);
        _touches.Remove(r.Key);
        _count--;
        _bytes -= r.Size;
        Expirations++;
    }

    private void FlushTouchesInTransaction()
    {
        var entries = _entries!;
        foreach (var (key, touch) in _touches)
        {
            if (entries.FindById(key) is { } r)
            {
                r.AccessedAt = Math.Max(r.AccessedAt, touch.At);
                r.AccessCount += touch.Count;
                entries.Update(r);
            }
        }

        _touches.Clear();
    }

    private MemoryEntry WithTouches(MemoryRecord r)
    {
        if (_touches.TryGetValue(r.Key, out var t))
        {
            r.AccessedAt = Math.Max(r.AccessedAt, t.At);
            r.AccessCount += t.Count;
        }

        return ToEntry(r);
    }

    private long? ResolveTtl(long? requested, MemoryLimits limits)
    {
        if (requested is { } s)
        {
            if (s < 0 || s > MaxTtlSeconds)
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"The time to live must be from 0 to {MaxTtlSeconds} seconds, got {s}.", "Give seconds, or 0 for an entry that never expires.");
            }

            return s == 0 ? null : s;
        }

        return limits.DefaultTtl is { } d && d > TimeSpan.Zero ? (long)d.TotalSeconds : null;
    }

    private OrchflowException Full(MemoryLimits limits, long count, long bytes) => new(ErrorCodes.LimitReached,
        $"The memory of workspace '{WorkspaceId}' is full: it would hold {count} entries ({limits.CapacityEntries} allowed, memory.capacity_entries) and {bytes} bytes ({limits.CapacityBytes} allowed, models.memory_size), and memory.when_full is \"refuse\".",
        "Delete entries (`orchflow memory rm`), raise the capacity in the workspace's .orchflow/workspace.json, or set memory.when_full to \"evict_lru\".");

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static long? SizeOnDisk(string file)
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

    public static long SizeOf(string key, string value, IReadOnlyList<string> tags) =>
        Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value) + tags.Sum(t => (long)Encoding.UTF8.GetByteCount(t));

    public static void ValidateKey(string? key, string what = "key")
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} is empty.", "Give a non-empty key, for example \"build/last-error\".");
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(key);
        }
        catch (EncoderFallbackException)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} is not valid Unicode text (it holds a lone surrogate).", "Send the key as proper UTF-8 text.");
        }

        if (bytes > MaxKeyBytes)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} is {bytes} bytes long; at most {MaxKeyBytes} bytes (UTF-8) are allowed.", "Use a shorter key and put the details in the value.");
        }

        int control = key.AsSpan().IndexOfAnyInRange('\0', '\x1f');
        if (control >= 0 || key.Contains('\x7f', StringComparison.Ordinal))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} contains a control character (U+{(int)key[control >= 0 ? control : key.IndexOf('\x7f', StringComparison.Ordinal)]:X4}); keys must be printable.", "Remove control characters such as NUL, tab and newline from the key.");
        }
    }

    private static void ValidateValue(string? value, MemoryValueKind kind)
    {
        if (value is null)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The value is missing.", "Give a value (it may be empty text).");
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The value is not valid Unicode text (it holds a lone surrogate).", "Send the value as proper UTF-8 text.");
        }

        if (bytes > MaxValueBytes)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The value is {bytes} bytes long; at most {MaxValueBytes} bytes are allowed per entry.", "Store a summary, or split it over several keys.");
        }

        if (kind == MemoryValueKind.Json)
        {
            try
            {
                using var _ = JsonDocument.Parse(value);
            }
            catch (JsonException e)
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"The value is not valid JSON: {e.Message}", "Send a JSON document, or store it as text.");
            }
        }
    }

    public static List<string> ValidateTags(IReadOnlyList<string>? tags)
    {
        var result = new List<string>();
        foreach (var tag in tags ?? [])
        {
            if (string.IsNullOrWhiteSpace(tag) || tag.Length > MaxTagChars || tag.Contains(',', StringComparison.Ordinal)
                || tag.AsSpan().IndexOfAnyInRange('\0', '\x1f') >= 0 || tag != tag.Trim())
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"The tag \"{Printable(tag)}\" is not allowed: tags are 1 to {MaxTagChars} printable characters, without commas or surrounding spaces.", "For example \"decision\" or \"api-v2\".");
            }

            if (!result.Contains(tag, StringComparer.Ordinal))
            {
                result.Add(tag);
            }
        }

        if (result.Count > MaxTags)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"An entry has at most {MaxTags} tags; {result.Count} were given.", "Keep the few tags that searches use.");
        }

        return result;
    }

    private static int ValidateLimit(int? limit) => limit switch
    {
        null => DefaultResults,
        >= 1 and <= MaxResults => limit.Value,
        _ => throw new OrchflowException(ErrorCodes.InvalidArgument, $"The limit must be from 1 to {MaxResults}, got {limit}.", "Page through larger results with list's after."),
    };

    private static string Printable(string? s) => s is null ? "" : new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static string Wire(MemoryWriterKind kind) => kind switch
    {
        MemoryWriterKind.Agent => "agent",
        MemoryWriterKind.Terminal => "terminal",
        _ => "user",
    };

    public static MemoryEntry ToEntry(MemoryRecord r) => new()
    {
        Key = r.Key,
        Value = r.Value,
        Kind = r.Kind == "json" ? MemoryValueKind.Json : MemoryValueKind.Text,
        Tags = r.Tags,
        CreatedAt = Time(r.CreatedAt),
        UpdatedAt = Time(r.UpdatedAt),
        ExpiresAt = r.ExpiresAt == long.MaxValue ? null : Time(r.ExpiresAt),
        AccessedAt = Time(r.AccessedAt),
        AccessCount = r.AccessCount,
        SizeBytes = r.Size,
        Provenance = new MemoryProvenance
        {
            Kind = r.WriterKind switch { "agent" => MemoryWriterKind.Agent, "terminal" => MemoryWriterKind.Terminal, _ => MemoryWriterKind.User },
            AgentId = r.WriterAgent,
            TerminalId = r.WriterTerminal,
            User = r.WriterUser,
            Tool = r.WriterTool,
            At = Time(r.WrittenAt),
        },
    };

    /// <summary>The stored form of an imported entry (validated like a write).</summary>
    public static MemoryRecord ToRecord(MemoryEntry e)
    {
        ValidateKey(e.Key);
        var tags = ValidateTags(e.Tags);
        ValidateValue(e.Value, e.Kind);
        return new MemoryRecord
        {
            Key = e.Key,
            Value = e.Value,
            Kind = e.Kind == MemoryValueKind.Json ? "json" : "text",
            Tags = tags,
            CreatedAt = e.CreatedAt.ToUnixTimeMilliseconds(),
            UpdatedAt = e.UpdatedAt.ToUnixTimeMilliseconds(),
            ExpiresAt = e.ExpiresAt?.ToUnixTimeMilliseconds() ?? long.MaxValue,
            AccessedAt = e.AccessedAt.ToUnixTimeMilliseconds(),
            AccessCount = e.AccessCount,
            Size = SizeOf(e.Key, e.Value, tags),
            WriterKind = Wire(e.Provenance.Kind),
            WriterAgent = e.Provenance.AgentId,
            WriterTerminal = e.Provenance.TerminalId,
            WriterUser = e.Provenance.User,
            WriterTool = e.Provenance.Tool,
            WrittenAt = e.Provenance.At.ToUnixTimeMilliseconds(),
        };
    }

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
