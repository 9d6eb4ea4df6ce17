using Orchflow.Protocol;
using Orchflow.Server.Limits;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Agents;

/// <summary>
/// An agent's three shapes: the daemon's <see cref="Agent"/>, the wire's <see cref="AgentInfo"/> and the database's
/// <see cref="AgentRecord"/>, mapped here only. <see cref="View"/> is what every client gets: the state as last
/// published, with its terminal's latest resource figures while it holds a slot.
/// </summary>
internal sealed class AgentMapper(ResourceMonitor resources)
{
    /// <summary>The published state plus the latest resource figures.</summary>
    public AgentInfo View(Agent agent)
    {
        var info = agent.Snapshot is { } published ? published with { Actions = AgentActions.For(published) } : throw new InvalidOperationException($"Agent {agent.Id} was never published.");
        return AgentService.HoldsSlot(info.State) && info.TerminalId is { } terminal && resources.Figures(terminal) is { } f
            ? info with { CpuPercent = f.CpuPercent, MemoryBytes = f.MemoryBytes, Processes = f.Processes }
            : info;
    }

    /// <summary>The state to publish, without resource figures (they change every second; <see cref="View"/> adds them).</summary>
    public static AgentInfo ToInfo(Agent a) => new()
    {
        Id = a.Id,
        WorkspaceId = a.WorkspaceId,
        Type = a.Type,
        Name = a.Name,
        Task = a.Task,
        Mode = a.Mode,
        State = a.State,
        QueuePosition = a.State == AgentState.Queued ? a.QueuePosition : null,
        TerminalId = a.TerminalId,
        ExitCode = a.ExitCode,
        Signal = a.Signal,
        Worktree = a.Worktree,
        Cwd = a.Cwd,
        NeedsInputSince = a.State == AgentState.NeedsInput ? a.NeedsInputSince : null,
        LastLine = a.LastLine,
        Question = a.State == AgentState.NeedsInput ? a.Question : null,
        Choices = a.State == AgentState.NeedsInput ? a.Choices : null,
        Message = a.Message,
        DoneAt = a.DoneAt,
        Runs = a.Runs,
        CreatedAt = a.CreatedAt,
        StartedAt = a.StartedAt,
        EndedAt = a.EndedAt,
        McpConnectedAt = a.McpConnectedAt,
        LogPath = a.LogPath,
    };

    public static AgentRecord ToRecord(Agent a) => new()
    {
        Id = a.Id,
        WorkspaceId = a.WorkspaceId,
        Type = a.Type,
        Name = a.Name,
        Task = a.Task,
        Mode = a.Mode == AgentMode.Batch ? "batch" : "interactive",
        State = Name(a.State),
        TerminalId = a.TerminalId,
        ExitCode = a.ExitCode,
        Signal = a.Signal,
        Cwd = a.Cwd,
        WorktreePath = a.Worktree?.Path,
        WorktreeBranch = a.Worktree?.Branch,
        RepositoryRoot = a.RepositoryRoot,
        Message = a.Message,
        LastLine = a.LastLine,
        Runs = a.Runs,
        LogPath = a.LogPath,
        CreatedAt = a.CreatedAt.UtcDateTime,
        StartedAt = a.StartedAt?.UtcDateTime,
        EndedAt = a.EndedAt?.UtcDateTime,
        DoneAt = a.DoneAt?.UtcDateTime,
    };

    /// <summary>An agent as the previous daemon stored it; a state it cannot read is taken as interrupted.</summary>
    public static Agent FromRecord(AgentRecord r) => new()
    {
        Id = r.Id,
        WorkspaceId = r.WorkspaceId,
        Type = r.Type,
        Name = r.Name,
        Task = r.Task,
        Mode = string.Equals(r.Mode, "batch", StringComparison.Ordinal) ? AgentMode.Batch : AgentMode.Interactive,
        LogPath = r.LogPath,
        CreatedAt = Utc(r.CreatedAt),
        Cwd = r.Cwd,
        Worktree = r.WorktreePath is { } path ? new AgentWorktree { Path = path, Branch = r.WorktreeBranch ?? "" } : null,
        RepositoryRoot = r.RepositoryRoot,
        State = Enum.TryParse<AgentState>(r.State, ignoreCase: true, out var s) ? s : AgentState.Interrupted,
        TerminalId = r.TerminalId,
        ExitCode = r.ExitCode,
        Signal = r.Signal,
        Message = r.Message,
        LastLine = r.LastLine,
        Runs = r.Runs,
        StartedAt = r.StartedAt is { } st ? Utc(st) : null,
        EndedAt = r.EndedAt is { } en ? Utc(en) : null,
        DoneAt = r.DoneAt is { } d ? Utc(d) : null,
    };

    /// <summary>A state as the wire and the database spell it (needsInput).</summary>
    public static string Name(AgentState s) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(s.ToString());

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));
}
