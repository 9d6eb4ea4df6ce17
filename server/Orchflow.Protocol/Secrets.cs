namespace Orchflow.Protocol;

public enum SecretSource
{
    /// <summary>Set with <c>orchflow secret set</c>: kept by the daemon outside every workspace root, mode 0600.</summary>
    Daemon,

    /// <summary>Read from the workspace's secrets_file (a dotenv file inside its root).</summary>
    File,
}

/// <summary>A secret as clients see it: never its value, only a masked hint.</summary>
public sealed record SecretInfo
{
    public required string Name { get; init; }
    public required SecretSource Source { get; init; }

    /// <summary>e.g. "sk…f3 (40 characters)"; short values show nothing of themselves.</summary>
    public required string Masked { get; init; }

    /// <summary>When it was last set (daemon secrets only).</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>True when a daemon secret of the same name hides this file secret.</summary>
    public bool Overridden { get; init; }
}

public sealed record SecretSetParams
{
    public required string WorkspaceId { get; init; }

    /// <summary>An environment variable name: letters, digits and '_', not starting with a digit, not ORCHFLOW_*.</summary>
    public required string Name { get; init; }

    public required string Value { get; init; }
}

public sealed record SecretListParams
{
    public required string WorkspaceId { get; init; }
}

public sealed record SecretListResult
{
    public required IReadOnlyList<SecretInfo> Secrets { get; init; }

    /// <summary>The secrets_file in force, when the workspace has one.</summary>
    public string? File { get; init; }

    /// <summary>Lines of the secrets_file that could not be read, each with file, line and column.</summary>
    public required IReadOnlyList<Diagnostic> Problems { get; init; }
}

public sealed record SecretRemoveParams
{
    public required string WorkspaceId { get; init; }
    public required string Name { get; init; }
}

public sealed record SecretRemoveResult
{
    public required string WorkspaceId { get; init; }
    public required string Name { get; init; }
}
