using Orchflow.Protocol;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Memory;

/// <summary>
/// The one place where a memory entry changes form: the LiteDB document (<see cref="MemoryRecord"/>: Unix
/// milliseconds, kinds as text, "never expires" as <see cref="long.MaxValue"/>) and the protocol's
/// <see cref="MemoryEntry"/>.
/// </summary>
public static class MemoryMapping
{
    /// <summary>The document of a write at <paramref name="now"/> (Unix milliseconds); a replaced entry keeps its creation time and read count.</summary>
    public static MemoryRecord ToRecord(MemoryWrite write, IReadOnlyList<string> tags, MemoryWriter writer, long now, long? ttlSeconds, long size, MemoryRecord? replaced) => new()
    {
        Key = write.Key,
        Value = write.Value,
        Kind = StoredKind(write.Kind),
        Tags = [.. tags],
        CreatedAt = replaced?.CreatedAt ?? now,
        UpdatedAt = now,
        ExpiresAt = ttlSeconds is { } t ? now + (t * 1000) : long.MaxValue,
        AccessedAt = now,
        AccessCount = replaced?.AccessCount ?? 0,
        Size = size,
        WriterKind = StoredKind(writer.Kind),
        WriterAgent = writer.AgentId,
        WriterTerminal = writer.TerminalId,
        WriterUser = writer.User,
        WriterTool = writer.Tool,
        WrittenAt = now,
    };

    /// <summary>The stored form of an imported entry, held to the same rules as a write (<see cref="MemoryRules"/>).</summary>
    public static MemoryRecord ToRecord(MemoryEntry e)
    {
        MemoryRules.ValidateKey(e.Key);
        var tags = MemoryRules.ValidateTags(e.Tags);
        MemoryRules.ValidateValue(e.Value, e.Kind);
        return new MemoryRecord
        {
            Key = e.Key,
            Value = e.Value,
            Kind = StoredKind(e.Kind),
            Tags = tags,
            CreatedAt = e.CreatedAt.ToUnixTimeMilliseconds(),
            UpdatedAt = e.UpdatedAt.ToUnixTimeMilliseconds(),
            ExpiresAt = e.ExpiresAt?.ToUnixTimeMilliseconds() ?? long.MaxValue,
            AccessedAt = e.AccessedAt.ToUnixTimeMilliseconds(),
            AccessCount = e.AccessCount,
            Size = MemoryRules.SizeOf(e.Key, e.Value, tags),
            WriterKind = StoredKind(e.Provenance.Kind),
            WriterAgent = e.Provenance.AgentId,
            WriterTerminal = e.Provenance.TerminalId,
            WriterUser = e.Provenance.User,
            WriterTool = e.Provenance.Tool,
            WrittenAt = e.Provenance.At.ToUnixTimeMilliseconds(),
        };
    }

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

    private static string StoredKind(MemoryValueKind kind) => kind == MemoryValueKind.Json ? "json" : "text";

    private static string StoredKind(MemoryWriterKind kind) => kind switch
    {
        MemoryWriterKind.Agent => "agent",
        MemoryWriterKind.Terminal => "terminal",
        _ => "user",
    };

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
