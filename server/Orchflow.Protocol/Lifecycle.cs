namespace Orchflow.Protocol;

public sealed record ClientInfo
{
    public required string Name { get; init; }
    public string? Version { get; init; }
}

/// <summary>LSP's <c>initialize</c> params; Orchflow reads only what it needs and ignores the rest.</summary>
public sealed record InitializeParams
{
    public int? ProcessId { get; init; }
    public ClientInfo? ClientInfo { get; init; }

    /// <summary>Absolute folder paths open in the client, so the server can map them to workspaces.</summary>
    public IReadOnlyList<string>? Folders { get; init; }
}

public sealed record ServerInfo
{
    public required string Name { get; init; }
    public required string Version { get; init; }
}

public sealed record ServerCapabilities
{
    /// <summary>Orchflow's own protocol version; a client refuses a server whose major version differs.</summary>
    public required string ProtocolVersion { get; init; }

    /// <summary>The capabilities this server offers, for example "workspaces".</summary>
    public required IReadOnlyList<string> Features { get; init; }
}

public sealed record InitializeResult
{
    public required ServerCapabilities Capabilities { get; init; }
    public required ServerInfo ServerInfo { get; init; }
    public required DaemonInfo Daemon { get; init; }
}

/// <summary>Where the daemon runs and keeps its files.</summary>
public sealed record DaemonInfo
{
    public required int Pid { get; init; }
    public required string Home { get; init; }
    public required string DataDirectory { get; init; }
    public required string ConfigFile { get; init; }
    public required string LogFile { get; init; }

    /// <summary>The Unix socket path, or null when serving over stdio.</summary>
    public string? Socket { get; init; }

    public required DateTimeOffset StartedAt { get; init; }
}

/// <summary>
/// What <c>orchflow daemon ensure --json</c> prints, on one line: where the daemon listens, started by this call or
/// found running. Clients (the VS Code extension) run it to find or start the daemon before they connect.
/// </summary>
public sealed record DaemonEnsureResult
{
    /// <summary>The daemon's Unix socket.</summary>
    public required string Socket { get; init; }

    /// <summary>The daemon's process id; absent when the running daemon's pid file could not be read.</summary>
    public int? Pid { get; init; }

    /// <summary>True when this call started the daemon, false when one was already running.</summary>
    public required bool Started { get; init; }
}
