namespace Orchflow.Config;

public enum DiagnosticSeverity
{
    Error,
    Warning,
}

/// <summary>
/// One problem in a config file, positioned at the offending value (or key) with a 1-based line and column.
/// Columns count Unicode characters (code points), not bytes or UTF-16 units, so both formats agree
/// with each other and with what a user counts on screen.
/// </summary>
public sealed record ConfigDiagnostic(string File, int Line, int Column, string Message, DiagnosticSeverity Severity)
{
    /// <summary>The compiler-style form editors and terminals turn into links: <c>file:line:col: error: message</c>.</summary>
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {(Severity == DiagnosticSeverity.Error ? "error" : "warning")}: {Message}";
}

/// <summary>
/// The outcome of loading a config file. <see cref="Value"/> is null whenever there is an error: a half-valid
/// config (say, with a dropped <c>restricted_paths</c> entry) must never be applied, so callers keep the last
/// good config instead. Warnings alone do not prevent a value.
/// </summary>
public sealed record ConfigResult<T>(T? Value, IReadOnlyList<ConfigDiagnostic> Diagnostics)
    where T : class
{
    public bool Ok => Value is not null && !Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    public IEnumerable<ConfigDiagnostic> Errors => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);
}
