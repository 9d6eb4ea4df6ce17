using System.Collections.Concurrent;
using System.Globalization;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Limits;
using Orchflow.Server.Storage;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Agents;

/// <summary>
/// The life of every agent. An agent is an agent CLI (or a command) working on one task in its own terminal of purpose
/// Agent; this service spawns it, starts its runs, gives it input (send, answer), takes its own reports (MCP), pauses
/// and resumes its whole session, stops, restarts and removes it, keeps its log, and raises the changes and events
/// clients see. Its parts: <see cref="AgentTable"/> holds the agents and their lock, <see cref="AgentQueue"/> the
/// per-workspace pool (at most max_agents hold a slot; the rest wait in a first-come queue),
/// <see cref="AgentDetection"/> the needs-input detection loop, <see cref="AgentMapper"/> the mapping to the wire and
/// the database, <see cref="AgentPublisher"/> the ordered notifications, and <see cref="WorkspaceAgentTypes"/> the types
/// in force in each workspace. What reaches a running agent from outside its terminal (a person's input, the agent's own
/// reports through MCP) is in <c>AgentService.Input.cs</c>.
/// </summary>
/// <remarks>
/// <para>
/// Concurrency: one lock (<see cref="AgentTable.Gate"/>) guards every agent's state and the queues. It is taken before
/// the workspace registry's and the terminal registry's locks, never after: the registry reads active agents lock-free
/// (<see cref="AgentTable.ActiveAgentIds"/>), and a terminal's observer only hands data to the detector and the log.
/// Ending a process tree blocks for up to about a second, so stop, restart and remove do it outside the lock, with the
/// agent marked <see cref="Agent.Stopping"/> meanwhile. Notifications leave through one queue, in order, outside the lock.
/// </para>
/// <para>
/// States: a run's terminal exiting with code 0 makes it succeeded, any other code or a signal failed; done patterns
/// only record a "done" event and message (an interactive CLI rarely exits by itself, and a pattern is a guess while
/// an exit code is not). At start, agents the previous daemon left active (queued included: nothing starts behind the
/// user's back) are marked interrupted.
/// </para>
/// </remarks>
public sealed partial class AgentService : IAsyncDisposable
{
    /// <summary>Tasks longer than this are refused: an argument list is limited (ARG_MAX), and a prompt this long is a mistake.</summary>
    public const int MaxTaskChars = 100_000;

    /// <summary>How long a read of a log waits for the writer of a run that just ended (it normally needs milliseconds).</summary>
    public static readonly TimeSpan LogFlushTimeout = TimeSpan.FromSeconds(5);

    /// <summary>An agent's name titles its terminal tab and a column of lists: short and on one line.</summary>
    public const int MaxNameChars = 80;

    private readonly AgentTable _agents;
    private readonly WorkspaceService _workspaces;
    private readonly TerminalService _terminals;
    private readonly AgentStore _store;
    private readonly OrchflowPaths _paths;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly WorkspaceAgentTypes _types;
    private readonly AgentMapper _mapper;
    private readonly AgentPublisher _publisher;
    private readonly AgentQueue _queue;
    private readonly AgentDetection _detection;
    private readonly AgentRuns _runs;
    private readonly ConcurrentDictionary<Task, bool> _pendingIo = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _requeue;

    /// <param name="agents">The table of agents, which the workspace registry and the resource figures read too.</param>
    /// <param name="resources">The resource figures: each agent shows its terminal's.</param>
    /// <param name="runHooks">What a run needs besides its type's command (the MCP token and config).</param>
    public AgentService(AgentTable agents, WorkspaceService workspaces, TerminalService terminals, ResourceMonitor resources, IAgentRunHooks runHooks,
        GlobalSettings settings, AgentStore store, OrchflowPaths paths, Log log, TimeProvider time)
    {
        _agents = agents;
        _workspaces = workspaces;
        _terminals = terminals;
        _store = store;
        _paths = paths;
        _log = log;
        _time = time;
        _types = new WorkspaceAgentTypes(workspaces, terminals, settings);
        _mapper = new AgentMapper(resources);
        _publisher = new AgentPublisher(store, new AgentEvents(store), _mapper, log, time);
        _queue = new AgentQueue(agents, workspaces, _publisher);
        _detection = new AgentDetection(agents, terminals, _publisher, Track, log, time);
        _runs = new AgentRuns(agents, workspaces, terminals, _types, runHooks, _publisher, _queue, _detection.Wake, Track, log, time);

        LoadPrevious();
        _terminals.Changed += _runs.OnTerminalChanged;
        _requeue = Periodic.RunAsync(AgentQueue.RecheckInterval, time, () => _queue.MoveAll(_runs.Start), log, "Moving the agent queues failed", _stopping.Token);
    }

    /// <summary>An agent was created, changed or removed. Raised in order, outside every lock.</summary>
    public event Action<AgentChangedNotification>? Changed
    {
        add => _publisher.Changed += value;
        remove => _publisher.Changed -= value;
    }

    /// <summary>A workspace's recent activity got a line.</summary>
    public event Action<AgentEventNotification>? EventAdded
    {
        add => _publisher.EventAdded += value;
        remove => _publisher.EventAdded -= value;
    }

    /// <summary>Queued, starting, running, needsInput and paused: the agent is not finished.</summary>
    public static bool IsActive(AgentState s) => s is AgentState.Queued || HoldsSlot(s);

    /// <summary>Starting, running, needsInput and paused take one of the workspace's max_agents slots.</summary>
    public static bool HoldsSlot(AgentState s) => s is AgentState.Starting or AgentState.Running or AgentState.NeedsInput or AgentState.Paused;

    public IReadOnlyList<AgentInfo> List(string? workspaceRef)
    {
        string? wsId = workspaceRef is null ? null : _workspaces.Show(workspaceRef).Id;
        return _agents.All.Where(a => wsId is null || a.WorkspaceId == wsId)
            .OrderBy(a => a.WorkspaceId, StringComparer.Ordinal).ThenBy(a => a.CreatedAt).ThenBy(a => a.Id, StringComparer.Ordinal)
            .Select(_mapper.View).ToList();
    }

    public AgentInfo Show(string id) => _mapper.View(_agents.Get(id));

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
        var type = _types.Resolve(ws, p.Type);
        var mode = p.Mode ?? AgentMode.Interactive;
        var (checkedArgv, _) = _types.Prepare(ws, type, mode, p.Task, ws.RootPath);
        if (AgentTypes.Resolve(checkedArgv[0], _types.SearchPath(ws, type), ws.RootPath) is { } cli)
        {
            await AgentVersions.CheckAsync(type, cli, cancellationToken).ConfigureAwait(false);
        }

        var noCredentials = _types.CheckCredentials(ws, type, mode, checkedArgv[0]);
        int floor = _agents.All.Select(a => a.Id).Select(id => ParseNumber(id, ws.Namespace)).DefaultIfEmpty(0).Max();
        var id = $"{ws.Namespace}-a{_store.NextNumber(ws.Namespace, floor).ToString(CultureInfo.InvariantCulture)}";
        AgentWorktreeInfo? worktree = null;
        if (p.Worktree)
        {
            worktree = await Worktrees.CreateAsync(ws.RootPath, Worktrees.PathFor(_paths.DataDirectory, ws.Id, id), Worktrees.BranchFor(id), cancellationToken).ConfigureAwait(false);
        }

        lock (_agents.Gate)
        {
            if (_agents.Closed)
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
                QueueOrder = _queue.NextOrder(),
            };
            _agents.Add(agent);
            _publisher.AddEvent(agent, AgentEventKind.Spawned, $"{id} ({type.Name}{(mode == AgentMode.Batch ? ", batch" : "")}) spawned" + (worktree is null ? "" : $" on branch {worktree.Branch}") + $": {AgentEvents.Short(p.Task)}"
                + (noCredentials is null ? "" : $". Log in in its terminal: {noCredentials}"), by: by);
            _publisher.Publish(agent, AgentChangeKind.Created);
            _log.Info($"Agent {id} ({type.Name}) spawned in {ws.Id}" + (worktree is null ? "" : $", worktree {worktree.Path}"));
            _queue.Schedule(ws.Id, _runs.Start);
            if (agent.State == AgentState.Queued)
            {
                _publisher.AddEvent(agent, AgentEventKind.Queued, $"{id} waits for a slot: queue position {agent.QueuePosition}, max_agents {ws.Metadata.ResourceLimits.MaxAgents}");
            }

            return _mapper.View(agent);
        }
    }

    /// <summary>Stops (SIGSTOP) every process of the agent's terminal session.</summary>
    public AgentInfo Pause(string id, string? by)
    {
        lock (_agents.Gate)
        {
            var agent = _agents.Get(id);
            if (agent.State is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput) || agent.Stopping)
            {
                throw NotAllowed(agent, "be paused", null);
            }

            SignalSession(agent, Signals.SIGSTOP);
            agent.StateBeforePause = agent.State;
            agent.State = AgentState.Paused;
            _publisher.AddEvent(agent, AgentEventKind.Paused, $"{id} paused by {by ?? "a client"}", by: by);
            _publisher.Publish(agent);
            return _mapper.View(agent);
        }
    }

    /// <summary>Continues (SIGCONT) every process of the agent's terminal session.</summary>
    public AgentInfo Resume(string id, string? by)
    {
        lock (_agents.Gate)
        {
            var agent = _agents.Get(id);
            if (agent.State != AgentState.Paused || agent.Stopping)
            {
                throw NotAllowed(agent, "be resumed", null);
            }

            SignalSession(agent, Signals.SIGCONT);
            agent.State = agent.StateBeforePause;
            _publisher.AddEvent(agent, AgentEventKind.Resumed, $"{id} resumed by {by ?? "a client"}", by: by);
            _publisher.Publish(agent);
            return _mapper.View(agent);
        }
    }

    /// <summary>Ends the agent's whole process tree (its terminal is killed and removed); the agent stays, stopped.</summary>
    public AgentInfo Stop(string id, string? by)
    {
        string? terminalId;
        Agent agent;
        lock (_agents.Gate)
        {
            agent = _agents.Get(id);
            if (agent.State == AgentState.Queued && !agent.Stopping)
            {
                agent.QueuePosition = null;
                _runs.Finish(agent, AgentState.Stopped, $"Stopped by {by ?? "a client"} while queued.", AgentEventKind.Stopped, $"{id} stopped by {by ?? "a client"} while queued", by);
                return _mapper.View(agent);
            }

            if (!agent.HoldsSlot || agent.Stopping)
            {
                throw NotAllowed(agent, "be stopped", null);
            }

            terminalId = MarkStopping(agent);
        }

        return KillRunThen(agent, terminalId, () =>
        {
            _runs.Finish(agent, AgentState.Stopped, $"Stopped by {by ?? "a client"}.", AgentEventKind.Stopped, $"{id} stopped by {by ?? "a client"}", by);
            return _mapper.View(agent);
        });
    }

    /// <summary>Runs the same type and task again: same id, a new terminal, starting (or queued when the pool is full).</summary>
    public AgentInfo Restart(string id, string? by)
    {
        string? terminalId;
        Agent agent;
        bool heldSlot;
        lock (_agents.Gate)
        {
            agent = _agents.Get(id);
            if (agent.State == AgentState.Queued || agent.Stopping)
            {
                throw NotAllowed(agent, "be restarted", agent.State == AgentState.Queued ? "It starts by itself when a slot frees." : null);
            }

            heldSlot = agent.HoldsSlot;
            terminalId = MarkStopping(agent);
        }

        // The previous run's terminal goes, whether it still runs, has exited, or was lost with the previous daemon.
        return KillRunThen(agent, terminalId, () =>
        {
            _runs.EndRun(agent);
            _publisher.AddEvent(agent, AgentEventKind.Restarted, $"{id} restarted by {by ?? "a client"} (run {agent.Runs + 1})", by: by);
            if (heldSlot && !_agents.Closed)
            {
                // It gives its slot straight to its own next run; if that cannot start, the slot goes to the queue.
                if (!_runs.Start(agent))
                {
                    _queue.Schedule(agent.WorkspaceId, _runs.Start);
                }
            }
            else
            {
                agent.State = AgentState.Queued;
                agent.QueueOrder = _queue.NextOrder();
                agent.EndedAt = null;
                _publisher.Publish(agent);
                _queue.Schedule(agent.WorkspaceId, _runs.Start);
            }

            return _mapper.View(agent);
        });
    }

    /// <summary>Stops the agent if it is active, removes its worktree (its branch stays) and its log, and forgets it.</summary>
    public async Task<string> RemoveAsync(string id, string? by)
    {
        string? terminalId;
        Agent agent;
        lock (_agents.Gate)
        {
            agent = _agents.Get(id);
            if (agent.Stopping)
            {
                throw NotAllowed(agent, "be removed", "It is being stopped or restarted; try again in a moment.");
            }

            terminalId = MarkStopping(agent);
        }

        var logDone = KillRunThen(agent, terminalId, () =>
        {
            var done = _runs.EndRun(agent);
            _agents.Remove(id);
            _publisher.AddEvent(agent, AgentEventKind.Removed, $"{id} removed by {by ?? "a client"}", by: by);
            _publisher.Removed(agent);
            _queue.Schedule(agent.WorkspaceId, _runs.Start);
            return done;
        });

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
        lock (_agents.Gate)
        {
            agent = _agents.Get(id);
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
        return _publisher.Events.List(wsId, limit);
    }

    /// <summary>Every type in force for a workspace, with whether its program is found on that workspace's PATH.</summary>
    public IReadOnlyList<AgentTypeInfo> Types(string? workspaceRef) => _types.List(_workspaces.Show(workspaceRef ?? WorkspaceService.DefaultId));

    /// <summary>A workspace was deleted: its agents are stopped and forgotten, with their worktrees, logs and events.</summary>
    public void RemoveWorkspace(string workspaceId)
    {
        foreach (var agent in _agents.All.Where(a => a.WorkspaceId == workspaceId).ToList())
        {
            string? terminalId;
            lock (_agents.Gate)
            {
                terminalId = MarkStopping(agent);
            }

            var logDone = KillRunThen(agent, terminalId, () =>
            {
                var done = _runs.EndRun(agent);
                _agents.Remove(agent.Id);
                _publisher.Removed(agent);
                return done;
            });

            Track(ForgetFilesAsync(agent, logDone));
        }

        _publisher.Events.RemoveWorkspace(workspaceId);
    }

    /// <summary>Agents of the previous daemon: the active ones were interrupted by its end.</summary>
    private void LoadPrevious()
    {
        var now = _time.GetUtcNow();
        int interrupted = 0;
        foreach (var r in _store.All())
        {
            var agent = AgentMapper.FromRecord(r);
            var state = agent.State;
            if (IsActive(state))
            {
                // Its terminal, if it had one, is reported lost by the terminal registry and keeps its id.
                agent.State = AgentState.Interrupted;
                agent.EndedAt = now;
                interrupted++;
                agent.Message = $"The daemon stopped while it was {AgentMapper.Name(state)}; restart it to run the task again.";
                _publisher.Events.Add(new AgentEvent { WorkspaceId = agent.WorkspaceId, AgentId = agent.Id, Kind = AgentEventKind.Interrupted, At = now, Message = $"{agent.Id} was interrupted: the daemon stopped while it was {AgentMapper.Name(state)}" });
            }
            else
            {
                // A finished run's terminal did not outlive the daemon.
                agent.TerminalId = null;
            }

            agent.Snapshot = AgentMapper.ToInfo(agent);
            _store.Upsert(AgentMapper.ToRecord(agent));
            _agents.Add(agent);
        }

        if (interrupted > 0)
        {
            _log.Warn($"{interrupted} agent(s) were interrupted when the previous daemon stopped");
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

    /// <summary>
    /// Marks the agent Stopping, so that no other action starts on it while its terminal is killed outside the lock,
    /// and returns that terminal. Call with the lock held, after the action's own checks.
    /// </summary>
    private static string? MarkStopping(Agent agent)
    {
        agent.Stopping = true;
        return agent.TerminalId;
    }

    /// <summary>
    /// The second half of stopping, restarting and removing an agent marked by <see cref="MarkStopping"/>: kills its
    /// terminal outside the lock (the kill waits for the process tree to go), then, under the lock again, clears the
    /// mark and the terminal and finishes the action with <paramref name="then"/>.
    /// </summary>
    private T KillRunThen<T>(Agent agent, string? terminalId, Func<T> then)
    {
        KillTerminal(terminalId);
        lock (_agents.Gate)
        {
            agent.Stopping = false;
            agent.TerminalId = null;
            return then();
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
        if (_agents.Closed)
        {
            throw ShuttingDown();
        }
    }

    private static OrchflowException ShuttingDown() => new(ErrorCodes.ShuttingDown, "The daemon is stopping; no agent can be spawned now.");

    private static OrchflowException NotAllowed(Agent agent, string what, string? hint) =>
        new(ErrorCodes.NotAllowed, $"Agent '{agent.Id}' is {(agent.Stopping ? "being stopped" : AgentMapper.Name(agent.State))} and cannot {what}.", hint);

    private static int ParseNumber(string id, string ns) =>
        id.StartsWith(ns + "-a", StringComparison.Ordinal) && int.TryParse(id.AsSpan(ns.Length + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>
    /// The daemon is stopping: the loops end and logs are flushed, but agents keep their state, so the next daemon
    /// reports the active ones as interrupted (their processes end with their terminals).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        lock (_agents.Gate)
        {
            if (_agents.Closed)
            {
                return;
            }

            _agents.Close();
        }

        _terminals.Changed -= _runs.OnTerminalChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _detection.DisposeAsync().ConfigureAwait(false);
        await _requeue.ConfigureAwait(false);
        foreach (var agent in _agents.All)
        {
            if (agent.Run is { } run)
            {
                Track(run.Log.CompleteAsync());
            }
        }

        await Task.WhenAny(Task.WhenAll(_pendingIo.Keys), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        await _publisher.CompleteAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
