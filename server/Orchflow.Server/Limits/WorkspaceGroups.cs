using System.Globalization;
using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Security;
using Orchflow.Server.Terminals;

namespace Orchflow.Server.Limits;

/// <summary>
/// Each workspace's control groups as this daemon keeps them: every launch joins them with the current limits and CPU
/// weight applied (and is refused while the workspace is suspended), a killed session's leftovers are killed through
/// them, and their counters' baseline is kept (<see cref="WorkspaceLimitState"/>) for the governor's watchdog. This is
/// the part of the limits capability that the terminals use, built before them; the governor, built after the
/// terminals and agents, reads and updates the same state.
/// </summary>
public sealed class WorkspaceGroups : ILaunchLimits
{
    private readonly object _gate = new();
    private readonly Dictionary<string, WorkspaceLimitState> _states = new(StringComparer.Ordinal);
    private readonly SuspendedWorkspaces _suspended;
    private readonly IPublishedAgents _agents;
    private readonly Func<IReadOnlyCollection<string>> _focused;
    private readonly AuditLog _audit;
    private readonly GlobalSettings _settings;
    private readonly Log _log;
    private readonly TimeProvider _time;

    /// <param name="focused">The workspaces some client has switched to (the fair CPU strategy weighs them up).</param>
    public WorkspaceGroups(LimitMechanisms mechanisms, SuspendedWorkspaces suspended, IPublishedAgents agents, Func<IReadOnlyCollection<string>> focused,
        AuditLog audit, GlobalSettings settings, Log log, TimeProvider time)
    {
        Mechanisms = mechanisms;
        _suspended = suspended;
        _agents = agents;
        _focused = focused;
        _audit = audit;
        _settings = settings;
        _log = log;
        _time = time;
    }

    public LimitMechanisms Mechanisms { get; }

    public ICgroupDriver Cgroups => Mechanisms.Cgroups;

    /// <summary>Before a process of the workspace starts: its group has the current limits; returns the files it joins.</summary>
    public IReadOnlyList<string> PrepareLaunch(WorkspaceInfo ws)
    {
        if (_suspended.Contains(ws.Id))
        {
            _audit.Add(ws.Id, AuditKind.Refused, "Refused to start a process: the workspace is suspended.", "hibernation");
            throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{ws.Id}' is suspended; nothing can start in it.", $"Resume it first: `orchflow workspace resume {ws.Id}`.");
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
                state = _states[ws.Id] = new WorkspaceLimitState(_time.GetUtcNow());
            }

            if (Mechanisms.Kernel(CgroupLimits.Memory))
            {
                state.OomKills ??= Cgroups.Usage(ws.Id)?.OomKills ?? 0;
            }

            if (Mechanisms.Kernel(CgroupLimits.Processes))
            {
                state.PidsDenied ??= PidsDenied(ws.Id);
            }
        }

        Apply(ws, force: true);
        return files;
    }

    /// <summary>
    /// After a terminal's tree was ended: whatever of its session is still in the workspace's group (a fork bomb outruns
    /// signals sent one process at a time) is frozen and killed at once. Returns how many.
    /// </summary>
    public int KillLeftovers(string workspaceId, int sessionId)
    {
        if (!Mechanisms.Kernel(CgroupLimits.Kill) || Cgroups.Usage(workspaceId) is null)
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

    /// <summary>The workspace's state, made now if it has none yet.</summary>
    internal WorkspaceLimitState StateOf(string workspaceId, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!_states.TryGetValue(workspaceId, out var state))
            {
                state = _states[workspaceId] = new WorkspaceLimitState(now);
            }

            return state;
        }
    }

    /// <summary>The workspace's state, if anything of it has been launched or checked.</summary>
    internal WorkspaceLimitState? Find(string workspaceId)
    {
        lock (_gate)
        {
            return _states.GetValueOrDefault(workspaceId);
        }
    }

    /// <summary>Writes the workspace's limits and CPU weight to its group: always when forced, else when they changed and the group exists.</summary>
    internal void Apply(WorkspaceInfo ws, bool force)
    {
        if (!Cgroups.Usable)
        {
            return;
        }

        var limits = ws.Metadata.ResourceLimits;
        var shares = Weight(ws.Id, limits.CpuShares);
        var applied = (limits.MemoryLimitBytes, limits.ProcessLimit, shares);
        var state = Find(ws.Id);
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

    /// <summary>Active: switched to by a client, with agents running, or with a client attached to one of its terminals.</summary>
    internal bool IsActive(string workspaceId, IReadOnlyList<TerminalInfo>? terminals)
    {
        if (_focused().Contains(workspaceId))
        {
            return true;
        }

        if (_agents.Published().Any(a => a.WorkspaceId == workspaceId && a.State is AgentState.Starting or AgentState.Running or AgentState.NeedsInput))
        {
            return true;
        }

        return terminals?.Any(t => t.AttachedClients > 0) == true;
    }

    /// <summary>The forks the kernel refused in the workspace's group so far (pids.events' max).</summary>
    internal int PidsDenied(string workspaceId)
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

    /// <summary>A deleted workspace: its processes are already ended; its state and its groups go.</summary>
    internal void Remove(string workspaceId)
    {
        lock (_gate)
        {
            _states.Remove(workspaceId);
        }

        if (Cgroups.Usable)
        {
            if (Mechanisms.Kernel(CgroupLimits.Kill))
            {
                Cgroups.KillAll(workspaceId);
            }

            Cgroups.Remove(workspaceId);
        }
    }

    /// <summary>cpu_allocation_strategy: fair weighs each workspace's cpu_shares by its activity, equal gives every one 1024, none leaves the kernel's 1024.</summary>
    private int Weight(string workspaceId, int cpuShares) => _settings.Current.Orchestration.Resources.CpuAllocationStrategy switch
    {
        CpuAllocationStrategy.Fair => IsActive(workspaceId, null) ? cpuShares * ResourceGovernor.ActiveWeightFactor : cpuShares,
        _ => Defaults.CpuShares,
    };
}

/// <summary>What the limits keep per workspace between two checks of the watchdog.</summary>
internal sealed class WorkspaceLimitState(DateTimeOffset now)
{
    private readonly Dictionary<string, long> _ioCounts = new(StringComparer.Ordinal);

    public DateTimeOffset LastActive { get; private set; } = now;

    /// <summary>The group's OOM kills and refused forks at the last check (or before the first launch): a rise is news.</summary>
    public long? OomKills { get; set; }

    public int? PidsDenied { get; set; }

    public DateTimeOffset LastPidsNotice { get; set; } = DateTimeOffset.MinValue;

    public bool AboveSoft { get; set; }

    /// <summary>The memory limit, process limit and CPU weight last written to the group.</summary>
    public (long?, int, int)? Applied { get; set; }

    /// <summary>Each running terminal's resident memory at the last check, to find the one that grew most.</summary>
    public Dictionary<string, long> LastRss { get; set; } = new(StringComparer.Ordinal);

    public void Touch(DateTimeOffset at) => LastActive = at;

    /// <summary>
    /// Whether any of <paramref name="terminals"/> read or wrote since the last check (its count changed, or it is new),
    /// remembering the counts: a terminal producing output, such as a dev server or a build, keeps its workspace awake
    /// even with no client attached.
    /// </summary>
    public bool SawIo(IEnumerable<(string TerminalId, long IoCount)> terminals)
    {
        bool saw = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, count) in terminals)
        {
            seen.Add(id);
            if (!_ioCounts.TryGetValue(id, out var before) || before != count)
            {
                _ioCounts[id] = count;
                saw = true;
            }
        }

        foreach (var gone in _ioCounts.Keys.Where(id => !seen.Contains(id)).ToList())
        {
            _ioCounts.Remove(gone);
        }

        return saw;
    }
}
