using Orchflow.Protocol;
using Orchflow.Server.Agents;
using Orchflow.Server.Memory;
using Orchflow.Server.Rpc;
using Orchflow.Server.Workspaces;
using StreamJsonRpc;

namespace Orchflow.Server.Mcp;

/// <summary>
/// RPC handlers of orchflow/mcp/*, served only on the MCP socket: what an agent may do through <c>orchflow mcp</c>.
/// Every call is checked against its token before anything else; the workspace and the agent come from the token
/// alone (no param names a workspace, and unknown params are ignored by the binder), so an agent reaches its own
/// workspace's memory and nothing else. The token is checked again on every call: a revoked one is refused at once.
/// </summary>
public sealed class McpHandlers(ClientSession session, AgentTokens tokens, MemoryService memory, AgentService agents, WorkspaceService workspaces)
{
    [JsonRpcMethod(Methods.McpHello, UseSingleObjectParameterDeserialization = true)]
    public McpIdentity Hello(McpHelloParams p)
    {
        var (grant, agent) = Authorize(p.Token);
        return new McpIdentity { WorkspaceId = grant.WorkspaceId, WorkspaceName = workspaces.Show(grant.WorkspaceId).Name, AgentId = grant.AgentId, TerminalId = agent.TerminalId };
    }

    /// <summary>Its CLI has listed the tools: the agent's MCP connection is ready (recorded once per run).</summary>
    [JsonRpcMethod(Methods.McpReady, UseSingleObjectParameterDeserialization = true)]
    public void Ready(McpReadyParams p)
    {
        var (grant, _) = Authorize(p.Token);
        agents.McpReady(grant.AgentId, Client(p.Client));
    }

    [JsonRpcMethod(Methods.McpMemoryStore, UseSingleObjectParameterDeserialization = true)]
    public MemorySetResult Store(McpMemoryStoreParams p)
    {
        var (grant, agent) = Authorize(p.Token);
        var writer = new MemoryWriter(MemoryWriterKind.Agent, grant.AgentId, agent.TerminalId, null, Client(p.Client));
        return memory.Set(grant.WorkspaceId, new MemoryWrite(p.Key, p.Value, p.Kind ?? MemoryValueKind.Text, p.Tags ?? [], p.TtlSeconds), writer);
    }

    [JsonRpcMethod(Methods.McpMemoryGet, UseSingleObjectParameterDeserialization = true)]
    public MemoryGetResult Get(McpMemoryKeyParams p)
    {
        var (grant, _) = Authorize(p.Token);
        return new MemoryGetResult { Entry = memory.Get(grant.WorkspaceId, p.Key) };
    }

    [JsonRpcMethod(Methods.McpMemorySearch, UseSingleObjectParameterDeserialization = true)]
    public MemorySearchResult Search(McpMemorySearchParams p)
    {
        var (grant, _) = Authorize(p.Token);
        return memory.Search(grant.WorkspaceId, new MemoryQuery(p.Prefix, p.Tags ?? [], p.Text, p.Limit ?? MemorySegment.DefaultResults));
    }

    [JsonRpcMethod(Methods.McpMemoryDelete, UseSingleObjectParameterDeserialization = true)]
    public MemoryDeleteResult Delete(McpMemoryKeyParams p)
    {
        var (grant, _) = Authorize(p.Token);
        return new MemoryDeleteResult { Deleted = memory.Delete(grant.WorkspaceId, p.Key) };
    }

    [JsonRpcMethod(Methods.McpWorkspace, UseSingleObjectParameterDeserialization = true)]
    public McpWorkspaceResult Workspace(McpWorkspaceParams p)
    {
        var (grant, _) = Authorize(p.Token);
        return new McpWorkspaceResult
        {
            Workspace = workspaces.Show(grant.WorkspaceId),
            Agents = agents.List(grant.WorkspaceId),
            Memory = memory.StatsOf(grant.WorkspaceId),
        };
    }

    [JsonRpcMethod(Methods.McpReportStatus, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo ReportStatus(McpReportStatusParams p)
    {
        var (grant, _) = Authorize(p.Token);
        return agents.ReportStatus(grant.AgentId, p.Status, p.Message, Client(p.Client));
    }

    /// <summary>The token's grant, while its agent still exists in its workspace and is active; otherwise the token is revoked and the call refused.</summary>
    private (TokenGrant Grant, AgentInfo Agent) Authorize(string? token)
    {
        session.EnsureInitialized();
        var grant = tokens.Validate(token) ?? throw Refused();
        AgentInfo agent;
        try
        {
            agent = agents.Show(grant.AgentId);
        }
        catch (OrchflowException)
        {
            tokens.Revoke(grant.AgentId);
            throw Refused();
        }

        if (agent.WorkspaceId != grant.WorkspaceId || !AgentService.IsActive(agent.State))
        {
            tokens.Revoke(grant.AgentId);
            throw Refused();
        }

        return (grant, agent);
    }

    private static string Client(string? name) => string.IsNullOrWhiteSpace(name) ? "mcp" : name.Length > 100 ? name[..100] : name;

    private static OrchflowException Refused() => new(ErrorCodes.Unauthorized,
        "The MCP token is not valid: it is unknown, or the agent it was given to has ended.",
        "Orchflow gives each agent run its own token (ORCHFLOW_MCP_TOKEN); use the one of a running agent.");
}
