using Orchflow.Protocol;
using Orchflow.Server.Rpc;
using Orchflow.Server.Security;
using StreamJsonRpc;

namespace Orchflow.Server.Workspaces;

/// <summary>RPC handlers of orchflow/workspace/*: parameter checks and the per-client active workspace; the rules live in <see cref="WorkspaceService"/>.</summary>
public sealed class WorkspaceHandlers(ClientSession session, WorkspaceService workspaces)
{
    [JsonRpcMethod(Methods.WorkspaceList, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceListResult List(WorkspaceListParams? p = null)
    {
        return new WorkspaceListResult { Workspaces = workspaces.List(), ActiveWorkspaceId = session.ActiveWorkspaceId };
    }

    [JsonRpcMethod(Methods.WorkspaceCreate, UseSingleObjectParameterDeserialization = true)]
    public Task<WorkspaceInfo> CreateAsync(WorkspaceCreateParams p, CancellationToken cancellationToken)
    {
        return workspaces.CreateAsync(p, cancellationToken);
    }

    [JsonRpcMethod(Methods.WorkspaceShow, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceInfo Show(WorkspaceRef p)
    {
        return workspaces.Show(p.Id);
    }

    [JsonRpcMethod(Methods.WorkspaceUpdate, UseSingleObjectParameterDeserialization = true)]
    public async Task<WorkspaceInfo> UpdateAsync(WorkspaceUpdateParams p, CancellationToken cancellationToken)
    {
        if (p.AcceptRoot)
        {
            var adopted = workspaces.AcceptRoot(p.Id, PersonCheck.Require(session, "adopt a replaced workspace root"));
            if (p.Name is null && p.RepoUrl is null && !p.Redetect)
            {
                return adopted;
            }
        }

        return await workspaces.UpdateAsync(p, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A person applies or declines a weaker policy; never a process Orchflow started (<see cref="PersonCheck"/>).</summary>
    [JsonRpcMethod(Methods.WorkspaceConfirmPolicy, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceInfo ConfirmPolicy(WorkspacePolicyDecision p)
    {
        var by = PersonCheck.Require(session, p.Reject ? "answer a workspace's policy change" : "confirm a workspace's weaker policy");
        return workspaces.DecidePolicy(p.Id, p.Fingerprint, p.Reject, by);
    }

    [JsonRpcMethod(Methods.WorkspaceSwitch, UseSingleObjectParameterDeserialization = true)]
    public async Task<WorkspaceInfo> SwitchAsync(WorkspaceRef p)
    {
        var info = workspaces.Touch(p.Id);
        session.ActiveWorkspaceId = info.Id;
        await session.NotifyAsync(Methods.WorkspaceChanged, new WorkspaceChangedNotification { Kind = WorkspaceChangeKind.Switched, Id = info.Id, Workspace = info }).ConfigureAwait(false);
        return info;
    }

    [JsonRpcMethod(Methods.WorkspaceDelete, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceDeleteResult Delete(WorkspaceRef p)
    {
        var id = workspaces.Delete(p.Id);
        if (session.ActiveWorkspaceId == id)
        {
            session.ActiveWorkspaceId = null;
        }

        return new WorkspaceDeleteResult { Id = id };
    }

    [JsonRpcMethod(Methods.WorkspaceResolve, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceResolveResult Resolve(WorkspaceResolveParams p)
    {
        return new WorkspaceResolveResult { Workspace = workspaces.Resolve(p.Path) };
    }

    [JsonRpcMethod(Methods.WorkspaceReloadConfig, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceInfo ReloadConfig(WorkspaceRef p)
    {
        return workspaces.ReloadConfig(p.Id);
    }
}
