using System.Collections.Concurrent;
using Orchflow.Protocol;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Limits;

/// <summary>
/// The workspaces that are suspended now, with how and which agents it paused. The governor suspends and resumes them;
/// a launch in one is refused (<see cref="WorkspaceGroups.PrepareLaunch"/>); the workspace registry shows each one's
/// hibernation, reading it lock-free under its own lock (<see cref="IWorkspaceHibernation"/>), which is why this is
/// built before the registry rather than kept inside the governor.
/// </summary>
public sealed class SuspendedWorkspaces : IWorkspaceHibernation
{
    private readonly ConcurrentDictionary<string, Suspension> _byId = new(StringComparer.Ordinal);

    public WorkspaceHibernation? Of(string workspaceId) => _byId.TryGetValue(workspaceId, out var s) ? s.Info : null;

    public bool Contains(string workspaceId) => _byId.ContainsKey(workspaceId);

    /// <summary>The suspended workspaces' ids, in no particular order.</summary>
    public IReadOnlyList<string> Ids() => _byId.Keys.ToList();

    internal void Add(string workspaceId, Suspension suspension) => _byId[workspaceId] = suspension;

    internal bool TryRemove(string workspaceId, out Suspension suspension) => _byId.TryRemove(workspaceId, out suspension!);
}

/// <summary>One suspension: what clients see of it, and the agents it paused (resumed with the workspace).</summary>
internal sealed record Suspension(WorkspaceHibernation Info, IReadOnlyList<string> PausedAgents);
