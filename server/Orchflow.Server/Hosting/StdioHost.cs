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
    /// <summary>
    /// How long after LSP's exit the process waits before ending: StreamJsonRpc answers requests concurrently,
    /// so responses to requests that arrived just before exit may still be on their way out (like VS Code's data
    /// flush delay before reporting a terminal's exit).
    /// </summary>
    public static readonly TimeSpan ExitFlushDelay = TimeSpan.FromMilliseconds(200);

    public static async Task<int> RunAsync(OrchflowPaths paths)
    {
        paths.EnsureDirectories();
        using var instanceLock = DaemonHost.TryLock(paths.LockFile);
        if (instanceLock is null)
        {
            await Console.Error.WriteLineAsync($"orchflow: a daemon is running for {paths.DisplayHome} (pid {DaemonHost.ReadPid(paths) ?? "?"}); connect to its socket {paths.SocketPath}, or stop it with `orchflow daemon stop`.").ConfigureAwait(false);
            return DaemonHost.AlreadyRunningExitCode;
        }

        var log = Log.ToFile(paths.LogFile);
        var database = Database.Open(paths.DatabaseFile, log);
        var server = new OrchflowServer(paths, database, log, socketPath: null);
        var exitRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var session = server.Attach(Console.OpenStandardOutput(), new GraceAtEndStream(Console.OpenStandardInput(), ExitFlushDelay), "stdio", s => { _ = Task.Delay(ExitFlushDelay).ContinueWith(t => exitRequested.TrySetResult(), TaskScheduler.Default); });
        await Task.WhenAny(session.Completion, exitRequested.Task).ConfigureAwait(false);

        // LSP: exit after shutdown is a clean end (0); exit or end of input without shutdown is 1.
        int code = session.ShutdownRequested ? 0 : 1;
        log.Info($"stdio client ended; exiting with {code}");
        await server.DisposeAsync().ConfigureAwait(false);
        database.Dispose();
        log.Dispose();
        instanceLock.Dispose();

        // A blocking read of stdin may still be pending inside the runtime; it would keep the process alive until the
        // client closes the pipe, so end the process now that everything is flushed and closed.
        Environment.Exit(code);
        return code;
    }

    /// <summary>
    /// Reports the end of the client's input only after <see cref="ExitFlushDelay"/>: StreamJsonRpc closes the
    /// connection at end of input, which would drop the responses to requests read just before it (a client that writes
    /// its requests and closes its end at once). The same grace as after LSP's exit.
    /// </summary>
    private sealed class GraceAtEndStream(Stream inner, TimeSpan grace) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0 && buffer.Length > 0)
            {
                await Task.Delay(grace, cancellationToken).ConfigureAwait(false);
            }

            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
