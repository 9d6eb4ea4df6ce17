namespace Orchflow.Config.Tests;

internal static class DiagnosticAssert
{
    /// <summary>
    /// Asserts the diagnostics, in order, against "line:col: severity: message fragment" strings: position and
    /// severity must match exactly, the message must contain the fragment.
    /// </summary>
    public static void Matches(IReadOnlyList<ConfigDiagnostic> actual, params string[] expected)
    {
        var shown = string.Join("\n", actual.Select(Format));
        Assert.True(actual.Count == expected.Length, $"expected {expected.Length} diagnostic(s), got {actual.Count}:\n{shown}");
        for (int i = 0; i < expected.Length; i++)
        {
            var parts = expected[i].Split(": ", 3);
            var prefix = $"{parts[0]}: {parts[1]}: ";
            var got = Format(actual[i]);
            Assert.True(got.StartsWith(prefix, StringComparison.Ordinal) && got[prefix.Length..].Contains(parts[2], StringComparison.Ordinal),
                $"diagnostic {i}: expected \"{expected[i]}\"\nactual diagnostics:\n{shown}");
        }
    }

    public static string Format(ConfigDiagnostic d) =>
        $"{d.Line}:{d.Column}: {(d.Severity == DiagnosticSeverity.Error ? "error" : "warning")}: {d.Message}";
}
