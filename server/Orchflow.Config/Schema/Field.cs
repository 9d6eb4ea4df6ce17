using System.Text.Json.Nodes;

namespace Orchflow.Config;

/// <summary>
/// One setting in a config file: its key, what values it accepts, its description and default. The field
/// tables (<see cref="WorkspaceFields"/>, <see cref="GlobalFields"/>) are built from these, and the same
/// objects both validate a parsed document and render the JSON Schemas, so the editor's view of a setting
/// and the daemon's cannot drift apart.
/// </summary>
internal abstract class Field(string key, string description)
{
    public string Key { get; } = key;

    /// <summary>Shown as hover documentation in editors; write it for the person editing the file.</summary>
    public string Description { get; } = description;

    /// <summary>A second accepted key for the same setting (the spec's <c>ruv_fann</c> for <c>models</c>); giving both is an error.</summary>
    public string? Alias { get; init; }

    /// <summary>
    /// Set on a setting this version accepts (the specification defines it) but does not act on yet: what will use it.
    /// Giving it is a warning that says so, and the schema's description says it too, so no one believes it works.
    /// </summary>
    public string? NotYetUsed { get; init; }

    /// <summary>True when the enclosing object is invalid without this key.</summary>
    public bool Required { get; init; }

    /// <summary>
    /// A value to show as the schema's <c>default</c> when the parser has none because absence means "fall back
    /// to the global config" (e.g. max_agents shows the global default_agent_limit).
    /// </summary>
    public object? SchemaDefault { get; init; }

    /// <summary>Validates <paramref name="node"/>, reporting problems at their positions; false when it is unusable.</summary>
    public abstract bool TryResolveBoxed(ConfigNode node, ValidationContext ctx, string path, out object? value);

    /// <summary>The JSON Schema of this setting, starting with its description.</summary>
    public JsonObject ToSchema()
    {
        var schema = new JsonObject();
        if (Description.Length > 0)
        {
            schema["description"] = NotYetUsed is null ? Description : $"{Description} {NotYetUsedMessage}";
        }

        WriteSchema(schema);
        if ((DefaultJson() ?? SchemaDefaultJson()) is { } value)
        {
            schema["default"] = value;
        }

        return schema;
    }

    /// <summary>What the warning and the schema say about a <see cref="NotYetUsed"/> setting.</summary>
    public string NotYetUsedMessage => $"Accepted, not yet used by this version: {NotYetUsed}.";

    protected abstract void WriteSchema(JsonObject schema);

    protected virtual JsonNode? DefaultJson() => null;

    private JsonNode? SchemaDefaultJson() => SchemaDefault switch
    {
        null => null,
        int i => JsonValue.Create(i),
        string str => JsonValue.Create(str),
        bool b => JsonValue.Create(b),
        _ => throw new InvalidOperationException($"Unsupported schema default for '{Key}'."),
    };
}

/// <summary>A field whose resolved value is a <typeparamref name="T"/>, with an optional default for when it is absent.</summary>
internal abstract class Field<T>(string key, string description) : Field(key, description)
    where T : notnull
{
    private readonly T? _default;

    public bool HasDefault { get; private init; }

    /// <summary>The value of an absent setting. Only settings with a fixed fallback have one (see <see cref="Defaults"/>).</summary>
    public T Default
    {
        get => HasDefault ? _default! : throw new InvalidOperationException($"Setting '{Key}' has no default.");
        init
        {
            _default = value;
            HasDefault = true;
        }
    }

    public abstract bool TryResolve(ConfigNode node, ValidationContext ctx, string path, out T value);

    public sealed override bool TryResolveBoxed(ConfigNode node, ValidationContext ctx, string path, out object? value)
    {
        bool ok = TryResolve(node, ctx, path, out var typed);
        value = ok ? typed : null;
        return ok;
    }

    protected sealed override JsonNode? DefaultJson() => HasDefault ? DefaultToJson(Default) : null;

    protected virtual JsonNode? DefaultToJson(T value) => JsonValue.Create(value);
}

/// <summary>
/// The validated settings of one object (JSON) or table (TOML). Settings that were absent or invalid are
/// simply missing; <see cref="Get{T}"/> then yields the field's default.
/// </summary>
internal sealed class Section(ObjectField field, SourcePosition position)
{
    private readonly Dictionary<Field, (object Value, PropertyNode Property)> _values = [];

    public ObjectField Field { get; } = field;

    /// <summary>Where the object starts (1:1 for an absent section, which only ever supplies defaults).</summary>
    public SourcePosition Position { get; } = position;

    public void Set(Field field, object value, PropertyNode property) => _values[field] = (value, property);

    public bool Has(Field field) => _values.ContainsKey(field);

    /// <summary>Where the setting's key was written, for diagnostics about it.</summary>
    public SourcePosition KeyPosition(Field field) => _values.TryGetValue(field, out var e) ? e.Property.KeyPosition : Position;

    /// <summary>Where the setting's value was written.</summary>
    public SourcePosition ValuePosition(Field field) => _values.TryGetValue(field, out var e) ? e.Property.Value.Position : Position;

    /// <summary>The setting's value, or its default when absent or invalid.</summary>
    public T Get<T>(Field<T> field)
        where T : notnull => _values.TryGetValue(field, out var e) ? (T)e.Value : field.Default;

    /// <summary>For settings whose absence means "unset": the value, else the default if there is one, else null.</summary>
    public T? GetValueOrNull<T>(Field<T> field)
        where T : struct => _values.TryGetValue(field, out var e) ? (T)e.Value : field.HasDefault ? field.Default : null;

    /// <inheritdoc cref="GetValueOrNull{T}"/>
    public T? GetRefOrNull<T>(Field<T> field)
        where T : class => _values.TryGetValue(field, out var e) ? (T)e.Value : field.HasDefault ? field.Default : null;
}

/// <summary>A pattern a string must match, with the reason shown when it does not ("must be an absolute path").</summary>
/// <param name="Pattern">ECMAScript-compatible, since the schemas use it verbatim.</param>
internal sealed record StringRule(string Pattern, string Message)
{
    private readonly System.Text.RegularExpressions.Regex _regex = new(Pattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public bool IsMatch(string value) => _regex.IsMatch(value);

    /// <summary>Adds the rules to a string schema: one as <c>pattern</c>, several under <c>allOf</c>.</summary>
    public static void WriteSchema(JsonObject schema, IReadOnlyList<StringRule> rules)
    {
        if (rules.Count == 1)
        {
            schema["pattern"] = rules[0].Pattern;
        }
        else if (rules.Count > 1)
        {
            schema["allOf"] = new JsonArray(rules.Select(r => (JsonNode)new JsonObject { ["pattern"] = r.Pattern }).ToArray());
        }
    }

    /// <summary>The first rule <paramref name="value"/> breaks, if any.</summary>
    public static StringRule? FirstBroken(IReadOnlyList<StringRule> rules, string value) => rules.FirstOrDefault(r => !r.IsMatch(value));
}
