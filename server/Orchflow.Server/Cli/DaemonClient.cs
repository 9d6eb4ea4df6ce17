using System.Diagnostics;
using System.Net.Sockets;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Processes;
using StreamJsonRpc;

namespace Orchflow.Server.Cli;

/// <summary>A failure reported by the daemon, with what the user can do about it. Exit code 1.</summary>
public sealed class RemoteFailure(string message, string? hint, IReadOnlyList<Diagnostic> diagnostics, int code) : Exception(message)
{
    public string? Hint { get; } = hint;

    public IReadOnlyList<Diagnostic> Diagnostics { get; } = diagnostics;

    public int Code { get; } = code;
}

/// <summary>
/// The client side of the daemon: connect to its socket, starting it when none runs (never two: a spawn lock
/// serializes starters, and the daemon's own instance lock refuses a second one), then speak the same protocol
/// as VS Code.
/// </summary>
public sealed class DaemonClient : IAsyncDisposable
{
    /// <summary>How long a starter waits for a new daemon to accept connections (cold start is ~0.2 s; a loaded CI machine is slower).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly JsonRpc _rpc;

    private DaemonClient(JsonRpc rpc, InitializeResult init)
    {
        _rpc = rpc;
        Initialize = init;
    }

    public InitializeResult Initialize { get; }

    public JsonRpc Rpc => _rpc;

    /// <param name="register">Adds local methods (notification handlers) to the connection before it starts listening, so none is missed.</param>
    public static async Task<DaemonClient> ConnectAsync(OrchflowPaths paths, bool autoStart, string clientName = "orchflow-cli", Action<JsonRpc>? register = null, CancellationToken cancellationToken = default)
    {
        var socket = await TryConnectAsync(paths.SocketPath, cancellationToken).ConfigureAwait(false);
        if (socket is null)
        {
            if (!autoStart)
            {
                throw new RemoteFailure($"No Orchflow daemon is running for {paths.DisplayHome}.", "Start one with `orchflow daemon start`.", [], ErrorCodes.NotFound);
            }

            socket = (await EnsureDaemonAsync(paths, cancellationToken).ConfigureAwait(false)).Socket;
        }

        return await ConnectAsync(new NetworkStream(socket, ownsSocket: true), clientName, register, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Speaks to the daemon over a stream already joined to its socket: a relay run by another process (the escape suite
    /// reaches an unprivileged user's daemon through one that user runs, as that user's own clients would connect).
    /// </summary>
    public static async Task<DaemonClient> ConnectAsync(Stream stream, string clientName, Action<JsonRpc>? register = null, CancellationToken cancellationToken = default)
    {
        var rpc = OrchflowClientRpc.Create(stream);
        register?.Invoke(rpc);
        rpc.StartListening();
        var init = await InvokeAsync<InitializeResult>(rpc, Methods.Initialize, new InitializeParams
        {
            ProcessId = Environment.ProcessId,
            ClientInfo = new ClientInfo { Name = clientName, Version = global::Orchflow.Server.Rpc.OrchflowServer.Version },
        }, cancellationToken).ConfigureAwait(false);
        await rpc.NotifyWithParameterObjectAsync(Methods.Initialized, new { }).ConfigureAwait(false);
        return new DaemonClient(rpc, init);
    }

    /// <summary>Handles a notification of the daemon; call it from the <c>register</c> callback of <c>ConnectAsync</c>.</summary>
    public static void On<T>(JsonRpc rpc, string method, Action<T> handler) =>
        rpc.AddLocalRpcMethod(handler.Method, handler.Target, new JsonRpcMethodAttribute(method) { UseSingleObjectParameterDeserialization = true });

    public Task<T> InvokeAsync<T>(string method, object parameters, CancellationToken cancellationToken = default) =>
        InvokeAsync<T>(_rpc, method, parameters, cancellationToken);

    private static async Task<T> InvokeAsync<T>(JsonRpc rpc, string method, object parameters, CancellationToken cancellationToken)
    {
        try
        {
            return await rpc.InvokeWithParameterObjectAsync<T>(method, parameters, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteInvocationException ex)
        {
            throw ToFailure(ex);
        }
        catch (ConnectionLostException)
        {
            throw new RemoteFailure("The connection to the Orchflow daemon was lost.", "See the daemon log with `orchflow daemon status`.", [], 0);
        }
    }

    private static RemoteFailure ToFailure(RemoteInvocationException ex)
    {
        var data = ex.ErrorData as ErrorData;
        return new RemoteFailure(ex.Message, data?.Hint, data?.Diagnostics ?? [], ex.ErrorCode);
    }

    public sealed record EnsureResult(Socket Socket, int? Pid, bool Started);

    /// <summary>Connects to the daemon, starting it first when none answers. Safe to call from many processes at once.</summary>
    public static async Task<EnsureResult> EnsureDaemonAsync(OrchflowPaths paths, CancellationToken cancellationToken = default)
    {
        var existing = await TryConnectAsync(paths.SocketPath, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return new EnsureResult(existing, ParsePid(paths), false);
        }

        paths.EnsureDirectories();
        var deadline = Stopwatch.StartNew();

        // Starters queue on the spawn lock, so only one of them launches a daemon; the others find it running.
        FileStream? spawnLock;
        while ((spawnLock = DaemonHost.TryLock(paths.SpawnLockFile)) is null)
        {
            if (deadline.Elapsed > StartTimeout)
            {
                throw new RemoteFailure("Timed out waiting for another process that is starting the Orchflow daemon.", $"See {paths.LogFile}.", [], 0);
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        using (spawnLock)
        {
            existing = await TryConnectAsync(paths.SocketPath, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                return new EnsureResult(existing, ParsePid(paths), false);
            }

            var (file, args) = SelfCommand(["daemon", "--background"]);
            (file, args) = RuntimeDiagnostics.Closed(file, args);
            var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
            using var process = ProcessFactory.StartBackground(file, args, "/", environment);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            while (deadline.Elapsed < StartTimeout)
            {
                var socket = await TryConnectAsync(paths.SocketPath, cancellationToken).ConfigureAwait(false);
                if (socket is not null)
                {
                    return new EnsureResult(socket, process.Id, true);
                }

                if (process.HasExited)
                {
                    if (process.ExitCode == DaemonHost.AlreadyRunningExitCode)
                    {
                        continue; // Someone else's daemon won the instance lock: connect to it.
                    }

                    var reason = (await stderr.ConfigureAwait(false)).Trim();
                    throw new RemoteFailure($"The Orchflow daemon failed to start (exit code {process.ExitCode}): {(reason.Length > 0 ? reason : "no message")}", $"See {paths.LogFile}.", [], 0);
                }

                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }

            throw new RemoteFailure($"The Orchflow daemon did not accept connections within {StartTimeout.TotalSeconds:0} s.", $"See {paths.LogFile}.", [], 0);
        }
    }

    /// <summary>How to run this same program again: the apphost directly, or <c>dotnet orchflow.dll</c> when hosted by dotnet (tests).</summary>
    public static (string File, List<string> Args) SelfCommand(IEnumerable<string> args)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var list = new List<string>();
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            list.Add(typeof(DaemonClient).Assembly.Location);
        }

        list.AddRange(args);
        return (processPath, list);
    }

    private static int? ParsePid(OrchflowPaths paths) =>
        int.TryParse(DaemonHost.ReadPid(paths), out var pid) ? pid : null;

    private static async Task<Socket?> TryConnectAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _rpc.InvokeWithParameterObjectAsync<object?>(Methods.Shutdown, null).ConfigureAwait(false);
            await _rpc.NotifyWithParameterObjectAsync(Methods.Exit, null).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ConnectionLostException or RemoteInvocationException or ObjectDisposedException or IOException)
        {
        }

        _rpc.Dispose();
    }
}
