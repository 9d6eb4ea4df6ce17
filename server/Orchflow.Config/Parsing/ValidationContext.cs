using System.Globalization;
using System.Text.Json;

namespace Orchflow.Config;

internal enum ConfigFormat
{
    Json,
    Toml,
}

/// <summary>
/// Collects the diagnostics of one file and words them for its format ("object" in JSON is "table" in TOML).
/// Messages start with the dotted path of the setting so they stay clear when shown without the file.
/// </summary>
internal sealed class ValidationContext(string file, ConfigFormat format)
{
    private readonly List<ConfigDiagnostic> _diagnostics = [];

    public ConfigFormat Format { get; } = format;

    /// <summary>In file order (cross-field checks run after the fields they look at); the sort is stable.</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics => _diagnostics.OrderBy(d => d.Line).ThenBy(d => d.Column).ToList();

    public bool HasErrors => _diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>"an object" or "a table".</summary>
    public string ObjectNoun => Format == ConfigFormat.Json ? "an object" : "a table";

    public void Error(SourcePosition at, string path, string message) => Add(at, path, message, DiagnosticSeverity.Error);

    public void Warning(SourcePosition at, string path, string message) => Add(at, path, message, DiagnosticSeverity.Warning);

    public void Add(SourcePosition at, string path, string message, DiagnosticSeverity severity) =>
        _diagnostics.Add(new ConfigDiagnostic(file, at.Line, at.Column, path.Length == 0 ? message : $"{path}: {message}", severity));

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    /// <summary>What a value is, for "expected X, got Y" messages: <c>string "eight"</c>, <c>boolean true</c>, <c>an array</c>.</summary>
    public string Describe(ConfigNode node) => node switch
    {
        StringNode s => "string " + Quote(s.Value),
        IntegerNode i => (Format == ConfigFormat.Json ? "number " : "integer ") + i.Value.ToString(CultureInfo.InvariantCulture),
        FloatNode f => (Format == ConfigFormat.Json ? "number " : "float ") + f.Text,
        BoolNode b => b.Value ? "boolean true" : "boolean false",
        NullNode => "null",
        ArrayNode => "an array",
        ObjectNode => ObjectNoun,
        OtherNode o => $"{o.Kind} {o.Text}",
        _ => "a value",
    };

    /// <summary>A value quoted for a message, shortened so a pasted blob does not flood the output.</summary>
    public static string Quote(string value)
    {
        const int max = 60;
        var shown = value.Length > max ? value[..max] + "…" : value;
        return System.Text.Json.Nodes.JsonValue.Create(shown).ToJsonString(ConfigJson.Relaxed);
    }
}

internal static class ConfigJson
{
    /// <summary>Keeps non-ASCII and characters like '+' readable in messages, templates and schemas.</summary>
    public static readonly JsonSerializerOptions Relaxed = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
        IndentSize = 2,
        NewLine = "\n",
    };
}

internal static class Suggest
{
    /// <summary>The candidate closest to <paramref name="input"/>, when it is close enough to be a likely typo.</summary>
    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        var list = candidates.ToList();
        var lowered = input.ToLowerInvariant();
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var candidate in list)
        {
            int distance = Distance(lowered, candidate.ToLowerInvariant());
            // About one edit per three characters (at most 3): "fare" finds "fair", but "tier" never suggests "type".
            int allowed = Math.Clamp((candidate.Length + 2) / 3, 1, 3);
            if (distance <= allowed && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        // A truncated or extended name ("scrollback" for "scrollback_bytes") is too many edits away but still obvious.
        return best ?? list.FirstOrDefault(c => Math.Min(c.Length, input.Length) >= 4
            && (c.StartsWith(lowered, StringComparison.OrdinalIgnoreCase) || lowered.StartsWith(c, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>Optimal string alignment distance: Levenshtein plus adjacent transpositions ("max_agnets").</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
