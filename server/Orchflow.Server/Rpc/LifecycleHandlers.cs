using Orchflow.Protocol;
using StreamJsonRpc;

namespace Orchflow.Server.Rpc;

/// <summary>The LSP lifecycle (initialize, initialized, shutdown, exit) and orchflow/status.</summary>
public sealed class LifecycleHandlers(ClientSession session, OrchflowServer server)
{
    public const string ProtocolVersion = "1.0";

    [JsonRpcMethod(Methods.Initialize, UseSingleObjectParameterDeserialization = true)]
    public InitializeResult Initialize(InitializeParams p)
    {
        if (session.Initialized)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "This connection is already initialized.", "Send 'initialize' once per connection.");
        }

        if (session.Refusal is { } refusal)
        {
            server.Log.Warn($"{session} refused: {refusal}");
            throw new OrchflowException(ErrorCodes.Unauthorized, $"Orchflow refused this connection: {refusal}.",
                "Run orchflow from outside the workspace's sandbox (a terminal of a standard workspace, or your own shell); agents reach their workspace through the MCP tools.");
        }

        session.ClientInfo = p.ClientInfo;
        session.Initialized = true;
        server.Log.Debug($"{session} initialized (pid {p.ProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"})");
        return new InitializeResult
        {
            Capabilities = new ServerCapabilities { ProtocolVersion = ProtocolVersion, Features = session.McpOnly ? ["mcp"] : ["workspaces", "terminals", "agents", "memory"] },
            ServerInfo = new ServerInfo { Name = "orchflow", Version = OrchflowServer.Version },
            Daemon = server.Info,
        };
    }

    [JsonRpcMethod(Methods.Initialized)]
    public void Initialized()
    {
    }

    [JsonRpcMethod(Methods.Shutdown)]
    public object? Shutdown()
    {
        session.ShutdownRequested = true;
        return null;
    }

    [JsonRpcMethod(Methods.Exit)]
    public void Exit() => session.RaiseExit();

    [JsonRpcMethod(Methods.Status, UseSingleObjectParameterDeserialization = true)]
    public StatusResult Status(StatusParams? p = null)
    {
        session.EnsureFullAccess();
        return server.GetStatus(session);
    }
}
