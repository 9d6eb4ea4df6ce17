using Orchflow.Protocol;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Agents;

/// <summary>
/// Each workspace's pool: at most its max_agents agents hold a slot (starting, running, needsInput, paused); the others
/// wait first come, first served, each with its published queue position, and start in order as slots free. A config
/// file that raises max_agents frees slots too, which <see cref="MoveAll"/> catches every <see cref="RecheckInterval"/>.
/// Called under the agents' lock (<see cref="AgentTable.Gate"/>). Starting a run is <see cref="AgentRuns.Start"/>'s, given
/// to each call (true when the run started, false when it failed to, which frees the slot for the next one).
/// </summary>
internal sealed class AgentQueue(AgentTable agents, WorkspaceService workspaces, AgentPublisher publisher)
{
    /// <summary>As often as the config files are checked for edits: a raised max_agents starts the queue within about a second.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    private long _order;

    /// <summary>The next place in the queue (agents are started by it, lowest first).</summary>
    public long NextOrder() => ++_order;

    /// <summary>Starts queued agents of a workspace while it has free slots, then renumbers the queue.</summary>
    public void Schedule(string workspaceId, Func<Agent, bool> start)
    {
        if (agents.Closed)
        {
            return;
        }

        int max;
        try
        {
            max = workspaces.Show(workspaceId).Metadata.ResourceLimits.MaxAgents;
        }
        catch (OrchflowException)
        {
            return;
        }

        var mine = agents.All.Where(a => a.WorkspaceId == workspaceId).ToList();
        int holding = mine.Count(a => a.HoldsSlot);
        var queue = mine.Where(a => a.State == AgentState.Queued && !a.Stopping).OrderBy(a => a.QueueOrder).ToList();
        int next = 0;
        while (holding < max && next < queue.Count)
        {
            if (start(queue[next++]))
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
                publisher.Publish(a, persist: false);
            }

            position++;
        }
    }

    /// <summary>Schedules every workspace with a queue: its max_agents may have been raised in its config file. Takes the lock itself.</summary>
    public void MoveAll(Func<Agent, bool> start)
    {
        var waiting = agents.All.Where(a => a.State == AgentState.Queued).Select(a => a.WorkspaceId).Distinct().ToList();
        if (waiting.Count == 0)
        {
            return;
        }

        lock (agents.Gate)
        {
            foreach (var ws in waiting)
            {
                Schedule(ws, start);
            }
        }
    }
}
