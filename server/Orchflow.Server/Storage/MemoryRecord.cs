using LiteDB;

namespace Orchflow.Server.Storage;

/// <summary>
/// One memory entry as stored in its workspace's own LiteDB file (<c>data/memory/&lt;workspace&gt;.db</c>), collection
/// <c>entries</c>. Times are Unix milliseconds (UTC, no time-zone conversion by LiteDB's mapper); an entry that never
/// expires has <see cref="ExpiresAt"/> <see cref="long.MaxValue"/>, so one index range finds the expired ones.
/// </summary>
public sealed class MemoryRecord
{
    /// <summary>The key, compared ordinally: the segment's collation is set to ordinal when the file is created.</summary>
    [BsonId]
    public string Key { get; set; } = "";

    public string Value { get; set; } = "";

    /// <summary>"text" or "json".</summary>
    public string Kind { get; set; } = "text";

    public List<string> Tags { get; set; } = [];

    public long CreatedAt { get; set; }

    public long UpdatedAt { get; set; }

    public long ExpiresAt { get; set; } = long.MaxValue;

    public long AccessedAt { get; set; }

    public long AccessCount { get; set; }

    public long Size { get; set; }

    /// <summary>"agent", "terminal" or "user".</summary>
    public string WriterKind { get; set; } = "user";

    public string? WriterAgent { get; set; }

    public string? WriterTerminal { get; set; }

    public string? WriterUser { get; set; }

    public string? WriterTool { get; set; }

    public long WrittenAt { get; set; }
}
