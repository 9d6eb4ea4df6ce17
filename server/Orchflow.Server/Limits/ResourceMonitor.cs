using Orchflow.Protocol;
using Orchflow.Server.Agents;
using Orchflow.Server.Hosting;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Limits;

/// <summary>
/// The resource figures. Every <see cref="ResourceSampler.Interval"/> each running terminal's session is measured from
/// /proc (<see cref="ResourceSampler"/>), and the last sample is kept: the governor's watchdog reads each workspace's
/// totals from it, an agent shows its terminal's figures (<see cref="Figures"/>), and clients get
/// <see cref="Changed"/> while anything runs and once after. It counts agents through <see cref="IPublishedAgents"/>,
/// so it is built before the agent service, which reads it.
/// </summary>
public sealed class ResourceMonitor : IAsyncDisposable
{
    private readonly WorkspaceService _workspaces;
    private readonly TerminalService _terminals;
    private readonly IPublishedAgents _agents;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly ResourceSampler _sampler = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private volatile Sample _last = new(null, [], new Dictionary<string, SessionFigures>());
    private bool _hadActivity;

    public ResourceMonitor(WorkspaceService workspaces, TerminalService terminals, IPublishedAgents agents, Log log, TimeProvider time)
    {
        _workspaces = workspaces;
        _terminals = terminals;
        _agents = agents;
        _log = log;
        _time = time;
        _loop = Periodic.RunAsync(ResourceSampler.Interval, time, Tick, log, "Sampling the resource figures failed", _stopping.Token);
    }

    /// <summary>A sample was taken (every <see cref="ResourceSampler.Interval"/> while anything runs). Raised from the sampling loop, outside every lock.</summary>
    public event Action<ResourceSnapshot>? Changed;

    /// <summary>The figures of the last sample for every workspace (zeros for idle ones) and every agent holding a slot.</summary>
    public ResourceSnapshot Snapshot() => Build(_last);

    /// <summary>A running terminal's figures at the last sample; null before its first one, or after it ended.</summary>
    public SessionFigures? Figures(string terminalId) => _last.Figures.GetValueOrDefault(terminalId);

    private void Tick()
    {
        var terminals = _terminals.List(null).Where(t => t.Status == TerminalStatus.Running && t.Pid is not null).ToList();
        var figures = _sampler.Sample(terminals.Select(t => (t.Id, t.Pid!.Value)).ToList());
        var sample = new Sample(_time.GetUtcNow(), terminals, figures);
        _last = sample;
        bool active = terminals.Count > 0;
        if (active || _hadActivity)
        {
            Changed?.Invoke(Build(sample));
        }

        _hadActivity = active;
    }

    private ResourceSnapshot Build(Sample sample)
    {
        var agents = _agents.Published();
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
                Agents = agents.Count(a => a.WorkspaceId == ws.Id && AgentService.HoldsSlot(a.State)),
                QueuedAgents = agents.Count(a => a.WorkspaceId == ws.Id && a.State == AgentState.Queued),
            };
        }).ToList();

        var agentFigures = agents.Where(a => AgentService.HoldsSlot(a.State))
            .OrderBy(a => a.WorkspaceId, StringComparer.Ordinal).ThenBy(a => a.CreatedAt)
            .Select(a => (Agent: a, Figures: a.TerminalId is { } tid ? sample.Figures.GetValueOrDefault(tid) : null))
            .Select(x => new AgentResources { Id = x.Agent.Id, WorkspaceId = x.Agent.WorkspaceId, CpuPercent = x.Figures?.CpuPercent, MemoryBytes = x.Figures?.MemoryBytes, Processes = x.Figures?.Processes })
            .ToList();
        return new ResourceSnapshot { SampledAt = sample.At, Workspaces = workspaces, Agents = agentFigures };
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private sealed record Sample(DateTimeOffset? At, IReadOnlyList<TerminalInfo> Terminals, IReadOnlyDictionary<string, SessionFigures> Figures);
}
