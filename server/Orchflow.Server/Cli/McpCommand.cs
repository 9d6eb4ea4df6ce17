using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using StreamJsonRpc;

namespace Orchflow.Server.Cli;

/// <summary>
/// <c>orchflow mcp</c>: a Model Context Protocol server over stdin/stdout that an agent CLI starts as a tool server.
/// It holds no data and no rights of its own: each tool call is forwarded to the daemon's MCP socket with the agent's
/// token, and the daemon decides (workspace and agent from the token, checked on every call). A bad or revoked token
/// therefore still lets the server start and list its tools; every call then fails with the daemon's reason, which the
/// agent sees as a tool error.
/// </summary>
internal static class McpCommand
{
    public const string TokenVariable = "ORCHFLOW_MCP_TOKEN";
    public const string SocketVariable = "ORCHFLOW_MCP_SOCKET";

    /// <summary>
    /// Result texts are read by models: indented JSON with quotes, ampersands and non-ASCII text as themselves, not
    /// <c>\u0022</c> escapes (the default encoder escapes them for HTML, which a tool result never is).
    /// </summary>
    private static readonly JsonSerializerOptions Pretty = new(ProtocolJson.Indented) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        var tokenFile = cmd.Option("token-file");
        var socketOption = cmd.Option("socket");
        cmd.EnsureNoUnknown(maxPositionals: 1);

        string? token = null;
        if (tokenFile is not null)
        {
            try
            {
                token = (await File.ReadAllTextAsync(tokenFile).ConfigureAwait(false)).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                output.Fail($"cannot read the token file {tokenFile}: {e.Message}. Orchflow deletes it when the agent's run ends.");
                return 1;
            }
        }

        token ??= Environment.GetEnvironmentVariable(TokenVariable);
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new CliException($"`orchflow mcp` needs an agent's token: set {TokenVariable} or pass --token-file FILE. Orchflow sets both up for the agents it starts; see `orchflow help`.");
        }

        var socket = socketOption ?? Environment.GetEnvironmentVariable(SocketVariable) ?? paths.McpSocketPath;
        await using var bridge = new DaemonBridge(socket, token);
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "orchflow", Version = Rpc.OrchflowServer.Version },
            ServerInstructions = "Orchflow workspace memory: store what other agents of this workspace should know (decisions, findings, "
                + "conventions) with memory_store, look it up with memory_get and memory_search. Everything stays inside this workspace. "
                + "Use report_status when you need the user's answer (needs_input) or have finished your task (done).",
            Handlers = new McpServerHandlers
            {
                ListToolsHandler = (request, ct) =>
                {
                    if (bridge.TakeReady())
                    {
                        // In the background: the list is answered at once, whatever the daemon does.
                        _ = SignalReadyAsync(bridge, request.Server.ClientInfo?.Name, output.Error);
                    }

                    return ValueTask.FromResult(new ListToolsResult { Tools = McpTools.All });
                },
                CallToolHandler = (request, ct) => CallAsync(bridge, request.Server.ClientInfo?.Name, request.Params, ct),
            },
        };

        // stdout is the protocol stream from here on; diagnostics go to stderr.
        var transport = new StdioServerTransport(options);
        await using var server = McpServer.Create(transport, options);
        try
        {
            var identity = await bridge.HelloAsync(CancellationToken.None).ConfigureAwait(false);
            await output.Error.WriteLineAsync($"orchflow mcp: agent {identity.AgentId} of workspace {identity.WorkspaceId}").ConfigureAwait(false);
        }
        catch (McpToolException e)
        {
            // Served all the same: each call reports the reason, which the agent can read.
            await output.Error.WriteLineAsync($"orchflow mcp: {e.Message}").ConfigureAwait(false);
        }

        await server.RunAsync(CancellationToken.None).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Tells the daemon that the agent's CLI has Orchflow's tools now (<c>orchflow/mcp/ready</c>), which is what a task
    /// held at the CLI's first prompt waits for. A failure costs only that signal: it is written to stderr, and the
    /// server goes on serving.
    /// </summary>
    private static async Task SignalReadyAsync(DaemonBridge bridge, string? client, TextWriter error)
    {
        try
        {
            await bridge.InvokeAsync<object?>(Methods.McpReady, new McpReadyParams { Token = bridge.Token, Client = client }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await error.WriteLineAsync($"orchflow mcp: could not tell Orchflow that the tools were listed: {e.Message}").ConfigureAwait(false);
        }
    }

    private static async ValueTask<CallToolResult> CallAsync(DaemonBridge bridge, string? client, CallToolRequestParams? call, CancellationToken ct)
    {
        try
        {
            if (call is null)
            {
                throw new McpToolException("The call has no params.");
            }

            var args = McpTools.Arguments(call);
            object result = call.Name switch
            {
                McpTools.MemoryStore => await bridge.InvokeAsync<MemorySetResult>(Methods.McpMemoryStore, McpTools.StoreParams(args, bridge.Token, client), ct).ConfigureAwait(false),
                McpTools.MemoryGet => await GetAsync(bridge, client, args.RequireString("key"), ct).ConfigureAwait(false),
                McpTools.MemorySearch => await bridge.InvokeAsync<MemorySearchResult>(Methods.McpMemorySearch, McpTools.SearchParams(args, bridge.Token, client), ct).ConfigureAwait(false),
                McpTools.MemoryDelete => await bridge.InvokeAsync<MemoryDeleteResult>(Methods.McpMemoryDelete, new McpMemoryKeyParams { Token = bridge.Token, Client = client, Key = args.RequireString("key") }, ct).ConfigureAwait(false),
                McpTools.WorkspaceInfo => McpTools.Summarize(await bridge.InvokeAsync<McpWorkspaceResult>(Methods.McpWorkspace, new McpWorkspaceParams { Token = bridge.Token, Client = client }, ct).ConfigureAwait(false)),
                McpTools.ReportStatus => McpTools.Summarize(await bridge.InvokeAsync<AgentInfo>(Methods.McpReportStatus, McpTools.StatusParams(args, bridge.Token, client), ct).ConfigureAwait(false)),
                _ => throw new McpToolException($"There is no tool '{call.Name}'. The tools are: {string.Join(", ", McpTools.All.Select(t => t.Name))}."),
            };
            var node = JsonSerializer.SerializeToNode(result, ProtocolJson.Options)!;
            return new CallToolResult
            {
                Content = [new TextContentBlock { Text = node.ToJsonString(Pretty) }],
                StructuredContent = JsonSerializer.SerializeToElement(node),
            };
        }
        catch (McpToolException e)
        {
            return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = e.Message }] };
        }
    }

    /// <summary>memory_get: the entry, or a tool error that says the key is not there (an empty result reads as success to a model).</summary>
    private static async Task<MemoryGetResult> GetAsync(DaemonBridge bridge, string? client, string key, CancellationToken ct)
    {
        var result = await bridge.InvokeAsync<MemoryGetResult>(Methods.McpMemoryGet, new McpMemoryKeyParams { Token = bridge.Token, Client = client, Key = key }, ct).ConfigureAwait(false);
        return result.Entry is null
            ? throw new McpToolException($"Not found: this workspace's memory has no entry '{key}' (it was never stored, was deleted, or expired). memory_search lists the keys there are.")
            : result;
    }

    /// <summary>The one connection to the daemon's MCP socket, opened on first use and again after it is lost.</summary>
    private sealed class DaemonBridge(string socketPath, string token) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private JsonRpc? _rpc;
        private int _readyTaken;

        public string Token { get; } = token;

        /// <summary>True the first time only: the client's first tools/list is the one that says it is connected.</summary>
        public bool TakeReady() => Interlocked.Exchange(ref _readyTaken, 1) == 0;

        public Task<McpIdentity> HelloAsync(CancellationToken ct) =>
            InvokeAsync<McpIdentity>(Methods.McpHello, new McpHelloParams { Token = Token }, ct);

        public async Task<T> InvokeAsync<T>(string method, object parameters, CancellationToken ct)
        {
            for (int attempt = 0; ; attempt++)
            {
                var rpc = await ConnectAsync(ct).ConfigureAwait(false);
                try
                {
                    return await rpc.InvokeWithParameterObjectAsync<T>(method, parameters, ct).ConfigureAwait(false);
                }
                catch (RemoteInvocationException e)
                {
                    var data = e.ErrorData as ErrorData;
                    throw new McpToolException(data?.Hint is { } hint ? $"{e.Message} {hint}" : e.Message);
                }
                catch (ConnectionLostException) when (attempt == 0)
                {
                    await DropAsync().ConfigureAwait(false);
                }
                catch (ConnectionLostException)
                {
                    await DropAsync().ConfigureAwait(false);
                    throw new McpToolException("The connection to the Orchflow daemon was lost. The agent's tools work again once the daemon runs; a restarted daemon gives agents new tokens, so restart the agent.");
                }
            }
        }

        private async Task<JsonRpc> ConnectAsync(CancellationToken ct)
        {
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (_rpc is { IsDisposed: false } open)
                {
                    return open;
                }

                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw new McpToolException($"Cannot reach the Orchflow daemon at {socketPath}: {e.Message}. Is it running (`orchflow daemon status`)?");
                }

                var rpc = OrchflowClientRpc.Create(new NetworkStream(socket, ownsSocket: true));
                rpc.StartListening();
                await rpc.InvokeWithParameterObjectAsync<Orchflow.Protocol.InitializeResult>(Methods.Initialize, new Orchflow.Protocol.InitializeParams
                {
                    ProcessId = Environment.ProcessId,
                    ClientInfo = new Orchflow.Protocol.ClientInfo { Name = "orchflow-mcp", Version = Rpc.OrchflowServer.Version },
                }, ct).ConfigureAwait(false);
                _rpc = rpc;
                return rpc;
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task DropAsync()
        {
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                _rpc?.Dispose();
                _rpc = null;
            }
            finally
            {
                _gate.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await DropAsync().ConfigureAwait(false);
            _gate.Dispose();
        }
    }
}

/// <summary>A tool call that fails for a reason the agent should read (a refused token, a bad argument).</summary>
internal sealed class McpToolException(string message) : Exception(message);

/// <summary>The tools of <c>orchflow mcp</c>, their input schemas, and the strict reading of their arguments.</summary>
internal static class McpTools
{
    public const string MemoryStore = "memory_store";
    public const string MemoryGet = "memory_get";
    public const string MemorySearch = "memory_search";
    public const string MemoryDelete = "memory_delete";
    public const string WorkspaceInfo = "workspace_info";
    public const string ReportStatus = "report_status";

    public static IList<Tool> All { get; } =
    [
        Tool(MemoryStore, "Store an entry in this workspace's shared memory (visible to every agent of this workspace, and to nobody else). Replaces an entry with the same key.",
            new JsonObject
            {
                ["key"] = Prop("string", "The key, e.g. \"decisions/db\" (printable, at most 512 bytes)."),
                // One type: Gemini CLI validates arguments with Ajv in strict mode, which rejects a union of types.
                ["value"] = Prop("string", "The value, as text. With as_json it is JSON text (an object, array, number...) and is stored as that JSON value."),
                ["as_json"] = new JsonObject { ["type"] = "boolean", ["description"] = "Store value as JSON: it must then be valid JSON text. False when absent." },
                ["tags"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" }, ["description"] = "Tags to find it by." },
                ["ttl_seconds"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["description"] = "Seconds until it expires; 0 for never; the workspace's default when absent." },
            },
            "key", "value"),
        Tool(MemoryGet, "Read one entry of this workspace's memory by its key.",
            new JsonObject { ["key"] = Prop("string", "The key.") }, "key"),
        Tool(MemorySearch, "Find entries of this workspace's memory by key prefix, tags and text (all given filters must match), in key order.",
            new JsonObject
            {
                ["prefix"] = Prop("string", "Keys starting with this."),
                ["tags"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" }, ["description"] = "Entries carrying all of these tags." },
                ["text"] = Prop("string", "Entries whose key or value contains this, ignoring case."),
                ["limit"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 10000, ["description"] = "At most this many (100 when absent)." },
            }),
        Tool(MemoryDelete, "Delete one entry of this workspace's memory.",
            new JsonObject { ["key"] = Prop("string", "The key.") }, "key"),
        Tool(WorkspaceInfo, "This workspace: its name, root folder, namespace, its agents and their states, and its memory's use.", new JsonObject()),
        Tool(ReportStatus, "Tell Orchflow (and the user watching it) your status: needs_input when you wait for the user's answer, done when your task is finished, working when you continue.",
            new JsonObject
            {
                ["status"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("needs_input", "done", "working") },
                ["message"] = Prop("string", "The question, or what was done."),
            },
            "status"),
    ];

    private static Tool Tool(string name, string description, JsonObject properties, params string[] required)
    {
        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties, ["additionalProperties"] = false };
        if (required.Length > 0)
        {
            schema["required"] = new JsonArray(required.Select(r => (JsonNode)r).ToArray());
        }

        return new Tool { Name = name, Description = description, InputSchema = JsonSerializer.SerializeToElement(schema) };
    }

    private static JsonObject Prop(string type, string description) => new() { ["type"] = type, ["description"] = description };

    /// <summary>
    /// Arguments that MCP clients add to every call on their own, which carry nothing for the tool: accepted and dropped,
    /// by exact name. Gemini CLI adds <c>wait_for_previous</c> (whether to run the call after the previous one).
    /// Every other undeclared argument is still refused.
    /// </summary>
    public static readonly IReadOnlySet<string> ClientAddedArguments = new HashSet<string>(StringComparer.Ordinal) { "wait_for_previous" };

    /// <summary>The call's arguments, refusing any the tool does not declare: there is no argument that names a workspace.</summary>
    public static ToolArguments Arguments(CallToolRequestParams call)
    {
        var tool = All.FirstOrDefault(t => t.Name == call.Name) ?? throw new McpToolException($"There is no tool '{call.Name}'. The tools are: {string.Join(", ", All.Select(t => t.Name))}.");
        var declared = tool.InputSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var args = call.Arguments is null ? new Dictionary<string, JsonElement>() : new Dictionary<string, JsonElement>(call.Arguments);
        foreach (var name in ClientAddedArguments)
        {
            args.Remove(name);
        }

        foreach (var name in args.Keys)
        {
            if (!declared.Contains(name))
            {
                throw new McpToolException($"{call.Name} has no argument '{name}'" + (declared.Count > 0 ? $" (it takes {string.Join(", ", declared)})" : "")
                    + ". The tools always act on your own workspace; no argument can choose another one.");
            }
        }

        return new ToolArguments(call.Name, args);
    }

    public static McpMemoryStoreParams StoreParams(ToolArguments args, string token, string? client)
    {
        var value = args.Get("value") ?? throw new McpToolException("memory_store needs a value.");
        bool asJson = args.Bool("as_json") ?? false;
        // A client that sends a JSON value itself (not as text) is understood as meaning as_json.
        bool isText = value.ValueKind == JsonValueKind.String && !asJson;
        string stored = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        if (!isText)
        {
            try
            {
                using var _ = JsonDocument.Parse(stored);
            }
            catch (JsonException e)
            {
                throw new McpToolException($"memory_store: with as_json, value must be valid JSON text ({e.Message}). Leave as_json out to store it as text.");
            }
        }

        return new McpMemoryStoreParams
        {
            Token = token,
            Client = client,
            Key = args.RequireString("key"),
            Value = stored,
            Kind = isText ? MemoryValueKind.Text : MemoryValueKind.Json,
            Tags = args.StringList("tags"),
            TtlSeconds = args.Long("ttl_seconds"),
        };
    }

    public static McpMemorySearchParams SearchParams(ToolArguments args, string token, string? client) => new()
    {
        Token = token,
        Client = client,
        Prefix = args.String("prefix"),
        Tags = args.StringList("tags"),
        Text = args.String("text"),
        Limit = (int?)args.Long("limit"),
    };

    public static McpReportStatusParams StatusParams(ToolArguments args, string token, string? client) => new()
    {
        Token = token,
        Client = client,
        Status = args.RequireString("status") switch
        {
            "needs_input" => McpAgentStatus.NeedsInput,
            "done" => McpAgentStatus.Done,
            "working" => McpAgentStatus.Working,
            var other => throw new McpToolException($"report_status: status must be needs_input, done or working, not '{other}'."),
        },
        Message = args.String("message"),
    };

    /// <summary>What an agent needs of its workspace, without the parts that only matter to Orchflow's own UI.</summary>
    public static object Summarize(McpWorkspaceResult r) => new
    {
        workspace = new { id = r.Workspace.Id, name = r.Workspace.Name, root = r.Workspace.RootPath, @namespace = r.Workspace.Namespace, r.Workspace.Metadata.ProjectType },
        agents = r.Agents.Select(a => new { a.Id, a.Type, a.State, a.Task, a.Message, a.TerminalId }).ToList(),
        memory = new { r.Memory.State, r.Memory.Entries, r.Memory.Bytes, r.Memory.CapacityEntries, r.Memory.CapacityBytes, r.Memory.UsedPercent },
    };

    public static object Summarize(AgentInfo a) => new { a.Id, a.State, a.Message, a.DoneAt, a.NeedsInputSince };
}

internal sealed class ToolArguments(string tool, IReadOnlyDictionary<string, JsonElement> args)
{
    public JsonElement? Get(string name) => args.TryGetValue(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string RequireString(string name) => String(name) ?? throw new McpToolException($"{tool} needs '{name}' (a string).");

    public string? String(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        _ => throw new McpToolException($"{tool}: '{name}' must be a string."),
    };

    public bool? Bool(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw new McpToolException($"{tool}: '{name}' must be true or false."),
    };

    public long? Long(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt64(out var n) => n,
        _ => throw new McpToolException($"{tool}: '{name}' must be a whole number."),
    };

    public IReadOnlyList<string>? StringList(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } v when v.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) => v.EnumerateArray().Select(x => x.GetString()!).ToList(),
        _ => throw new McpToolException($"{tool}: '{name}' must be an array of strings."),
    };
}
