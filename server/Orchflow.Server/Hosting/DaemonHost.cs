using System.Net.Sockets;
using System.Runtime.InteropServices;
using Orchflow.Protocol;
using Orchflow.Server.Rpc;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Hosting;

/// <summary>
/// <c>orchflow daemon</c>: the long-lived backend of one user (per ORCHFLOW_HOME). It owns an exclusive lock file,
/// so there is never a second daemon (and never a second opener of the LiteDB file), listens on a Unix socket
/// (0600 in a 0700 directory) and serves every client on it until SIGTERM/SIGINT.
/// </summary>
public static class DaemonHost
{
    /// <summary>Exit code when another daemon already holds the lock; clients treat it as "connect to that one".</summary>
    public const int AlreadyRunningExitCode = 3;

    public static async Task<int> RunAsync(OrchflowPaths paths, bool background)
    {
        if (background)
        {
            Native.SetSid();
        }

        paths.EnsureDirectories();
        using var instanceLock = TryLock(paths.LockFile);
        if (instanceLock is null)
        {
            await Console.Error.WriteLineAsync($"orchflow: a daemon is already running for {paths.DisplayHome} (pid {ReadPid(paths) ?? "?"}).").ConfigureAwait(false);
            return AlreadyRunningExitCode;
        }

        using var log = Log.ToFile(paths.LogFile);
        log.Info($"Daemon {OrchflowServer.Version} starting, pid {Environment.ProcessId}, home {paths.DisplayHome}");
        using var database = Database.Open(paths.DatabaseFile, log);
        if (database.RecoveredFrom is { } aside)
        {
            await Console.Error.WriteLineAsync($"orchflow: the database was damaged and has been moved to {aside}; a new one was started.").ConfigureAwait(false);
        }

        // The pid file is written before the socket accepts, so every client that connects can name the daemon.
        await File.WriteAllTextAsync(paths.PidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        using var listener = Listen(paths.SocketPath);
        using var mcpListener = Listen(paths.McpSocketPath);
        await using var server = new OrchflowServer(paths, database, log, paths.SocketPath, mcpSocketPath: paths.McpSocketPath);

        using var stop = new CancellationTokenSource();

        // Orphans of workspace processes come to the daemon, which reaps them (PID 1 may not).
        Processes.OrphanReaper.Start(log, stop.Token);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => ctx.Cancel = true);

        log.Info($"Listening on {paths.SocketPath}");
        if (background)
        {
            // From here on nothing is written to the caller's streams; the log file has everything.
            Native.DetachStandardStreams();
        }

        try
        {
            await Task.WhenAll(
                AcceptLoopAsync(listener, server, log, mcpOnly: false, stop.Token),
                AcceptLoopAsync(mcpListener, server, log, mcpOnly: true, stop.Token)).ConfigureAwait(false);
        }
        finally
        {
            log.Info("Daemon stopping");
            TryDelete(paths.SocketPath);
            TryDelete(paths.McpSocketPath);
            TryDelete(paths.PidFile);
        }

        log.Info("Daemon stopped");
        return 0;
    }

    public static string? ReadPid(OrchflowPaths paths)
    {
        try
        {
            return File.ReadAllText(paths.PidFile).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Takes the instance lock; on Linux .NET maps FileShare.None to flock(LOCK_EX|LOCK_NB), released by the kernel when the process dies.</summary>
    public static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static Socket Listen(string socketPath)
    {
        // The lock is ours, so a socket file left behind is stale (a crashed daemon): replace it.
        TryDelete(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        socket.Listen(128);
        return socket;
    }

    private static async Task AcceptLoopAsync(Socket listener, OrchflowServer server, Log log, bool mcpOnly, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException ex)
            {
                log.Warn($"accept failed: {ex.Message}");
                continue;
            }

            // The main socket is hidden from sandboxes, and refuses the processes of any that reach it all the same
            // (Landlock cannot keep them from connecting to a named socket). The MCP socket serves sandboxed agents by
            // design: each call carries the agent's token.
            string? refusal = null;
            if (!mcpOnly && server.Isolation.Backend.Available)
            {
                (refusal, int pid, bool gone) = Security.SandboxedPeers.Check(client);
                if (refusal is not null)
                {
                    AuditRefusal(server, refusal, pid, gone);
                }
            }

            var stream = new NetworkStream(client, ownsSocket: true);
            server.Attach(stream, stream, mcpOnly ? "mcp socket" : "socket", mcpOnly: mcpOnly, refusal: refusal);
        }
    }

    /// <summary>Writes a refused connection into the audit log of the workspace the peer belongs to (by control group, else by ancestry).</summary>
    /// <param name="gone">The peer ended before it could be checked: nothing can use the connection, so where its workspace is unknown the log line is only a debug one.</param>
    private static void AuditRefusal(OrchflowServer server, string refusal, int pid, bool gone)
    {
        var workspaceId = Security.SandboxedPeers.WorkspaceOf(pid, Limits.CgroupProbe.DaemonKey(server.Paths.DataDirectory));
        if (workspaceId is null)
        {
            var terminals = server.Terminals.List(null).Where(t => t.Pid is not null).GroupBy(t => t.Pid!.Value).ToDictionary(g => g.Key, g => g.First().WorkspaceId);
            workspaceId = Security.SandboxedPeers.WorkspaceByAncestry(pid, p => terminals.GetValueOrDefault(p));
        }

        if (workspaceId is not null)
        {
            server.Isolation.Audit.Add(workspaceId, Protocol.AuditKind.Refused, $"Refused a connection to Orchflow's socket: {refusal}.", "security.tier", $"pid {pid}");
        }
        else
        {
            server.Log.Write(gone ? LogLevel.Debug : LogLevel.Warn, $"Refused a connection to Orchflow's socket from a process of no known workspace: {refusal}");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
