using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Agents;

/// <summary>
/// An agent's runs: a run starts in a new terminal of purpose Agent with its type's command, its MCP setup, its
/// needs-input detector and its log; it ends when its terminal exits or goes, and the way it ended becomes the agent's
/// state (exit 0 succeeded, any other code or a signal failed, in the CLI's own last words; a killed terminal stopped);
/// an end frees the slot for the next queued agent. Called under the agents' lock (<see cref="AgentTable.Gate"/>).
/// </summary>
internal sealed class AgentRuns
{
    /// <summary>A run that ends this soon after its start failed to start, as far as the user is concerned.</summary>
    private static readonly TimeSpan QuickExit = TimeSpan.FromSeconds(10);

    private readonly AgentTable _agents;
    private readonly WorkspaceService _workspaces;
    private readonly TerminalService _terminals;
    private readonly WorkspaceAgentTypes _types;
    private readonly IAgentRunHooks _runHooks;
    private readonly AgentPublisher _publisher;
    private readonly AgentQueue _queue;
    private readonly Action _wake;
    private readonly Action<Task> _track;
    private readonly Log _log;
    private readonly TimeProvider _time;

    /// <param name="wake">Asks the detection loop for a pass (a run's terminal printed or was typed into).</param>
    /// <param name="track">Keeps a log's writer until the daemon stops (the agent service waits for such work).</param>
    public AgentRuns(AgentTable agents, WorkspaceService workspaces, TerminalService terminals, WorkspaceAgentTypes types, IAgentRunHooks runHooks,
        AgentPublisher publisher, AgentQueue queue, Action wake, Action<Task> track, Log log, TimeProvider time)
    {
        _agents = agents;
        _workspaces = workspaces;
        _terminals = terminals;
        _types = types;
        _runHooks = runHooks;
        _publisher = publisher;
        _queue = queue;
        _wake = wake;
        _track = track;
        _log = log;
        _time = time;
    }

    /// <summary>Starts a run of the agent in a new terminal; a failure to start is the run's result (failed, with the reason).</summary>
    public bool Start(Agent agent)
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
            var type = _types.Resolve(ws, agent.Type);
            if (!Directory.Exists(agent.Cwd))
            {
                throw new OrchflowException(ErrorCodes.InvalidPath, $"The agent's directory {agent.Cwd} no longer exists.",
                    agent.Worktree is null ? "Check the workspace root." : $"Its worktree was deleted; remove the agent and spawn a new one (branch {agent.Worktree.Branch} is kept).");
            }

            var (argv, taskInArgv) = _types.Prepare(ws, type, agent.Mode, agent.Task, agent.Cwd);
            var setup = _runHooks.Prepare(new AgentRunContext(ws.Id, agent.Id, type, argv) { Mode = agent.Mode, Cwd = agent.Cwd });
            var run = new AgentRun(
                new NeedsInputDetector(AgentTypes.Compile(type.NeedsInputPatterns), AgentTypes.Compile(type.DonePatterns), _time),
                new AgentLog(agent.LogPath, $"\r\n[orchflow] run {agent.Runs} of {agent.Id} ({type.Name}) started {agent.StartedAt:u} in {agent.Cwd}\r\n"),
                typeTaskAtFirstPrompt: !taskInArgv,
                _wake)
            { WaitsForMcp = setup.McpClientConfigured };
            agent.Run = run;
            agent.State = AgentState.Starting;
            try
            {
                var terminal = _terminals.Create(
                    new TerminalCreateParams { WorkspaceId = ws.Id, Name = $"{agent.Name ?? type.DisplayName} · {agent.Id}", Purpose = TerminalPurpose.Agent },
                    attachTo: null,
                    new AgentLaunch(agent.Id, setup.Argv, agent.Cwd, _types.Env(ws, type, argv[0]), run) { Variables = setup.Variables, SandboxReadOnly = setup.SandboxReadOnly });
                agent.TerminalId = terminal.Id;
                run.TerminalCreatedAt = terminal.CreatedAt;
                run.Detector.AttachScreen(_terminals.Get(terminal.Id).Screen);
            }
            catch
            {
                agent.Run = null;
                _runHooks.Ended(agent.Id);
                _track(run.Log.CompleteAsync());
                throw;
            }

            var passed = _types.Passthrough(ws, type, argv[0]).Keys.Order(StringComparer.Ordinal).ToList();
            _publisher.AddEvent(agent, AgentEventKind.Started, $"{agent.Id} started" + (agent.Runs > 1 ? $" (run {agent.Runs})" : "") + (agent.Worktree is { } w ? $" in worktree {w.Branch}" : "")
                + (passed.Count > 0 ? $"; passed from the user's environment (agents.env_passthrough): {string.Join(", ", passed)}" : ""));
            _publisher.Publish(agent);
            return true;
        }
        catch (OrchflowException e)
        {
            agent.TerminalId = null;
            Finish(agent, AgentState.Failed, $"Could not start: {e.Message}" + (e.Hint is { } h ? " " + h : ""), AgentEventKind.Failed, $"{agent.Id} could not start: {e.Message}", null, schedule: false);
            return false;
        }
    }

    public void Finish(Agent agent, AgentState state, string? message, AgentEventKind kind, string line, string? by, int? exitCode = null, bool schedule = true)
    {
        EndRun(agent);
        agent.State = state;
        agent.EndedAt = _time.GetUtcNow();
        agent.NeedsInputSince = null;
        agent.Message = message ?? agent.Message;
        _publisher.AddEvent(agent, kind, line, exitCode, by);
        _publisher.Publish(agent);
        _log.Info($"Agent {agent.Id}: {line}");
        if (schedule)
        {
            _queue.Schedule(agent.WorkspaceId, Start);
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
    public Task? EndRun(Agent agent)
    {
        // The run's MCP token dies with it, before anything else can happen in its name.
        _runHooks.Ended(agent.Id);
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
            _publisher.AddEvent(agent, AgentEventKind.Done, $"{agent.Id} reports done: {AgentEvents.Short(doneLine)}");
        }

        agent.Run = null;
        var done = run.Log.CompleteAsync();
        agent.LogWriting = done;
        _track(done);
        return done;
    }

    /// <summary>An agent's terminal ended or went: its run's result (succeeded, failed with the CLI's last words, stopped).</summary>
    public void OnTerminalChanged(TerminalChangedNotification change)
    {
        if (change.Kind is TerminalChangeKind.Created or TerminalChangeKind.Updated || _agents.Closed)
        {
            return;
        }

        var agent = change.Terminal?.AgentId is { } agentId
            ? _agents.Find(agentId)
            : _agents.All.FirstOrDefault(a => a.TerminalId == change.Id);
        if (agent is null)
        {
            return;
        }

        lock (_agents.Gate)
        {
            if (agent.TerminalId != change.Id || !_agents.Contains(agent.Id))
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
                    _publisher.Publish(agent);
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
}
