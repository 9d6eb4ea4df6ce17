using Orchflow.Server.Rpc;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Hosting;

/// <summary>
/// <c>orchflow serve --stdio</c>: serves exactly one client over stdin/stdout (for clients such as
/// vscode-languageclient that start their server as a child). It owns ORCHFLOW_HOME like the daemon does,
/// so it refuses to start while a daemon runs for the same home. stdout carries only protocol; logs go to the file.
/// </summary>
public static class StdioHost
{
    public static async Task<int> RunAsync(OrchflowPaths paths)
    {
        paths.EnsureDirectories();
        using var instanceLock = DaemonHost.TryLock(paths.LockFile);
        if (instanceLock is null)
        {
            await Console.Error.WriteLineAsync($"orchflow: a daemon is running for {paths.DisplayHome} (pid {DaemonHost.ReadPid(paths) ?? "?"}); connect to its socket {paths.SocketPath}, or stop it with `orchflow daemon stop`.").ConfigureAwait(false);
            return DaemonHost.AlreadyRunningExitCode;
        }

        using var log = Log.ToFile(paths.LogFile);
        using var database = Database.Open(paths.DatabaseFile, log);
        await using var server = new OrchflowServer(paths, database, log, socketPath: null);
        var session = server.Attach(Console.OpenStandardOutput(), Console.OpenStandardInput(), "stdio");
        try
        {
            await session.Completion.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            log.Warn($"stdio connection ended: {ex.Message}");
        }

        // LSP: exit after shutdown is a clean end (0); exit or end of input without shutdown is 1.
        return session.ShutdownRequested ? 0 : 1;
    }
}
