namespace Orchflow.Protocol;

/// <summary>
/// Application error codes, outside JSON-RPC's reserved range (-32768 to -32000).
/// Every expected failure carries one of these and a message a user can act on;
/// the error's data is an <see cref="ErrorData"/> naming the code and, where there is one, a hint.
/// </summary>
public static class ErrorCodes
{
    /// <summary>An id, name or path named no known object.</summary>
    public const int NotFound = 1001;

    /// <summary>A path that does not exist, is not a directory, or is not absolute.</summary>
    public const int InvalidPath = 1002;

    /// <summary>The folder is already registered as a workspace root.</summary>
    public const int AlreadyRegistered = 1003;

    /// <summary>The folder is inside another workspace's root, or contains one: isolation boundaries must not overlap.</summary>
    public const int Overlap = 1004;

    /// <summary>Another workspace already uses this namespace or id.</summary>
    public const int Duplicate = 1005;

    /// <summary>A configured limit (max_workspaces, terminal limit, ...) was reached.</summary>
    public const int LimitReached = 1006;

    /// <summary>A configuration file is invalid; the data lists diagnostics with file, line and column.</summary>
    public const int InvalidConfig = 1007;

    /// <summary>A parameter had a valid type but a value that is not allowed.</summary>
    public const int InvalidArgument = 1008;

    /// <summary>The operation is not allowed on this object (for example deleting the built-in default workspace).</summary>
    public const int NotAllowed = 1009;

    /// <summary>The server is shutting down and accepts no new work.</summary>
    public const int ShuttingDown = 1010;

    /// <summary>An MCP token that is unknown or revoked (its agent has ended), or a method this connection may not call.</summary>
    public const int Unauthorized = 1101;

    /// <summary>A stored file is damaged and is not served; the hint says how to recover (it is kept, never emptied).</summary>
    public const int Damaged = 1102;

    /// <summary>A request arrived before <c>initialize</c>.</summary>
    public const int NotInitialized = -32002;

    public static string Name(int code) => code switch
    {
        NotFound => "NotFound",
        InvalidPath => "InvalidPath",
        AlreadyRegistered => "AlreadyRegistered",
        Overlap => "Overlap",
        Duplicate => "Duplicate",
        LimitReached => "LimitReached",
        InvalidConfig => "InvalidConfig",
        InvalidArgument => "InvalidArgument",
        NotAllowed => "NotAllowed",
        ShuttingDown => "ShuttingDown",
        Unauthorized => "Unauthorized",
        Damaged => "Damaged",
        NotInitialized => "NotInitialized",
        _ => "Error",
    };
}

/// <summary>The <c>data</c> of an Orchflow error response.</summary>
public sealed record ErrorData
{
    /// <summary>The symbolic name of the code, for example "Overlap".</summary>
    public required string Kind { get; init; }

    /// <summary>What the user can do about it, when the message alone does not say.</summary>
    public string? Hint { get; init; }

    /// <summary>Configuration problems, each with file, line and column.</summary>
    public IReadOnlyList<Diagnostic>? Diagnostics { get; init; }
}
