using System.Diagnostics;
using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Terminals;

namespace Orchflow.Server.Agents;

/// <summary>
/// The detection loop: each running agent's <see cref="NeedsInputDetector"/> is evaluated under the agents' lock, and
/// its verdict moves the agent between starting, running and needsInput (with the question and menu its screen shows),
/// records a done line, types a task held at the CLI's first prompt, and is published (a changed last line alone at
/// most every <see cref="LastLinePublishInterval"/>). It runs every <see cref="DetectInterval"/> and as soon as an agent
/// prints or is typed into (<see cref="Wake"/>).
/// </summary>
internal sealed class AgentDetection : IAsyncDisposable
{
    /// <summary>How often output is examined for prompts and done patterns: a tenth of a second keeps the report well within one second of the prompt.</summary>
    public static readonly TimeSpan DetectInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The least time between two detection passes woken by output (real time: it only bounds the cost).</summary>
    public static readonly TimeSpan DetectMinSpacing = TimeSpan.FromMilliseconds(10);

    /// <summary>A changed last line alone is published at most this often, so a chatty agent does not flood clients.</summary>
    public static readonly TimeSpan LastLinePublishInterval = TimeSpan.FromSeconds(1);

    /// <summary>An agent that has printed nothing this long after its start counts as running all the same (a command that works silently).</summary>
    public static readonly TimeSpan StartingGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a task typed at a CLI's first prompt waits there for the CLI to connect to Orchflow's MCP server: a turn
    /// sent before then has none of Orchflow's tools (Claude Code's TUI sends it at once, connected or not). After it the
    /// task is typed anyway, and the agent's message says why its first turn has no Orchflow tools. Counted from the
    /// moment the prompt was first seen, so a person's time at an earlier dialog (a folder trust question) is not taken
    /// from it. Claude Code connected about 2 to 4 s after its start here.
    /// </summary>
    public static readonly TimeSpan McpConnectGrace = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Between typing a task and the Enter that submits it. A TUI that sees text and "\r" in one read takes them as a
    /// paste and does not submit (Claude Code 2.1.337 with a task of 1,500 characters); a separate Enter is a key press.
    /// </summary>
    public static readonly TimeSpan SubmitPause = TimeSpan.FromMilliseconds(50);

    private readonly AgentTable _agents;
    private readonly TerminalService _terminals;
    private readonly AgentPublisher _publisher;
    private readonly Action<Task> _track;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    /// <param name="track">Keeps a typing in progress until the daemon stops (the agent service waits for such work).</param>
    public AgentDetection(AgentTable agents, TerminalService terminals, AgentPublisher publisher, Action<Task> track, Log log, TimeProvider time)
    {
        _agents = agents;
        _terminals = terminals;
        _publisher = publisher;
        _track = track;
        _log = log;
        _time = time;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Asks for a detection pass now: an agent's terminal printed something or was typed into.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    private void Tick()
    {
        List<(Terminal Terminal, string Text)>? typing = null;
        long now = _time.GetTimestamp();
        foreach (var agent in _agents.All)
        {
            var run = agent.Run;
            var state = agent.Snapshot?.State;
            if (run is null || state is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput))
            {
                continue;
            }

            lock (_agents.Gate)
            {
                if (agent.Run != run || agent.Stopping || agent.State is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput))
                {
                    continue;
                }

                // Under the lock: a verdict is reported once, so one taken here while the run ends (its exit handled
                // by Finish, which takes the final verdict under this lock) would be dropped, its done line with it.
                var r = run.Detector.Evaluate();

                bool changed = false;
                if (agent.State == AgentState.Starting && (r.HasOutput || _time.GetUtcNow() - agent.StartedAt >= StartingGrace))
                {
                    agent.State = AgentState.Running;
                    changed = true;
                }

                if (run.TakeTerminalInput() && agent.State == AgentState.NeedsInput)
                {
                    agent.State = AgentState.Running;
                    agent.NeedsInputSince = null;
                    _publisher.AddEvent(agent, AgentEventKind.InputGiven, $"{agent.Id} got input in its terminal");
                    changed = true;
                }
                else if (r.Resumed && agent.State == AgentState.NeedsInput && agent.WaitingOnScreen)
                {
                    // The question it waited on left its screen: it moved on.
                    agent.State = AgentState.Running;
                    agent.NeedsInputSince = null;
                    changed = true;
                }

                bool lineChanged = r.LastLine is not null && r.LastLine != agent.LastLine;
                if (lineChanged)
                {
                    agent.LastLine = r.LastLine;
                }

                if (r.DoneLine is { } doneLine && agent.DoneAt is null)
                {
                    agent.DoneAt = _time.GetUtcNow();
                    agent.Message = $"Reports done: {doneLine}";
                    _publisher.AddEvent(agent, AgentEventKind.Done, $"{agent.Id} reports done: {AgentEvents.Short(doneLine)}");
                    changed = true;
                }

                if (r.NeedsInput && agent.State is AgentState.Running or AgentState.Starting)
                {
                    if (run.TaskPending && r.Question is null)
                    {
                        // A CLI without a task argument: its first prompt receives the task, as if typed (below).
                        if (run.AtPromptSince is null)
                        {
                            run.AtPromptSince = _time.GetUtcNow();
                            agent.State = AgentState.Running;
                            if (run.WaitsForMcp && agent.McpConnectedAt is null)
                            {
                                agent.Message = "At its first prompt: the task is typed once its CLI has connected to Orchflow's MCP server.";
                            }

                            changed = true;
                        }
                    }
                    else
                    {
                        run.AtPromptSince = null;
                        agent.State = AgentState.NeedsInput;
                        agent.NeedsInputSince = _time.GetUtcNow();
                        agent.Question = r.Question;
                        agent.Choices = r.Choices;
                        agent.WaitingOnScreen = r.Question is not null;
                        _publisher.AddEvent(agent, AgentEventKind.NeedsInput, $"{agent.Id} needs input: {AgentEvents.Short(r.Question ?? r.LastLine ?? "")}");
                        changed = true;
                    }
                }
                else if (r.NeedsInput && agent.State == AgentState.NeedsInput && r.Question is not null
                    && (r.Question != agent.Question || !SameLabels(r.Choices, agent.Choices)))
                {
                    // One dialog replaced another without a pause, or a dialog was drawn over a screen already taken for
                    // a prompt (Codex CLI draws its trust dialog in parts): what it asks is the new one, so an answer
                    // meant for the old one is refused rather than typed into this one.
                    agent.NeedsInputSince = _time.GetUtcNow();
                    agent.Question = r.Question;
                    agent.Choices = r.Choices;
                    agent.WaitingOnScreen = true;
                    _publisher.AddEvent(agent, AgentEventKind.NeedsInput, $"{agent.Id} needs input: {AgentEvents.Short(r.Question)}");
                    changed = true;
                }

                if (run.TaskPending && run.AtPromptSince is { } atPrompt && agent.State == AgentState.Running
                    && TaskTypedMessage(agent, run, atPrompt) is { } typedMessage && RunningTerminal(agent.TerminalId) is { } terminal)
                {
                    run.TaskPending = false;
                    run.Detector.InputGiven();
                    (typing ??= []).Add((terminal, agent.Task));
                    agent.Message = typedMessage;
                    changed = true;
                }

                if (changed || (lineChanged && _time.GetElapsedTime(run.LastLinePublishedAt, now) >= LastLinePublishInterval))
                {
                    run.LastLinePublishedAt = now;
                    _publisher.Publish(agent, persist: changed);
                }
            }
        }

        foreach (var (terminal, text) in typing ?? [])
        {
            _track(TypeTaskAsync(terminal, text));
        }
    }

    /// <summary>
    /// The agent's message when a task held at the CLI's first prompt is typed now: at once for a CLI without Orchflow's
    /// MCP server, once it has connected, or after <see cref="McpConnectGrace"/> without it (said so). Null while it waits.
    /// </summary>
    private string? TaskTypedMessage(Agent agent, AgentRun run, DateTimeOffset atPrompt)
    {
        if (!run.WaitsForMcp || agent.McpConnectedAt is not null)
        {
            return "The task was typed at its first prompt.";
        }

        if (_time.GetUtcNow() - atPrompt >= McpConnectGrace)
        {
            return $"Orchflow's MCP server had not connected within {McpConnectGrace.TotalSeconds:0} s, so the task was typed at its first prompt without it: the first turn has no Orchflow tools.";
        }

        return null;
    }

    /// <summary>
    /// Types a task as a person pastes it and presses Enter: the text (bracketed when the program asked for bracketed
    /// paste, as a terminal does, so a line break inside it does not submit), then Enter as a key of its own after
    /// <see cref="SubmitPause"/>.
    /// </summary>
    private async Task TypeTaskAsync(Terminal terminal, string task)
    {
        try
        {
            terminal.Write(terminal.Screen.Snapshot().BracketedPaste ? $"\u001b[200~{task.Replace("\u001b[201~", "", StringComparison.Ordinal)}\u001b[201~" : task);
            await Task.Delay(SubmitPause, _time, _stopping.Token).ConfigureAwait(false);
            terminal.Write("\r");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The run ended meanwhile: its end is reported by its terminal.
        }
    }

    private static bool SameLabels(IReadOnlyList<AgentChoice>? a, IReadOnlyList<AgentChoice>? b) =>
        (a ?? []).Select(c => c.Label).SequenceEqual((b ?? []).Select(c => c.Label), StringComparer.Ordinal);

    private Terminal? RunningTerminal(string? terminalId)
    {
        try
        {
            return terminalId is not null && _terminals.Get(terminalId) is { IsRunning: true } t ? t : null;
        }
        catch (OrchflowException)
        {
            return null;
        }
    }

    /// <summary>
    /// Detection runs every <see cref="DetectInterval"/> (for output that went quiet at a prompt) and as soon as an
    /// agent prints or is typed into (a prompt pattern, the first output of a run), but at most once per
    /// <see cref="DetectMinSpacing"/>, so a flood of output costs a bounded number of passes.
    /// </summary>
    private async Task LoopAsync()
    {
        var wake = _wake.Reader;
        long lastPass = 0;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                using (var round = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
                {
                    var tick = Task.Delay(DetectInterval, _time, round.Token);
                    var woken = wake.WaitToReadAsync(round.Token).AsTask();
                    await Task.WhenAny(tick, woken).ConfigureAwait(false);
                    await round.CancelAsync().ConfigureAwait(false); // the other one ends cancelled, which nobody observes
                }

                while (wake.TryRead(out _))
                {
                }

                _stopping.Token.ThrowIfCancellationRequested();
                var since = Stopwatch.GetElapsedTime(lastPass);
                if (lastPass != 0 && since < DetectMinSpacing)
                {
                    await Task.Delay(DetectMinSpacing - since, _stopping.Token).ConfigureAwait(false);
                }

                lastPass = Stopwatch.GetTimestamp();
                try
                {
                    Tick();
                }
                catch (Exception ex)
                {
                    _log.Error("Agent detection failed", ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
