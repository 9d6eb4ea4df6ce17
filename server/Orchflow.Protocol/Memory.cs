namespace Orchflow.Protocol;

/// <summary>How an entry's value is to be read: as plain text, or as a JSON document (checked when it is written).</summary>
public enum MemoryValueKind
{
    Text,
    Json,
}

/// <summary>Who wrote an entry, as far as the daemon can tell.</summary>
public enum MemoryWriterKind
{
    /// <summary>An agent, through Orchflow's MCP server with its own token: the daemon knows which agent.</summary>
    Agent,

    /// <summary>A command run in one of the workspace's terminals (the CLI reports the terminal it runs in).</summary>
    Terminal,

    /// <summary>A person, through the command line or VS Code.</summary>
    User,
}

/// <summary>Where an entry came from: which agent, terminal, user or tool wrote it, and when.</summary>
public sealed record MemoryProvenance
{
    public required MemoryWriterKind Kind { get; init; }

    /// <summary>The agent that wrote it, for kind agent (taken from its token, never from what it claims).</summary>
    public string? AgentId { get; init; }

    /// <summary>The terminal it was written from: the agent's terminal, or the terminal the CLI ran in.</summary>
    public string? TerminalId { get; init; }

    /// <summary>The operating-system user of the daemon, for kind user and terminal.</summary>
    public string? User { get; init; }

    /// <summary>The program that made the call: its initialize clientInfo name ("orchflow-cli", "vscode") or the MCP client's name ("claude-code").</summary>
    public string? Tool { get; init; }

    public required DateTimeOffset At { get; init; }
}

/// <summary>One entry of a workspace's memory segment.</summary>
public sealed record MemoryEntry
{
    /// <summary>Opaque within the segment: no character has a special meaning, and no key names another workspace.</summary>
    public required string Key { get; init; }

    /// <summary>The value as text; for kind json, a JSON document.</summary>
    public required string Value { get; init; }

    public required MemoryValueKind Kind { get; init; }

    public required IReadOnlyList<string> Tags { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When it stops being visible and is deleted; null when it does not expire.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The last read or write.</summary>
    public required DateTimeOffset AccessedAt { get; init; }

    /// <summary>How many times it has been read (get; search and list do not count).</summary>
    public required long AccessCount { get; init; }

    /// <summary>What it counts against memory_size: the UTF-8 bytes of its key, value and tags.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>The last write.</summary>
    public required MemoryProvenance Provenance { get; init; }
}

public sealed record MemorySetParams
{
    /// <summary>The workspace (id, name or root path).</summary>
    public required string WorkspaceId { get; init; }

    public required string Key { get; init; }
    public required string Value { get; init; }

    /// <summary>Text when absent; json requires <see cref="Value"/> to be a JSON document.</summary>
    public MemoryValueKind? Kind { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Seconds to live; the workspace's memory.default_ttl when absent; 0 for never.</summary>
    public long? TtlSeconds { get; init; }

    /// <summary>The terminal the caller runs in (the CLI passes ORCHFLOW_TERMINAL_ID); recorded when it is a terminal of this workspace.</summary>
    public string? TerminalId { get; init; }
}

public sealed record MemorySetResult
{
    public required MemoryEntry Entry { get; init; }

    /// <summary>True when the key already existed and was replaced.</summary>
    public required bool Replaced { get; init; }

    /// <summary>Keys removed to make room (when_full evict_lru), least recently used first.</summary>
    public required IReadOnlyList<string> Evicted { get; init; }
}

public sealed record MemoryKeyParams
{
    public required string WorkspaceId { get; init; }
    public required string Key { get; init; }
}

public sealed record MemoryGetResult
{
    /// <summary>The entry, with its access time and count updated; null when there is none (or it has expired).</summary>
    public MemoryEntry? Entry { get; init; }
}

public sealed record MemoryDeleteResult
{
    public required bool Deleted { get; init; }
}

public sealed record MemorySearchParams
{
    public required string WorkspaceId { get; init; }

    /// <summary>Keys starting with this (ordinal, case-sensitive).</summary>
    public string? Prefix { get; init; }

    /// <summary>Entries carrying every one of these tags.</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Entries whose key or value contains this text, ignoring case.</summary>
    public string? Text { get; init; }

    /// <summary>At most this many entries, in key order; 100 when absent, at most 10,000.</summary>
    public int? Limit { get; init; }
}

public sealed record MemorySearchResult
{
    /// <summary>In key order (ordinal).</summary>
    public required IReadOnlyList<MemoryEntry> Entries { get; init; }

    /// <summary>True when more entries matched than were returned.</summary>
    public required bool Truncated { get; init; }
}

public sealed record MemoryListParams
{
    public required string WorkspaceId { get; init; }

    /// <summary>Only keys after this one (ordinal): pass the last key of a page to get the next.</summary>
    public string? After { get; init; }

    /// <summary>At most this many; 100 when absent, at most 10,000.</summary>
    public int? Limit { get; init; }
}

public sealed record MemoryListResult
{
    public required IReadOnlyList<MemoryEntry> Entries { get; init; }

    /// <summary>Pass as <see cref="MemoryListParams.After"/> for the next page; null on the last page.</summary>
    public string? NextAfter { get; init; }
}

public sealed record MemoryStatsParams
{
    /// <summary>One workspace; every workspace when absent.</summary>
    public string? WorkspaceId { get; init; }
}

public enum MemoryWhenFull
{
    EvictLru,
    Refuse,
}

public enum MemoryPersistence
{
    Disk,
    Memory,
}

public enum MemorySegmentState
{
    /// <summary>Usable.</summary>
    Ok,

    /// <summary>The file could not be read at start; nothing is served from it until it is replaced (see <see cref="MemoryStats.Problem"/>).</summary>
    Damaged,
}

/// <summary>The state and use of one workspace's memory segment, against its configured capacity.</summary>
public sealed record MemoryStats
{
    public required string WorkspaceId { get; init; }
    public required MemorySegmentState State { get; init; }

    /// <summary>Live entries (expired ones excluded).</summary>
    public required long Entries { get; init; }

    /// <summary>The sum of the entries' sizes (key, value and tags in UTF-8).</summary>
    public required long Bytes { get; init; }

    /// <summary>memory.capacity_entries of the workspace.</summary>
    public required long CapacityEntries { get; init; }

    /// <summary>models.memory_size of the workspace (else orchestration.models.memory_per_workspace).</summary>
    public required long CapacityBytes { get; init; }

    /// <summary>The larger of entries and bytes as a percentage of their capacity.</summary>
    public required double UsedPercent { get; init; }

    public required MemoryWhenFull WhenFull { get; init; }

    /// <summary>The persistence in force: chosen when the segment was opened; a change in the config applies at the next daemon start.</summary>
    public required MemoryPersistence Persistence { get; init; }

    public long? DefaultTtlSeconds { get; init; }

    /// <summary>The LiteDB file, for persistence disk.</summary>
    public string? File { get; init; }

    /// <summary>The size of the file (and its write-ahead log) on disk.</summary>
    public long? FileBytes { get; init; }

    /// <summary>Entries removed to make room since the daemon started.</summary>
    public required long Evictions { get; init; }

    /// <summary>Entries removed because their time to live ran out since the daemon started.</summary>
    public required long Expirations { get; init; }

    /// <summary>For a damaged segment: what is wrong.</summary>
    public string? Problem { get; init; }

    /// <summary>For a damaged segment: how to recover.</summary>
    public string? Hint { get; init; }
}

public sealed record MemoryStatsResult
{
    /// <summary>One per workspace asked for, in workspace id order.</summary>
    public required IReadOnlyList<MemoryStats> Segments { get; init; }
}

public sealed record MemoryExportParams
{
    public required string WorkspaceId { get; init; }

    /// <summary>An absolute file path the daemon writes (mode 0600); the lines come back in the result when absent.</summary>
    public string? Path { get; init; }
}

public sealed record MemoryExportResult
{
    public required int Entries { get; init; }

    /// <summary>The file written, when a path was given.</summary>
    public string? Path { get; init; }

    /// <summary>JSON lines, one <see cref="MemoryEntry"/> per line, when no path was given.</summary>
    public string? Lines { get; init; }
}

public sealed record MemoryImportParams
{
    public required string WorkspaceId { get; init; }

    /// <summary>An absolute path of a JSON-lines file to read; or give <see cref="Lines"/>.</summary>
    public string? Path { get; init; }

    /// <summary>JSON lines: each a <see cref="MemoryEntry"/> (only key and value are required).</summary>
    public string? Lines { get; init; }

    /// <summary>
    /// Start from an empty segment instead of merging. For a damaged segment this is the way back: its file is moved
    /// aside (kept, never deleted) and a new one receives the import.
    /// </summary>
    public bool Replace { get; init; }
}

public sealed record MemoryImportResult
{
    public required int Imported { get; init; }

    /// <summary>Imported entries that replaced an entry with the same key.</summary>
    public required int Replaced { get; init; }

    /// <summary>Keys removed to make room (when_full evict_lru).</summary>
    public required IReadOnlyList<string> Evicted { get; init; }

    /// <summary>Lines whose entry had already expired; they were not imported.</summary>
    public required int SkippedExpired { get; init; }

    /// <summary>Where the previous (damaged or replaced) file was moved, when it was.</summary>
    public string? MovedAside { get; init; }
}

/// <summary>Server to every client: a workspace's memory changed (at most a few times a second per workspace) or its segment was found damaged.</summary>
public sealed record MemoryChangedNotification
{
    public required string WorkspaceId { get; init; }

    /// <summary>The segment after the change; null when the workspace was deleted.</summary>
    public MemoryStats? Stats { get; init; }
}
