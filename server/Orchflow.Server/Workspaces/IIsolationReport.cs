using Orchflow.Protocol;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// What this machine enforces for a workspace's security policy and resource limits, which the registry shows in
/// <c>WorkspaceInfo.isolation</c>. Supplied by the security capability's probe of the machine, built before the
/// registry. Pure and lock-free: called under the registry's lock.
/// </summary>
public interface IIsolationReport
{
    WorkspaceIsolation Report(SecurityPolicy policy, ResourceLimits limits);
}
