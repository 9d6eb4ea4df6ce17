using System.Globalization;
using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Agents;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Security;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;
using static Orchflow.Server.EnumText;

namespace Orchflow.Server.Limits;

/// <summary>
/// Resource limits, CPU allocation and hibernation of workspaces. Limits are enforced by control groups where they are
/// writable (<see cref="Cgroups"/>: v1 memory.limit_in_bytes, pids.max, cpu.shares, or v2 memory.max, pids.max,
/// cpu.weight per workspace, total_memory_limit on the daemon's parent group), and otherwise by this class's watchdog on
/// the measured figures, once a second. The choice is per limit (<see cref="ICgroupDriver.Enforced"/>): on cgroup v2 a
/// controller can be missing while the others are there, and only the missing one falls to the watchdog. Either way the
/// workspace degrades gracefully: above <see cref="SoftLimitFraction"/> of its memory_limit its newest running agent is
/// paused, with a notice saying why; at the limit the kernel (cgroups) or the watchdog stops what pushed it over.
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
    private readonly GlobalSettings _settings;
    private readonly IsolationService _isolation;
    private readonly Log _log;
    private readonly TimeProvider _time;
    /// <summary>Read lock-free by the registry (under its own lock); changed only under <c>_gate</c>.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Hibernated> _hibernated = new(StringComparer.Ordinal);
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long? _appliedTotal = long.MinValue;

    public ResourceGovernor(WorkspaceService workspaces, GlobalSettings settings, IsolationService isolation, ICgroupDriver cgroups, Log log, TimeProvider? time = null)
    {
        _workspaces = workspaces;
        _settings = settings;
        _isolation = isolation;
        Cgroups = cgroups;
        _log = log;
        _time = time ?? TimeProvider.System;
        _workspaces.Hibernation = id => _hibernated.TryGetValue(id, out var h) ? h.Info : null;
        _log.Info($"Limits: {(cgroups.Usable ? cgroups.Description : $"watchdog ({cgroups.Description})")}");
        _loop = Task.Run(LoopAsync);
    }

    public ICgroupDriver Cgroups { get; }

    /// <summary>Supplied by the composition root once the agent and terminal capabilities exist.</summary>
    public AgentService? Agents { get; set; }

    public TerminalService? Terminals { get; set; }

    /// <summary>The workspaces some client has switched to.</summary>
    public Func<IReadOnlyCollection<string>>? Focused { get; set; }

    /// <summary>A limit acted, or a workspace was suspended or resumed.</summary>
    public event Action<WorkspaceNotice>? Notice;

    /// <summary>
    /// How the limits of a workspace are enforced on this machine, for its isolation report: per limit, the kernel through
    /// the control groups or the daemon's watchdog, and why. A group's limits hold for the processes that stay in it;
    /// where the rest of the report says they can move themselves out (<c>control_groups</c> not enforced: tier standard,
    /// no sandbox), each line that the groups enforce says so, and no longer promises that a fork bomb stays inside.
    /// </summary>
    public IReadOnlyList<IsolationFeature> Features(ResourceLimits limits, WorkspaceIsolation isolation)
    {
        var watchdog = $"the daemon's watchdog, once a second, on measured figures ({Why(CgroupLimits.Memory)})";
        bool memory = Kernel(CgroupLimits.Memory);
        bool pids = Kernel(CgroupLimits.Processes);
        bool cpu = Kernel(CgroupLimits.Cpu);
        bool kept = isolation.Features.FirstOrDefault(f => f.Name == "control_groups") is not { Enforced: false };
        var leave = isolation.EnforcedTier == Orchflow.Protocol.SecurityTier.Standard
            ? "at tier standard (no sandbox) a process can move itself out of its group, and what it starts then is not counted (see control_groups)"
            : "a process can move itself out of its group, and what it starts then is not counted (see control_groups)";
        string Stays(string line) => kept ? line : $"{line}, for the processes that stay in the workspace's group: {leave}";
        return
        [
            new()
            {
                Name = "memory_limit",
                Enforced = true,
                Detail = limits.MemoryLimitBytes is { } m
                    ? (memory ? Stays($"{ByteSize.Format(m)} by {Cgroups.Description}") : $"{ByteSize.Format(m)} by {watchdog}") + $"; above {SoftLimitFraction:P0} the newest running agent is paused, at the limit {(memory ? "the kernel kills a process of the workspace" : "the terminal that grew most is stopped")}" + (memory ? "" : "; a spike faster than a second can pass the limit before it acts")
                    : "no memory_limit set",
            },
            new()
            {
                Name = "process_limit",
                Enforced = true,
                Detail = pids
                    ? kept
                        ? $"{limits.ProcessLimit} processes by {Cgroups.Description} (pids.max): a fork bomb stays inside the workspace"
                        : Stays($"{limits.ProcessLimit} processes by {Cgroups.Description} (pids.max)")
                    : $"{limits.ProcessLimit} processes by the daemon's watchdog, once a second, on measured figures ({Why(CgroupLimits.Processes)}): the terminal with the most processes is stopped; a fork bomb can exceed it between two checks",
            },
            new()
            {
                Name = "cpu",
                Enforced = cpu,
                Detail = cpu
                    ? Stays($"cpu_shares {limits.CpuShares} by {Cgroups.Description}, weighted by cpu_allocation_strategy ({Lower(_settings.Current.Orchestration.Resources.CpuAllocationStrategy)})")
                    : $"NOT enforced: CPU weights need the cpu controller of the control groups ({Why(CgroupLimits.Cpu)})",
            },
        ];
    }

    /// <summary>Whether the kernel holds <paramref name="limit"/> through the workspace's control group.</summary>
    private bool Kernel(CgroupLimits limit) => Cgroups.Usable && Cgroups.Enforced.HasFlag(limit);

    /// <summary>Why the kernel does not hold <paramref name="limit"/>: the driver's reason, with the groups it does use.</summary>
    private string Why(CgroupLimits limit) =>
        Cgroups.Usable ? $"{Cgroups.NotEnforcedReason(limit) ?? "not enforced by the control groups"}; the workspace's processes are in {Cgroups.Version.ToString().ToLowerInvariant()} groups" : Cgroups.Description;

    /// <summary>Before a process of the workspace starts: its group has the current limits; returns the files it joins.</summary>
    public IReadOnlyList<string> PrepareLaunch(WorkspaceInfo ws)
    {
        lock (_gate)
        {
            if (_hibernated.ContainsKey(ws.Id))
            {
                _isolation.Audit.Add(ws.Id, AuditKind.Refused, "Refused to start a process: the workspace is suspended.", "hibernation");
                throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{ws.Id}' is suspended; nothing can start in it.", $"Resume it first: `orchflow workspace resume {ws.Id}`.");
            }
        }

        if (!Cgroups.Usable)
        {
            return [];
        }

        var files = Cgroups.JoinFiles(ws.Id);
        lock (_gate)
        {
            // The counters as they are before anything of this daemon runs in the group: what happens next is news.
            if (!_states.TryGetValue(ws.Id, out var state))
            {
                state = _states[ws.Id] = new State(_time.GetUtcNow());
            }

            if (Kernel(CgroupLimits.Memory))
            {
                state.OomKills ??= Cgroups.Usage(ws.Id)?.OomKills ?? 0;
            }

            if (Kernel(CgroupLimits.Processes))
            {
                state.PidsDenied ??= PidsDenied(ws.Id);
            }
        }

        ApplyLimits(ws, force: true);
        return files;
    }

    public WorkspaceSuspendResult Suspend(string reference, string by)
    {
        var ws = _workspaces.Show(reference);
        var paused = new List<string>();
        foreach (var agent in Agents?.List(ws.Id) ?? [])
        {
            if (agent.State is AgentState.Starting or AgentState.Running or AgentState.NeedsInput)
            {
                try
                {
                    Agents!.Pause(agent.Id, $"{by} (workspace suspended)");
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
            if (_hibernated.ContainsKey(ws.Id))
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

            _hibernated[ws.Id] = new Hibernated(new WorkspaceHibernation { Since = _time.GetUtcNow(), By = by, Mechanism = mechanism, Processes = processes }, paused);
        }

        var message = $"Workspace '{ws.Id}' suspended by {by}: {processes} process(es) stopped ({mechanism})" + (paused.Count > 0 ? $", agents {string.Join(", ", paused)} paused" : "") + ".";
        Record(ws.Id, NoticeKind.Suspended, NoticeLevel.Info, message, "hibernation");
        _workspaces.NotifyChanged(ws.Id);
        return new WorkspaceSuspendResult { Workspace = _workspaces.Show(ws.Id), Processes = processes, Agents = paused, Released = Released() };
    }

    public WorkspaceSuspendResult Resume(string reference, string by)
    {
        var ws = _workspaces.Show(reference);
        Hibernated h;
        int processes;
        lock (_gate)
        {
            if (!_hibernated.TryRemove(ws.Id, out h!))
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

            _states.GetValueOrDefault(ws.Id)?.Touch(_time.GetUtcNow());
        }

        var resumed = new List<string>();
        foreach (var id in h.PausedAgents)
        {
            try
            {
                Agents?.Resume(id, $"{by} (workspace resumed)");
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

    /// <summary>A client uses a terminal of the workspace (input, attach): a suspended workspace wakes up.</summary>
    public void WakeIfSuspended(string workspaceId, string by)
    {
        bool suspended;
        lock (_gate)
        {
            suspended = _hibernated.ContainsKey(workspaceId);
            _states.GetValueOrDefault(workspaceId)?.Touch(_time.GetUtcNow());
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

    /// <summary>
    /// After a terminal's tree was ended: whatever of its session is still in the workspace's group (a fork bomb outruns
    /// signals sent one process at a time) is frozen and killed at once. Returns how many.
    /// </summary>
    public int KillLeftovers(string workspaceId, int sessionId)
    {
        if (!Kernel(CgroupLimits.Kill) || Cgroups.Usage(workspaceId) is null)
        {
            return 0;
        }

        var killed = Cgroups.KillWhere(workspaceId, frozen =>
        {
            var tree = ProcessTree.SessionTree(sessionId);
            return frozen.Where(tree.Contains);
        });
        if (killed > 0)
        {
            _log.Info($"Killed {killed} leftover process(es) of session {sessionId} in workspace {workspaceId} through its control group");
        }

        return killed;
    }

    /// <summary>A deleted workspace: its processes are already ended; its groups go.</summary>
    public void RemoveWorkspace(string workspaceId)
    {
        lock (_gate)
        {
            _hibernated.TryRemove(workspaceId, out _);
            _states.Remove(workspaceId);
        }

        if (Cgroups.Usable)
        {
            if (Kernel(CgroupLimits.Kill))
            {
                Cgroups.KillAll(workspaceId);
            }

            Cgroups.Remove(workspaceId);
        }
    }

    /// <summary>What suspension releases besides processes. This daemon keeps no per-workspace cache or model in memory yet, so nothing.</summary>
    private static IReadOnlyList<string> Released() => [];

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    Tick();
                }
                catch (Exception e)
                {
                    _log.Error("The resource governor's check failed", e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Tick()
    {
        var now = _time.GetUtcNow();
        var global = _settings.Current.Orchestration.Resources;
        if (Kernel(CgroupLimits.Memory) && global.TotalMemoryLimitBytes != _appliedTotal)
        {
            Cgroups.ApplyTotal(global.TotalMemoryLimitBytes);
            _appliedTotal = global.TotalMemoryLimitBytes;
        }

        var snapshot = Agents?.Resources();
        var terminals = Terminals?.List(null) ?? [];
        IReadOnlyList<ProcessUsage>? usage = null;
        foreach (var ws in _workspaces.List())
        {
            State state;
            lock (_gate)
            {
                if (_hibernated.ContainsKey(ws.Id))
                {
                    continue;
                }

                if (!_states.TryGetValue(ws.Id, out state!))
                {
                    state = _states[ws.Id] = new State(now);
                }
            }

            var mine = terminals.Where(t => t.WorkspaceId == ws.Id && t.Status == TerminalStatus.Running).ToList();
            if (IsActive(ws.Id, mine))
            {
                state.Touch(now);
            }

            ApplyLimits(ws, force: false);
            var cg = Cgroups.Usable ? Cgroups.Usage(ws.Id) : null;
            var figures = snapshot?.Workspaces.FirstOrDefault(w => w.WorkspaceId == ws.Id);
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
                var denied = PidsDenied(ws.Id);
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

    private void CheckMemory(WorkspaceInfo ws, State state, long memory, long hard, IReadOnlyList<TerminalInfo> mine, bool kernelEnforces, ref IReadOnlyList<ProcessUsage>? usage)
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

        var newest = (Agents?.List(ws.Id) ?? []).Where(a => a.State is AgentState.Running or AgentState.NeedsInput or AgentState.Starting).MaxBy(a => a.StartedAt);
        if (newest is not null)
        {
            try
            {
                Agents!.Pause(newest.Id, "orchflow (memory soft limit)");
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

    private void ApplyLimits(WorkspaceInfo ws, bool force)
    {
        if (!Cgroups.Usable)
        {
            return;
        }

        var limits = ws.Metadata.ResourceLimits;
        var shares = Weight(ws.Id, limits.CpuShares);
        var applied = (limits.MemoryLimitBytes, limits.ProcessLimit, shares);
        State? state;
        lock (_gate)
        {
            state = _states.GetValueOrDefault(ws.Id);
        }

        if (!force && (state is null || state.Applied == applied || Cgroups.Usage(ws.Id) is null))
        {
            return;
        }

        Cgroups.Apply(ws.Id, limits.MemoryLimitBytes, limits.ProcessLimit, shares);
        if (state is not null)
        {
            state.Applied = applied;
        }
    }

    /// <summary>cpu_allocation_strategy: fair weighs each workspace's cpu_shares by its activity, equal gives every one 1024, none leaves the kernel's 1024.</summary>
    private int Weight(string workspaceId, int cpuShares) => _settings.Current.Orchestration.Resources.CpuAllocationStrategy switch
    {
        CpuAllocationStrategy.Fair => IsActive(workspaceId, null) ? cpuShares * ActiveWeightFactor : cpuShares,
        _ => Defaults.CpuShares,
    };

    /// <summary>Active: switched to by a client, with agents running, or with a client attached to one of its terminals.</summary>
    private bool IsActive(string workspaceId, IReadOnlyList<TerminalInfo>? terminals)
    {
        if (Focused?.Invoke().Contains(workspaceId) == true)
        {
            return true;
        }

        if (Agents?.List(workspaceId).Any(a => a.State is AgentState.Starting or AgentState.Running or AgentState.NeedsInput) == true)
        {
            return true;
        }

        return terminals?.Any(t => t.AttachedClients > 0) == true;
    }

    private int PidsDenied(string workspaceId)
    {
        var events = Cgroups.JoinFiles(workspaceId).Select(f => Path.Combine(Path.GetDirectoryName(f)!, "pids.events")).FirstOrDefault(File.Exists);
        if (events is null)
        {
            return 0;
        }

        foreach (var line in File.ReadAllLines(events))
        {
            if (line.StartsWith("max ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(4), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            {
                return n;
            }
        }

        return 0;
    }

    private void Stop(TerminalInfo terminal, string limit)
    {
        try
        {
            if (terminal.AgentId is { } agent && Agents is not null)
            {
                Agents.Stop(agent, $"orchflow ({limit})");
            }
            else
            {
                Terminals?.Terminate(terminal.Id);
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
        foreach (var t in Terminals?.List(workspaceId) ?? [])
        {
            if (t.Status == TerminalStatus.Running && t.Pid is { } sid)
            {
                pids.UnionWith(ProcessTree.Signal(sid, signal));
            }
        }

        return pids.Count;
    }

    private void Record(string workspaceId, NoticeKind kind, NoticeLevel level, string message, string rule, string? agentId = null, string? terminalId = null)
    {
        _isolation.Audit.Add(workspaceId, AuditKind.Limit, message, rule, agentId ?? terminalId);
        _log.Info(message);
        Notice?.Invoke(new WorkspaceNotice
        {
            WorkspaceId = workspaceId,
            Kind = kind,
            Level = level,
            Message = message,
            Rule = rule,
            AgentId = agentId,
            TerminalId = terminalId,
            At = _time.GetUtcNow(),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();

        // Frozen processes would outlive the daemon frozen: thaw them so that the terminals' ends can reach them.
        List<string> frozen;
        lock (_gate)
        {
            frozen = _hibernated.Keys.ToList();
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

    private sealed record Hibernated(WorkspaceHibernation Info, IReadOnlyList<string> PausedAgents);

    private sealed class State(DateTimeOffset now)
    {
        public DateTimeOffset LastActive { get; private set; } = now;

        public long? OomKills { get; set; }

        public int? PidsDenied { get; set; }

        public DateTimeOffset LastPidsNotice { get; set; } = DateTimeOffset.MinValue;

        public bool AboveSoft { get; set; }

        public (long?, int, int)? Applied { get; set; }

        public Dictionary<string, long> LastRss { get; set; } = new(StringComparer.Ordinal);

        public void Touch(DateTimeOffset at) => LastActive = at;
    }
}
