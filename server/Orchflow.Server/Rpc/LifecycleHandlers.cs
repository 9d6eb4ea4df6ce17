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
        // ClientSession.Admit refused a second initialize and a refused connection, and marked this one initialized.
        session.ClientInfo = p.ClientInfo;
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
    public object? Shutdown() => null; // ClientSession.Admit marked the connection shut down, in the order its messages came.

    [JsonRpcMethod(Methods.Exit)]
    public void Exit() => session.RaiseExit();

    [JsonRpcMethod(Methods.Status, UseSingleObjectParameterDeserialization = true)]
    public StatusResult Status(StatusParams? p = null)
    {
        session.EnsureFullAccess();
        return server.GetStatus(session);
    }
}
