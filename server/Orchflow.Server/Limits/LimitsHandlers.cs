using Orchflow.Protocol;
using Orchflow.Server.Rpc;
using StreamJsonRpc;

namespace Orchflow.Server.Limits;

/// <summary>
/// RPC handlers of hibernation (orchflow/workspace/suspend and resume; the rules live in <see cref="ResourceGovernor"/>)
/// and of the resource figures (orchflow/workspace/resources, from <see cref="ResourceMonitor"/>).
/// </summary>
public sealed class LimitsHandlers(ClientSession session, ResourceGovernor limits, ResourceMonitor resources)
{
    [JsonRpcMethod(Methods.WorkspaceSuspend, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceSuspendResult Suspend(WorkspaceRef p)
    {
        return limits.Suspend(p.Id, session.By);
    }

    [JsonRpcMethod(Methods.WorkspaceResume, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceSuspendResult Resume(WorkspaceRef p)
    {
        return limits.Resume(p.Id, session.By);
    }

    [JsonRpcMethod(Methods.WorkspaceResources, UseSingleObjectParameterDeserialization = true)]
    public ResourceSnapshot Resources(WorkspaceResourcesParams? p = null)
    {
        return resources.Snapshot();
    }
}
