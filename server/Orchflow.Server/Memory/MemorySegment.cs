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
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly PendingReads _reads = new();
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

    private void OpenCore()
    {
        try
        {
            (_db, _entries, _count, _bytes) = MemoryFile.Open(File);
            State = MemorySegmentState.Ok;
            Problem = null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            State = MemorySegmentState.Damaged;
            Problem = $"{File ?? "the in-memory segment"} cannot be read: {ex.Message}";
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
        MemoryRules.ValidateKey(write.Key);
        var tags = MemoryRules.ValidateTags(write.Tags);
        MemoryRules.ValidateValue(write.Value, write.Kind);
        long size = MemoryRules.SizeOf(write.Key, write.Value, tags);
        MemoryRules.CheckFits(size, limits, WorkspaceId);

        lock (_gate)
        {
            var entries = EnsureOpen();
            long now = Now();
            var existing = entries.FindById(write.Key);
            if (existing is not null && existing.ExpiresAt <= now)
            {
                existing = null; // Replaced like an absent one; the expired document is overwritten below.
            }

            var record = MemoryMapping.ToRecord(write, tags, writer, now, MemoryRules.Ttl(write.TtlSeconds, limits), size, existing);

            // What the stored document (expired or not) occupies now, and what the counters become.
            var stored = existing ?? entries.FindById(write.Key);
            long count = _count + (stored is null ? 1 : 0);
            long bytes = _bytes - (stored?.Size ?? 0) + size;
            var victims = new List<MemoryRecord>();
            int expiredCount = InTransaction(() =>
            {
                int expired = Capacity.MakeRoom(now, limits, key => key == write.Key, ref count, ref bytes, victims);
                entries.Upsert(record);
                return expired;
            });

            _count = count;
            _bytes = bytes;
            Evictions += victims.Count;
            Expirations += expiredCount;
            _reads.Forget(write.Key);
            foreach (var v in victims)
            {
                _reads.Forget(v.Key);
            }

            return new MemorySetResult { Entry = MemoryMapping.ToEntry(record), Replaced = existing is not null, Evicted = victims.Select(v => v.Key).ToList() };
        }
    }

    public MemoryEntry? Get(string key)
    {
        MemoryRules.ValidateKey(key);
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

            _reads.Record(r, now);
            return MemoryMapping.ToEntry(r);
        }
    }

    public bool Delete(string key)
    {
        MemoryRules.ValidateKey(key);
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
            _reads.Forget(key);
            return r.ExpiresAt > Now();
        }
    }

    public MemorySearchResult Search(MemoryQuery q)
    {
        if (q.Prefix is { Length: > 0 } p)
        {
            MemoryRules.ValidateKey(p, "prefix");
        }

        var tags = MemoryRules.ValidateTags(q.Tags);
        int limit = MemoryRules.ValidateLimit(q.Limit);
        lock (_gate)
        {
            var entries = EnsureOpen();
            var (matches, truncated) = MemorySearch.Find(_db!, entries, q, tags, limit, Now());
            return new MemorySearchResult { Entries = matches.Select(Shown).ToList(), Truncated = truncated };
        }
    }

    public MemoryListResult List(string? after, int? limit)
    {
        int n = MemoryRules.ValidateLimit(limit);
        lock (_gate)
        {
            var (page, more) = MemorySearch.Page(EnsureOpen(), after, n, Now());
            return new MemoryListResult { Entries = page.Select(Shown).ToList(), NextAfter = more ? page[^1].Key : null };
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
            if (_entries!.Count(Query.LTE(nameof(MemoryRecord.ExpiresAt), now)) == 0)
            {
                return 0;
            }

            var expired = InTransaction(() => Capacity.PurgeExpired(now, _ => false));
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
            if (_reads.Count == 0 || State != MemorySegmentState.Ok || _disposed)
            {
                return;
            }

            InTransaction(FlushReadsInTransaction);
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
            long? fileBytes = File is null ? null : MemoryFile.SizeOnDisk(File);
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
            if (_reads.Count > 0)
            {
                InTransaction(FlushReadsInTransaction);
            }

            long now = Now();
            return entries.Find(Query.All("_id", Query.Ascending)).Where(r => r.ExpiresAt > now).Select(MemoryMapping.ToEntry).ToList();
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
            int replaced = 0;
            long count = _count, bytes = _bytes;
            int expiredCount = InTransaction(() =>
            {
                if (replace)
                {
                    entries.DeleteAll();
                    count = 0;
                    bytes = 0;
                }
                else
                {
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
                int expired = Capacity.MakeRoom(now, limits, byKey.ContainsKey, ref count, ref bytes, victims);
                entries.Upsert(byKey.Values);
                return expired;
            });

            _count = count;
            _bytes = bytes;
            Evictions += victims.Count;
            Expirations += expiredCount;
            _reads.Clear();
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
                MemoryFile.Delete(File);
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

        if (flush && _reads.Count > 0)
        {
            try
            {
                _db.BeginTrans();
                FlushReadsInTransaction();
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

    /// <summary>Runs <paramref name="write"/> in one transaction: committed (<see cref="Commit"/>) when it returns, rolled back when it throws.</summary>
    private T InTransaction<T>(Func<T> write)
    {
        _db!.BeginTrans();
        try
        {
            var result = write();
            Commit();
            return result;
        }
        catch
        {
            _db.Rollback();
            throw;
        }
    }

    private void InTransaction(Action write) => InTransaction(() =>
    {
        write();
        return 0;
    });

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
        MemoryFile.RecoveryHint(WorkspaceId, File));

    private string MoveAside() => File is null ? "" : MemoryFile.MoveAside(File, _time.GetUtcNow());

    private void RemoveExpired(MemoryRecord r)
    {
        _entries!.Delete(r.Key);
        _reads.Forget(r.Key);
        _count--;
        _bytes -= r.Size;
        Expirations++;
    }

    private void FlushReadsInTransaction() => _reads.WriteTo(_entries!);

    /// <summary>Capacity within the open file's transaction (made per call: the file is reopened after a move aside).</summary>
    private MemoryCapacity Capacity => new(_entries!, _reads, WorkspaceId);

    private MemoryEntry Shown(MemoryRecord r) => MemoryMapping.ToEntry(_reads.ShowOn(r));

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
