using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchflow.Config;

/// <summary>
/// Reads JSON into a <see cref="ConfigNode"/> tree with the position of every key and value. People edit
/// workspace.json by hand and VS Code treats it as JSONC, so comments and trailing commas are accepted.
/// Duplicate keys are reported (System.Text.Json would silently keep the last one) and the first one is kept.
/// </summary>
internal static partial class JsonTreeReader
{
    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 64,
    };

    [GeneratedRegex(@"\s*(LineNumber: \d+ \| BytePositionInLine: \d+\.)\s*$")]
    private static partial Regex PositionSuffix();

    /// <summary>Returns null after reporting a syntax error; duplicate keys are reported but still yield a tree.</summary>
    public static ConfigNode? Read(string text, ValidationContext ctx)
    {
        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }

        var utf8 = Encoding.UTF8.GetBytes(text);
        var map = new Utf8LineMap(utf8);
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        try
        {
            if (!reader.Read())
            {
                ctx.Error(SourcePosition.Start, "", "invalid JSON: the file is empty; expected an object");
                return null;
            }

            var root = ReadValue(ref reader, map, ctx, "");
            reader.Read(); // throws when anything but whitespace and comments follows the top-level value
            return root;
        }
        catch (JsonException e)
        {
            var message = PositionSuffix().Replace(e.Message, "");
            if (message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
            {
                message = "the file is empty; expected an object";
            }

            ctx.Error(map.FromLineAndByte(e.LineNumber ?? 0, e.BytePositionInLine ?? 0), "", "invalid JSON: " + message);
            return null;
        }
    }

    private static ConfigNode ReadValue(ref Utf8JsonReader reader, Utf8LineMap map, ValidationContext ctx, string path)
    {
        var position = map.FromOffset(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                var properties = new List<PropertyNode>();
                var seen = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var keyPosition = map.FromOffset(reader.TokenStartIndex);
                    var key = reader.GetString()!;
                    reader.Read();
                    var value = ReadValue(ref reader, map, ctx, ValidationContext.Join(path, key));
                    if (seen.TryGetValue(key, out var first))
                    {
                        ctx.Error(keyPosition, path, $"duplicate key '{key}' (first defined at line {first.Line}, column {first.Column})");
                        continue;
                    }

                    seen.Add(key, keyPosition);
                    properties.Add(new PropertyNode(key, keyPosition, value));
                }

                return new ObjectNode(position, properties);
            }

            case JsonTokenType.StartArray:
            {
                var items = new List<ConfigNode>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(ReadValue(ref reader, map, ctx, $"{path}[{items.Count}]"));
                }

                return new ArrayNode(position, items);
            }

            case JsonTokenType.String:
                return new StringNode(position, reader.GetString()!);
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var integer))
                {
                    return new IntegerNode(position, integer);
                }

                reader.TryGetDouble(out var number);
                return new FloatNode(position, number, Encoding.UTF8.GetString(reader.ValueSpan));
            case JsonTokenType.True:
                return new BoolNode(position, true);
            case JsonTokenType.False:
                return new BoolNode(position, false);
            default:
                return new NullNode(position);
        }
    }
}
