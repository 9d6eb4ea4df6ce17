using Orchflow.Protocol;
using StreamJsonRpc;

namespace Orchflow.Server.Security;

/// <summary>RPC handlers of the security capability; the rules live in <see cref="IsolationService"/>.</summary>
public sealed class SecurityHandlers(IsolationService isolation)
{
    [JsonRpcMethod(Methods.WorkspaceAudit, UseSingleObjectParameterDeserialization = true)]
    public WorkspaceAuditResult Audit(WorkspaceAuditParams p)
    {
        return isolation.ReadAudit(p.Id, p.Limit);
    }

    [JsonRpcMethod(Methods.SecretSet, UseSingleObjectParameterDeserialization = true)]
    public SecretInfo SetSecret(SecretSetParams p)
    {
        return isolation.SetSecret(p.WorkspaceId, p.Name, p.Value);
    }

    [JsonRpcMethod(Methods.SecretList, UseSingleObjectParameterDeserialization = true)]
    public SecretListResult ListSecrets(SecretListParams p)
    {
        return isolation.ListSecrets(p.WorkspaceId);
    }

    [JsonRpcMethod(Methods.SecretRemove, UseSingleObjectParameterDeserialization = true)]
    public SecretRemoveResult RemoveSecret(SecretRemoveParams p)
    {
        return isolation.RemoveSecret(p.WorkspaceId, p.Name);
    }
}
