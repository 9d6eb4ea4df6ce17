using LiteDB;

namespace Orchflow.Server.Storage;

/// <summary>An agent as stored: everything but the live figures, so that the next daemon lists it and marks it interrupted if it was active.</summary>
public sealed class AgentRecord
{
    [BsonId]
    public string Id { get; set; } = "";

    public string WorkspaceId { get; set; } = "";

    public string Type { get; set; } = "";

    public string? Name { get; set; }

    public string Task { get; set; } = "";

    /// <summary>"interactive" or "batch"; absent in records of older daemons, which were interactive.</summary>
    public string? Mode { get; set; }

    /// <summary>The wire name of the state ("running", "needsInput", ...).</summary>
    public string State { get; set; } = "queued";

    public string? TerminalId { get; set; }

    public int? ExitCode { get; set; }

    public int? Signal { get; set; }

    public string Cwd { get; set; } = "";

    public string? WorktreePath { get; set; }

    public string? WorktreeBranch { get; set; }

    /// <summary>The repository the worktree belongs to (the workspace root when it was made), to remove the worktree even after the workspace is gone.</summary>
    public string? RepositoryRoot { get; set; }

    public string? Message { get; set; }

    public string? LastLine { get; set; }

    public int Runs { get; set; }

    public string LogPath { get; set; } = "";

    public DateTime CreatedAt { get; set; }

    public DateTime? StartedAt { get; set; }

    public DateTime? EndedAt { get; set; }

    public DateTime? DoneAt { get; set; }
}

/// <summary>One line of a workspace's recent agent activity.</summary>
public sealed class AgentEventRecord
{
    /// <summary>Assigned by LiteDB in insertion order (auto-incremented), so it also orders the events.</summary>
    [BsonId]
    public long Id { get; set; }

    public string WorkspaceId { get; set; } = "";

    public string AgentId { get; set; } = "";

    public string Kind { get; set; } = "";

    public DateTime At { get; set; }

    public string Message { get; set; } = "";

    public int? ExitCode { get; set; }

    public string? By { get; set; }
}

/// <summary>The last agent number used in a namespace, so an id (and its branch orchflow/&lt;id&gt;) is never reused.</summary>
public sealed class AgentCounterRecord
{
    [BsonId]
    public string Namespace { get; set; } = "";

    public int Last { get; set; }
}

/// <summary>
/// Agents, their events and the per-namespace agent numbers as stored. Each write returns once it is on disk, and
/// each read-modify-write runs whole under the database's write lock (<see cref="Database.Write{T}"/>).
/// </summary>
public sealed class AgentStore
{
    /// <summary>Recent events kept per workspace; older ones are pruned as new ones arrive.</summary>
    public const int EventsPerWorkspace = 500;

    private readonly Database _database;
    private readonly ILiteCollection<AgentRecord> _agents;
    private readonly ILiteCollection<AgentEventRecord> _events;
    private readonly ILiteCollection<AgentCounterRecord> _counters;

    public AgentStore(Database database)
    {
        _database = database;
        _agents = database.Db.GetCollection<AgentRecord>("agents");
        _agents.EnsureIndex(a => a.WorkspaceId);
        _events = database.Db.GetCollection<AgentEventRecord>("agent_events");
        _events.EnsureIndex(e => e.WorkspaceId);
        _counters = database.Db.GetCollection<AgentCounterRecord>("agent_counters");
    }

    public IReadOnlyList<AgentRecord> All() => _database.Read(() => _agents.FindAll().ToList());

    public void Upsert(AgentRecord record) => _database.Write(() => _agents.Upsert(record));

    public void Delete(string id) => _database.Write(() => _agents.Delete(id));

    /// <summary>The next agent number of <paramref name="ns"/>, at least <paramref name="floor"/> + 1, persisted before it is handed out.</summary>
    public int NextNumber(string ns, int floor) => _database.Write(() =>
    {
        var counter = _counters.FindById(ns) ?? new AgentCounterRecord { Namespace = ns };
        counter.Last = Math.Max(counter.Last, floor) + 1;
        _counters.Upsert(counter);
        return counter.Last;
    });

    public void AddEvent(AgentEventRecord record) => _database.Write(() =>
    {
        _events.Insert(record);

        // Pruning costs a query, so it runs only once the workspace is a tenth over its allowance.
        var workspaceId = record.WorkspaceId;
        if (_events.Count(e => e.WorkspaceId == workspaceId) > EventsPerWorkspace + (EventsPerWorkspace / 10))
        {
            var stale = _events.Query().Where(e => e.WorkspaceId == workspaceId).OrderByDescending(e => e.Id)
                .Skip(EventsPerWorkspace).ToList();
            foreach (var e in stale)
            {
                _events.Delete(e.Id);
            }
        }
    });

    /// <summary>The newest events first; every workspace's when <paramref name="workspaceId"/> is null.</summary>
    public IReadOnlyList<AgentEventRecord> Events(string? workspaceId, int limit) => _database.Read(() =>
    {
        var query = _events.Query();
        if (workspaceId is not null)
        {
            query = query.Where(e => e.WorkspaceId == workspaceId);
        }

        return query.OrderByDescending(e => e.Id).Limit(limit).ToList();
    });

    public void DeleteWorkspaceEvents(string workspaceId) => _database.Write(() => _events.DeleteMany(e => e.WorkspaceId == workspaceId));
}
