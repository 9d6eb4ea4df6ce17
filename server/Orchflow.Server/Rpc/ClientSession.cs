using Orchflow.Protocol;
using StreamJsonRpc;

namespace Orchflow.Server.Rpc;

/// <summary>
/// One connected client (a VS Code window, a CLI call): its JSON-RPC connection, its lifecycle state and its
/// active workspace. Each capability adds its handler object to the connection in <see cref="OrchflowServer.Attach"/>.
/// </summary>
public sealed class ClientSession
{
    private static int s_nextId;
    private readonly OrchflowServer _server;

    internal ClientSession(OrchflowServer server, string transport)
    {
        _server = server;
        Id = Interlocked.Increment(ref s_nextId);
        Transport = transport;
    }

    public int Id { get; }

    public string Transport { get; }

    public OrchflowJsonRpc Rpc { get; internal set; } = null!;

    public ClientInfo? ClientInfo { get; internal set; }

    /// <summary>Who asked, as the events say it ("stopped by vscode"): the client's name, else "client N".</summary>
    public string By => ClientInfo?.Name ?? $"client {Id}";

    public bool Initialized { get; private set; }

    public bool ShutdownRequested { get; private set; }

    /// <summary>A connection on the MCP socket: it may call only the lifecycle and orchflow/mcp/* (each with a token).</summary>
    public bool McpOnly { get; internal set; }

    /// <summary>The connected socket, for asking the kernel who the peer is (<see cref="Security.PersonCheck"/>); null without one (stdio, in-memory).</summary>
    internal System.Net.Sockets.Socket? Peer { get; init; }

    /// <summary>Why this client is refused (it runs inside a sandbox); set at accept, before anything is served.</summary>
    public string? Refusal { get; internal init; }

    /// <summary>The workspace this client switched to last; per client, so two windows can work in different workspaces.</summary>
    public string? ActiveWorkspaceId { get; internal set; }

    public Task Completion => Rpc.Completion;

    /// <summary>Raised when the client sent <c>exit</c>.</summary>
    internal event Action<ClientSession>? ExitRequested;

    /// <summary>
    /// The methods a connection may call before <c>initialize</c> and after <c>shutdown</c>: the lifecycle's own, and
    /// terminal/ack, a notification that only acknowledges output already sent (a client that is closing keeps
    /// acknowledging, or the terminal's output would stall for every other client).
    /// </summary>
    public static bool IsUnchecked(string method) => method is Methods.Initialize or Methods.Initialized or Methods.Exit or Methods.TerminalAck;

    /// <summary>
    /// LSP: a call before initialize fails with ServerNotInitialized (-32002), and after shutdown with ShuttingDown.
    /// Checked once, for every method but the <see cref="IsUnchecked"/> ones, where calls are dispatched
    /// (<see cref="OrchflowJsonRpc"/>), so no handler can forget it.
    /// </summary>
    /// <remarks>
    /// StreamJsonRpc reads messages in order and calls this for each one before the next is read, but runs the handlers
    /// later, concurrently. So the lifecycle's transitions happen here, in the order the client sent its messages: a
    /// request sent after initialize is served even when initialize's handler has not run yet, and one sent before
    /// shutdown is served even when shutdown's handler has.
    /// </remarks>
    internal void Admit(string method)
    {
        if (method == Methods.Initialize)
        {
            if (Initialized)
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, "This connection is already initialized.", "Send 'initialize' once per connection.");
            }

            if (Refusal is { } refusal)
            {
                _server.Log.Warn($"{this} refused: {refusal}");
                throw new OrchflowException(ErrorCodes.Unauthorized, $"Orchflow refused this connection: {refusal}.",
                    "Run orchflow from outside the workspace's sandbox (a terminal of a standard workspace, or your own shell); agents reach their workspace through the MCP tools.");
            }

            Initialized = true;
            return;
        }

        if (IsUnchecked(method))
        {
            return;
        }

        if (!Initialized)
        {
            throw new OrchflowException(ErrorCodes.NotInitialized, "The client must send 'initialize' first.", "Start every connection with the LSP initialize request.");
        }

        if (ShutdownRequested)
        {
            throw new OrchflowException(ErrorCodes.ShuttingDown, "This connection has sent 'shutdown'; only 'exit' is accepted now.");
        }

        if (method == Methods.Shutdown)
        {
            ShutdownRequested = true;
        }
    }

    /// <summary>Refuses a call that an MCP-socket connection may not make (it reaches nothing but its token's workspace).</summary>
    public void EnsureFullAccess()
    {
        if (McpOnly)
        {
            throw new OrchflowException(ErrorCodes.Unauthorized, "This connection is the MCP socket's; it serves only orchflow/mcp/* calls with an agent's token.");
        }
    }

    /// <summary>Sends a notification; a client that has gone away is not an error.</summary>
    public async Task NotifyAsync(string method, object payload)
    {
        try
        {
            await Rpc.NotifyWithParameterObjectAsync(method, payload).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ConnectionLostException or ObjectDisposedException or IOException)
        {
        }
    }

    internal void RaiseExit() => ExitRequested?.Invoke(this);

    public override string ToString() => $"client {Id} ({ClientInfo?.Name ?? "unknown"} over {Transport})";
}
