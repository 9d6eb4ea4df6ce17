using Orchflow.Protocol;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Agents;

/// <summary>
/// Each workspace's persistent list of recent agent activity (the dashboard's "Recent"): spawned, needs input, input
/// given, finished with its code, failed, stopped by whom, paused, resumed, interrupted. Kept in LiteDB, the newest
/// <see cref="AgentStore.EventsPerWorkspace"/> per workspace.
/// </summary>
public sealed class AgentEvents(AgentStore store)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    public AgentEvent Add(AgentEvent e)
    {
        store.AddEvent(new AgentEventRecord
        {
            WorkspaceId = e.WorkspaceId,
            AgentId = e.AgentId,
            Kind = Name(e.Kind),
            At = e.At.UtcDateTime,
            Message = e.Message,
            ExitCode = e.ExitCode,
            By = e.By,
        });
        return e;
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<AgentEvent> List(string? workspaceId, int? limit)
    {
        if (limit is < 1 or > MaxLimit)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"limit must be from 1 to {MaxLimit}, got {limit}.");
        }

        return store.Events(workspaceId, limit ?? DefaultLimit).Select(r => new AgentEvent
        {
            WorkspaceId = r.WorkspaceId,
            AgentId = r.AgentId,
            Kind = Enum.TryParse<AgentEventKind>(r.Kind, ignoreCase: true, out var k) ? k : AgentEventKind.Spawned,
            At = new DateTimeOffset(DateTime.SpecifyKind(r.At, DateTimeKind.Utc)),
            Message = r.Message,
            ExitCode = r.ExitCode,
            By = r.By,
        }).ToList();
    }

    public void RemoveWorkspace(string workspaceId) => store.DeleteWorkspaceEvents(workspaceId);

    /// <summary>A text quoted in an event line or an agent's message: one line of at most 80 characters.</summary>
    internal static string Short(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 80 ? line : line[..79] + "…";
    }

    private static string Name(AgentEventKind kind) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(kind.ToString());
}
