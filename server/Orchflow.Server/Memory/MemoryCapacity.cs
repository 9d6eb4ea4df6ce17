using LiteDB;
using Orchflow.Protocol;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Memory;

/// <summary>
/// A segment's capacity rules, applied inside the segment's open transaction: expired entries go first, then with
/// evict_lru the least recently used ones, and with refuse what does not fit is refused. Works on the segment's
/// collection and pending reads under the segment's lock; the segment keeps the counts.
/// </summary>
internal sealed class MemoryCapacity(ILiteCollection<MemoryRecord> entries, PendingReads reads, string workspaceId)
{
    /// <summary>
    /// Brings the counts within capacity inside the caller's transaction: expired entries go first, then (evict_lru)
    /// the least recently used ones, never a protected one (what the call itself stores); with refuse, what still
    /// does not fit is refused. Returns how many expired entries went.
    /// </summary>
    public int MakeRoom(long now, MemoryLimits limits, Func<string, bool> isProtected, ref long count, ref long bytes, List<MemoryRecord> victims)
    {
        if (count <= limits.CapacityEntries && bytes <= limits.CapacityBytes)
        {
            return 0;
        }

        var expired = PurgeExpired(now, isProtected);
        count -= expired.Count;
        bytes -= expired.Sum(e => e.Size);
        if (count > limits.CapacityEntries || bytes > limits.CapacityBytes)
        {
            if (limits.WhenFull == MemoryWhenFull.Refuse)
            {
                throw Full(limits, count, bytes);
            }

            reads.WriteTo(entries);
            EvictLru(victims, ref count, ref bytes, limits, isProtected);
        }

        return expired.Count;
    }

    /// <summary>
    /// Deletes least recently used entries (not the protected ones) until the counts fit. The candidates are read in
    /// small batches and each batch is materialized before deleting: deleting under a live cursor of the same
    /// transaction invalidates it.
    /// </summary>
    private void EvictLru(List<MemoryRecord> victims, ref long count, ref long bytes, MemoryLimits limits, Func<string, bool> isProtected)
    {
        const int Batch = 64;
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

    /// <summary>Deletes the expired entries that are not protected, inside the caller's transaction; returns them.</summary>
    public List<MemoryRecord> PurgeExpired(long now, Func<string, bool> isProtected)
    {
        var expired = entries.Find(Query.LTE(nameof(MemoryRecord.ExpiresAt), now)).Where(r => !isProtected(r.Key)).ToList();
        foreach (var r in expired)
        {
            entries.Delete(r.Key);
            reads.Forget(r.Key);
        }

        return expired;
    }

    private OrchflowException Full(MemoryLimits limits, long count, long bytes) => new(ErrorCodes.LimitReached,
        $"The memory of workspace '{workspaceId}' is full: it would hold {count} entries ({limits.CapacityEntries} allowed, memory.capacity_entries) and {bytes} bytes ({limits.CapacityBytes} allowed, models.memory_size), and memory.when_full is \"refuse\".",
        "Delete entries (`orchflow memory rm`), raise the capacity in the workspace's .orchflow/workspace.json, or set memory.when_full to \"evict_lru\".");
}
