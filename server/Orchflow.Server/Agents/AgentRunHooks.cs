using Orchflow.Protocol;

namespace Orchflow.Server.Agents;

/// <summary>
/// What a run of an agent needs beyond its type's command line, supplied by another capability (the MCP server's
/// token and configuration). Both calls are made under the agents lock, so they must be quick and must not call back.
/// </summary>
public interface IAgentRunHooks
{
    /// <summary>Before a run's terminal starts: the argv to run instead (for example with an added --mcp-config) and Orchflow variables to add.</summary>
    AgentRunSetup Prepare(AgentRunContext context);

    /// <summary>The run ended (or never started): whatever was handed out for it is revoked. Called also when nothing was prepared.</summary>
    void Ended(string agentId);
}

public sealed record AgentRunContext(string WorkspaceId, string AgentId, AgentType Type, IReadOnlyList<string> Argv)
{
    /// <summary>Interactive or batch: the MCP setup differs (a batch run cannot wait at a prompt for a tool approval).</summary>
    public AgentMode Mode { get; init; }

    /// <summary>Where the agent runs (the workspace root or its worktree), for a vendor's per-folder settings.</summary>
    public string? Cwd { get; init; }
}

public sealed record AgentRunSetup(IReadOnlyList<string> Argv, IReadOnlyDictionary<string, string> Variables)
{
    /// <summary>Paths of Orchflow's own the run must reach even inside a strict sandbox (its MCP directory and socket), read-only.</summary>
    public IReadOnlyList<string> SandboxReadOnly { get; init; } = [];

    /// <summary>The CLI itself was configured to start Orchflow's MCP server (not only given the variables), so it will connect and say so.</summary>
    public bool McpClientConfigured { get; init; }
}
