namespace Orchflow.Protocol;

public enum DiagnosticSeverity
{
    Error,
    Warning,
}

/// <summary>A configuration problem at a position in a file (1-based line and column).</summary>
public sealed record Diagnostic
{
    public required string File { get; init; }
    public required int Line { get; init; }
    public required int Column { get; init; }
    public required string Message { get; init; }
    public required DiagnosticSeverity Severity { get; init; }
}
