using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using StreamJsonRpc;

namespace Orchflow.Server.Cli;

/// <summary>
/// <c>orchflow terminal attach</c>: the caller's terminal becomes the remote one until detach (Ctrl-B d), the
/// terminal's exit, or a signal. Every event (output, changes, keys, resizes, signals) goes through one channel,
/// read by one loop, so output is written in order and the end message comes after the last output.
/// </summary>
internal sealed class AttachSession
{
    /// <summary>Acknowledge output after this many characters written (as VS Code's terminal does).</summary>
    internal const int AckEvery = 5000;

    /// <summary>With stdin not a terminal, after its end: keep printing until output has been quiet this long...</summary>
    internal static readonly TimeSpan LingerQuiet = TimeSpan.FromMilliseconds(500);

    /// <summary>...but no longer than this after stdin ended.</summary>
    internal static readonly TimeSpan LingerMax = TimeSpan.FromSeconds(5);

    private const char Prefix = '\u0002'; // Ctrl-B, as in tmux

    private readonly Channel<object> _events = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Output _output;
    private readonly bool _tty;
    private DaemonClient? _client;
    private string _id;
    private char _lastWritten = '\n';

    private AttachSession(string id, Output output, bool tty)
    {
        _id = id;
        _output = output;
        _tty = tty;
    }

    private sealed record StdinEnded;

    private sealed record DetachRequested(int ExitCode);

    private sealed record WindowChanged;

    private sealed record Failed(Exception Error);

    private sealed record ConnectionLost;

    private sealed record End(string Message, int ExitCode, bool Detach);

    public static async Task<int> RunAsync(string id, Output output, OrchflowPaths paths)
    {
        var session = new AttachSession(id, output, RawMode.IsTerminal(RawMode.StdinFd));
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true, register: rpc =>
        {
            DaemonClient.On<TerminalOutputNotification>(rpc, Methods.TerminalOutput, session.OnOutput);
            DaemonClient.On<TerminalChangedNotification>(rpc, Methods.TerminalChanged, session.OnChanged);
        }).ConfigureAwait(false);
        session._client = client;
        client.Rpc.Disconnected += (_, _) => session.Post(new ConnectionLost());
        var attached = await client.InvokeAsync<TerminalAttachResult>(Methods.TerminalAttach, new TerminalRef { Id = id }).ConfigureAwait(false);
        session._id = attached.Terminal.Id;

        End end;
        RawMode? raw = null;
        var signals = new List<PosixSignalRegistration>();
        try
        {
            if (session._tty)
            {
                raw = RawMode.Enter(RawMode.StdinFd);
                signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => session.Post(new WindowChanged())));
            }

            foreach (var (signal, number) in new[] { (PosixSignal.SIGTERM, 15), (PosixSignal.SIGHUP, 1), (PosixSignal.SIGINT, 2) })
            {
                signals.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true;
                    raw?.Restore();
                    session.Post(new DetachRequested(128 + number));
                }));
            }

            if (attached.Terminal.Status == TerminalStatus.Running)
            {
                new Thread(session.PumpStdin) { IsBackground = true, Name = "attach stdin" }.Start();
            }

            end = await session.LoopAsync(attached).ConfigureAwait(false);
        }
        finally
        {
            foreach (var s in signals)
            {
                s.Dispose();
            }

            raw?.Dispose();
        }

        if (end.Detach)
        {
            try
            {
                await client.InvokeAsync<object?>(Methods.TerminalDetach, new TerminalRef { Id = session._id }).ConfigureAwait(false);
            }
            catch (RemoteFailure)
            {
                // The terminal ended meanwhile: nothing left to detach from.
            }
        }

        try
        {
            session.Write(session._lastWritten == '\n' ? end.Message + "\n" : "\n" + end.Message + "\n");
        }
        catch (IOException)
        {
            // stdout is gone (a hung-up terminal, a closed pipe): the exit code still tells.
        }

        return end.ExitCode;
    }

    public void OnOutput(TerminalOutputNotification notification) => Post(notification);

    public void OnChanged(TerminalChangedNotification notification) => Post(notification);

    private void Post(object e) => _events.Writer.TryWrite(e);

    private async Task<End> LoopAsync(TerminalAttachResult attached)
    {
        var client = _client!;
        WriteOutput(attached.Scrollback);
        long seq = attached.Seq;
        long acked = seq;
        await AckAsync(seq).ConfigureAwait(false);
        if (_tty)
        {
            await ResizeAsync().ConfigureAwait(false);
        }

        if (Ended(attached.Terminal) is { } already)
        {
            return already;
        }

        Stopwatch? lingering = null;
        var quietSince = TimeSpan.Zero;
        while (true)
        {
            object e;
            if (lingering is null)
            {
                e = await _events.Reader.ReadAsync().ConfigureAwait(false);
            }
            else
            {
                var now = lingering.Elapsed;
                var wait = TimeSpan.FromTicks(Math.Min((quietSince + LingerQuiet - now).Ticks, (LingerMax - now).Ticks));
                if (wait <= TimeSpan.Zero)
                {
                    return Detached(0);
                }

                using var timeout = new CancellationTokenSource(wait);
                try
                {
                    await _events.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return Detached(0);
                }

                if (!_events.Reader.TryRead(out e!))
                {
                    continue;
                }
            }

            switch (e)
            {
                case TerminalOutputNotification o when o.Id == _id:
                {
                    if (o.Seq <= seq)
                    {
                        break; // Already in the scrollback.
                    }

                    long start = o.Seq - o.Data.Length;
                    WriteOutput(start < seq ? o.Data[(int)(seq - start)..] : o.Data);
                    seq = o.Seq;
                    if (seq - acked >= AckEvery)
                    {
                        acked = seq;
                        await AckAsync(seq).ConfigureAwait(false);
                    }

                    if (lingering is not null)
                    {
                        quietSince = lingering.Elapsed;
                    }

                    break;
                }

                case TerminalChangedNotification c when c.Id == _id:
                {
                    if (c.Kind == TerminalChangeKind.Removed)
                    {
                        return new End($"[terminal {_id} was removed]", 0, false);
                    }

                    if (c.Terminal is { } t && Ended(t) is { } ended)
                    {
                        return ended;
                    }

                    break;
                }

                case WindowChanged:
                    await ResizeAsync().ConfigureAwait(false);
                    break;

                case DetachRequested d:
                    return Detached(d.ExitCode);

                case StdinEnded:
                    if (_tty)
                    {
                        return Detached(0);
                    }

                    lingering = Stopwatch.StartNew();
                    quietSince = TimeSpan.Zero;
                    break;

                case Failed { Error: RemoteFailure { Code: not 0 } } f:
                {
                    // Typing raced the terminal's end: say how it ended rather than how the input failed.
                    TerminalInfo now;
                    try
                    {
                        now = await client.InvokeAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = _id }).ConfigureAwait(false);
                    }
                    catch (RemoteFailure ex) when (ex.Code != 0)
                    {
                        return new End($"[terminal {_id} was removed]", 0, false);
                    }

                    return Ended(now) ?? throw f.Error;
                }

                case Failed f:
                    throw f.Error is RemoteFailure or CliException ? f.Error : new CliException($"Attach failed: {f.Error.Message}", 1);

                case ConnectionLost:
                    throw new RemoteFailure("The connection to the Orchflow daemon was lost.", "See the daemon log with `orchflow daemon status`.", [], 0);
            }
        }
    }

    private End Detached(int exitCode) => new($"[detached from {_id}]", exitCode, true);

    private End? Ended(TerminalInfo t) => t.Status switch
    {
        TerminalStatus.Running => null,
        TerminalStatus.Exited when t.ExitCode is { } code => new End($"[terminal {_id} exited with code {code}]", 0, false),
        TerminalStatus.Exited when t.Signal is { } signal => new End($"[terminal {_id} exited on signal {signal}]", 0, false),
        TerminalStatus.Exited => new End($"[terminal {_id} exited]", 0, false),
        TerminalStatus.Killed => new End($"[terminal {_id} was killed]", 0, false),
        _ => new End($"[terminal {_id} was lost]", 0, false),
    };

    private void WriteOutput(string data)
    {
        try
        {
            Write(data);
        }
        catch (IOException ex)
        {
            throw new CliException($"Cannot write the terminal's output: {ex.Message}", 1);
        }
    }

    private void Write(string data)
    {
        if (data.Length == 0)
        {
            return;
        }

        _output.Terminal.Write(data);
        _lastWritten = data[^1];
    }

    private async Task AckAsync(long seq)
    {
        try
        {
            await _client!.Rpc.NotifyWithParameterObjectAsync(Methods.TerminalAck, new TerminalAckParams { Id = _id, Seq = seq }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ConnectionLostException or ObjectDisposedException or IOException)
        {
            Post(new ConnectionLost());
        }
    }

    private async Task ResizeAsync()
    {
        if (RawMode.WindowSize(RawMode.StdoutFd, RawMode.StdinFd) is not { } size)
        {
            return;
        }

        try
        {
            await _client!.InvokeAsync<TerminalInfo>(Methods.TerminalResize, new TerminalResizeParams { Id = _id, Columns = size.Columns, Rows = size.Rows }).ConfigureAwait(false);
        }
        catch (RemoteFailure ex) when (ex.Code != 0)
        {
            // The terminal ended meanwhile; its changed notification ends the attach.
        }
    }

    /// <summary>Forwards stdin as typed, watching for the detach chord; a blocking reader on its own (background) thread.</summary>
    private void PumpStdin()
    {
        var buffer = new byte[4096];
        var chars = new char[buffer.Length + 4];
        var decoder = new UTF8Encoding(false).GetDecoder();
        bool prefix = false;
        try
        {
            while (true)
            {
                int n = RawMode.Read(RawMode.StdinFd, buffer);
                var send = new StringBuilder();
                if (n == 0)
                {
                    if (prefix)
                    {
                        send.Append(Prefix);
                    }

                    Send(send);
                    Post(new StdinEnded());
                    return;
                }

                int count = decoder.GetChars(buffer, 0, n, chars, 0, flush: false);
                for (int i = 0; i < count; i++)
                {
                    char c = chars[i];
                    if (prefix)
                    {
                        prefix = false;
                        if (c == 'd')
                        {
                            Send(send);
                            Post(new DetachRequested(0));
                            return;
                        }

                        // Ctrl-B Ctrl-B sends one Ctrl-B; Ctrl-B and any other key send both.
                        send.Append(Prefix);
                        if (c != Prefix)
                        {
                            send.Append(c);
                        }
                    }
                    else if (c == Prefix)
                    {
                        prefix = true;
                    }
                    else
                    {
                        send.Append(c);
                    }
                }

                Send(send);
            }
        }
        catch (Exception ex)
        {
            Post(new Failed(ex));
        }
    }

    private void Send(StringBuilder text)
    {
        if (text.Length > 0)
        {
            _client!.InvokeAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = _id, Data = text.ToString() }).GetAwaiter().GetResult();
        }
    }
}
