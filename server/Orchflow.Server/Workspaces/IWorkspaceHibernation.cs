using Orchflow.Protocol;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// A suspended workspace's hibernation, which the registry shows in <c>WorkspaceInfo.hibernation</c>. Supplied by the
/// limits capability's record of suspended workspaces, built before the registry. Called under the registry's lock:
/// lock-free, never calls back.
/// </summary>
public interface IWorkspaceHibernation
{
    /// <summary>Null while the workspace is not suspended.</summary>
    WorkspaceHibernation? Of(string workspaceId);
}
