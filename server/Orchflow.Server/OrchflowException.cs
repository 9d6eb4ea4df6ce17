using Orchflow.Protocol;

namespace Orchflow.Server;

/// <summary>
/// An expected failure whose message a user can act on. The RPC layer turns it into an error response
/// carrying <see cref="Code"/> and an <see cref="ErrorData"/>; the CLI prints the message on one line.
/// </summary>
public sealed class OrchflowException : Exception
{
    public OrchflowException(int code, string message, string? hint = null, IReadOnlyList<Diagnostic>? diagnostics = null)
        : base(message)
    {
        Code = code;
        Hint = hint;
        Diagnostics = diagnostics;
    }

    public int Code { get; }

    public string? Hint { get; }

    public IReadOnlyList<Diagnostic>? Diagnostics { get; }

    public ErrorData ToErrorData() => new() { Kind = ErrorCodes.Name(Code), Hint = Hint, Diagnostics = Diagnostics };

    public static OrchflowException NotFound(string what, string id, string hint) =>
        new(ErrorCodes.NotFound, $"No {what} '{id}'.", hint);
}
