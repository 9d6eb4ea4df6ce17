using Orchflow.Protocol;
using Orchflow.Server.Terminals;

namespace Orchflow.Server.Agents;

/// <summary>
/// One agent in the daemon's memory. Every field is read and written only under the agents' lock
/// (<see cref="AgentTable.Gate"/>), except <see cref="Snapshot"/>, which is replaced whole and may be read without it
/// (the workspace registry reads active agents while holding its own lock).
/// </summary>
internal sealed class Agent
{
    public required string Id { get; init; }

    public required string WorkspaceId { get; init; }

    public required string Type { get; init; }

    public string? Name { get; init; }

    public required string Task { get; init; }

    /// <summary>Interactive or batch: which command of its type runs it.</summary>
    public AgentMode Mode { get; init; }

    public required string LogPath { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required string Cwd { get; init; }

    public AgentWorktree? Worktree { get; init; }

    public string? RepositoryRoot { get; init; }

    public AgentState State { get; set; }

    /// <summary>What resume returns to.</summary>
    public AgentState StateBeforePause { get; set; }

    public int? QueuePosition { get; set; }

    /// <summary>First come, first served: the order in which queued agents entered the queue.</summary>
    public long QueueOrder { get; set; }

    public string? TerminalId { get; set; }

    public int? ExitCode { get; set; }

    public int? Signal { get; set; }

    public DateTimeOffset? NeedsInputSince { get; set; }

    public string? LastLine { get; set; }

    /// <summary>While it needs input: the question its screen shows, and the menu under it.</summary>
    public string? Question { get; set; }

    public IReadOnlyList<AgentChoice>? Choices { get; set; }

    /// <summary>Its needs-input came from its screen, so it also ends when the question leaves the screen.</summary>
    public bool WaitingOnScreen { get; set; }

    public string? Message { get; set; }

    public DateTimeOffset? DoneAt { get; set; }

    public int Runs { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>When this run's MCP client listed Orchflow's tools (<see cref="AgentService.McpReady"/>); null before, and again at each start.</summary>
    public DateTimeOffset? McpConnectedAt { get; set; }

    /// <summary>
    /// A stop, restart or remove is ending its process tree outside the lock: the terminal's exit that follows is
    /// theirs to report, and the agent keeps its slot until the tree is gone.
    /// </summary>
    public bool Stopping { get; set; }

    /// <summary>The last finished run's log writer, until it has written everything: a read of the log waits for it.</summary>
    public Task? LogWriting { get; set; }

    /// <summary>The live parts of the current run; null when no run is in progress.</summary>
    public AgentRun? Run { get; set; }

    /// <summary>The state as last published, without resource figures.</summary>
    public volatile AgentInfo? Snapshot;

    /// <summary>Holds a slot of its workspace's pool.</summary>
    public bool HoldsSlot => AgentService.HoldsSlot(State);
}

/// <summary>
/// One run of an agent: its terminal's observer, which feeds the needs-input detector and the log. Both calls come
/// from the terminal (reader thread under its lock, or an input request) and only hand the data on.
/// </summary>
internal sealed class AgentRun(NeedsInputDetector detector, AgentLog log, bool typeTaskAtFirstPrompt, Action? wake = null) : ITerminalObserver
{
    private int _terminalInput;

    public NeedsInputDetector Detector { get; } = detector;

    public AgentLog Log { get; } = log;

    /// <summary>The task still has to be typed at the first prompt (a type whose template has no {task}). Under the agents' lock.</summary>
    public bool TaskPending { get; set; } = typeTaskAtFirstPrompt;

    /// <summary>Its CLI was started with Orchflow's MCP server configured: the task waits at the first prompt until the CLI has connected. Set at start.</summary>
    public bool WaitsForMcp { get; init; }

    /// <summary>When it was first seen idle at its prompt with the task still pending; cleared when a question comes up instead. Under the agents' lock.</summary>
    public DateTimeOffset? AtPromptSince { get; set; }

    public long LastLinePublishedAt { get; set; }

    /// <summary>
    /// When this run's terminal was created. Terminal ids are reused once a terminal is removed, so a restart's new
    /// terminal may carry the old one's id; the creation time tells the old terminal's late exit from the new one's.
    /// </summary>
    public DateTimeOffset TerminalCreatedAt { get; set; }

    public void OnOutput(string text)
    {
        Detector.Append(text);
        Log.Append(text);
        wake?.Invoke();
    }

    public void OnInput(string data)
    {
        // A focus report or a reply to the program's own query (VS Code's terminal sends them when it is shown) answers
        // the program, not its question: it must not take the agent out of needsInput with the dialog still on screen.
        if (TerminalReports.OnlyReports(data))
        {
            return;
        }

        Detector.InputGiven();
        Interlocked.Exchange(ref _terminalInput, 1);
        wake?.Invoke();
    }

    /// <summary>True once after someone typed into the terminal.</summary>
    public bool TakeTerminalInput() => Interlocked.Exchange(ref _terminalInput, 0) == 1;
}
