using Orchflow.Protocol;

namespace Orchflow.Server.Limits;

/// <summary>
/// Every agent as last published, read lock-free: the resource figures count each workspace's agents and give the
/// running ones their terminal's figures, and the fair CPU strategy asks which workspaces have agents at work. Supplied
/// by the agents capability's table, which is built before the figures and the agent service.
/// </summary>
public interface IPublishedAgents
{
    IReadOnlyList<AgentInfo> Published();
}
