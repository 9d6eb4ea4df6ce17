using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Orchflow.Config;

/// <summary>
/// Reads TOML into a <see cref="ConfigNode"/> tree using Tomlyn's full-fidelity syntax tree, whose spans give
/// every key and value its position. Tomlyn's own validation (run first) reports syntax errors and TOML's
/// redefinition rules; only a document without such errors is turned into a tree, so the merge below can
/// assume tables and keys are consistent.
/// </summary>
internal static class TomlTreeReader
{
    public static ConfigNode? Read(string text, string fileName, ValidationContext ctx)
    {
        DocumentSyntax document;
        try
        {
            document = SyntaxParser.Parse(text, fileName, validate: true);
        }
        catch (TomlException e)
        {
            // Parse reports most problems as diagnostics but throws for some limits (nesting deeper than 64).
            // Its advice to change TomlSerializerOptions is for programmers, not for someone editing the file.
            var message = e.Message.Split(" Change TomlSerializerOptions", 2)[0];
            ctx.Error(new SourcePosition(e.Line ?? 1, e.Column ?? 1), "", "invalid TOML: " + message);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Guards the "never throws for bad input" promise against a third-party parser bug on pathological input.
            ctx.Error(SourcePosition.Start, "", "invalid TOML: " + e.Message);
            return null;
        }

        foreach (var d in document.Diagnostics)
        {
            ctx.Add(Position(d.Span), "", "invalid TOML: " + d.Message,
                d.Kind == DiagnosticMessageKind.Error ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning);
        }

        if (document.HasErrors)
        {
            return null;
        }

        var root = new TableBuilder(SourcePosition.Start);
        foreach (var keyValue in document.KeyValues)
        {
            AddKeyValue(root, keyValue);
        }

        foreach (var table in document.Tables)
        {
            var segments = KeySegments(table.Name);
            if (segments.Count == 0)
            {
                continue;
            }

            var parent = Navigate(root, segments.Take(segments.Count - 1));
            var (name, position) = segments[^1];
            TableBuilder target;
            if (table is TableArraySyntax)
            {
                if (parent.Find(name) is not TableArrayBuilder array)
                {
                    array = new TableArrayBuilder(position);
                    parent.Add(name, position, array);
                }

                target = new TableBuilder(position);
                array.Tables.Add(target);
            }
            else
            {
                target = Navigate(parent, [(name, position)]);
                target.Position = position; // an explicit [header] is where the table "is", even if a sub-table came first
            }

            foreach (var keyValue in table.Items)
            {
                AddKeyValue(target, keyValue);
            }
        }

        return root.ToNode();
    }

    private static SourcePosition Position(SourceSpan span) => new(span.Start.Line + 1, span.Start.Column + 1);

    private static SourcePosition Position(SyntaxNode node) => Position(node.Span);

    private static List<(string Name, SourcePosition Position)> KeySegments(KeySyntax? key)
    {
        var segments = new List<(string, SourcePosition)>();
        if (key?.Key is { } first)
        {
            segments.Add((SegmentName(first), Position(first)));
        }

        if (key is not null)
        {
            foreach (var dotted in key.DotKeys)
            {
                if (dotted.Key is { } part)
                {
                    segments.Add((SegmentName(part), Position(part)));
                }
            }
        }

        return segments;
    }

    private static string SegmentName(BareKeyOrStringValueSyntax key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax quoted => quoted.Value ?? "",
        _ => "",
    };

    /// <summary>Walks (creating as needed) the tables named by a dotted key; an array of tables means its last element.</summary>
    private static TableBuilder Navigate(TableBuilder start, IEnumerable<(string Name, SourcePosition Position)> segments)
    {
        var current = start;
        foreach (var (name, position) in segments)
        {
            switch (current.Find(name))
            {
                case TableBuilder table:
                    current = table;
                    break;
                case TableArrayBuilder array when array.Tables.Count > 0:
                    current = array.Tables[^1];
                    break;
                case null:
                    var created = new TableBuilder(position);
                    current.Add(name, position, created);
                    current = created;
                    break;
                default:
                    // A value in the way; Tomlyn has already rejected such a document. Keep going on a detached table.
                    current = new TableBuilder(position);
                    break;
            }
        }

        return current;
    }

    private static void AddKeyValue(TableBuilder table, KeyValueSyntax keyValue)
    {
        var segments = KeySegments(keyValue.Key);
        if (segments.Count == 0 || keyValue.Value is null)
        {
            return;
        }

        var parent = Navigate(table, segments.Take(segments.Count - 1));
        var (name, position) = segments[^1];
        if (parent.Find(name) is null)
        {
            parent.Add(name, position, ToNode(keyValue.Value));
        }
    }

    private static ConfigNode ToNode(ValueSyntax value)
    {
        var position = Position(value);
        switch (value)
        {
            case StringValueSyntax s:
                return new StringNode(position, s.Value ?? "");
            case IntegerValueSyntax i:
                return new IntegerNode(position, i.Value);
            case FloatValueSyntax f:
                return new FloatNode(position, f.Value, f.Token?.Text ?? f.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case BooleanValueSyntax b:
                return new BoolNode(position, b.Value);
            case ArraySyntax a:
                var items = new List<ConfigNode>();
                foreach (var item in a.Items)
                {
                    if (item.Value is not null)
                    {
                        items.Add(ToNode(item.Value));
                    }
                }

                return new ArrayNode(position, items);
            case InlineTableSyntax t:
                var inline = new TableBuilder(position);
                foreach (var item in t.Items)
                {
                    if (item.KeyValue is not null)
                    {
                        AddKeyValue(inline, item.KeyValue);
                    }
                }

                return inline.ToNode();
            case DateTimeValueSyntax d:
                return new OtherNode(position, "datetime", d.Token?.Text?.Trim() ?? "");
            default:
                return new OtherNode(position, "value", value.ToString()?.Trim() ?? "");
        }
    }

    /// <summary>A table being assembled from headers, dotted keys and key/values spread over the document.</summary>
    private sealed class TableBuilder(SourcePosition position)
    {
        private readonly List<(string Key, SourcePosition KeyPosition, object Value)> _entries = [];
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

        public SourcePosition Position { get; set; } = position;

        public object? Find(string key) => _index.TryGetValue(key, out var i) ? _entries[i].Value : null;

        public void Add(string key, SourcePosition keyPosition, object value)
        {
            _index[key] = _entries.Count;
            _entries.Add((key, keyPosition, value));
        }

        public ObjectNode ToNode() => new(Position, _entries.Select(e => new PropertyNode(e.Key, e.KeyPosition, e.Value switch
        {
            TableBuilder table => table.ToNode(),
            TableArrayBuilder array => new ArrayNode(array.Position, array.Tables.Select(t => (ConfigNode)t.ToNode()).ToList()),
            _ => (ConfigNode)e.Value,
        })).ToList());
    }

    private sealed class TableArrayBuilder(SourcePosition position)
    {
        public SourcePosition Position { get; } = position;

        public List<TableBuilder> Tables { get; } = [];
    }
}
