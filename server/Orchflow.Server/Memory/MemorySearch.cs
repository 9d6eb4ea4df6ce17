using LiteDB;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Memory;

/// <summary>
/// How a search and a page of a list find their entries in a segment's collection: through the key index for a
/// prefix, the tag index for tags, a scan of the raw documents for text alone; always live entries only, in key order,
/// cut at the limit. The segment holds its lock around each call and shows pending reads on what comes back.
/// </summary>
internal static class MemorySearch
{
    /// <summary>The live entries that match every filter of <paramref name="q"/> (its tags already validated), at most <paramref name="limit"/>; truncated when more matched.</summary>
    public static (List<MemoryRecord> Matches, bool Truncated) Find(LiteDatabase db, ILiteCollection<MemoryRecord> entries, MemoryQuery q, List<string> tags, int limit, long now)
    {
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
            candidates = ScanText(db, scanText, now);
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

        return (matches, truncated);
    }

    /// <summary>Up to <paramref name="n"/> live entries after the key <paramref name="after"/> (from the first when null); more when others follow.</summary>
    public static (List<MemoryRecord> Page, bool More) Page(ILiteCollection<MemoryRecord> entries, string? after, int n, long now)
    {
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

        return (page, more);
    }

    private static IEnumerable<MemoryRecord> ScanText(LiteDatabase db, string text, long now)
    {
        var raw = db.GetCollection(MemoryFile.Collection);
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
}
