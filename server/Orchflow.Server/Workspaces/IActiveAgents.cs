namespace Orchflow.Server.Workspaces;

/// <summary>
/// The ids of a workspace's active agents, which the registry shows in <c>WorkspaceInfo.metadata.activeAgents</c>.
/// Supplied by the agents capability's table, built before the registry. Called under the registry's lock, so an
/// implementation reads lock-free and never calls back.
/// </summary>
public interface IActiveAgents
{
    IReadOnlyList<string> ActiveAgentIds(string workspaceId);
}
