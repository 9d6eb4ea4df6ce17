namespace Orchflow.Protocol;

/// <summary>
/// Every JSON-RPC method and notification name on the wire, in one place.
/// Custom methods are named <c>orchflow/&lt;capability&gt;/&lt;verb&gt;</c>; the LSP lifecycle keeps its own names.
/// The TypeScript client gets these from the <c>methods</c> table of schemas/protocol.schema.json, generated from <see cref="ProtocolSchema.MethodTable"/>.
/// </summary>
public static class Methods
{
    // LSP base lifecycle.
    public const string Initialize = "initialize";
    public const string Initialized = "initialized";
    public const string Shutdown = "shutdown";
    public const string Exit = "exit";

    public const string Status = "orchflow/status";

    public const string WorkspaceList = "orchflow/workspace/list";
    public const string WorkspaceCreate = "orchflow/workspace/create";
    public const string WorkspaceShow = "orchflow/workspace/show";
    public const string WorkspaceUpdate = "orchflow/workspace/update";
    public const string WorkspaceSwitch = "orchflow/workspace/switch";
    public const string WorkspaceDelete = "orchflow/workspace/delete";
    public const string WorkspaceResolve = "orchflow/workspace/resolve";
    public const string WorkspaceReloadConfig = "orchflow/workspace/reloadConfig";

    /// <summary>A person applies (or, with reject, declines) a workspace's pending weaker policy; refused from any process Orchflow started.</summary>
    public const string WorkspaceConfirmPolicy = "orchflow/workspace/confirmPolicy";

    public const string TerminalCreate = "orchflow/terminal/create";
    public const string TerminalList = "orchflow/terminal/list";
    public const string TerminalShow = "orchflow/terminal/show";
    public const string TerminalInput = "orchflow/terminal/input";
    public const string TerminalResize = "orchflow/terminal/resize";
    public const string TerminalRename = "orchflow/terminal/rename";
    public const string TerminalKill = "orchflow/terminal/kill";
    public const string TerminalAttach = "orchflow/terminal/attach";
    public const string TerminalDetach = "orchflow/terminal/detach";
    public const string TerminalAck = "orchflow/terminal/ack";
    public const string TerminalRead = "orchflow/terminal/read";

    public const string AgentSpawn = "orchflow/agent/spawn";
    public const string AgentList = "orchflow/agent/list";
    public const string AgentShow = "orchflow/agent/show";
    public const string AgentSend = "orchflow/agent/send";
    public const string AgentAnswer = "orchflow/agent/answer";
    public const string AgentPause = "orchflow/agent/pause";
    public const string AgentResume = "orchflow/agent/resume";
    public const string AgentStop = "orchflow/agent/stop";
    public const string AgentRestart = "orchflow/agent/restart";
    public const string AgentRemove = "orchflow/agent/remove";
    public const string AgentLogs = "orchflow/agent/logs";
    public const string AgentEvents = "orchflow/agent/events";
    public const string AgentTypes = "orchflow/agent/types";

    public const string MemorySet = "orchflow/memory/set";
    public const string MemoryGet = "orchflow/memory/get";
    public const string MemoryDelete = "orchflow/memory/delete";
    public const string MemorySearch = "orchflow/memory/search";
    public const string MemoryList = "orchflow/memory/list";
    public const string MemoryStats = "orchflow/memory/stats";
    public const string MemoryExport = "orchflow/memory/export";
    public const string MemoryImport = "orchflow/memory/import";

    // Served only on the MCP socket (run/mcp.sock), each call with an agent's token; see Mcp.cs.
    public const string McpHello = "orchflow/mcp/hello";
    public const string McpReady = "orchflow/mcp/ready";
    public const string McpMemoryStore = "orchflow/mcp/memory/store";
    public const string McpMemoryGet = "orchflow/mcp/memory/get";
    public const string McpMemorySearch = "orchflow/mcp/memory/search";
    public const string McpMemoryDelete = "orchflow/mcp/memory/delete";
    public const string McpWorkspace = "orchflow/mcp/workspace";
    public const string McpReportStatus = "orchflow/mcp/reportStatus";

    /// <summary>A workspace's audit log: refusals, denials, launches with less isolation than requested, policy changes.</summary>
    public const string WorkspaceAudit = "orchflow/workspace/audit";

    /// <summary>Stops every process of a workspace (cgroup freezer or SIGSTOP); resume continues them where they were.</summary>
    public const string WorkspaceSuspend = "orchflow/workspace/suspend";

    public const string WorkspaceResume = "orchflow/workspace/resume";

    /// <summary>Server to every client: a limit acted on a workspace, or it was suspended or resumed, and why.</summary>
    public const string WorkspaceNotice = "orchflow/workspace/notice";

    /// <summary>Server to every client: an entry was added to a workspace's audit log (params: the <c>AuditEntry</c>), whoever caused it.</summary>
    public const string WorkspaceAudited = "orchflow/workspace/audited";

    /// <summary>Sets a secret of a workspace; its value is injected only into that workspace's processes.</summary>
    public const string SecretSet = "orchflow/secret/set";

    /// <summary>A workspace's secrets, masked.</summary>
    public const string SecretList = "orchflow/secret/list";

    public const string SecretRemove = "orchflow/secret/remove";

    /// <summary>Measured CPU, memory, processes, terminals and agents of every workspace (from the last sample).</summary>
    public const string WorkspaceResources = "orchflow/workspace/resources";

    /// <summary>Server to attached clients: terminal output with sequence numbers.</summary>
    public const string TerminalOutput = "orchflow/terminal/output";

    /// <summary>Server to every client: a terminal was created, changed, exited or removed.</summary>
    public const string TerminalChanged = "orchflow/terminal/changed";

    /// <summary>Server to every client: an agent was created, changed state or was removed.</summary>
    public const string AgentChanged = "orchflow/agent/changed";

    /// <summary>Server to every client: a new line of a workspace's recent agent activity.</summary>
    public const string AgentEvent = "orchflow/agent/event";

    /// <summary>Server to every client: the resource figures after each sample (every second while anything runs).</summary>
    public const string ResourcesChanged = "orchflow/resources/changed";

    /// <summary>Server to every client: a workspace's memory segment changed (coalesced), or was found damaged.</summary>
    public const string MemoryChanged = "orchflow/memory/changed";

    /// <summary>Server to client: a workspace was created, updated, deleted, or became this client's active one.</summary>
    public const string WorkspaceChanged = "orchflow/workspace/changed";

    /// <summary>Server to client: the global configuration was reloaded (or failed to load).</summary>
    public const string ConfigChanged = "orchflow/config/changed";
}
