using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Storage;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Agents;

/// <summary>
/// Every agent of every workspace, keyed by id with one guard for unknown ids (<see cref="Get"/>). An agent is an agent
/// CLI (or a command) working on one task in its own terminal of purpose Agent; this service owns its life:
/// the per-workspace pool (at most max_agents hold a slot; the rest wait in a first-come queue), needs-input detection,
/// pause and resume of its whole session, stop, restart, its log, its workspace's recent events, and the resource
/// figures of every terminal session, sampled from /proc.
/// </summary>
/// <remarks>
/// <para>
/// Concurrency: one lock (<c>_gate</c>) guards every agent's state and the queues. It is taken before the workspace
/// registry's and the terminal registry's locks, never after: the registry reads active agents lock-free
/// (<see cref="ActiveAgentIds"/>), and a terminal's observer only hands data to the detector and the log. Ending a
/// process tree blocks for up to about a second, so stop, restart and remove do it outside the lock, with the agent
/// marked <see cref="Agent.Stopping"/> meanwhile. Notifications leave through one queue, in order, outside the lock.
/// </para>
/// <para>
/// States: a run's terminal exiting with code 0 makes it succeeded, any other code or a signal failed; done patterns
/// only record a "done" event and message (an interactive CLI rarely exits by itself, and a pattern is a guess while
/// an exit code is not). At start, agents the previous daemon left active (queued included: nothing starts behind the
/// user's back) are marked interrupted.
/// </para>
/// </remarks>
public sealed class AgentService : IAsyncDisposable
{
    /// <summary>How often output is examined for prompts and done patterns: a tenth of a second keeps the report well within one second of the prompt.</summary>
    public static readonly TimeSpan DetectInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The least time between two detection passes woken by output (real time: it only bounds the cost).</summary>
    public static readonly TimeSpan DetectMinSpacing = TimeSpan.FromMilliseconds(10);

    private readonly Channel<bool> _detectWake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>A changed last line alone is published at most this often, so a chatty agent does not flood clients.</summary>
    public static readonly TimeSpan LastLinePublishInterval = TimeSpan.FromSeconds(1);

    /// <summary>An agent that has printed nothing this long after its start counts as running all the same (a command that works silently).</summary>
    public static readonly TimeSpan StartingGrace = TimeSpan.FromSeconds(1);

    /// <summary>Tasks longer than this are refused: an argument list is limited (ARG_MAX), and a prompt this long is a mistake.</summary>
    public const int MaxTaskChars = 100_000;

    /// <summary>How long a read of a log waits for the writer of a run that just ended (it normally needs milliseconds).</summary>
    public static readonly TimeSpan LogFlushTimeout = TimeSpan.FromSeconds(5);

    /// <summary>An agent's name titles its terminal tab and a column of lists: short and on one line.</summary>
    public const int MaxNameChars = 80;

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

    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, Agent> _agents = new(StringComparer.Ordinal);
    private readonly WorkspaceService _workspaces;
    private readonly TerminalService _terminals;
    private readonly GlobalSettings _settings;
    private readonly AgentStore _store;
    private readonly AgentEvents _events;
    private readonly OrchflowPaths _paths;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly ResourceSampler _sampler = new();
    private readonly Channel<object> _outbox = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<Task, bool> _pendingIo = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _pump;
    private readonly Task _detector;
    private readonly Task _sampling;
    private volatile Sample _lastSample = new(null, [], new Dictionary<string, SessionFigures>());
    private bool _sampleHadActivity;
    private long _queueSeq;
    private volatile bool _disposed;

    public AgentService(WorkspaceService workspaces, TerminalService terminals, GlobalSettings settings, AgentStore store, OrchflowPaths paths, Log log, TimeProvider? time = null)
    {
        _workspaces = workspaces;
        _terminals = terminals;
        _settings = settings;
        _store = store;
        _events = new AgentEvents(store);
        _paths = paths;
        _log = log;
        _time = time ?? TimeProvider.System;

        LoadPrevious();
        _terminals.Changed += OnTerminalChanged;
        _pump = Task.Run(PumpAsync);
        _detector = Task.Run(DetectLoopAsync);
        _sampling = Task.Run(() => LoopAsync(ResourceSampler.Interval, SampleTick));
    }

    /// <summary>What a run needs besides its type's command (the MCP token and config); set by the composition root.</summary>
    public IAgentRunHooks? RunHooks { get; set; }

    /// <summary>An agent was created, changed or removed. Raised in order, outside every lock.</summary>
    public event Action<AgentChangedNotification>? Changed;

    /// <summary>A workspace's recent activity got a line.</summary>
    public event Action<AgentEventNotification>? EventAdded;

    /// <summary>A resource sample was taken (every <see cref="ResourceSampler.Interval"/> while anything runs).</summary>
    public event Action<ResourceSnapshot>? ResourcesChanged;

    /// <summary>Queued, starting, running, needsInput and paused: the agent is not finished.</summary>
    public static bool IsActive(AgentState s) => s is AgentState.Queued || HoldsSlot(s);

    /// <summary>Starting, running, needsInput and paused take one of the workspace's max_agents slots.</summary>
    public static bool HoldsSlot(AgentState s) => s is AgentState.Starting or AgentState.Running or AgentState.NeedsInput or AgentState.Paused;

    /// <summary>The single guard for agent ids.</summary>
    private Agent Get(string id) =>
        _agents.TryGetValue(id ?? "", out var a)
            ? a
            : throw OrchflowException.NotFound("agent", id ?? "", "Run `orchflow agent list` to see the ids.");

    /// <summary>The agents holding a slot in a workspace. Lock-free: the workspace registry calls it under its own lock.</summary>
    public IReadOnlyList<string> ActiveAgentIds(string workspaceId) =>
        _agents.Values.Where(a => a.WorkspaceId == workspaceId && a.Snapshot is { } s && HoldsSlot(s.State))
            .OrderBy(a => a.CreatedAt).Select(a => a.Id).ToList();

    public IReadOnlyList<AgentInfo> List(string? workspaceRef)
    {
        string? wsId = workspaceRef is null ? null : _workspaces.Show(workspaceRef).Id;
        return _agents.Values.Where(a => wsId is null || a.WorkspaceId == wsId)
            .OrderBy(a => a.WorkspaceId, StringComparer.Ordinal).ThenBy(a => a.CreatedAt).ThenBy(a => a.Id, StringComparer.Ordinal)
            .Select(View).ToList();
    }

    public AgentInfo Show(string id) => View(Get(id));

    /// <summary>A run that ends this soon after its start failed to start, as far as the user is concerned.</summary>
    private static readonly TimeSpan QuickExit = TimeSpan.FromSeconds(10);

    public async Task<AgentInfo> SpawnAsync(AgentSpawnParams p, string? by, CancellationToken cancellationToken = default)
    {
        ThrowIfStopping();
        var ws = _workspaces.Show(p.WorkspaceId ?? WorkspaceService.DefaultId);
        if (string.IsNullOrWhiteSpace(p.Task))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The task is empty.", "Say what the agent should do, for example \"add tests for the parser\".");
        }

        if (p.Task.Length > MaxTaskChars)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The task has {p.Task.Length} characters; at most {MaxTaskChars} are accepted.", "Put the details in a file in the workspace and name the file in the task.");
        }

        var name = string.IsNullOrWhiteSpace(p.Name) ? null : p.Name.Trim();
        if (name is { Length: > MaxNameChars } || (name is not null && name.Any(char.IsControl)))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The name must be one line of at most {MaxNameChars} characters.", "Give a short name such as \"parser-tests\"; the task says the rest.");
        }

        // Checked now so that a missing CLI is an error of this request, not an agent that fails later.
        var type = ResolveType(ws, p.Type);
        var mode = p.Mode ?? AgentMode.Interactive;
        var (checkedArgv, _) = Prepare(ws, type, mode, p.Task, ws.RootPath);
        if (AgentTypes.Resolve(checkedArgv[0], SearchPath(ws, type), ws.RootPath) is { } cli)
        {
            await AgentVersions.CheckAsync(type, cli, cancellationToken).ConfigureAwait(false);
        }

        var noCredentials = CheckCredentials(ws, type, mode, checkedArgv[0]);


        int floor = _agents.Keys.Select(id => ParseNumber(id, ws.Namespace)).DefaultIfEmpty(0).Max();
        var id = $"{ws.Namespace}-a{_store.NextNumber(ws.Namespace, floor).ToString(CultureInfo.InvariantCulture)}";
        AgentWorktreeInfo? worktree = null;
        if (p.Worktree)
        {
            worktree = await Worktrees.CreateAsync(ws.RootPath, Worktrees.PathFor(_paths.DataDirectory, ws.Id, id), Worktrees.BranchFor(id), cancellationToken).ConfigureAwait(false);
        }

        lock (_gate)
        {
            if (_disposed)
            {
                throw ShuttingDown();
            }

            var agent = new Agent
            {
                Id = id,
                WorkspaceId = ws.Id,
                Type = type.Name,
                Name = name,
                Task = p.Task,
                Mode = mode,
                LogPath = AgentLog.PathFor(_paths.DataDirectory, ws.Id, id),
                CreatedAt = _time.GetUtcNow(),
                Cwd = worktree?.Cwd ?? ws.RootPath,
                Worktree = worktree is null ? null : new AgentWorktree { Path = worktree.Path, Branch = worktree.Branch },
                RepositoryRoot = worktree?.RepositoryRoot,
                State = AgentState.Queued,
                QueueOrder = ++_queueSeq,
            };
            _agents[id] = agent;
            AddEvent(agent, AgentEventKind.Spawned, $"{id} ({type.Name}{(mode == AgentMode.Batch ? ", batch" : "")}) spawned" + (worktree is null ? "" : $" on branch {worktree.Branch}") + $": {Short(p.Task)}"
                + (noCredentials is null ? "" : $". Log in in its terminal: {noCredentials}"), by: by);
            Publish(agent, AgentChangeKind.Created);
            _log.Info($"Agent {id} ({type.Name}) spawned in {ws.Id}" + (worktree is null ? "" : $", worktree {worktree.Path}"));
            Schedule(ws.Id);
            if (agent.State == AgentState.Queued)
            {
                AddEvent(agent, AgentEventKind.Queued, $"{id} waits for a slot: queue position {agent.QueuePosition}, max_agents {ws.Metadata.ResourceLimits.MaxAgents}");
            }

            return View(agent);
        }
    }

    /// <summary>Types into the agent's terminal (text as typed; "\r" submits) and clears needsInput.</summary>
    public AgentInfo Send(string id, string text, string? by)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The text is empty.", "Send the answer as typed, with \"\\r\" to submit it.");
        }

        return GiveInput(id, by, _ => new Input(text, wasWaiting =>
            $"{id} got input from {by ?? "a client"}" + (wasWaiting ? "" : " (it was not waiting)") + $": {Short(text.TrimEnd('\r', '\n'))}"));
    }

    /// <summary>
    /// Picks a choice of the menu the agent's screen shows (<see cref="AgentChoices.Resolve"/>) by typing its keys, as
    /// <see cref="Send"/> types text. Refused, with what to do instead, when the agent does not wait, when its screen
    /// shows no menu, and when <paramref name="question"/> is given but the screen asks something else by now: an answer
    /// never lands on a question nobody saw.
    /// </summary>
    public AgentInfo Answer(string id, string choice, string? question, string? by) =>
        GiveInput(id, by, agent =>
        {
            if (agent.State != AgentState.NeedsInput)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, $"Agent '{id}' is {Wire(agent.State)}; nothing to answer.",
                    $"Answer when it needs input: `orchflow agent wait {id} --until needs-input` waits for that.");
            }

            if (agent.Choices is not { Count: > 0 } choices)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed,
                    $"Agent '{id}' needs input, but its screen shows no menu to pick from" + (agent.Question is { } q ? $" (it asks \"{q}\")." : $" (its last line: \"{agent.LastLine}\")."),
                    $"Type the answer instead: `orchflow agent send {id} 'text\\r'`.");
            }

            var asked = agent.Question ?? "";
            if (question is not null && AgentChoices.Normalize(question) != AgentChoices.Normalize(asked))
            {
                throw new OrchflowException(ErrorCodes.NotAllowed,
                    $"The question changed: it now asks \"{asked}\" ({AgentChoices.List(choices)}), not \"{AgentChoices.Normalize(question)}\".",
                    $"Read it with `orchflow agent show {id}` and answer that question, or leave it.");
            }

            var (_, picked) = AgentChoices.Resolve(choices, choice, id);
            return new Input(picked.Keys, _ => $"{id} answered \"{picked.Label}\" to \"{asked}\" (by {by ?? "a client"})");
        });

    /// <summary>What <see cref="GiveInput"/> types, and the event line it records (given whether the agent was waiting).</summary>
    private sealed record Input(string Text, Func<bool, string> EventLine);

    /// <summary>
    /// The one path of a person's input to an agent (send and answer): checked and recorded under the lock, then written
    /// to its PTY outside it. <paramref name="prepare"/> runs under the lock, after the agent is known to take input, and
    /// may refuse.
    /// </summary>
    private AgentInfo GiveInput(string id, string? by, Func<Agent, Input> prepare)
    {
        Terminal terminal;
        AgentInfo view;
        Input input;
        lock (_gate)
        {
            var agent = Get(id);
            if (agent.State is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput) || agent.Run is null || agent.TerminalId is null || agent.Stopping)
            {
                throw NotAllowed(agent, "receive input", agent.State == AgentState.Paused ? $"Resume it first: `orchflow agent resume {id}`." : null);
            }

            terminal = _terminals.Get(agent.TerminalId);
            if (!terminal.IsRunning || terminal.Process is null)
            {
                throw NotAllowed(agent, "receive input", null);
            }

            input = prepare(agent);

            // Recorded before the write, under the lock: an agent that answers at once and exits must still show the
            // input before its end (its exit is handled under this lock too, after the write), and the echo of the
            // answer already counts as output after the input.
            agent.Run.Detector.InputGiven();
            bool wasWaiting = agent.State == AgentState.NeedsInput;
            if (wasWaiting)
            {
                agent.State = AgentState.Running;
                agent.NeedsInputSince = null;
            }

            AddEvent(agent, AgentEventKind.InputGiven, input.EventLine(wasWaiting), by: by);
            Publish(agent);
            view = View(agent);
        }

        // Straight to the PTY rather than through TerminalService.Input, whose observer call would report the input a
        // second time as typed in the terminal; a full input buffer may block here, outside the lock.
        try
        {
            WritePty(terminal, input.Text);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed, $"Agent '{id}' ended before the input reached it: {e.Message}", $"Run `orchflow agent show {id}` to see how it ended.");
        }

        return view;
    }

    private static void WritePty(Terminal terminal, string text) =>
        (terminal.Process ?? throw new ObjectDisposedException(nameof(terminal))).Write(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// The agent's MCP client (its CLI) has listed Orchflow's tools: recorded once per run, with an event, and a task
    /// held at the CLI's first prompt for this (see <see cref="McpConnectGrace"/>) is typed on the next detection pass.
    /// </summary>
    public void McpReady(string id, string? client)
    {
        lock (_gate)
        {
            var agent = Get(id);
            if (agent.Run is null || agent.McpConnectedAt is not null)
            {
                return;
            }

            var now = _time.GetUtcNow();
            agent.McpConnectedAt = now;
            var after = agent.StartedAt is { } started ? $" ({(now - started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s after its start)" : "";
            AddEvent(agent, AgentEventKind.McpConnected, $"{id}: {client ?? "its MCP client"} connected to Orchflow's MCP server{after}", by: client);
            Publish(agent);
        }

        WakeDetector();
    }

    /// <summary>
    /// What the agent says about itself through Orchflow's MCP server: it waits for the user (needsInput, like a detected
    /// prompt), it is done (a done event, like a done pattern: it runs on until it exits), or it works again.
    /// </summary>
    public AgentInfo ReportStatus(string id, McpAgentStatus status, string? message, string? by)
    {
        var text = string.IsNullOrWhiteSpace(message) ? null : Short(message);
        lock (_gate)
        {
            var agent = Get(id);
            if (agent.Run is null || agent.Stopping || agent.State is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput))
            {
                throw NotAllowed(agent, "report a status", null);
            }

            switch (status)
            {
                case McpAgentStatus.NeedsInput:
                    if (agent.State != AgentState.NeedsInput)
                    {
                        agent.State = AgentState.NeedsInput;
                        agent.NeedsInputSince = _time.GetUtcNow();

                        // Its question is in the message; a menu an earlier screen showed is not this one.
                        agent.Question = null;
                        agent.Choices = null;
                    }

                    agent.WaitingOnScreen = false;

                    agent.Message = text is null ? "Waits for input (reported by the agent)." : $"Asks: {text}";
                    AddEvent(agent, AgentEventKind.NeedsInput, $"{id} needs input (it says so)" + (text is null ? "" : $": {text}"), by: by);
                    break;
                case McpAgentStatus.Done:
                    agent.DoneAt = _time.GetUtcNow();
                    agent.Message = text is null ? "Reports done." : $"Reports done: {text}";
                    AddEvent(agent, AgentEventKind.Done, $"{id} reports done" + (text is null ? "" : $": {text}"), by: by);
                    break;
                default:
                    if (agent.State is AgentState.NeedsInput or AgentState.Starting)
                    {
                        agent.State = AgentState.Running;
                        agent.NeedsInputSince = null;
                    }

                    agent.Message = text ?? agent.Message;
                    break;
            }

            Publish(agent);
            return View(agent);
        }
    }

    /// <summary>Stops (SIGSTOP) every process of the agent's terminal session.</summary>
    public AgentInfo Pause(string id, string? by)
    {
        lock (_gate)
        {
            var agent = Get(id);
            if (agent.State is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput) || agent.Stopping)
            {
                throw NotAllowed(agent, "be paused", null);
            }

            SignalSession(agent, Signals.SIGSTOP);
            agent.StateBeforePause = agent.State;
            agent.State = AgentState.Paused;
            AddEvent(agent, AgentEventKind.Paused, $"{id} paused by {by ?? "a client"}", by: by);
            Publish(agent);
            return View(agent);
        }
    }

    /// <summary>Continues (SIGCONT) every process of the agent's terminal session.</summary>
    public AgentInfo Resume(string id, string? by)
    {
        lock (_gate)
        {
            var agent = Get(id);
            if (agent.State != AgentState.Paused || agent.Stopping)
            {
                throw NotAllowed(agent, "be resumed", null);
            }

            SignalSession(agent, Signals.SIGCONT);
            agent.State = agent.StateBeforePause;
            AddEvent(agent, AgentEventKind.Resumed, $"{id} resumed by {by ?? "a client"}", by: by);
            Publish(agent);
            return View(agent);
        }
    }

    /// <summary>Ends the agent's whole process tree (its terminal is killed and removed); the agent stays, stopped.</summary>
    public AgentInfo Stop(string id, string? by)
    {
        string? terminalId;
        Agent agent;
        lock (_gate)
        {
            agent = Get(id);
            if (agent.State == AgentState.Queued && !agent.Stopping)
            {
                agent.QueuePosition = null;
                Finish(agent, AgentState.Stopped, $"Stopped by {by ?? "a client"} while queued.", AgentEventKind.Stopped, $"{id} stopped by {by ?? "a client"} while queued", by);
                return View(agent);
            }

            if (!agent.HoldsSlot || agent.Stopping)
            {
                throw NotAllowed(agent, "be stopped", null);
            }

            agent.Stopping = true;
            terminalId = agent.TerminalId;
        }

        KillTerminal(terminalId);
        lock (_gate)
        {
            agent.Stopping = false;
            agent.TerminalId = null;
            Finish(agent, AgentState.Stopped, $"Stopped by {by ?? "a client"}.", AgentEventKind.Stopped, $"{id} stopped by {by ?? "a client"}", by);
            return View(agent);
        }
    }

    /// <summary>Runs the same type and task again: same id, a new terminal, starting (or queued when the pool is full).</summary>
    public AgentInfo Restart(string id, string? by)
    {
        string? terminalId;
        Agent agent;
        bool heldSlot;
        lock (_gate)
        {
            agent = Get(id);
            if (agent.State == AgentState.Queued || agent.Stopping)
            {
                throw NotAllowed(agent, "be restarted", agent.State == AgentState.Queued ? "It starts by itself when a slot frees." : null);
            }

            heldSlot = agent.HoldsSlot;
            agent.Stopping = true;
            terminalId = agent.TerminalId;
        }

        // The previous run's terminal goes, whether it still runs, has exited, or was lost with the previous daemon.
        KillTerminal(terminalId);
        lock (_gate)
        {
            agent.Stopping = false;
            agent.TerminalId = null;
            EndRun(agent);
            AddEvent(agent, AgentEventKind.Restarted, $"{id} restarted by {by ?? "a client"} (run {agent.Runs + 1})", by: by);
            if (heldSlot && !_disposed)
            {
                // It gives its slot straight to its own next run; if that cannot start, the slot goes to the queue.
                if (!Start(agent))
                {
                    Schedule(agent.WorkspaceId);
                }
            }
            else
            {
                agent.State = AgentState.Queued;
                agent.QueueOrder = ++_queueSeq;
                agent.EndedAt = null;
                Publish(agent);
                Schedule(agent.WorkspaceId);
            }

            return View(agent);
        }
    }

    /// <summary>Stops the agent if it is active, removes its worktree (its branch stays) and its log, and forgets it.</summary>
    public async Task<string> RemoveAsync(string id, string? by)
    {
        string? terminalId;
        Agent agent;
        lock (_gate)
        {
            agent = Get(id);
            if (agent.Stopping)
            {
                throw NotAllowed(agent, "be removed", "It is being stopped or restarted; try again in a moment.");
            }

            agent.Stopping = true;
            terminalId = agent.TerminalId;
        }

        KillTerminal(terminalId);
        Task? logDone;
        lock (_gate)
        {
            logDone = EndRun(agent);
            _agents.TryRemove(id, out _);
            _store.Delete(id);
            AddEvent(agent, AgentEventKind.Removed, $"{id} removed by {by ?? "a client"}", by: by);
            _outbox.Writer.TryWrite(new AgentChangedNotification { Kind = AgentChangeKind.Removed, Id = id, WorkspaceId = agent.WorkspaceId });
            Schedule(agent.WorkspaceId);
        }

        await ForgetFilesAsync(agent, logDone).ConfigureAwait(false);
        _log.Info($"Agent {id} removed");
        return id;
    }

    /// <summary>
    /// The agent's log as plain text. Once an agent's final state is published its log is complete: a read waits for
    /// the writer of the run that just ended, so `agent wait --until done` followed by `agent logs` misses nothing.
    /// </summary>
    public async Task<AgentLogsResult> LogsAsync(string id, int? tail)
    {
        if (tail is < 1)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "tail must be at least 1.");
        }

        Agent agent;
        Task? writing;
        lock (_gate)
        {
            agent = Get(id);
            writing = agent.LogWriting;
        }

        if (writing is not null)
        {
            // The writer only drains a queue to a file; the bound keeps a wedged disk from hanging the request.
            await Task.WhenAny(writing, Task.Delay(LogFlushTimeout)).ConfigureAwait(false);
        }

        return new AgentLogsResult { Text = AgentLog.ReadPlain(agent.LogPath, tail), Path = agent.LogPath };
    }

    public IReadOnlyList<AgentEvent> Events(string? workspaceRef, int? limit)
    {
        string? wsId = workspaceRef is null ? null : _workspaces.Show(workspaceRef).Id;
        return _events.List(wsId, limit);
    }

    /// <summary>Every type in force for a workspace, with whether its program is found on that workspace's PATH.</summary>
    public IReadOnlyList<AgentTypeInfo> Types(string? workspaceRef)
    {
        var ws = _workspaces.Show(workspaceRef ?? WorkspaceService.DefaultId);
        var shell = ShellOrDefault();
        var order = AgentTypes.BuiltIns.Select((t, i) => (t.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        return MergedTypes(ws).Values
            .OrderBy(t => order.TryGetValue(t.Name, out var i) ? i : int.MaxValue).ThenBy(t => t.Name, StringComparer.Ordinal)
            .Select(t =>
            {
                string program = "";
                string? resolved = null;
                try
                {
                    program = AgentTypes.Program(t, shell);
                    resolved = AgentTypes.Resolve(program, SearchPath(ws, t), ws.RootPath);
                }
                catch (OrchflowException)
                {
                    // An unclosed quote: shown as not installed, with the hint to fix the command.
                }

                return new AgentTypeInfo
                {
                    Name = t.Name,
                    DisplayName = t.DisplayName,
                    Command = t.Command,
                    BuiltIn = t.BuiltIn,
                    Source = t.Source,
                    Installed = resolved is not null,
                    ResolvedPath = resolved,
                    InstallHint = resolved is null ? AgentTypes.NotInstalledMessage(t, program) : null,
                    Purpose = t.Purpose,
                    NeedsInputPatterns = t.NeedsInputPatterns,
                    DonePatterns = t.DonePatterns,
                };
            }).ToList();
    }

    /// <summary>The figures of the last sample for every workspace (zeros for idle ones) and every agent holding a slot.</summary>
    public ResourceSnapshot Resources() => BuildSnapshot(_lastSample);

    /// <summary>A workspace was deleted: its agents are stopped and forgotten, with their worktrees, logs and events.</summary>
    public void RemoveWorkspace(string workspaceId)
    {
        foreach (var agent in _agents.Values.Where(a => a.WorkspaceId == workspaceId).ToList())
        {
            string? terminalId;
            lock (_gate)
            {
                agent.Stopping = true;
                terminalId = agent.TerminalId;
            }

            KillTerminal(terminalId);
            Task? logDone;
            lock (_gate)
            {
                logDone = EndRun(agent);
                _agents.TryRemove(agent.Id, out _);
                _store.Delete(agent.Id);
                _outbox.Writer.TryWrite(new AgentChangedNotification { Kind = AgentChangeKind.Removed, Id = agent.Id, WorkspaceId = workspaceId });
            }

            Track(ForgetFilesAsync(agent, logDone));
        }

        _events.RemoveWorkspace(workspaceId);
    }

    // ---- Starting, scheduling, finishing (all under _gate) ----

    /// <summary>Starts queued agents of a workspace while it has free slots, then renumbers the queue.</summary>
    private void Schedule(string workspaceId)
    {
        if (_disposed)
        {
            return;
        }

        int max;
        try
        {
            max = _workspaces.Show(workspaceId).Metadata.ResourceLimits.MaxAgents;
        }
        catch (OrchflowException)
        {
            return;
        }

        var mine = _agents.Values.Where(a => a.WorkspaceId == workspaceId).ToList();
        int holding = mine.Count(a => a.HoldsSlot);
        var queue = mine.Where(a => a.State == AgentState.Queued && !a.Stopping).OrderBy(a => a.QueueOrder).ToList();
        int next = 0;
        while (holding < max && next < queue.Count)
        {
            if (Start(queue[next++]))
            {
                holding++;
            }
        }

        int position = 1;
        foreach (var a in queue.Skip(next))
        {
            if (a.QueuePosition != position)
            {
                a.QueuePosition = position;
                Publish(a, persist: false);
            }

            position++;
        }
    }

    /// <summary>Starts a run of the agent in a new terminal; a failure to start is the run's result (failed, with the reason).</summary>
    private bool Start(Agent agent)
    {
        agent.QueuePosition = null;
        agent.Runs++;
        agent.StartedAt = _time.GetUtcNow();
        agent.EndedAt = null;
        agent.ExitCode = null;
        agent.Signal = null;
        agent.DoneAt = null;
        agent.NeedsInputSince = null;
        agent.LastLine = null;
        agent.Message = null;
        agent.McpConnectedAt = null;
        try
        {
            var ws = _workspaces.Show(agent.WorkspaceId);
            var type = ResolveType(ws, agent.Type);
            if (!Directory.Exists(agent.Cwd))
            {
                throw new OrchflowException(ErrorCodes.InvalidPath, $"The agent's directory {agent.Cwd} no longer exists.",
                    agent.Worktree is null ? "Check the workspace root." : $"Its worktree was deleted; remove the agent and spawn a new one (branch {agent.Worktree.Branch} is kept).");
            }

            var (argv, taskInArgv) = Prepare(ws, type, agent.Mode, agent.Task, agent.Cwd);
            var setup = RunHooks?.Prepare(new AgentRunContext(ws.Id, agent.Id, type, argv) { Mode = agent.Mode, Cwd = agent.Cwd });
            var run = new AgentRun(
                new NeedsInputDetector(AgentTypes.Compile(type.NeedsInputPatterns), AgentTypes.Compile(type.DonePatterns), _time),
                new AgentLog(agent.LogPath, $"\r\n[orchflow] run {agent.Runs} of {agent.Id} ({type.Name}) started {agent.StartedAt:u} in {agent.Cwd}\r\n"),
                typeTaskAtFirstPrompt: !taskInArgv,
                WakeDetector)
            { WaitsForMcp = setup?.McpClientConfigured ?? false };
            agent.Run = run;
            agent.State = AgentState.Starting;
            try
            {
                var terminal = _terminals.Create(
                    new TerminalCreateParams { WorkspaceId = ws.Id, Name = $"{agent.Name ?? type.DisplayName} · {agent.Id}", Purpose = TerminalPurpose.Agent },
                    attachTo: null,
                    new AgentLaunch(agent.Id, setup?.Argv ?? argv, agent.Cwd, AgentEnv(ws, type, argv[0]), run) { Variables = setup?.Variables, SandboxReadOnly = setup?.SandboxReadOnly ?? [] });
                agent.TerminalId = terminal.Id;
                run.TerminalCreatedAt = terminal.CreatedAt;
                run.Detector.AttachScreen(_terminals.Get(terminal.Id).Screen);
            }
            catch
            {
                agent.Run = null;
                RunHooks?.Ended(agent.Id);
                Track(run.Log.CompleteAsync());
                throw;
            }

            var passed = Passthrough(ws, type, argv[0]).Keys.Order(StringComparer.Ordinal).ToList();
            AddEvent(agent, AgentEventKind.Started, $"{agent.Id} started" + (agent.Runs > 1 ? $" (run {agent.Runs})" : "") + (agent.Worktree is { } w ? $" in worktree {w.Branch}" : "")
                + (passed.Count > 0 ? $"; passed from the user's environment (agents.env_passthrough): {string.Join(", ", passed)}" : ""));
            Publish(agent);
            return true;
        }
        catch (OrchflowException e)
        {
            agent.TerminalId = null;
            Finish(agent, AgentState.Failed, $"Could not start: {e.Message}" + (e.Hint is { } h ? " " + h : ""), AgentEventKind.Failed, $"{agent.Id} could not start: {e.Message}", null, schedule: false);
            return false;
        }
    }

    /// <summary>The argv of a run, once the program is known to be installed on the workspace terminal's PATH.</summary>
    private (IReadOnlyList<string> Argv, bool TaskInArgv) Prepare(WorkspaceInfo ws, AgentType type, AgentMode mode, string task, string cwd)
    {
        var (argv, taskInArgv) = AgentTypes.BuildArgv(type, mode, task, ShellOrDefault());
        if (AgentTypes.Resolve(argv[0], SearchPath(ws, type), cwd) is null)
        {
            throw new OrchflowException(ErrorCodes.NotFound, AgentTypes.NotInstalledMessage(type, argv[0]),
                $"It was looked for on the PATH of workspace '{ws.Id}' terminals: {SearchPath(ws, type)}.");
        }

        _terminals.CheckLaunch(ws, argv, cwd, type.Env, $"agent of type {type.Name}");

        return (argv, taskInArgv);
    }

    private void Finish(Agent agent, AgentState state, string? message, AgentEventKind kind, string line, string? by, int? exitCode = null, bool schedule = true)
    {
        EndRun(agent);
        agent.State = state;
        agent.EndedAt = _time.GetUtcNow();
        agent.NeedsInputSince = null;
        agent.Message = message ?? agent.Message;
        agent.Figures = null;
        AddEvent(agent, kind, line, exitCode, by);
        Publish(agent);
        _log.Info($"Agent {agent.Id}: {line}");
        if (schedule)
        {
            Schedule(agent.WorkspaceId);
        }
    }

    /// <summary>
    /// Why a run failed, in the CLI's own words when it said any: an agent CLI that exits at once (no credentials, an
    /// untrusted folder, a flag it does not know) prints the reason as its last line, which would otherwise be lost.
    /// </summary>
    private string FailureMessage(Agent agent, string how)
    {
        var last = agent.Run?.Detector.Evaluate(final: true).LastLine ?? agent.LastLine;
        bool atOnce = agent.StartedAt is { } started && _time.GetUtcNow() - started < QuickExit;
        return $"The process ended{(atOnce ? " right after it started" : "")}: {how}."
            + (string.IsNullOrWhiteSpace(last) ? "" : $" Its last output: {last}")
            + $" The whole output: `orchflow agent logs {agent.Id}`.";
    }

    /// <summary>Ends the live parts of the current run: a last look at its output, and its log closed.</summary>
    private Task? EndRun(Agent agent)
    {
        // The run's MCP token dies with it, before anything else can happen in its name.
        RunHooks?.Ended(agent.Id);
        if (agent.Run is not { } run)
        {
            return null;
        }

        var last = run.Detector.Evaluate(final: true);
        agent.LastLine = last.LastLine ?? agent.LastLine;
        if (last.DoneLine is { } doneLine && agent.DoneAt is null)
        {
            agent.DoneAt = _time.GetUtcNow();
            agent.Message = $"Reports done: {doneLine}";
            AddEvent(agent, AgentEventKind.Done, $"{agent.Id} reports done: {Short(doneLine)}");
        }

        agent.Run = null;
        var done = run.Log.CompleteAsync();
        agent.LogWriting = done;
        Track(done);
        return done;
    }

    private void OnTerminalChanged(TerminalChangedNotification change)
    {
        if (change.Kind is TerminalChangeKind.Created or TerminalChangeKind.Updated || _disposed)
        {
            return;
        }

        var agent = change.Terminal?.AgentId is { } agentId
            ? _agents.GetValueOrDefault(agentId)
            : _agents.Values.FirstOrDefault(a => a.TerminalId == change.Id);
        if (agent is null)
        {
            return;
        }

        lock (_gate)
        {
            if (agent.TerminalId != change.Id || !_agents.ContainsKey(agent.Id))
            {
                return;
            }

            if (change.Kind == TerminalChangeKind.Removed)
            {
                // Someone killed the agent's terminal directly (terminal/kill), or a stop of ours did it.
                agent.TerminalId = null;
                if (agent.Stopping)
                {
                    return;
                }

                if (agent.HoldsSlot)
                {
                    Finish(agent, AgentState.Stopped, "Its terminal was killed.", AgentEventKind.Stopped, $"{agent.Id} stopped: its terminal was killed", null);
                }
                else
                {
                    Publish(agent);
                }

                return;
            }

            if (agent.Stopping || !agent.HoldsSlot || change.Terminal is not { } t || agent.Run?.TerminalCreatedAt != t.CreatedAt)
            {
                return;
            }

            agent.ExitCode = t.ExitCode;
            agent.Signal = t.Signal;
            if (t.Status == TerminalStatus.Killed)
            {
                Finish(agent, AgentState.Stopped, "Its terminal was killed.", AgentEventKind.Stopped, $"{agent.Id} stopped: its terminal was killed", null);
            }
            else if (t.ExitCode == 0)
            {
                Finish(agent, AgentState.Succeeded, agent.DoneAt is null ? null : agent.Message, AgentEventKind.Succeeded, $"{agent.Id} ({agent.Type}) finished: exit 0", null, 0);
            }
            else
            {
                var how = t.ExitCode is { } code ? $"exit {code}" : t.Signal is { } sig ? $"killed by signal {sig}" : "ended, status unknown";
                Finish(agent, AgentState.Failed, FailureMessage(agent, how), AgentEventKind.Failed, $"{agent.Id} ({agent.Type}) failed: {how}", null, t.ExitCode);
            }
        }
    }

    // ---- Detection and sampling loops ----

    private void DetectTick()
    {
        List<(Terminal Terminal, string Text)>? typing = null;
        long now = _time.GetTimestamp();
        foreach (var agent in _agents.Values)
        {
            var run = agent.Run;
            var state = agent.Snapshot?.State;
            if (run is null || state is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput))
            {
                continue;
            }

            lock (_gate)
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
                    AddEvent(agent, AgentEventKind.InputGiven, $"{agent.Id} got input in its terminal");
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
                    AddEvent(agent, AgentEventKind.Done, $"{agent.Id} reports done: {Short(doneLine)}");
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
                        AddEvent(agent, AgentEventKind.NeedsInput, $"{agent.Id} needs input: {Short(r.Question ?? r.LastLine ?? "")}");
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
                    AddEvent(agent, AgentEventKind.NeedsInput, $"{agent.Id} needs input: {Short(r.Question)}");
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
                    Publish(agent, persist: changed);
                }
            }
        }

        foreach (var (terminal, text) in typing ?? [])
        {
            Track(TypeTaskAsync(terminal, text));
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
            WritePty(terminal, terminal.Screen.Snapshot().BracketedPaste ? $"\u001b[200~{task.Replace("\u001b[201~", "", StringComparison.Ordinal)}\u001b[201~" : task);
            await Task.Delay(SubmitPause, _time, _stopping.Token).ConfigureAwait(false);
            WritePty(terminal, "\r");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The run ended meanwhile: its end is reported by its terminal.
        }
    }

    private static bool SameLabels(IReadOnlyList<AgentChoice>? a, IReadOnlyList<AgentChoice>? b) =>
        (a ?? []).Select(c => c.Label).SequenceEqual((b ?? []).Select(c => c.Label), StringComparer.Ordinal);

    private void SampleTick()
    {
        var terminals = _terminals.List(null).Where(t => t.Status == TerminalStatus.Running && t.Pid is not null).ToList();
        var figures = _sampler.Sample(terminals.Select(t => (t.Id, t.Pid!.Value)).ToList());
        var sample = new Sample(_time.GetUtcNow(), terminals, figures);
        _lastSample = sample;
        foreach (var agent in _agents.Values)
        {
            var tid = agent.TerminalId;
            agent.Figures = tid is not null && agent.Run is not null && figures.TryGetValue(tid, out var f) ? f : null;
        }

        // Queues also move when a workspace's max_agents is raised in its config file.
        var waiting = _agents.Values.Where(a => a.State == AgentState.Queued).Select(a => a.WorkspaceId).Distinct().ToList();
        if (waiting.Count > 0)
        {
            lock (_gate)
            {
                foreach (var ws in waiting)
                {
                    Schedule(ws);
                }
            }
        }

        bool active = terminals.Count > 0;
        if (active || _sampleHadActivity)
        {
            _outbox.Writer.TryWrite(BuildSnapshot(sample));
        }

        _sampleHadActivity = active;
    }

    private ResourceSnapshot BuildSnapshot(Sample sample)
    {
        var agents = _agents.Values.ToList();
        var workspaces = _workspaces.List().Select(ws =>
        {
            var terms = sample.Terminals.Where(t => t.WorkspaceId == ws.Id).ToList();
            double cpu = 0;
            bool measured = true;
            long memory = 0;
            int processes = 0;
            foreach (var t in terms)
            {
                if (sample.Figures.TryGetValue(t.Id, out var f))
                {
                    memory += f.MemoryBytes;
                    processes += f.Processes;
                    if (f.CpuPercent is { } c)
                    {
                        cpu += c;
                    }
                    else
                    {
                        measured = false;
                    }
                }
            }

            return new WorkspaceResources
            {
                WorkspaceId = ws.Id,
                CpuPercent = measured ? Math.Round(cpu, 1) : null,
                MemoryBytes = memory,
                Processes = processes,
                Terminals = terms.Count,
                Agents = agents.Count(a => a.WorkspaceId == ws.Id && a.Snapshot is { } s && HoldsSlot(s.State)),
                QueuedAgents = agents.Count(a => a.WorkspaceId == ws.Id && a.Snapshot?.State == AgentState.Queued),
            };
        }).ToList();

        var agentFigures = agents.Where(a => a.Snapshot is { } s && HoldsSlot(s.State))
            .OrderBy(a => a.WorkspaceId, StringComparer.Ordinal).ThenBy(a => a.CreatedAt)
            .Select(a => new AgentResources { Id = a.Id, WorkspaceId = a.WorkspaceId, CpuPercent = a.Figures?.CpuPercent, MemoryBytes = a.Figures?.MemoryBytes, Processes = a.Figures?.Processes })
            .ToList();
        return new ResourceSnapshot { SampledAt = sample.At, Workspaces = workspaces, Agents = agentFigures };
    }

    /// <summary>Asks for a detection pass now: an agent's terminal printed something or was typed into.</summary>
    private void WakeDetector() => _detectWake.Writer.TryWrite(true);

    /// <summary>
    /// Detection runs every <see cref="DetectInterval"/> (for output that went quiet at a prompt) and as soon as an
    /// agent prints or is typed into (a prompt pattern, the first output of a run), but at most once per
    /// <see cref="DetectMinSpacing"/>, so a flood of output costs a bounded number of passes.
    /// </summary>
    private async Task DetectLoopAsync()
    {
        var wake = _detectWake.Reader;
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
                    DetectTick();
                }
                catch (Exception ex)
                {
                    _log.Error("Agent DetectTick failed", ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task LoopAsync(TimeSpan interval, Action tick)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    tick();
                }
                catch (Exception ex)
                {
                    _log.Error($"Agent {tick.Method.Name} failed", ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PumpAsync()
    {
        await foreach (var item in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                switch (item)
                {
                    case AgentChangedNotification c:
                        Changed?.Invoke(c);
                        break;
                    case AgentEventNotification e:
                        EventAdded?.Invoke(e);
                        break;
                    case ResourceSnapshot r:
                        ResourcesChanged?.Invoke(r);
                        break;
                }
            }
            catch (Exception ex)
            {
                _log.Error("Publishing an agent notification failed", ex);
            }
        }
    }

    // ---- Helpers ----

    private void Publish(Agent agent, AgentChangeKind kind = AgentChangeKind.Updated, bool persist = true)
    {
        var info = ToInfo(agent);
        agent.Snapshot = info;
        if (persist)
        {
            _store.Upsert(ToRecord(agent));
        }

        _outbox.Writer.TryWrite(new AgentChangedNotification { Kind = kind, Id = agent.Id, WorkspaceId = agent.WorkspaceId, Agent = View(agent) });
    }

    private void AddEvent(Agent agent, AgentEventKind kind, string message, int? exitCode = null, string? by = null)
    {
        var e = _events.Add(new AgentEvent { WorkspaceId = agent.WorkspaceId, AgentId = agent.Id, Kind = kind, At = _time.GetUtcNow(), Message = message, ExitCode = exitCode, By = by });
        _outbox.Writer.TryWrite(new AgentEventNotification { WorkspaceId = agent.WorkspaceId, Event = e });
    }

    /// <summary>The published state plus the latest resource figures.</summary>
    private static AgentInfo View(Agent agent)
    {
        var info = agent.Snapshot is { } published ? published with { Actions = AgentActions.For(published) } : throw new InvalidOperationException($"Agent {agent.Id} was never published.");
        return agent.Figures is { } f && HoldsSlot(info.State)
            ? info with { CpuPercent = f.CpuPercent, MemoryBytes = f.MemoryBytes, Processes = f.Processes }
            : info;
    }

    private static AgentInfo ToInfo(Agent a) => new()
    {
        Id = a.Id,
        WorkspaceId = a.WorkspaceId,
        Type = a.Type,
        Name = a.Name,
        Task = a.Task,
        Mode = a.Mode,
        State = a.State,
        QueuePosition = a.State == AgentState.Queued ? a.QueuePosition : null,
        TerminalId = a.TerminalId,
        ExitCode = a.ExitCode,
        Signal = a.Signal,
        Worktree = a.Worktree,
        Cwd = a.Cwd,
        NeedsInputSince = a.State == AgentState.NeedsInput ? a.NeedsInputSince : null,
        LastLine = a.LastLine,
        Question = a.State == AgentState.NeedsInput ? a.Question : null,
        Choices = a.State == AgentState.NeedsInput ? a.Choices : null,
        Message = a.Message,
        DoneAt = a.DoneAt,
        Runs = a.Runs,
        CreatedAt = a.CreatedAt,
        StartedAt = a.StartedAt,
        EndedAt = a.EndedAt,
        McpConnectedAt = a.McpConnectedAt,
        LogPath = a.LogPath,
    };

    private static AgentRecord ToRecord(Agent a) => new()
    {
        Id = a.Id,
        WorkspaceId = a.WorkspaceId,
        Type = a.Type,
        Name = a.Name,
        Task = a.Task,
        Mode = a.Mode == AgentMode.Batch ? "batch" : "interactive",
        State = Wire(a.State),
        TerminalId = a.TerminalId,
        ExitCode = a.ExitCode,
        Signal = a.Signal,
        Cwd = a.Cwd,
        WorktreePath = a.Worktree?.Path,
        WorktreeBranch = a.Worktree?.Branch,
        RepositoryRoot = a.RepositoryRoot,
        Message = a.Message,
        LastLine = a.LastLine,
        Runs = a.Runs,
        LogPath = a.LogPath,
        CreatedAt = a.CreatedAt.UtcDateTime,
        StartedAt = a.StartedAt?.UtcDateTime,
        EndedAt = a.EndedAt?.UtcDateTime,
        DoneAt = a.DoneAt?.UtcDateTime,
    };

    /// <summary>Agents of the previous daemon: the active ones were interrupted by its end.</summary>
    private void LoadPrevious()
    {
        var now = _time.GetUtcNow();
        int interrupted = 0;
        foreach (var r in _store.All())
        {
            var state = Enum.TryParse<AgentState>(r.State, ignoreCase: true, out var s) ? s : AgentState.Interrupted;
            var agent = new Agent
            {
                Id = r.Id,
                WorkspaceId = r.WorkspaceId,
                Type = r.Type,
                Name = r.Name,
                Task = r.Task,
                Mode = string.Equals(r.Mode, "batch", StringComparison.Ordinal) ? AgentMode.Batch : AgentMode.Interactive,
                LogPath = r.LogPath,
                CreatedAt = Utc(r.CreatedAt),
                Cwd = r.Cwd,
                Worktree = r.WorktreePath is { } path ? new AgentWorktree { Path = path, Branch = r.WorktreeBranch ?? "" } : null,
                RepositoryRoot = r.RepositoryRoot,
                State = state,
                TerminalId = r.TerminalId,
                ExitCode = r.ExitCode,
                Signal = r.Signal,
                Message = r.Message,
                LastLine = r.LastLine,
                Runs = r.Runs,
                StartedAt = r.StartedAt is { } st ? Utc(st) : null,
                EndedAt = r.EndedAt is { } en ? Utc(en) : null,
                DoneAt = r.DoneAt is { } d ? Utc(d) : null,
            };

            if (IsActive(state))
            {
                // Its terminal, if it had one, is reported lost by the terminal registry and keeps its id.
                agent.State = AgentState.Interrupted;
                agent.EndedAt = now;
                interrupted++;
                agent.Message = $"The daemon stopped while it was {Wire(state)}; restart it to run the task again.";
                _events.Add(new AgentEvent { WorkspaceId = agent.WorkspaceId, AgentId = agent.Id, Kind = AgentEventKind.Interrupted, At = now, Message = $"{agent.Id} was interrupted: the daemon stopped while it was {Wire(state)}" });
            }
            else
            {
                // A finished run's terminal did not outlive the daemon.
                agent.TerminalId = null;
            }

            agent.Snapshot = ToInfo(agent);
            _store.Upsert(ToRecord(agent));
            _agents[agent.Id] = agent;
        }

        if (interrupted > 0)
        {
            _log.Warn($"{interrupted} agent(s) were interrupted when the previous daemon stopped");
        }
    }

    private IReadOnlyDictionary<string, AgentType> MergedTypes(WorkspaceInfo ws)
    {
        var (types, file) = _workspaces.WithWorkspace(ws.Id, w => (w.Config?.AgentTypes, w.ConfigPath));
        return AgentTypes.Merge(_settings.Current.AgentTypes, _settings.Path, types, file);
    }

    private AgentType ResolveType(WorkspaceInfo ws, string name)
    {
        var types = MergedTypes(ws);
        return types.TryGetValue(name ?? "", out var type)
            ? type
            : throw new OrchflowException(ErrorCodes.NotFound, $"No agent type '{name}' in workspace '{ws.Id}'.",
                $"Known types: {string.Join(", ", types.Keys.Order(StringComparer.Ordinal))}. Define others under agents.types in orchflow.toml or the workspace's .orchflow/workspace.json.");
    }

    /// <summary>The variables of the user's environment this agent gets through its workspace's agents.env_passthrough.</summary>
    private Dictionary<string, string> Passthrough(WorkspaceInfo ws, AgentType type, string program)
    {
        var names = _workspaces.WithWorkspace(ws.Id, w => w.Config?.EnvPassthrough) ?? [];
        return names.Count == 0
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : TerminalEnvironment.Passthrough(names, [type.Name, Path.GetFileName(program)], Environment.GetEnvironmentVariable);
    }

    /// <summary>An agent's own variables: the passed-through ones of the user's environment, then its type's env (which the config sets explicitly, so it wins).</summary>
    private Dictionary<string, string> AgentEnv(WorkspaceInfo ws, AgentType type, string program)
    {
        var env = Passthrough(ws, type, program);
        foreach (var (key, value) in type.Env)
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>
    /// Before a spawn: a vendor CLI with no credentials at all. A batch run cannot log in, so it is refused with what to
    /// do; an interactive one can log in in its own terminal, so the spawn goes on and its first event says what is missing.
    /// </summary>
    private string? CheckCredentials(WorkspaceInfo ws, AgentType type, AgentMode mode, string program)
    {
        if (!type.BuiltIn)
        {
            return null;
        }

        var env = _terminals.EnvironmentFor(ws, "agent-credentials", null, AgentEnv(ws, type, program));
        var configPath = _workspaces.WithWorkspace(ws.Id, w => w.ConfigPath);
        var missing = AgentCredentials.Missing(Path.GetFileName(program) == type.Name ? type.Name : "", env, configPath);
        if (missing is not null && mode == AgentMode.Batch)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, missing, "A batch run cannot ask for a login; give the CLI its credentials first, or spawn it interactively and log in in its terminal.");
        }

        return missing;
    }

    private string? SearchPath(WorkspaceInfo ws, AgentType type) =>
        _terminals.EnvironmentFor(ws, "agent-types", null, type.Env).GetValueOrDefault("PATH");

    private string ShellOrDefault()
    {
        try
        {
            return _terminals.Shell();
        }
        catch (OrchflowException)
        {
            return "/bin/sh";
        }
    }

    /// <summary>SIGSTOP or SIGCONT to every process of the agent's session and below its first process (twice, to catch a process forked meanwhile).</summary>
    private void SignalSession(Agent agent, int signal)
    {
        var pid = agent.TerminalId is { } tid ? _terminals.Get(tid).Info.Pid : null;
        if (pid is not { } sid)
        {
            throw NotAllowed(agent, signal == Signals.SIGSTOP ? "be paused" : "be resumed", "Its process has already ended.");
        }

        ProcessTree.Signal(sid, signal);
    }

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

    private void KillTerminal(string? terminalId)
    {
        if (terminalId is null)
        {
            return;
        }

        try
        {
            _terminals.Kill(terminalId);
        }
        catch (OrchflowException)
        {
            // Already removed.
        }
    }

    private static async Task ForgetFilesAsync(Agent agent, Task? logDone)
    {
        if (logDone is not null)
        {
            await logDone.ConfigureAwait(false);
        }

        if (agent.Worktree is { } w)
        {
            await Worktrees.RemoveAsync(agent.RepositoryRoot, w.Path).ConfigureAwait(false);
        }

        try
        {
            AgentLog.Delete(agent.LogPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void Track(Task task)
    {
        _pendingIo[task] = true;
        _ = task.ContinueWith(t => _pendingIo.TryRemove(t, out _), TaskScheduler.Default);
    }

    private void ThrowIfStopping()
    {
        if (_disposed)
        {
            throw ShuttingDown();
        }
    }

    private static OrchflowException ShuttingDown() => new(ErrorCodes.ShuttingDown, "The daemon is stopping; no agent can be spawned now.");

    private static OrchflowException NotAllowed(Agent agent, string what, string? hint) =>
        new(ErrorCodes.NotAllowed, $"Agent '{agent.Id}' is {(agent.Stopping ? "being stopped" : Wire(agent.State))} and cannot {what}.", hint);

    private static int ParseNumber(string id, string ns) =>
        id.StartsWith(ns + "-a", StringComparison.Ordinal) && int.TryParse(id.AsSpan(ns.Length + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static string Wire(AgentState s) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(s.ToString());

    private static string Short(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 80 ? line : line[..79] + "…";
    }

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));

    /// <summary>
    /// The daemon is stopping: the loops end and logs are flushed, but agents keep their state, so the next daemon
    /// reports the active ones as interrupted (their processes end with their terminals).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _terminals.Changed -= OnTerminalChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_detector, _sampling).ConfigureAwait(false);
        foreach (var agent in _agents.Values)
        {
            if (agent.Run is { } run)
            {
                Track(run.Log.CompleteAsync());
            }
        }

        await Task.WhenAny(Task.WhenAll(_pendingIo.Keys), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        _outbox.Writer.TryComplete();
        await _pump.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private sealed record Sample(DateTimeOffset? At, IReadOnlyList<TerminalInfo> Terminals, IReadOnlyDictionary<string, SessionFigures> Figures);
}
