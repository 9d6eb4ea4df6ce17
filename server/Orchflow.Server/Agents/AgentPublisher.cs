using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Agents;

/// <summary>
/// How an agent's change and its workspace's events leave the agent service: called under the agents' lock, they are
/// recorded there (the published snapshot lock-free readers see, the database record, the event list) and notified
/// through one queue, in order, outside every lock.
/// </summary>
internal sealed class AgentPublisher
{
    private readonly Channel<object> _outbox = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AgentStore _store;
    private readonly AgentMapper _mapper;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly Task _pump;

    public AgentPublisher(AgentStore store, AgentEvents events, AgentMapper mapper, Log log, TimeProvider time)
    {
        _store = store;
        Events = events;
        _mapper = mapper;
        _log = log;
        _time = time;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>An agent was created, changed or removed. Raised in order, outside every lock.</summary>
    public event Action<AgentChangedNotification>? Changed;

    /// <summary>A workspace's recent activity got a line.</summary>
    public event Action<AgentEventNotification>? EventAdded;

    public AgentEvents Events { get; }

    /// <summary>The agent's state as it is now becomes its snapshot, is stored (unless <paramref name="persist"/> is false: a queue position only) and notified.</summary>
    public void Publish(Agent agent, AgentChangeKind kind = AgentChangeKind.Updated, bool persist = true)
    {
        agent.Snapshot = AgentMapper.ToInfo(agent);
        if (persist)
        {
            _store.Upsert(AgentMapper.ToRecord(agent));
        }

        _outbox.Writer.TryWrite(new AgentChangedNotification { Kind = kind, Id = agent.Id, WorkspaceId = agent.WorkspaceId, Agent = _mapper.View(agent) });
    }

    /// <summary>The agent was forgotten: its record goes and clients are told.</summary>
    public void Removed(Agent agent)
    {
        _store.Delete(agent.Id);
        _outbox.Writer.TryWrite(new AgentChangedNotification { Kind = AgentChangeKind.Removed, Id = agent.Id, WorkspaceId = agent.WorkspaceId });
    }

    public void AddEvent(Agent agent, AgentEventKind kind, string message, int? exitCode = null, string? by = null)
    {
        var e = Events.Add(new AgentEvent { WorkspaceId = agent.WorkspaceId, AgentId = agent.Id, Kind = kind, At = _time.GetUtcNow(), Message = message, ExitCode = exitCode, By = by });
        _outbox.Writer.TryWrite(new AgentEventNotification { WorkspaceId = agent.WorkspaceId, Event = e });
    }

    /// <summary>Notifies what is queued, then ends.</summary>
    public async Task CompleteAsync()
    {
        _outbox.Writer.TryComplete();
        await _pump.ConfigureAwait(false);
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
                }
            }
            catch (Exception ex)
            {
                _log.Error("Publishing an agent notification failed", ex);
            }
        }
    }
}
