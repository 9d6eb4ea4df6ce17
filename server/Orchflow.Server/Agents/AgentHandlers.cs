using Orchflow.Protocol;
using Orchflow.Server.Rpc;
using StreamJsonRpc;

namespace Orchflow.Server.Agents;

/// <summary>RPC handlers of orchflow/agent/*; the rules live in <see cref="AgentService"/>.</summary>
public sealed class AgentHandlers(ClientSession session, AgentService agents)
{
    [JsonRpcMethod(Methods.AgentSpawn, UseSingleObjectParameterDeserialization = true)]
    public Task<AgentInfo> SpawnAsync(AgentSpawnParams p, CancellationToken cancellationToken)
    {
        return agents.SpawnAsync(p, session.By, cancellationToken);
    }

    [JsonRpcMethod(Methods.AgentList, UseSingleObjectParameterDeserialization = true)]
    public AgentListResult List(AgentListParams? p = null)
    {
        return new AgentListResult { Agents = agents.List(p?.WorkspaceId) };
    }

    [JsonRpcMethod(Methods.AgentShow, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo Show(AgentRef p)
    {
        return agents.Show(p.Id);
    }

    [JsonRpcMethod(Methods.AgentSend, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo Send(AgentSendParams p)
    {
        return agents.Send(p.Id, p.Text, session.By);
    }

    [JsonRpcMethod(Methods.AgentAnswer, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo Answer(AgentAnswerParams p)
    {
        return agents.Answer(p.Id, p.Choice, p.Question, session.By);
    }

    [JsonRpcMethod(Methods.AgentPause, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo Pause(AgentRef p)
    {
        return agents.Pause(p.Id, session.By);
    }

    [JsonRpcMethod(Methods.AgentResume, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo Resume(AgentRef p)
    {
        return agents.Resume(p.Id, session.By);
    }

    [JsonRpcMethod(Methods.AgentStop, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo Stop(AgentRef p)
    {
        return agents.Stop(p.Id, session.By);
    }

    [JsonRpcMethod(Methods.AgentRestart, UseSingleObjectParameterDeserialization = true)]
    public AgentInfo Restart(AgentRef p)
    {
        return agents.Restart(p.Id, session.By);
    }

    [JsonRpcMethod(Methods.AgentRemove, UseSingleObjectParameterDeserialization = true)]
    public async Task<AgentRemoveResult> RemoveAsync(AgentRef p)
    {
        return new AgentRemoveResult { Id = await agents.RemoveAsync(p.Id, session.By).ConfigureAwait(false) };
    }

    [JsonRpcMethod(Methods.AgentLogs, UseSingleObjectParameterDeserialization = true)]
    public Task<AgentLogsResult> LogsAsync(AgentLogsParams p)
    {
        return agents.LogsAsync(p.Id, p.Tail);
    }

    [JsonRpcMethod(Methods.AgentEvents, UseSingleObjectParameterDeserialization = true)]
    public AgentEventsResult Events(AgentEventsParams? p = null)
    {
        return new AgentEventsResult { Events = agents.Events(p?.WorkspaceId, p?.Limit) };
    }

    [JsonRpcMethod(Methods.AgentTypes, UseSingleObjectParameterDeserialization = true)]
    public AgentTypesResult Types(AgentTypesParams? p = null)
    {
        return new AgentTypesResult { Types = agents.Types(p?.WorkspaceId) };
    }
}
