namespace Orchflow.Protocol;

// The orchflow/mcp/* methods are what `orchflow mcp` (the MCP server an agent CLI starts) asks the daemon. They are
// served only on the daemon's MCP socket (run/mcp.sock), which serves nothing else. Every call carries the agent's token;
// the daemon finds the workspace and the agent from the token alone: no param names a workspace, so no value of any
// param can reach another workspace's memory.

/// <summary>Who a token speaks for.</summary>
public sealed record McpIdentity
{
    public required string WorkspaceId { get; init; }
    public required string WorkspaceName { get; init; }
    public required string AgentId { get; init; }

    /// <summary>The agent's terminal for the current run.</summary>
    public string? TerminalId { get; init; }
}

public sealed record McpHelloParams
{
    /// <summary>The agent's token (ORCHFLOW_MCP_TOKEN, or the token file of its MCP config).</summary>
    public required string Token { get; init; }

    /// <summary>The MCP client's name (the agent CLI), recorded as the tool in provenance.</summary>
    public string? Client { get; init; }
}

/// <summary>Sent by <c>orchflow mcp</c> once its client has listed the tools: the agent's MCP connection is ready for its first turn.</summary>
public sealed record McpReadyParams
{
    public required string Token { get; init; }

    /// <summary>The MCP client's name (the agent CLI), as it introduced itself.</summary>
    public string? Client { get; init; }
}

public sealed record McpMemoryStoreParams
{
    public required string Token { get; init; }
    public string? Client { get; init; }
    public required string Key { get; init; }
    public required string Value { get; init; }
    public MemoryValueKind? Kind { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Seconds to live; the workspace's default when absent; 0 for never.</summary>
    public long? TtlSeconds { get; init; }
}

public sealed record McpMemoryKeyParams
{
    public required string Token { get; init; }
    public string? Client { get; init; }
    public required string Key { get; init; }
}

public sealed record McpMemorySearchParams
{
    public required string Token { get; init; }
    public string? Client { get; init; }
    public string? Prefix { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public string? Text { get; init; }
    public int? Limit { get; init; }
}

public sealed record McpWorkspaceParams
{
    public required string Token { get; init; }
    public string? Client { get; init; }
}

/// <summary>The caller's own workspace and its agents.</summary>
public sealed record McpWorkspaceResult
{
    public required WorkspaceInfo Workspace { get; init; }
    public required IReadOnlyList<AgentInfo> Agents { get; init; }
    public required MemoryStats Memory { get; init; }
}

/// <summary>What an agent says about itself.</summary>
public enum McpAgentStatus
{
    /// <summary>It waits for an answer from the user: the agent becomes needsInput.</summary>
    NeedsInput,

    /// <summary>It has finished its task: a done event is recorded; the agent runs on until its process exits.</summary>
    Done,

    /// <summary>It is working again (clears needsInput).</summary>
    Working,
}

public sealed record McpReportStatusParams
{
    public required string Token { get; init; }
    public string? Client { get; init; }
    public required McpAgentStatus Status { get; init; }

    /// <summary>For people: the question, or what was done.</summary>
    public string? Message { get; init; }
}
