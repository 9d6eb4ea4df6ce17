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

    [JsonRpcMethod(Methods.SecretSet, UseSingleObjectParameterDeserialization = true)]
    public SecretInfo SetSecret(SecretSetParams p)
    {
        session.EnsureInitialized();
        return isolation.SetSecret(p.WorkspaceId, p.Name, p.Value);
    }

    [JsonRpcMethod(Methods.SecretList, UseSingleObjectParameterDeserialization = true)]
    public SecretListResult ListSecrets(SecretListParams p)
    {
        session.EnsureInitialized();
        return isolation.ListSecrets(p.WorkspaceId);
    }

    [JsonRpcMethod(Methods.SecretRemove, UseSingleObjectParameterDeserialization = true)]
    public SecretRemoveResult RemoveSecret(SecretRemoveParams p)
    {
        session.EnsureInitialized();
        return isolation.RemoveSecret(p.WorkspaceId, p.Name);
    }
}
