using Orchflow.Protocol;
using Orchflow.Server.Rpc;
using StreamJsonRpc;

namespace Orchflow.Server.Security;

/// <summary>RPC handlers of the security capability; the rules live in <see cref="IsolationService"/>.</summary>
public sealed class SecurityHandlers(ClientSession session, IsolationService isolation)
{
    [JsonRpcMethod(Methods.WorkspaceAudit, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceAuditResult Audit(WorkspaceAuditParams p)
    {
        session.EnsureInitialized();
        return isolation.ReadAudit(p.Id, p.Limit);
    }
}
