namespace Orchflow.Protocol;

/// <summary>What a terminal is for (the spec's TerminalPurpose); shown as an icon in the tree.</summary>
public enum TerminalPurpose
{
    Shell,
    Build,
    Test,
    Repl,
    Agent,
}

public enum TerminalStatus
{
    /// <summary>The process runs.</summary>
    Running,

    /// <summary>The process ended by itself; <see cref="TerminalInfo.ExitCode"/> or <see cref="TerminalInfo.Signal"/> says how.</summary>
    Exited,

    /// <summary>Ended by a user's or client's kill.</summary>
    Killed,

    /// <summary>The daemon stopped (or crashed) while it ran; found at the next start.</summary>
    Lost,
}

/// <summary>The spec's TerminalMetadata: one terminal of one workspace, run in a PTY owned by the daemon.</summary>
public sealed record TerminalInfo
{
    public required string Id { get; init; }
    public required string WorkspaceId { get; init; }
    public required string Namespace { get; init; }
    public required string Name { get; init; }
    public required TerminalPurpose Purpose { get; init; }

    /// <summary>The agent driving this terminal, when there is one.</summary>
    public string? AgentId { get; init; }

    /// <summary>The program and its arguments as started.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The working directory: the workspace root or a directory inside it.</summary>
    public required string Cwd { get; init; }

    public required TerminalStatus Status { get; init; }
    public int? ExitCode { get; init; }
    public int? Signal { get; init; }

    /// <summary>The process id of the terminal's first process (its session and process group leader), while it runs.</summary>
    public int? Pid { get; init; }

    public required int Columns { get; init; }
    public required int Rows { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>How many clients are attached (receiving output) now.</summary>
    public required int AttachedClients { get; init; }
}

public sealed record TerminalCreateParams
{
    /// <summary>The workspace (id, name or root path); the built-in default workspace when absent.</summary>
    public string? WorkspaceId { get; init; }

    public string? Name { get; init; }
    public TerminalPurpose? Purpose { get; init; }

    /// <summary>A command line run by the workspace's shell (<c>$SHELL -c</c>); an interactive login shell when absent.</summary>
    public string? Command { get; init; }

    /// <summary>Absolute, or relative to the workspace root; must stay inside the root. The root when absent.</summary>
    public string? Cwd { get; init; }

    public int? Columns { get; init; }
    public int? Rows { get; init; }

    /// <summary>Attach the calling client at once, so it receives output from the first byte.</summary>
    public bool Attach { get; init; }
}

public sealed record TerminalListParams
{
    /// <summary>Only this workspace's terminals; every workspace's when absent.</summary>
    public string? WorkspaceId { get; init; }
}

public sealed record TerminalListResult
{
    public required IReadOnlyList<TerminalInfo> Terminals { get; init; }
}

public sealed record TerminalRef
{
    public required string Id { get; init; }
}

public sealed record TerminalInputParams
{
    public required string Id { get; init; }

    /// <summary>Text as typed (UTF-8 on the wire); "\r" submits a line, "\u0003" is Ctrl-C.</summary>
    public required string Data { get; init; }
}

public sealed record TerminalResizeParams
{
    public required string Id { get; init; }
    public required int Columns { get; init; }
    public required int Rows { get; init; }
}

public sealed record TerminalRenameParams
{
    public required string Id { get; init; }
    public required string Name { get; init; }
}

public sealed record TerminalAttachResult
{
    public required TerminalInfo Terminal { get; init; }

    /// <summary>
    /// What to replay before any live output: the scrollback as text (escape sequences kept), or, when
    /// <see cref="FromScreen"/>, escape sequences that draw the terminal's current screen.
    /// </summary>
    public required string Scrollback { get; init; }

    /// <summary>
    /// <see cref="Scrollback"/> draws the current screen: the program is on the alternate screen, or it draws with the
    /// cursor and its raw tail no longer starts at its first byte, so replaying that tail would show a torn screen.
    /// </summary>
    public bool FromScreen { get; init; }

    /// <summary>The sequence number of the last character of <see cref="Scrollback"/>: output notifications continue from here.</summary>
    public required long Seq { get; init; }
}

/// <summary>Client to server: the client has processed output up to <see cref="Seq"/> (flow control).</summary>
public sealed record TerminalAckParams
{
    public required string Id { get; init; }
    public required long Seq { get; init; }
}

public sealed record TerminalReadParams
{
    public required string Id { get; init; }

    /// <summary>Only the last N lines.</summary>
    public int? Tail { get; init; }

    /// <summary>What is visible now (the screen model: cursor movements, erases and the alternate screen applied) instead of the scrollback.</summary>
    public bool Screen { get; init; }
}

public sealed record TerminalReadResult
{
    /// <summary>The scrollback as plain text (escape sequences removed, carriage returns resolved), or the visible screen's lines.</summary>
    public required string Text { get; init; }
}

/// <summary>
/// Server to attached clients: output of a terminal. <see cref="Seq"/> counts UTF-16 characters of output since
/// the terminal started and is the position after the last character of <see cref="Data"/>; the client acknowledges
/// with orchflow/terminal/ack so the server can pause a terminal whose clients fall behind.
/// </summary>
public sealed record TerminalOutputNotification
{
    public required string Id { get; init; }
    public required long Seq { get; init; }
    public required string Data { get; init; }
}

public enum TerminalChangeKind
{
    Created,
    Updated,
    Exited,
    Removed,
}

public sealed record TerminalChangedNotification
{
    public required TerminalChangeKind Kind { get; init; }
    public required string Id { get; init; }
    public required string WorkspaceId { get; init; }

    /// <summary>The terminal after the change; null when removed.</summary>
    public TerminalInfo? Terminal { get; init; }
}
