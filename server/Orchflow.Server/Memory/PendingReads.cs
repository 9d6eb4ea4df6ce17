using LiteDB;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Memory;

/// <summary>
/// Reads of a segment's entries that are not yet written to its file: the time of the last read and how many there
/// were, per key. Writing each read would cost a disk commit per get; the segment writes them in one transaction
/// later (<see cref="WriteTo"/>), and shows them on every entry it returns meanwhile. Not thread-safe: the segment's
/// lock guards it.
/// </summary>
internal sealed class PendingReads
{
    private readonly Dictionary<string, (long At, long Count)> _reads = new(StringComparer.Ordinal);

    public int Count => _reads.Count;

    /// <summary>Records a read of <paramref name="r"/> at <paramref name="now"/> and shows every pending read on it.</summary>
    public void Record(MemoryRecord r, long now)
    {
        var read = _reads.GetValueOrDefault(r.Key);
        read = (now, read.Count + 1);
        _reads[r.Key] = read;
        r.AccessedAt = read.At;
        r.AccessCount += read.Count;
    }

    /// <summary>Shows the pending reads of <paramref name="r"/> on it (a record just read from the file).</summary>
    public MemoryRecord ShowOn(MemoryRecord r)
    {
        if (_reads.TryGetValue(r.Key, out var read))
        {
            r.AccessedAt = Math.Max(r.AccessedAt, read.At);
            r.AccessCount += read.Count;
        }

        return r;
    }

    /// <summary>The entry was replaced or removed: its pending reads go with it.</summary>
    public void Forget(string key) => _reads.Remove(key);

    public void Clear() => _reads.Clear();

    /// <summary>Writes every pending read into <paramref name="entries"/> (inside the caller's transaction) and forgets them.</summary>
    public void WriteTo(ILiteCollection<MemoryRecord> entries)
    {
        foreach (var (key, read) in _reads)
        {
            if (entries.FindById(key) is { } r)
            {
                r.AccessedAt = Math.Max(r.AccessedAt, read.At);
                r.AccessCount += read.Count;
                entries.Update(r);
            }
        }

        _reads.Clear();
    }
}
