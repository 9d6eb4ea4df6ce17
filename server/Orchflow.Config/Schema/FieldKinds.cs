using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchflow.Config;

/// <summary>An integer within a range.</summary>
internal sealed class IntField(string key, int min, int max, string description) : Field<int>(key, description)
{
    public int Min { get; } = min;

    public int Max { get; } = max;

    private string Expected => $"expected an integer from {Min} to {Max}";

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out int value)
    {
        value = 0;
        long? number = node switch
        {
            IntegerNode i => i.Value,
            FloatNode f when IsIntegral(f) => (long)f.Value,
            _ => null,
        };
        if (number is null)
        {
            ctx.Error(node.Position, path, $"{Expected}, got {ctx.Describe(node)}");
            return false;
        }

        if (number < Min || number > Max)
        {
            ctx.Error(node.Position, path, $"{Expected}, got {number}");
            return false;
        }

        value = (int)number;
        return true;
    }

    /// <summary>8.0 is an integer to JSON Schema (draft 6+), so the parser agrees with the editor.</summary>
    public static bool IsIntegral(FloatNode f) => f.Value == Math.Floor(f.Value) && Math.Abs(f.Value) < 1e15;

    protected override void WriteSchema(JsonObject schema)
    {
        schema["type"] = "integer";
        schema["minimum"] = Min;
        schema["maximum"] = Max;
    }
}

internal sealed class BoolField(string key, string description) : Field<bool>(key, description)
{
    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out bool value)
    {
        value = node is BoolNode { Value: true };
        if (node is BoolNode)
        {
            return true;
        }

        ctx.Error(node.Position, path, $"expected true or false, got {ctx.Describe(node)}");
        return false;
    }

    protected override void WriteSchema(JsonObject schema) => schema["type"] = "boolean";
}

/// <summary>A non-empty string, optionally constrained by pattern rules and an extra check the schema cannot express.</summary>
internal sealed class StringField(string key, string description) : Field<string>(key, description)
{
    public IReadOnlyList<StringRule> Rules { get; init; } = [];

    /// <summary>1 by default: an empty string is almost always a mistake (env values are the exception).</summary>
    public int MinLength { get; init; } = 1;

    public int MaxLength { get; init; } = 4096;

    /// <summary>A check beyond patterns (e.g. "is a valid regex"); returns the problem or null.</summary>
    public Func<string, string?>? Check { get; init; }

    /// <summary>JSON Schema <c>format</c> hint for what <see cref="Check"/> verifies.</summary>
    public string? SchemaFormat { get; init; }

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out string value)
    {
        value = "";
        if (node is not StringNode s)
        {
            ctx.Error(node.Position, path, $"expected a string, got {ctx.Describe(node)}");
            return false;
        }

        string? problem = s.Value.Length < MinLength ? "must not be empty"
            : s.Value.Length > MaxLength ? $"is longer than {MaxLength} characters"
            : StringRule.FirstBroken(Rules, s.Value)?.Message ?? Check?.Invoke(s.Value);
        if (problem is not null)
        {
            ctx.Error(node.Position, path, $"{ValidationContext.Quote(s.Value)} {problem}");
            return false;
        }

        value = s.Value;
        return true;
    }

    protected override void WriteSchema(JsonObject schema)
    {
        schema["type"] = "string";
        schema["minLength"] = MinLength;
        schema["maxLength"] = MaxLength;
        StringRule.WriteSchema(schema, Rules);
        if (SchemaFormat is not null)
        {
            schema["format"] = SchemaFormat;
        }
    }
}

/// <summary>One of a fixed set of lowercase names, each mapped to a C# enum value and documented.</summary>
internal sealed class EnumField<TEnum>(string key, string description, params EnumValue<TEnum>[] values) : Field<TEnum>(key, description)
    where TEnum : struct, Enum
{
    public IReadOnlyList<EnumValue<TEnum>> Values { get; } = values;

    private string Names => string.Join(", ", Values.Select(v => v.Name));

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out TEnum value)
    {
        value = default;
        if (node is not StringNode s)
        {
            ctx.Error(node.Position, path, $"expected one of {Names}, got {ctx.Describe(node)}");
            return false;
        }

        var match = Values.FirstOrDefault(v => v.Name == s.Value);
        if (match is null)
        {
            var suggestion = Suggest.Closest(s.Value, Values.Select(v => v.Name));
            ctx.Error(node.Position, path, $"{ValidationContext.Quote(s.Value)} is not one of: {Names}"
                + (suggestion is null ? "" : $"; did you mean '{suggestion}'?"));
            return false;
        }

        value = match.Value;
        return true;
    }

    public string NameOf(TEnum value) => Values.First(v => v.Value.Equals(value)).Name;

    protected override void WriteSchema(JsonObject schema)
    {
        schema["type"] = "string";
        schema["enum"] = new JsonArray(Values.Select(v => (JsonNode)JsonValue.Create(v.Name)).ToArray());
        // Not JSON Schema proper, but VS Code shows these in completion lists; other tools ignore unknown keywords.
        schema["enumDescriptions"] = new JsonArray(Values.Select(v => (JsonNode)JsonValue.Create(v.Description)).ToArray());
    }

    protected override JsonNode? DefaultToJson(TEnum value) => JsonValue.Create(NameOf(value));
}

internal sealed record EnumValue<TEnum>(string Name, TEnum Value, string Description);

/// <summary>A memory size, written as a string with a unit or as an integer number of bytes (see <see cref="ByteSize"/>).</summary>
internal sealed class SizeField(string key, long min, string description) : Field<long>(key, description)
{
    public long Min { get; } = min;

    public long Max { get; init; } = long.MaxValue;

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out long value)
    {
        value = 0;
        switch (node)
        {
            case StringNode s when ByteSize.TryParse(s.Value, out var parsed):
                value = parsed;
                break;
            case StringNode s:
                ctx.Error(node.Position, path, $"'{s.Value}' is not a size; write e.g. \"512MB\" or \"4GB\"");
                return false;
            case IntegerNode i:
                value = i.Value;
                break;
            case FloatNode f when IntField.IsIntegral(f):
                value = (long)f.Value;
                break;
            default:
                ctx.Error(node.Position, path, $"expected a size such as \"512MB\" or a number of bytes, got {ctx.Describe(node)}");
                return false;
        }

        if (value < Min || value > Max)
        {
            ctx.Error(node.Position, path, value < Min
                ? $"{ByteSize.Format(value)} is below the minimum of {ByteSize.Format(Min)}"
                : $"{ByteSize.Format(value)} is above the maximum of {ByteSize.Format(Max)}");
            return false;
        }

        return true;
    }

    protected override void WriteSchema(JsonObject schema)
    {
        // pattern applies to the string form, minimum/maximum to the integer form.
        schema["type"] = new JsonArray("string", "integer");
        schema["pattern"] = ByteSize.Pattern;
        schema["minimum"] = Min;
        if (Max != long.MaxValue)
        {
            schema["maximum"] = Max;
        }
    }

    protected override JsonNode? DefaultToJson(long value) => JsonValue.Create(ByteSize.Format(value));
}

/// <summary>A duration such as "30m" (see <see cref="DurationText"/>), optionally also "off".</summary>
internal sealed class DurationField(string key, string description) : Field<TimeSpan>(key, description)
{
    /// <summary>What "off" resolves to; the mapping code turns it into null.</summary>
    public static readonly TimeSpan Off = Timeout.InfiniteTimeSpan;

    public bool AllowOff { get; init; }

    public TimeSpan Min { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Max { get; init; } = TimeSpan.MaxValue;

    private string Examples => "\"30s\", \"15m\", \"2h\" or \"7d\"" + (AllowOff ? ", or \"off\"" : "");

    private string Pattern => AllowOff ? "^off$|" + DurationText.Pattern : DurationText.Pattern;

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (node is not StringNode s)
        {
            ctx.Error(node.Position, path, $"expected a duration such as {Examples}, got {ctx.Describe(node)}");
            return false;
        }

        if (AllowOff && s.Value == "off")
        {
            value = Off;
            return true;
        }

        if (!DurationText.TryParse(s.Value, out value))
        {
            ctx.Error(node.Position, path, $"'{s.Value}' is not a duration; write e.g. {Examples}");
            return false;
        }

        if (value < Min)
        {
            ctx.Error(node.Position, path, $"'{s.Value}' is shorter than the minimum of {DurationText.Format(Min)}");
            return false;
        }

        if (value > Max)
        {
            ctx.Error(node.Position, path, $"'{s.Value}' is longer than the maximum of {DurationText.Format(Max)}");
            return false;
        }

        return true;
    }

    protected override void WriteSchema(JsonObject schema)
    {
        schema["type"] = "string";
        schema["pattern"] = Pattern;
    }

    protected override JsonNode? DefaultToJson(TimeSpan value) => JsonValue.Create(value == Off ? "off" : DurationText.Format(value));
}

/// <summary>An array of strings, each validated by <see cref="Item"/>. Absent means empty.</summary>
internal sealed class StringListField : Field<IReadOnlyList<string>>
{
    public StringListField(string key, string description, StringField item)
        : base(key, description)
    {
        Item = item;
        Default = [];
    }

    public StringField Item { get; }

    public int MaxItems { get; init; } = 1000;

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out IReadOnlyList<string> value)
    {
        value = [];
        if (node is not ArrayNode array)
        {
            ctx.Error(node.Position, path, $"expected an array of strings, got {ctx.Describe(node)}");
            return false;
        }

        if (array.Items.Count > MaxItems)
        {
            ctx.Error(node.Position, path, $"has {array.Items.Count} entries; at most {MaxItems} are allowed");
            return false;
        }

        var items = new List<string>(array.Items.Count);
        bool ok = true;
        for (int i = 0; i < array.Items.Count; i++)
        {
            if (Item.TryResolve(array.Items[i], ctx, $"{path}[{i}]", out var item))
            {
                items.Add(item);
            }
            else
            {
                ok = false;
            }
        }

        value = items.AsReadOnly();
        return ok;
    }

    protected override void WriteSchema(JsonObject schema)
    {
        schema["type"] = "array";
        schema["items"] = Item.ToSchema();
        schema["maxItems"] = MaxItems;
    }

    protected override JsonNode? DefaultToJson(IReadOnlyList<string> value) => new JsonArray(value.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
}

/// <summary>Shared key validation for the map-shaped settings (env variables, agent types).</summary>
internal static class MapKeys
{
    public static bool Check(PropertyNode property, IReadOnlyList<StringRule> rules, ValidationContext ctx, string path)
    {
        if (StringRule.FirstBroken(rules, property.Key) is { } broken)
        {
            ctx.Error(property.KeyPosition, path, $"'{property.Key}' {broken.Message}");
            return false;
        }

        return true;
    }

    public static void WriteSchema(JsonObject schema, IReadOnlyList<StringRule> rules)
    {
        if (rules.Count > 0)
        {
            var names = new JsonObject();
            StringRule.WriteSchema(names, rules);
            schema["propertyNames"] = names;
        }
    }
}

/// <summary>
/// A map from validated names to values of one field's shape: environment variables (strings), agent types (objects).
/// Absent means empty. Every entry is checked, so one run reports a bad name and a bad value together.
/// </summary>
internal sealed class MapField<T> : Field<IReadOnlyDictionary<string, T>>
    where T : notnull
{
    private readonly string _expected;

    /// <param name="expected">What a non-object value is reported as missing, for example "an object of strings".</param>
    public MapField(string key, string description, IReadOnlyList<StringRule> keyRules, Field<T> value, string expected)
        : base(key, description)
    {
        KeyRules = keyRules;
        Value = value;
        _expected = expected;
        Default = new Dictionary<string, T>().AsReadOnly();
    }

    public IReadOnlyList<StringRule> KeyRules { get; }

    public Field<T> Value { get; }

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out IReadOnlyDictionary<string, T> value)
    {
        value = Default;
        if (node is not ObjectNode obj)
        {
            ctx.Error(node.Position, path, $"expected {ctx.ObjectNoun}{_expected}, got {ctx.Describe(node)}");
            return false;
        }

        var result = new Dictionary<string, T>(StringComparer.Ordinal);
        bool ok = true;
        foreach (var property in obj.Properties)
        {
            bool keyOk = MapKeys.Check(property, KeyRules, ctx, path);
            bool valueOk = Value.TryResolve(property.Value, ctx, ValidationContext.Join(path, property.Key), out var item);
            if (keyOk && valueOk)
            {
                result[property.Key] = item;
            }
            else
            {
                ok = false;
            }
        }

        value = result.AsReadOnly();
        return ok;
    }

    protected override void WriteSchema(JsonObject schema)
    {
        schema["type"] = "object";
        MapKeys.WriteSchema(schema, KeyRules);
        var valueSchema = Value.ToSchema();
        if (Value is ObjectField)
        {
            valueSchema.Remove("description"); // the map's description covers its entries
        }

        schema["additionalProperties"] = valueSchema;
    }

    // An absent map of objects has no default worth showing; an absent map of strings is shown as {}.
    protected override JsonNode? DefaultToJson(IReadOnlyDictionary<string, T> value) => Value is ObjectField ? null : new JsonObject();
}

/// <summary>
/// An object (JSON) or table (TOML) with a fixed set of settings. Unknown keys are warnings, not errors, so a
/// file written for a newer orchflow still loads; the closest known key is suggested for typos.
/// </summary>
internal sealed class ObjectField : Field<Section>
{
    private readonly Dictionary<string, Field> _byKey = new(StringComparer.Ordinal);

    public ObjectField(string key, string description, params Field[] fields)
        : base(key, description)
    {
        Fields = fields;
        foreach (var field in fields)
        {
            _byKey.Add(field.Key, field);
            if (field.Alias is not null)
            {
                _byKey.Add(field.Alias, field);
            }
        }

        Default = new Section(this, SourcePosition.Start);
    }

    public IReadOnlyList<Field> Fields { get; }

    /// <summary>Checks across settings of this object (e.g. allowed_hosts needs network = allowlist), run when every setting is valid.</summary>
    public Action<Section, ValidationContext, string>? CrossCheck { get; init; }

    public override bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out Section value)
    {
        value = new Section(this, node.Position);
        if (node is not ObjectNode obj)
        {
            ctx.Error(node.Position, path, $"expected {ctx.ObjectNoun}, got {ctx.Describe(node)}");
            return false;
        }

        bool ok = true;
        var seen = new Dictionary<Field, string>();
        foreach (var property in obj.Properties)
        {
            if (!_byKey.TryGetValue(property.Key, out var field))
            {
                var suggestion = Suggest.Closest(property.Key, _byKey.Keys);
                ctx.Warning(property.KeyPosition, path, $"unknown key '{property.Key}'; " + (suggestion is not null
                    ? $"did you mean '{suggestion}'?"
                    : $"expected one of: {string.Join(", ", Fields.Select(f => f.Key))}"));
                continue;
            }

            if (seen.TryGetValue(field, out var firstKey))
            {
                ctx.Error(property.KeyPosition, path,
                    $"'{firstKey}' and '{property.Key}' are the same setting; keep only one (preferably '{field.Key}')");
                ok = false;
                continue;
            }

            seen.Add(field, property.Key);
            if (field.TryResolveBoxed(property.Value, ctx, ValidationContext.Join(path, property.Key), out var resolved))
            {
                value.Set(field, resolved!, property);
                if (field.NotYetUsed is not null)
                {
                    ctx.Warning(property.KeyPosition, ValidationContext.Join(path, property.Key), field.NotYetUsedMessage);
                }
            }
            else
            {
                ok = false;
            }
        }

        foreach (var field in Fields.Where(f => f.Required && !seen.ContainsKey(f)))
        {
            ctx.Error(node.Position, path, $"missing required key '{field.Key}'");
            ok = false;
        }

        // Contradictions between settings are only worth reporting once each setting is valid on its own.
        if (ok)
        {
            CrossCheck?.Invoke(value, ctx, path);
        }

        return ok;
    }

    protected override void WriteSchema(JsonObject schema)
    {
        schema["type"] = "object";
        var properties = new JsonObject();
        foreach (var field in Fields)
        {
            properties[field.Key] = field.ToSchema();
            if (field.Alias is not null)
            {
                var alias = field.ToSchema();
                alias["description"] = $"Same as '{field.Key}' (the name used in the orchflow spec); give only one of the two. {field.Description}";
                properties[field.Alias] = alias;
            }
        }

        schema["properties"] = properties;
        var required = Fields.Where(f => f.Required).Select(f => (JsonNode)JsonValue.Create(f.Key)).ToArray();
        if (required.Length > 0)
        {
            schema["required"] = new JsonArray(required);
        }

        var exclusive = Fields.Where(f => f.Alias is not null)
            .Select(f => (JsonNode)new JsonObject { ["required"] = new JsonArray(f.Key, f.Alias) })
            .ToArray();
        if (exclusive.Length == 1)
        {
            schema["not"] = exclusive[0];
        }
        else if (exclusive.Length > 1)
        {
            schema["not"] = new JsonObject { ["anyOf"] = new JsonArray(exclusive) };
        }

        schema["additionalProperties"] = false;
    }

    // An absent object means "all defaults", which the nested fields' own defaults already describe.
    protected override JsonNode? DefaultToJson(Section value) => null;
}

