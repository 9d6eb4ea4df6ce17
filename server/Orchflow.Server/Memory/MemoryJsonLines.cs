using System.Globalization;
using System.Text;
using System.Text.Json;
using Orchflow.Protocol;

namespace Orchflow.Server.Memory;

/// <summary>
/// The export and import format: JSON lines, one <see cref="MemoryEntry"/> per line in the wire's camelCase form.
/// An import needs only <c>key</c> and <c>value</c> per line; a <c>value</c> that is not a string is taken as a JSON
/// document (kind json). Every problem is reported with its line number, and nothing is imported while there is one.
/// </summary>
public static class MemoryJsonLines
{
    /// <summary>At most this many problems are listed in one error; the count says how many there were.</summary>
    public const int MaxReportedProblems = 10;

    public static string Format(IEnumerable<MemoryEntry> entries)
    {
        var sb = new StringBuilder();
        foreach (var e in entries)
        {
            sb.Append(JsonSerializer.Serialize(e, ProtocolJson.Options)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Parses every line; entries without provenance or times get <paramref name="importer"/> and <paramref name="now"/>.</summary>
    /// <param name="source">Named in errors: the file, or "the import".</param>
    public static IReadOnlyList<MemoryEntry> Parse(string text, MemoryWriter importer, DateTimeOffset now, string source)
    {
        var entries = new List<MemoryEntry>();
        var problems = new List<string>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                entries.Add(ParseLine(line, importer, now));
            }
            catch (Exception e) when (e is JsonException or FormatException or OrchflowException or InvalidOperationException)
            {
                problems.Add($"line {lineNo.ToString(CultureInfo.InvariantCulture)}: {Message(e)}");
            }
        }

        if (problems.Count > 0)
        {
            var shown = string.Join("; ", problems.Take(MaxReportedProblems));
            var more = problems.Count > MaxReportedProblems ? $" (and {problems.Count - MaxReportedProblems} more)" : "";
            throw new OrchflowException(ErrorCodes.InvalidArgument,
                $"{source} has {problems.Count} bad line(s), so nothing was imported: {shown}{more}",
                "Each line must be one JSON object with at least \"key\" and \"value\", as `orchflow memory export` writes them.");
        }

        return entries;
    }

    private static string Message(Exception e) => e is OrchflowException oe ? oe.Message : e.Message;

    private static MemoryEntry ParseLine(string line, MemoryWriter importer, DateTimeOffset now)
    {
        using var doc = JsonDocument.Parse(line);
        var o = doc.RootElement;
        if (o.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"expected a JSON object, got {o.ValueKind.ToString().ToLowerInvariant()}");
        }

        var key = o.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String
            ? k.GetString()!
            : throw new FormatException("\"key\" is missing or not a string");
        MemoryRules.ValidateKey(key);

        MemoryValueKind? kind = null;
        if (o.TryGetProperty("kind", out var kk))
        {
            kind = kk.ValueKind == JsonValueKind.String && kk.GetString() is "text" or "json"
                ? (kk.GetString() == "json" ? MemoryValueKind.Json : MemoryValueKind.Text)
                : throw new FormatException("\"kind\" must be \"text\" or \"json\"");
        }

        if (!o.TryGetProperty("value", out var v))
        {
            throw new FormatException("\"value\" is missing");
        }

        string value;
        if (v.ValueKind == JsonValueKind.String)
        {
            value = v.GetString()!;
        }
        else
        {
            if (kind == MemoryValueKind.Text)
            {
                throw new FormatException("\"value\" must be a string when \"kind\" is \"text\"");
            }

            value = v.GetRawText();
            kind = MemoryValueKind.Json;
        }

        var tags = new List<string>();
        if (o.TryGetProperty("tags", out var t))
        {
            if (t.ValueKind != JsonValueKind.Array || t.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            {
                throw new FormatException("\"tags\" must be an array of strings");
            }

            tags.AddRange(t.EnumerateArray().Select(x => x.GetString()!));
        }

        var updated = Time(o, "updatedAt") ?? now;
        MemoryProvenance provenance;
        if (o.TryGetProperty("provenance", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            provenance = p.Deserialize<MemoryProvenance>(ProtocolJson.Options) ?? throw new FormatException("\"provenance\" is empty");
        }
        else
        {
            provenance = new MemoryProvenance { Kind = importer.Kind, AgentId = importer.AgentId, TerminalId = importer.TerminalId, User = importer.User, Tool = importer.Tool, At = now };
        }

        long accessCount = 0;
        if (o.TryGetProperty("accessCount", out var ac) && (ac.ValueKind != JsonValueKind.Number || !ac.TryGetInt64(out accessCount) || accessCount < 0))
        {
            throw new FormatException("\"accessCount\" must be a whole number of 0 or more");
        }

        return new MemoryEntry
        {
            Key = key,
            Value = value,
            Kind = kind ?? MemoryValueKind.Text,
            Tags = tags,
            CreatedAt = Time(o, "createdAt") ?? updated,
            UpdatedAt = updated,
            ExpiresAt = Time(o, "expiresAt"),
            AccessedAt = Time(o, "accessedAt") ?? now,
            AccessCount = accessCount,
            SizeBytes = 0,
            Provenance = provenance,
        };
    }

    private static DateTimeOffset? Time(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var t) || t.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return t.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var d)
            ? d
            : throw new FormatException($"\"{name}\" must be a date and time such as \"2026-01-31T12:00:00Z\"");
    }
}
