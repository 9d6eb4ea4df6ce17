using System.Collections.Concurrent;
using Orchflow.Protocol;
using Orchflow.Server.Limits;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Agents;

/// <summary>
/// Every agent of every workspace by id, with the one guard for unknown ids (<see cref="Get"/>) and the one lock that
/// guards their state (<see cref="Gate"/>). It is built before the workspace registry, which shows each workspace's
/// active agents (<see cref="IActiveAgents"/>), and before the resource figures, which count them
/// (<see cref="IPublishedAgents"/>): both read published snapshots, lock-free. The agent service, its queue and its
/// detection loop change it, under <see cref="Gate"/>.
/// </summary>
/// <remarks>
/// Lock order: <see cref="Gate"/> is taken before the workspace registry's and the terminal registry's locks, never after.
/// </remarks>
public sealed class AgentTable : IActiveAgents, IPublishedAgents
{
    private readonly ConcurrentDictionary<string, Agent> _agents = new(StringComparer.Ordinal);
    private volatile bool _closed;

    /// <summary>Guards every agent's state and the queues.</summary>
    internal object Gate { get; } = new();

    internal ICollection<Agent> All => _agents.Values;

    /// <summary>
    /// The daemon is stopping (set under <see cref="Gate"/>): nothing starts any more, and a terminal's end no longer
    /// changes its agent, so the next daemon reports the active ones as interrupted.
    /// </summary>
    internal bool Closed => _closed;

    internal void Close() => _closed = true;

    /// <summary>The single guard for agent ids.</summary>
    internal Agent Get(string id) =>
        _agents.TryGetValue(id ?? "", out var a)
            ? a
            : throw OrchflowException.NotFound("agent", id ?? "", "Run `orchflow agent list` to see the ids.");

    internal Agent? Find(string id) => _agents.GetValueOrDefault(id);

    internal bool Contains(string id) => _agents.ContainsKey(id);

    internal void Add(Agent agent) => _agents[agent.Id] = agent;

    internal void Remove(string id) => _agents.TryRemove(id, out _);

    /// <summary>The agents holding a slot in a workspace, oldest first.</summary>
    public IReadOnlyList<string> ActiveAgentIds(string workspaceId) =>
        _agents.Values.Where(a => a.WorkspaceId == workspaceId && a.Snapshot is { } s && AgentService.HoldsSlot(s.State))
            .OrderBy(a => a.CreatedAt).Select(a => a.Id).ToList();

    public IReadOnlyList<AgentInfo> Published() => _agents.Values.Select(a => a.Snapshot).OfType<AgentInfo>().ToList();
}
