using System.Text.Json.Serialization;

namespace Orchflow.Protocol;

/// <summary>
/// Where an agent is in its life. Queued, starting, running, needsInput and paused are <em>active</em>: the first
/// waits for a slot of its workspace's pool (max_agents), the other four hold one. The rest are final until a restart.
/// </summary>
public enum AgentState
{
    /// <summary>Waiting for a slot: the workspace already runs max_agents agents. <see cref="AgentInfo.QueuePosition"/> says where.</summary>
    Queued,

    /// <summary>Its terminal has started; the agent has printed nothing yet (for at most a second: a silent command then counts as running).</summary>
    Starting,

    /// <summary>Working: it has printed output and does not wait for input.</summary>
    Running,

    /// <summary>Waiting for an answer: a needs-input pattern matched, or the output went quiet at a prompt. Cleared by input.</summary>
    NeedsInput,

    /// <summary>Every process of its terminal's session is stopped (SIGSTOP) until resumed.</summary>
    Paused,

    /// <summary>The process exited with code 0.</summary>
    Succeeded,

    /// <summary>The process exited with another code or was killed by a signal, or the agent could not start (see <see cref="AgentInfo.Message"/>).</summary>
    Failed,

    /// <summary>Stopped by a user or client; its whole process tree was ended.</summary>
    Stopped,

    /// <summary>The daemon stopped while the agent was active; found at the next start. Restart runs it again.</summary>
    Interrupted,
}

/// <summary>
/// What a client may ask of an agent, as <see cref="AgentInfo.Actions"/> lists it: the daemon accepts each listed one for
/// the agent as published (a stop, restart or remove already under way is refused for that moment, and is not published).
/// </summary>
public enum AgentAction
{
    /// <summary>Type into its terminal (orchflow/agent/send): its process runs and is not paused.</summary>
    Send,

    /// <summary>Pick a choice of the menu its screen shows (orchflow/agent/answer): it needs input and a menu was recognised.</summary>
    Answer,

    /// <summary>Stop every process of its session (orchflow/agent/pause): starting, running or waiting for input.</summary>
    Pause,

    /// <summary>Continue a paused agent (orchflow/agent/resume).</summary>
    Resume,

    /// <summary>End it (orchflow/agent/stop): queued, or holding a slot of its workspace's pool.</summary>
    Stop,

    /// <summary>Run the same task again (orchflow/agent/restart): anything but queued, live agents included.</summary>
    Restart,

    /// <summary>Forget it, its log and its worktree (orchflow/agent/remove); a live one is stopped first.</summary>
    Remove,

    /// <summary>Its run's terminal exists: attach to it to watch or type (<see cref="AgentInfo.TerminalId"/>).</summary>
    ShowTerminal,
}

/// <summary>One choice of a menu an agent's screen shows while it needs input (e.g. "Yes, and don't ask again").</summary>
public sealed record AgentChoice
{
    /// <summary>The choice as drawn, without its number or selection marker.</summary>
    public required string Label { get; init; }

    /// <summary>What to type to pick it: its digit, or arrow keys from the selected item then Enter.</summary>
    public required string Keys { get; init; }
}

/// <summary>How an agent CLI runs: in its interactive terminal UI, or non-interactively on one task until it exits.</summary>
public enum AgentMode
{
    /// <summary>The CLI's terminal UI, with the task as its first prompt; it stays open for more turns and questions.</summary>
    Interactive,

    /// <summary>The CLI's non-interactive mode (<c>claude -p</c>, <c>codex exec</c>, <c>gemini -p</c>): works on the task, prints the result and exits.</summary>
    Batch,
}

/// <summary>The git worktree an agent works in, on its own branch, outside the workspace root.</summary>
public sealed record AgentWorktree
{
    /// <summary>Absolute path: <c>&lt;data&gt;/worktrees/&lt;workspace&gt;/&lt;agent-id&gt;</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The branch, <c>orchflow/&lt;agent-id&gt;</c>; kept when the agent is removed.</summary>
    public required string Branch { get; init; }
}

/// <summary>One agent: an agent CLI (or a command) working on one task in a terminal of purpose Agent.</summary>
public sealed record AgentInfo
{
    /// <summary><c>&lt;namespace&gt;-a&lt;N&gt;</c>; never reused within a workspace.</summary>
    public required string Id { get; init; }

    public required string WorkspaceId { get; init; }

    /// <summary>The agent type's name (see orchflow/agent/types).</summary>
    public required string Type { get; init; }

    /// <summary>A short name given at spawn, for people (lists, its terminal's title); null when none was given.</summary>
    public string? Name { get; init; }

    /// <summary>Interactive terminal UI, or the type's batch (non-interactive) command.</summary>
    public AgentMode Mode { get; init; }

    public required string Task { get; init; }
    public required AgentState State { get; init; }

    /// <summary>1 for the next agent to start, while queued.</summary>
    public int? QueuePosition { get; init; }

    /// <summary>The terminal of the current (or last) run, while that terminal exists; attach to it to watch or type.</summary>
    public string? TerminalId { get; init; }

    /// <summary>The exit code of the last run, when it exited.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal that ended the last run, when one did.</summary>
    public int? Signal { get; init; }

    /// <summary>Set when the agent works in its own git worktree.</summary>
    public AgentWorktree? Worktree { get; init; }

    /// <summary>Where it runs: the workspace root or its worktree.</summary>
    public required string Cwd { get; init; }

    /// <summary>CPU use of its terminal's whole session over the last sample interval (100 = one core); null until measured twice.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>Resident memory of its terminal's session (sum over its processes); null until measured.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>How many processes its terminal's session has; null until measured.</summary>
    public int? Processes { get; init; }

    /// <summary>Since when it has been waiting for input, while <see cref="State"/> is needsInput.</summary>
    public DateTimeOffset? NeedsInputSince { get; init; }

    /// <summary>The last non-empty line it printed, as plain text.</summary>
    public string? LastLine { get; init; }

    /// <summary>When this run's MCP client (the agent CLI) connected to Orchflow's MCP server and listed its tools; null until then, or when its type has no MCP configuration.</summary>
    public DateTimeOffset? McpConnectedAt { get; init; }

    /// <summary>While it needs input: the question its screen shows (a trust dialog, a tool approval ...), when one was recognised.</summary>
    public string? Question { get; init; }

    /// <summary>While it needs input and its screen shows a menu: the choices, in order, each with the keys that pick it.</summary>
    public IReadOnlyList<AgentChoice>? Choices { get; init; }

    /// <summary>What the user should know: why it failed to start, who stopped it, that a done pattern matched.</summary>
    public string? Message { get; init; }

    /// <summary>When a done pattern of its type last matched its output in this run (the state stays running until it exits).</summary>
    public DateTimeOffset? DoneAt { get; init; }

    /// <summary>How many times it has been started (1 for the first run; restarts add one).</summary>
    public required int Runs { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The file holding its full output (escape sequences kept), size-capped with one rotated <c>.1</c>.</summary>
    public required string LogPath { get; init; }

    /// <summary>What the daemon accepts for this agent now, in <see cref="AgentAction"/> order: clients offer these and no others.</summary>
    [JsonRequired]
    public IReadOnlyList<AgentAction> Actions { get; init; } = [];
}

public sealed record AgentSpawnParams
{
    /// <summary>The workspace (id, name or root path); the built-in default workspace when absent.</summary>
    public string? WorkspaceId { get; init; }

    /// <summary>An agent type name: claude, codex, gemini, aider, command, or one from the config files.</summary>
    public required string Type { get; init; }

    /// <summary>Interactive (the default) or batch, the type's non-interactive command; refused for a type that has none.</summary>
    public AgentMode? Mode { get; init; }

    /// <summary>The task, passed to the CLI as one argument (never through a shell); for type command, the command line itself.</summary>
    public required string Task { get; init; }

    /// <summary>Run in a new git worktree on branch <c>orchflow/&lt;agent-id&gt;</c> instead of the workspace root.</summary>
    public bool Worktree { get; init; }

    /// <summary>A short name for people (at most 80 characters, one line); it also titles the agent's terminal.</summary>
    public string? Name { get; init; }
}

public sealed record AgentListParams
{
    /// <summary>Only this workspace's agents; every workspace's when absent.</summary>
    public string? WorkspaceId { get; init; }
}

public sealed record AgentListResult
{
    public required IReadOnlyList<AgentInfo> Agents { get; init; }
}

public sealed record AgentRef
{
    public required string Id { get; init; }
}

public sealed record AgentSendParams
{
    public required string Id { get; init; }

    /// <summary>Text as typed into the agent's terminal; "\r" submits. Clears needsInput.</summary>
    public required string Text { get; init; }
}

/// <summary>Picks one choice of the menu an agent's screen shows while it needs input.</summary>
public sealed record AgentAnswerParams
{
    public required string Id { get; init; }

    /// <summary>The choice: its number as listed in <see cref="AgentInfo.Choices"/> (1 for the first), or its label (case-insensitive; a start of it that fits one choice only is enough).</summary>
    public required string Choice { get; init; }

    /// <summary>
    /// The question the person answered, as <see cref="AgentInfo.Question"/> showed it. When the agent's screen asks
    /// something else by now the answer is refused, so no answer lands on a question nobody saw. Omitted: the current question.
    /// </summary>
    public string? Question { get; init; }
}

public sealed record AgentRemoveResult
{
    public required string Id { get; init; }
}

public sealed record AgentLogsParams
{
    public required string Id { get; init; }

    /// <summary>Only the last N lines.</summary>
    public int? Tail { get; init; }
}

public sealed record AgentLogsResult
{
    /// <summary>The agent's output as plain text (escape sequences removed, carriage returns resolved), across its runs.</summary>
    public required string Text { get; init; }

    public required string Path { get; init; }
}

public enum AgentEventKind
{
    Spawned,
    Queued,
    Started,
    NeedsInput,
    InputGiven,

    /// <summary>A done pattern matched its output; it is still running.</summary>
    Done,

    /// <summary>Exited with code 0.</summary>
    Succeeded,

    /// <summary>Exited with another code or a signal, or could not start.</summary>
    Failed,
    Stopped,
    Paused,
    Resumed,
    Restarted,
    Interrupted,
    Removed,

    /// <summary>Its CLI connected to Orchflow's MCP server and listed the tools (once per run).</summary>
    McpConnected,
}

/// <summary>One line of a workspace's recent activity (the dashboard's "Recent").</summary>
public sealed record AgentEvent
{
    public required string WorkspaceId { get; init; }
    public required string AgentId { get; init; }
    public required AgentEventKind Kind { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary>A line for people, for example "a3 (claude) finished: exit 0".</summary>
    public required string Message { get; init; }

    public int? ExitCode { get; init; }

    /// <summary>The client that asked for it (its initialize clientInfo.name), for stop, pause, resume, send, restart and remove.</summary>
    public string? By { get; init; }
}

public sealed record AgentEventsParams
{
    /// <summary>Only this workspace's events; every workspace's when absent.</summary>
    public string? WorkspaceId { get; init; }

    /// <summary>At most this many, newest first; 50 when absent.</summary>
    public int? Limit { get; init; }
}

public sealed record AgentEventsResult
{
    /// <summary>Newest first.</summary>
    public required IReadOnlyList<AgentEvent> Events { get; init; }
}

public sealed record AgentTypesParams
{
    /// <summary>Include this workspace's own types (and use its PATH); the default workspace when absent.</summary>
    public string? WorkspaceId { get; init; }
}

/// <summary>Where the definition of an agent type in force comes from; a workspace's overrides the global one, which overrides the built-in.</summary>
public enum AgentTypeSource
{
    BuiltIn,
    Global,
    Workspace,
}

public sealed record AgentTypeInfo
{
    public required string Name { get; init; }
    public required string DisplayName { get; init; }

    /// <summary>
    /// The command template: split on whitespace (quotes group), then <c>{task}</c> becomes the task as one argument.
    /// Without <c>{task}</c> the task is typed as the first message at the CLI's first prompt.
    /// </summary>
    public required string Command { get; init; }

    /// <summary>True for a name Orchflow knows without configuration (claude, codex, gemini, aider, command).</summary>
    public required bool BuiltIn { get; init; }

    public required AgentTypeSource Source { get; init; }

    /// <summary>Whether the program is found on the workspace terminal's PATH.</summary>
    public required bool Installed { get; init; }

    public string? ResolvedPath { get; init; }

    /// <summary>How to install or configure it, when it is not installed.</summary>
    public string? InstallHint { get; init; }

    public string? Purpose { get; init; }
    public required IReadOnlyList<string> NeedsInputPatterns { get; init; }
    public required IReadOnlyList<string> DonePatterns { get; init; }
}

public sealed record AgentTypesResult
{
    public required IReadOnlyList<AgentTypeInfo> Types { get; init; }
}

public enum AgentChangeKind
{
    Created,
    Updated,
    Removed,
}

/// <summary>
/// Server to every client: an agent was created, changed state (or queue position, last line, message), or was removed.
/// Resource figures alone do not send this; they come with orchflow/resources/changed.
/// </summary>
public sealed record AgentChangedNotification
{
    public required AgentChangeKind Kind { get; init; }
    public required string Id { get; init; }
    public required string WorkspaceId { get; init; }

    /// <summary>The agent after the change; null when removed.</summary>
    public AgentInfo? Agent { get; init; }
}

/// <summary>Server to every client: a new line of a workspace's recent activity.</summary>
public sealed record AgentEventNotification
{
    public required string WorkspaceId { get; init; }
    public required AgentEvent Event { get; init; }
}

public sealed record WorkspaceResourcesParams
{
}

/// <summary>
/// Measured use of one workspace: the sums over the sessions of its running terminals (agents' terminals and the
/// others), read from /proc. Never an estimate.
/// </summary>
public sealed record WorkspaceResources
{
    public required string WorkspaceId { get; init; }

    /// <summary>CPU over the last sample interval (100 = one core); null while a running terminal has not been measured twice.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>Resident memory, summed over the processes (shared pages count once per process).</summary>
    public required long MemoryBytes { get; init; }

    public required int Processes { get; init; }

    /// <summary>Running terminals.</summary>
    public required int Terminals { get; init; }

    /// <summary>Active agents (starting, running, needsInput, paused); queued ones are not counted.</summary>
    public required int Agents { get; init; }

    public required int QueuedAgents { get; init; }
}

/// <summary>The figures of one active agent (its terminal's session).</summary>
public sealed record AgentResources
{
    public required string Id { get; init; }
    public required string WorkspaceId { get; init; }
    public double? CpuPercent { get; init; }
    public long? MemoryBytes { get; init; }
    public int? Processes { get; init; }
}

/// <summary>
/// The result of orchflow/workspace/resources and the payload of orchflow/resources/changed, sent after each
/// sample (every second) while anything runs, and once more when the last thing stops.
/// </summary>
public sealed record ResourceSnapshot
{
    /// <summary>When /proc was read; null before the first sample.</summary>
    public DateTimeOffset? SampledAt { get; init; }

    /// <summary>Every workspace, with zeros for the idle ones.</summary>
    public required IReadOnlyList<WorkspaceResources> Workspaces { get; init; }

    /// <summary>Every active agent.</summary>
    public required IReadOnlyList<AgentResources> Agents { get; init; }
}
