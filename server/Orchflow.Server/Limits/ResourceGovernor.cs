using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Agents;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Security;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Limits;

/// <summary>
/// Resource limits, CPU allocation and hibernation of workspaces. Limits are enforced by control groups where they are
/// writable (<see cref="Cgroups"/>: v1 memory.limit_in_bytes, pids.max, cpu.shares, or v2 memory.max, pids.max,
/// cpu.weight per workspace, total_memory_limit on the daemon's parent group), and otherwise by this class's watchdog on
/// the measured figures, once a second. The choice is per limit (<see cref="ICgroupDriver.Enforced"/>): on cgroup v2 a
/// controller can be missing while the others are there, and only the missing one falls to the watchdog. Either way the
/// workspace degrades gracefully: above <see cref="SoftLimitFraction"/> of its memory_limit its newest running agent is
/// paused, with a notice saying why; at the limit the kernel (cgroups) or the watchdog stops what pushed it over.
/// Its parts: <see cref="LimitMechanisms"/> says which mechanism holds each limit, <see cref="WorkspaceGroups"/> keeps
/// each workspace's groups and what the watchdog remembers of it, <see cref="ResourceMonitor"/> measures, and
/// <see cref="SuspendedWorkspaces"/> records the suspended workspaces.
/// </summary>
public sealed class ResourceGovernor : IAsyncDisposable
{
    /// <summary>Once a second, as the resource figures: fast enough for a person, cheap enough to be unnoticeable.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>80 %: enough headroom that pausing an agent usually keeps the workspace below its hard limit.</summary>
    public const double SoftLimitFraction = 0.8;

    /// <summary>Refused forks are reported at most this often: a fork bomb keeps hitting the limit many times a second.</summary>
    public static readonly TimeSpan PidsNoticeInterval = TimeSpan.FromSeconds(30);

    /// <summary>The fair strategy's weight for an active workspace (switched to, or with agents running) against an idle one.</summary>
    public const int ActiveWeightFactor = 2;

    private readonly object _gate = new();
    private readonly WorkspaceService _workspaces;
    private readonly TerminalService _terminals;
    private readonly AgentService _agents;
    private readonly ResourceMonitor _resources;
    private readonly WorkspaceGroups _groups;
    private readonly SuspendedWorkspaces _suspended;
    private readonly AuditLog _audit;
    private readonly GlobalSettings _settings;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long? _appliedTotal = long.MinValue;

    /// <param name="resources">The measured figures the watchdog holds the limits to where the kernel does not.</param>
    /// <param name="groups">Each workspace's control groups and the state kept for it between checks.</param>
    public ResourceGovernor(WorkspaceService workspaces, TerminalService terminals, AgentService agents, ResourceMonitor resources, WorkspaceGroups groups,
        SuspendedWorkspaces suspended, AuditLog audit, GlobalSettings settings, Log log, TimeProvider time)
    {
        _workspaces = workspaces;
        _terminals = terminals;
        _agents = agents;
        _resources = resources;
        _groups = groups;
        _suspended = suspended;
        _audit = audit;
        _settings = settings;
        _log = log;
        _time = time;
        _log.Info($"Limits: {(Cgroups.Usable ? Cgroups.Description : $"watchdog ({Cgroups.Description})")}");
        SweepLeftovers();
        _terminals.Used += WakeIfSuspended;
        _loop = Periodic.RunAsync(Interval, time, Tick, log, "The resource governor's check failed", _stopping.Token);
    }

    public ICgroupDriver Cgroups => _groups.Cgroups;

    /// <summary>What the start found left behind by a daemon that did not stop cleanly, as notices (also in the audit log).</summary>
    public IReadOnlyList<WorkspaceNotice> StartNotices => _startNotices;

    private readonly List<WorkspaceNotice> _startNotices = [];

    /// <summary>
    /// At start, before anything is launched: whatever a daemon of this home that did not stop cleanly (kill -9, a
    /// crash) left in its workspaces' control groups is held by no terminal of this daemon, so it is thawed and killed
    /// (a frozen process dies of SIGKILL only once thawed; <see cref="ICgroupDriver.KillAll"/> does both), and the
    /// groups are removed; each workspace so cleaned is a notice.
    /// </summary>
    private void SweepLeftovers()
    {
        foreach (var id in Cgroups.Existing())
        {
            try
            {
                bool frozen = Cgroups.IsFrozen(id);
                int killed = (Cgroups.Usage(id)?.Processes ?? 0) > 0 ? Cgroups.KillAll(id) : 0;
                Cgroups.Remove(id);
                if (killed > 0 || frozen)
                {
                    _startNotices.Add(Record(id, NoticeKind.Recovered, NoticeLevel.Warning,
                        $"The previous daemon did not stop cleanly: {killed} process(es) it left in workspace '{id}''s control group{(frozen ? ", frozen by a suspension," : "")} were killed, since no terminal holds them any more, and the group was removed.",
                        "daemon"));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                _log.Warn($"Could not clean up what the previous daemon left in workspace '{id}''s control group: {e.Message}");
            }
        }
    }

    /// <summary>A limit acted, or a workspace was suspended or resumed.</summary>
    public event Action<WorkspaceNotice>? Notice;

    /// <summary>Whether the kernel holds <paramref name="limit"/> through the workspace's control group.</summary>
    private bool Kernel(CgroupLimits limit) => _groups.Mechanisms.Kernel(limit);

    public WorkspaceSuspendResult Suspend(string reference, string by)
    {
        var ws = _workspaces.Show(reference);
        var paused = new List<string>();
        foreach (var agent in _agents.List(ws.Id))
        {
            if (agent.State is AgentState.Starting or AgentState.Running or AgentState.NeedsInput)
            {
                try
                {
                    _agents.Pause(agent.Id, $"{by} (workspace suspended)");
                    paused.Add(agent.Id);
                }
                catch (OrchflowException)
                {
                    // It ended meanwhile.
                }
            }
        }

        int processes;
        string mechanism;
        lock (_gate)
        {
            if (_suspended.Contains(ws.Id))
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{ws.Id}' is already suspended.", $"Resume it with `orchflow workspace resume {ws.Id}`.");
            }

            if (Kernel(CgroupLimits.Freeze) && Cgroups.Usage(ws.Id) is not null)
            {
                Cgroups.Freeze(ws.Id, true);
                processes = Cgroups.Usage(ws.Id)?.Processes ?? 0;
                mechanism = "cgroup freezer";
            }
            else
            {
                processes = SignalWorkspace(ws.Id, Signals.SIGSTOP);
                mechanism = "SIGSTOP";
            }

            _suspended.Add(ws.Id, new Suspension(new WorkspaceHibernation { Since = _time.GetUtcNow(), By = by, Mechanism = mechanism, Processes = processes }, paused));
        }

        var message = $"Workspace '{ws.Id}' suspended by {by}: {processes} process(es) stopped ({mechanism})" + (paused.Count > 0 ? $", agents {string.Join(", ", paused)} paused" : "") + ".";
        Record(ws.Id, NoticeKind.Suspended, NoticeLevel.Info, message, "hibernation");
        _workspaces.NotifyChanged(ws.Id);
        return new WorkspaceSuspendResult { Workspace = _workspaces.Show(ws.Id), Processes = processes, Agents = paused, Released = Released() };
    }

    public WorkspaceSuspendResult Resume(string reference, string by)
    {
        var ws = _workspaces.Show(reference);
        Suspension h;
        int processes;
        lock (_gate)
        {
            if (!_suspended.TryRemove(ws.Id, out h))
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{ws.Id}' is not suspended.", null);
            }

            if (h.Info.Mechanism == "cgroup freezer")
            {
                processes = Cgroups.Usage(ws.Id)?.Processes ?? 0;
                Cgroups.Freeze(ws.Id, false);
            }
            else
            {
                processes = SignalWorkspace(ws.Id, Signals.SIGCONT);
            }

            _groups.Find(ws.Id)?.Touch(_time.GetUtcNow());
        }

        var resumed = new List<string>();
        foreach (var id in h.PausedAgents)
        {
            try
            {
                _agents.Resume(id, $"{by} (workspace resumed)");
                resumed.Add(id);
            }
            catch (OrchflowException)
            {
                // Stopped or removed while suspended.
            }
        }

        Record(ws.Id, NoticeKind.Resumed, NoticeLevel.Info, $"Workspace '{ws.Id}' resumed by {by}: {processes} process(es) continued" + (resumed.Count > 0 ? $", agents {string.Join(", ", resumed)} resumed" : "") + ".", "hibernation");
        _workspaces.NotifyChanged(ws.Id);
        return new WorkspaceSuspendResult { Workspace = _workspaces.Show(ws.Id), Processes = processes, Agents = resumed, Released = [] };
    }

    /// <summary>A client uses a terminal of the workspace (input, attach: <see cref="TerminalService.Used"/>): a suspended workspace wakes up.</summary>
    private void WakeIfSuspended(string workspaceId, string by)
    {
        bool suspended;
        lock (_gate)
        {
            suspended = _suspended.Contains(workspaceId);
            _groups.Find(workspaceId)?.Touch(_time.GetUtcNow());
        }

        if (suspended)
        {
            try
            {
                Resume(workspaceId, by);
            }
            catch (OrchflowException)
            {
                // Someone else resumed it meanwhile.
            }
        }
    }

    /// <summary>A deleted workspace: its processes are already ended; its groups go.</summary>
    public void RemoveWorkspace(string workspaceId)
    {
        lock (_gate)
        {
            _suspended.TryRemove(workspaceId, out _);
        }

        _groups.Remove(workspaceId);
    }

    /// <summary>What suspension releases besides processes. This daemon keeps no per-workspace cache or model in memory yet, so nothing.</summary>
    private static IReadOnlyList<string> Released() => [];

    private void Tick()
    {
        var now = _time.GetUtcNow();
        var global = _settings.Current.Orchestration.Resources;
        if (Kernel(CgroupLimits.Memory) && global.TotalMemoryLimitBytes != _appliedTotal)
        {
            Cgroups.ApplyTotal(global.TotalMemoryLimitBytes);
            _appliedTotal = global.TotalMemoryLimitBytes;
        }

        var snapshot = _resources.Snapshot();
        var terminals = _terminals.List(null);
        IReadOnlyList<ProcessUsage>? usage = null;
        foreach (var ws in _workspaces.List())
        {
            if (_suspended.Contains(ws.Id))
            {
                continue;
            }

            var state = _groups.StateOf(ws.Id, now);

            var mine = terminals.Where(t => t.WorkspaceId == ws.Id && t.Status == TerminalStatus.Running).ToList();
            // Idle means: no client watches it, no agent runs or waits, and no terminal read or wrote since the last tick.
            bool io = state.SawIo(mine.Select(t => (t.Id, _terminals.IoCount(t.Id))));
            if (io || _groups.IsActive(ws.Id, mine))
            {
                state.Touch(now);
            }

            _groups.Apply(ws, force: false);
            var cg = Cgroups.Usable ? Cgroups.Usage(ws.Id) : null;
            var figures = snapshot.Workspaces.FirstOrDefault(w => w.WorkspaceId == ws.Id);
            long memory = cg?.MemoryBytes ?? figures?.MemoryBytes ?? 0;
            int processes = cg?.Processes ?? figures?.Processes ?? 0;
            var limits = ws.Metadata.ResourceLimits;

            if (cg?.OomKills is { } oomKills)
            {
                if (state.OomKills is { } before && oomKills > before)
                {
                    Record(ws.Id, NoticeKind.OutOfMemory, NoticeLevel.Error, $"The kernel killed {oomKills - before} process(es) of workspace '{ws.Id}': it reached its memory_limit of {ByteSize.Format(limits.MemoryLimitBytes ?? 0)}.", "resources.memory_limit");
                }

                state.OomKills = oomKills;
            }

            if (cg is not null && Kernel(CgroupLimits.Processes))
            {
                var denied = _groups.PidsDenied(ws.Id);
                state.PidsDenied ??= denied;
                if (denied > state.PidsDenied && now - state.LastPidsNotice >= PidsNoticeInterval)
                {
                    Record(ws.Id, NoticeKind.ForkRefused, NoticeLevel.Warning, $"Workspace '{ws.Id}' reached its process_limit of {limits.ProcessLimit}: {denied - state.PidsDenied} fork(s) refused.", "resources.process_limit");
                    state.PidsDenied = denied;
                    state.LastPidsNotice = now;
                }
            }
            else if (processes > limits.ProcessLimit && mine.Count > 0)
            {
                usage ??= ProcessTree.Usage();
                var worst = mine.MaxBy(t => usage.Count(u => u.Session == t.Pid && !u.HasEnded))!;
                Record(ws.Id, NoticeKind.Stopped, NoticeLevel.Error, $"Workspace '{ws.Id}' ran {processes} processes, over its process_limit of {limits.ProcessLimit}: terminal {worst.Id} ({worst.Name}), which had the most, was stopped.", "resources.process_limit", worst.AgentId, worst.Id);
                Stop(worst, "process_limit");
            }

            if (limits.MemoryLimitBytes is { } hard)
            {
                CheckMemory(ws, state, memory, hard, mine, cg is not null && Kernel(CgroupLimits.Memory), ref usage);
            }

            if (_settings.Current.Hibernation.IdleAfter is { } idleAfter && mine.Count > 0 && now - state.LastActive >= idleAfter)
            {
                try
                {
                    Suspend(ws.Id, "idle");
                }
                catch (OrchflowException e)
                {
                    _log.Warn($"Could not hibernate idle workspace {ws.Id}: {e.Message}");
                }
            }
        }
    }

    private void CheckMemory(WorkspaceInfo ws, WorkspaceLimitState state, long memory, long hard, IReadOnlyList<TerminalInfo> mine, bool kernelEnforces, ref IReadOnlyList<ProcessUsage>? usage)
    {
        long soft = (long)(hard * SoftLimitFraction);
        if (!kernelEnforces && memory >= hard && mine.Count > 0)
        {
            // The terminal whose memory grew most since the last check pushed the workspace over.
            usage ??= ProcessTree.Usage();
            var all = usage;
            var now = mine.ToDictionary(t => t.Id, t => all.Where(u => u.Session == t.Pid).Sum(u => u.ResidentBytes), StringComparer.Ordinal);
            var culprit = mine.MaxBy(t => now[t.Id] - state.LastRss.GetValueOrDefault(t.Id))!;
            Record(ws.Id, NoticeKind.Stopped, NoticeLevel.Error, $"Workspace '{ws.Id}' used {ByteSize.Format(memory)}, at its memory_limit of {ByteSize.Format(hard)}: {(culprit.AgentId is { } a ? $"agent {a}" : $"terminal {culprit.Id} ({culprit.Name})")}, which grew most, was stopped.", "resources.memory_limit", culprit.AgentId, culprit.Id);
            Stop(culprit, "memory_limit");
            state.LastRss = now;
            return;
        }

        if (!kernelEnforces && mine.Count > 0)
        {
            usage ??= ProcessTree.Usage();
            var u = usage;
            state.LastRss = mine.ToDictionary(t => t.Id, t => u.Where(p => p.Session == t.Pid).Sum(p => p.ResidentBytes), StringComparer.Ordinal);
        }

        if (memory < soft)
        {
            state.AboveSoft = false;
            return;
        }

        var newest = _agents.List(ws.Id).Where(a => a.State is AgentState.Running or AgentState.NeedsInput or AgentState.Starting).MaxBy(a => a.StartedAt);
        if (newest is not null)
        {
            try
            {
                _agents.Pause(newest.Id, "orchflow (memory soft limit)");
                Record(ws.Id, NoticeKind.AgentPaused, NoticeLevel.Warning, $"Workspace '{ws.Id}' uses {ByteSize.Format(memory)}, above {SoftLimitFraction:P0} of its memory_limit ({ByteSize.Format(hard)}): its newest agent {newest.Id} was paused. Resume it with `orchflow agent resume {newest.Id}` once memory is freed.", "resources.memory_limit", newest.Id, newest.TerminalId);
            }
            catch (OrchflowException)
            {
            }
        }
        else if (!state.AboveSoft)
        {
            Record(ws.Id, NoticeKind.SoftLimit, NoticeLevel.Warning, $"Workspace '{ws.Id}' uses {ByteSize.Format(memory)}, above {SoftLimitFraction:P0} of its memory_limit ({ByteSize.Format(hard)}); no running agent to pause.", "resources.memory_limit");
        }

        state.AboveSoft = true;
    }

    private void Stop(TerminalInfo terminal, string limit)
    {
        try
        {
            if (terminal.AgentId is { } agent)
            {
                _agents.Stop(agent, $"orchflow ({limit})");
            }
            else
            {
                _terminals.Terminate(terminal.Id);
            }
        }
        catch (OrchflowException)
        {
            // It ended meanwhile.
        }
    }

    /// <summary>Stops or continues every process of the workspace's running terminals (<see cref="ProcessTree.Signal"/>). Returns how many.</summary>
    private int SignalWorkspace(string workspaceId, int signal)
    {
        var pids = new HashSet<int>();
        foreach (var t in _terminals.List(workspaceId))
        {
            if (t.Status == TerminalStatus.Running && t.Pid is { } sid)
            {
                pids.UnionWith(ProcessTree.Signal(sid, signal));
            }
        }

        return pids.Count;
    }

    private WorkspaceNotice Record(string workspaceId, NoticeKind kind, NoticeLevel level, string message, string rule, string? agentId = null, string? terminalId = null)
    {
        _audit.Add(workspaceId, AuditKind.Limit, message, rule, agentId ?? terminalId);
        _log.Info(message);
        var notice = new WorkspaceNotice
        {
            WorkspaceId = workspaceId,
            Kind = kind,
            Level = level,
            Message = message,
            Rule = rule,
            AgentId = agentId,
            TerminalId = terminalId,
            At = _time.GetUtcNow(),
        };
        Notice?.Invoke(notice);
        return notice;
    }

    public async ValueTask DisposeAsync()
    {
        _terminals.Used -= WakeIfSuspended;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();

        // Frozen processes would outlive the daemon frozen: thaw them so that the terminals' ends can reach them.
        List<string> frozen;
        lock (_gate)
        {
            frozen = _suspended.Ids().ToList();
        }

        foreach (var id in frozen)
        {
            try
            {
                Resume(id, "the daemon stopping");
            }
            catch (Exception e) when (e is OrchflowException or IOException)
            {
                _log.Warn($"Could not resume {id} before stopping: {e.Message}");
            }
        }
    }
}
