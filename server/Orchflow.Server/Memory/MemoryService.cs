using System.Globalization;
using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Memory;

/// <summary>
/// Every workspace's memory segment, keyed by workspace id: one LiteDB file each under <c>data/memory/</c> (or an
/// in-memory database for persistence "memory"), opened on first use and closed (and deleted) with its workspace.
/// Segments that exist on disk are opened and verified at start, in the background, so a damaged file is reported at
/// once (log, status, orchflow/memory/changed) rather than at its first use.
/// </summary>
/// <remarks>
/// A segment is reached only through a workspace id that the caller does not choose freely: a user's call names a
/// workspace the registry resolves; an agent's call is bound to its workspace by its token (see McpHandlers). There is
/// no other path from a key or a parameter to a segment.
/// </remarks>
public sealed class MemoryService : IAsyncDisposable
{
    /// <summary>Changes are announced at most this often per workspace, so a burst of writes is one notification.</summary>
    public static readonly TimeSpan PublishInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long reads' access times and counts may wait in memory before they are written (see <see cref="MemorySegment"/>).</summary>
    public static readonly TimeSpan TouchFlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often expired entries are removed in the background (reads never return them in between).</summary>
    public static readonly TimeSpan PurgeInterval = TimeSpan.FromSeconds(10);

    private readonly object _openGate = new();
    private readonly Dictionary<string, MemorySegment> _segments = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly WorkspaceService _workspaces;
    private readonly TerminalService _terminals;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private bool _disposed;

    /// <param name="terminals">The terminals, to record the CLI's terminal in an entry's provenance only when it is a terminal of that workspace.</param>
    public MemoryService(WorkspaceService workspaces, TerminalService terminals, OrchflowPaths paths, Log log, TimeProvider time)
    {
        _workspaces = workspaces;
        _terminals = terminals;
        _log = log;
        _time = time;
        Directory = Path.Combine(paths.DataDirectory, "memory");
        Verified = Task.Run(VerifyExisting);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Where the segment files are.</summary>
    public string Directory { get; }

    /// <summary>Completes when every segment file found at start has been opened and checked.</summary>
    public Task Verified { get; }

    /// <summary>Whether a terminal id is a terminal of a workspace (to record the CLI's terminal in provenance).</summary>
    public bool TerminalBelongs(string workspaceId, string terminalId) => _terminals.List(workspaceId).Any(t => t.Id == terminalId);

    /// <summary>A segment changed or was found damaged. Raised from the background loop, outside every lock.</summary>
    public event Action<MemoryChangedNotification>? Changed;

    public string FileFor(string workspaceId)
    {
        // Workspace ids are slugs (the registry refuses anything else); checked again here because this becomes a path.
        if (workspaceId.Length == 0 || workspaceId.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"'{workspaceId}' is not a workspace id.");
        }

        return Path.Combine(Directory, workspaceId + ".db");
    }

    /// <summary>The workspace's id for a user's reference (id, name or root path).</summary>
    public string Resolve(string? workspaceRef) =>
        string.IsNullOrWhiteSpace(workspaceRef)
            ? throw new OrchflowException(ErrorCodes.InvalidArgument, "No workspace was named.", "Pass the workspace's id, name or root path (`orchflow workspace list`).")
            : _workspaces.Show(workspaceRef).Id;

    public MemorySetResult Set(string workspaceId, MemoryWrite write, MemoryWriter writer)
    {
        var result = Use(workspaceId, s => s.Set(write, writer, Limits(workspaceId)));
        MarkDirty(workspaceId);
        return result;
    }

    public MemoryEntry? Get(string workspaceId, string key) => Use(workspaceId, s => s.Get(key));

    public bool Delete(string workspaceId, string key)
    {
        var deleted = Use(workspaceId, s => s.Delete(key));
        MarkDirty(workspaceId);
        return deleted;
    }

    public MemorySearchResult Search(string workspaceId, MemoryQuery query) => Use(workspaceId, s => s.Search(query));

    public MemoryListResult List(string workspaceId, string? after, int? limit) => Use(workspaceId, s => s.List(after, limit));

    /// <summary>The stats of one workspace, or of all of them. A workspace whose segment was never written has none on disk and is reported empty without creating one.</summary>
    public IReadOnlyList<MemoryStats> Stats(string? workspaceId)
    {
        var ids = workspaceId is null ? _workspaces.List().Select(w => w.Id).Order(StringComparer.Ordinal).ToList() : [workspaceId];
        return ids.Select(StatsOf).ToList();
    }

    public MemoryStats StatsOf(string workspaceId)
    {
        var limits = Limits(workspaceId);
        var segment = Existing(workspaceId);
        if (segment is null)
        {
            return new MemoryStats
            {
                WorkspaceId = workspaceId,
                State = MemorySegmentState.Ok,
                Entries = 0,
                Bytes = 0,
                CapacityEntries = limits.CapacityEntries,
                CapacityBytes = limits.CapacityBytes,
                UsedPercent = 0,
                WhenFull = limits.WhenFull,
                Persistence = ConfiguredPersistence(workspaceId),
                DefaultTtlSeconds = limits.DefaultTtl is { } d ? (long)d.TotalSeconds : null,
                File = ConfiguredPersistence(workspaceId) == MemoryPersistence.Disk ? FileFor(workspaceId) : null,
                Evictions = 0,
                Expirations = 0,
            };
        }

        try
        {
            return segment.Stats(limits, MemoryFile.RecoveryHint(workspaceId, segment.File));
        }
        catch (ObjectDisposedException)
        {
            throw Gone(workspaceId);
        }
    }

    public IReadOnlyList<MemoryEntry> Export(string workspaceId) => Use(workspaceId, s => s.Export());

    public MemoryImportResult Import(string workspaceId, IReadOnlyList<MemoryEntry> entries, bool replace)
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var records = entries.Select(MemoryMapping.ToRecord).ToList();
        var live = records.Where(r => r.ExpiresAt > now).ToList();
        var segment = Segment(workspaceId);
        try
        {
            var (imported, replaced, evicted, aside) = segment.Import(live, replace, Limits(workspaceId));
            if (aside is { Length: > 0 })
            {
                _log.Warn($"Memory of {workspaceId}: the damaged file was moved to {aside}; a new one was started from an import of {imported} entries");
            }

            MarkDirty(workspaceId);
            return new MemoryImportResult { Imported = imported, Replaced = replaced, Evicted = evicted, SkippedExpired = records.Count - live.Count, MovedAside = aside is { Length: > 0 } ? aside : null };
        }
        catch (ObjectDisposedException)
        {
            throw Gone(workspaceId);
        }
    }

    /// <summary>The workspace was deleted: its segment is closed and its files deleted (a damaged file is moved aside instead).</summary>
    public void RemoveWorkspace(string workspaceId)
    {
        MemorySegment? segment;
        lock (_openGate)
        {
            _segments.Remove(workspaceId, out segment);
            if (segment is null && File.Exists(FileFor(workspaceId)))
            {
                segment = MemorySegment.Open(workspaceId, FileFor(workspaceId), _time);
            }
        }

        segment?.Destroy();
        lock (_dirty)
        {
            _dirty.Remove(workspaceId);
        }

        Changed?.Invoke(new MemoryChangedNotification { WorkspaceId = workspaceId, Stats = null });
    }

    /// <summary>The settings in force: memory.* of the workspace's config, and models.memory_size (else the global memory_per_workspace).</summary>
    public MemoryLimits Limits(string workspaceId)
    {
        var config = _workspaces.WithWorkspace(workspaceId, w => w.Config?.Memory);
        var bytes = _workspaces.Show(workspaceId).Models.MemorySizeBytes ?? Defaults.MemoryPerWorkspaceBytes;
        return new MemoryLimits(
            config?.CapacityEntries ?? Defaults.MemoryCapacityEntries,
            bytes,
            (config?.WhenFull ?? Defaults.MemoryWhenFull) == WhenFull.Refuse ? MemoryWhenFull.Refuse : MemoryWhenFull.EvictLru,
            config?.DefaultTtl);
    }

    private MemoryPersistence ConfiguredPersistence(string workspaceId) =>
        (_workspaces.WithWorkspace(workspaceId, w => w.Config?.Memory.Persistence) ?? Defaults.MemoryPersistence) == Persistence.Memory
            ? MemoryPersistence.Memory
            : MemoryPersistence.Disk;

    private T Use<T>(string workspaceId, Func<MemorySegment, T> action)
    {
        var segment = Segment(workspaceId);
        try
        {
            return action(segment);
        }
        catch (ObjectDisposedException)
        {
            throw Gone(workspaceId);
        }
    }

    private static OrchflowException Gone(string workspaceId) =>
        new(ErrorCodes.NotFound, $"Workspace '{workspaceId}' was deleted, and its memory with it.", "Run `orchflow workspace list` to see the workspaces.");

    /// <summary>The open segment of a workspace, opening (and verifying) it on first use.</summary>
    private MemorySegment Segment(string workspaceId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_openGate)
        {
            if (_segments.TryGetValue(workspaceId, out var open))
            {
                return open;
            }

            _ = _workspaces.Show(workspaceId); // The single guard for unknown ids.
            var file = ConfiguredPersistence(workspaceId) == MemoryPersistence.Disk ? FileFor(workspaceId) : null;
            var segment = MemorySegment.Open(workspaceId, file, _time);
            _segments[workspaceId] = segment;
            if (segment.State == MemorySegmentState.Damaged)
            {
                _log.Error($"Memory of workspace {workspaceId} is damaged and is not served: {segment.Problem}. {MemoryFile.RecoveryHint(workspaceId, file)}");
                MarkDirty(workspaceId);
            }
            else if (file is null && File.Exists(FileFor(workspaceId)))
            {
                _log.Warn($"Memory of workspace {workspaceId} is kept in memory only (persistence \"memory\"); the file {FileFor(workspaceId)} from before is left as it is");
            }

            return segment;
        }
    }

    /// <summary>The segment when it is open or has a file (which is then opened); null when the workspace has none yet.</summary>
    private MemorySegment? Existing(string workspaceId)
    {
        lock (_openGate)
        {
            if (_segments.TryGetValue(workspaceId, out var open))
            {
                return open;
            }
        }

        return File.Exists(FileFor(workspaceId)) ? Segment(workspaceId) : null;
    }

    private void VerifyExisting()
    {
        int opened = 0, damaged = 0;
        foreach (var ws in _workspaces.List())
        {
            try
            {
                if (File.Exists(FileFor(ws.Id)) && !_stopping.IsCancellationRequested)
                {
                    opened++;
                    damaged += Segment(ws.Id).State == MemorySegmentState.Damaged ? 1 : 0;
                }
            }
            catch (Exception e) when (e is OrchflowException or ObjectDisposedException)
            {
                // Deleted meanwhile, or the daemon is stopping.
            }
        }

        if (opened > 0)
        {
            _log.Info($"Memory: {opened} segment(s) opened and checked at start, {damaged} damaged");
        }
    }

    private void MarkDirty(string workspaceId)
    {
        lock (_dirty)
        {
            _dirty.Add(workspaceId);
        }
    }

    /// <summary>Every <see cref="PublishInterval"/>: publishes changes, and every so many passes flushes reads and purges expired entries.</summary>
    private Task LoopAsync()
    {
        long ticks = 0;
        long flushEvery = Math.Max(1, TouchFlushInterval.Ticks / PublishInterval.Ticks);
        long purgeEvery = Math.Max(1, PurgeInterval.Ticks / PublishInterval.Ticks);
        return Periodic.RunAsync(PublishInterval, _time, () =>
        {
            ticks++;
            Tick(flush: ticks % flushEvery == 0, purge: ticks % purgeEvery == 0);
        }, _log, "Memory maintenance failed", _stopping.Token);
    }

    private void Tick(bool flush, bool purge)
    {
        List<MemorySegment> open;
        lock (_openGate)
        {
            open = _segments.Values.Where(s => s.State == MemorySegmentState.Ok).ToList();
        }

        foreach (var s in open)
        {
            try
            {
                if (flush)
                {
                    s.FlushTouches();
                }

                if (purge && s.PurgeExpired() > 0)
                {
                    MarkDirty(s.WorkspaceId);
                }
            }
            catch (ObjectDisposedException)
            {
                // Its workspace was deleted meanwhile.
            }
        }

        List<string> dirty;
        lock (_dirty)
        {
            dirty = [.. _dirty];
            _dirty.Clear();
        }

        foreach (var id in dirty)
        {
            try
            {
                Changed?.Invoke(new MemoryChangedNotification { WorkspaceId = id, Stats = StatsOf(id) });
            }
            catch (OrchflowException)
            {
                // The workspace was deleted meanwhile; RemoveWorkspace announced it.
            }
        }
    }

    /// <summary>Workspaces whose open segment is damaged.</summary>
    public IReadOnlyList<string> DamagedWorkspaces()
    {
        lock (_openGate)
        {
            return _segments.Values.Where(s => s.State == MemorySegmentState.Damaged).Select(s => s.WorkspaceId).Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Publishes pending changes now (tests and shutdown).</summary>
    internal void PublishNow() => Tick(flush: true, purge: false);

    public async ValueTask DisposeAsync()
    {
        lock (_openGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        try
        {
            await Verified.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _log.Error("Memory verification at start failed", ex);
        }

        lock (_openGate)
        {
            foreach (var s in _segments.Values)
            {
                try
                {
                    s.Dispose();
                }
                catch (Exception ex)
                {
                    _log.Error($"Closing the memory of {s.WorkspaceId} failed", ex);
                }
            }

            _segments.Clear();
        }

        _stopping.Dispose();
    }

    internal static string Describe(MemoryStats s) =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Entries}/{s.CapacityEntries} entries, {s.Bytes}/{s.CapacityBytes} bytes");
}
