using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using StreamJsonRpc;

namespace Orchflow.Server.Cli;

internal static class TerminalCommands
{
    private const string Verbs = "create, list, send, read, kill or attach";
    private const string IdHint = "terminal ID (see `orchflow terminal list`)";

    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory)
    {
        var verb = cmd.Positional(1) ?? throw new CliException($"Missing terminal command: {Verbs}.");
        switch (verb)
        {
            case "create" or "new":
            {
                bool json = cmd.Flag("json");
                var cwd = cmd.Option("cwd");
                var command = cmd.Option("cmd");
                if (command is { } c && string.IsNullOrWhiteSpace(c))
                {
                    throw new CliException("--cmd needs a command line (leave it out for an interactive shell).");
                }

                var p = new TerminalCreateParams
                {
                    WorkspaceId = cmd.Option("workspace"),
                    Name = cmd.Option("name"),
                    Purpose = ParsePurpose(cmd.Option("purpose")),
                    Command = command,
                    Cwd = cwd is null ? null : Path.GetFullPath(ExpandHome(cwd), workingDirectory),
                };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var t = await client.InvokeAsync<TerminalInfo>(Methods.TerminalCreate, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(t);
                }
                else
                {
                    output.Line($"Created terminal '{t.Id}' ({t.Name}) in workspace '{t.WorkspaceId}'.");
                }

                return 0;
            }

            case "list" or "ls":
            {
                bool json = cmd.Flag("json");
                var p = new TerminalListParams { WorkspaceId = cmd.Option("workspace") };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var result = await client.InvokeAsync<TerminalListResult>(Methods.TerminalList, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(result);
                    return 0;
                }

                output.Table(
                    ["ID", "WORKSPACE", "NAME", "PURPOSE", "STATUS", "PID", "COMMAND"],
                    result.Terminals.Select(t => (IReadOnlyList<string>)
                    [
                        t.Id,
                        t.WorkspaceId,
                        t.Name,
                        t.Purpose.ToString().ToLowerInvariant(),
                        Status(t),
                        t.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-",
                        CommandLineText(t.Command),
                    ]));
                return 0;
            }

            case "send":
            {
                bool json = cmd.Flag("json");
                var id = cmd.RequirePositional(2, IdHint);
                var text = cmd.RequirePositional(3, @"TEXT to send (e.g. 'ls\r': \r is Enter)");
                cmd.EnsureNoUnknown(maxPositionals: 4);
                var p = new TerminalInputParams { Id = id, Data = Unescape(text) };
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                await client.InvokeAsync<object?>(Methods.TerminalInput, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(p);
                }

                return 0;
            }

            case "read":
            {
                bool json = cmd.Flag("json");
                var id = cmd.RequirePositional(2, IdHint);
                var p = new TerminalReadParams { Id = id, Tail = ParseTail(cmd.Option("tail")), Screen = cmd.Flag("screen") };
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var result = await client.InvokeAsync<TerminalReadResult>(Methods.TerminalRead, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(result);
                }
                else if (result.Text.Length > 0)
                {
                    output.Line(result.Text.EndsWith('\n') ? result.Text[..^1] : result.Text);
                }

                return 0;
            }

            case "kill" or "rm":
            {
                bool json = cmd.Flag("json");
                var id = cmd.RequirePositional(2, IdHint);
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var t = await client.InvokeAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = id }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(t);
                }
                else
                {
                    output.Line($"Killed terminal '{t.Id}' ({t.Name}).");
                }

                return 0;
            }

            case "attach":
            {
                var id = cmd.RequirePositional(2, IdHint);
                cmd.EnsureNoUnknown(maxPositionals: 3);
                return await AttachSession.RunAsync(id, output, paths).ConfigureAwait(false);
            }

            default:
                throw new CliException($"Unknown terminal command '{verb}'. Use {Verbs}.");
        }
    }

    /// <summary>
    /// TEXT of <c>terminal send</c> as typed: <c>\r</c> (Enter), <c>\n</c>, <c>\t</c>, <c>\e</c> (Esc), <c>\xHH</c>
    /// (the character U+00HH, e.g. <c>\x03</c> for Ctrl-C) and <c>\\</c> become those characters; any other
    /// backslash is a usage error, so a typo never sends something else.
    /// </summary>
    internal static string Unescape(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            if (i + 1 >= text.Length)
            {
                throw new CliException(@"TEXT ends with a lone backslash; write \\ for a backslash.");
            }

            char e = text[++i];
            switch (e)
            {
                case 'r': sb.Append('\r'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'e': sb.Append('\u001b'); break;
                case '\\': sb.Append('\\'); break;
                case 'x':
                    if (i + 2 >= text.Length
                        || !byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
                    {
                        throw new CliException(@"\x in TEXT needs two hex digits, e.g. \x03 for Ctrl-C.");
                    }

                    sb.Append((char)value);
                    i += 2;
                    break;
                default:
                    throw new CliException($@"Unknown escape \{e} in TEXT; the escapes are \r \n \t \e \xHH and \\ (a backslash).");
            }
        }

        return sb.ToString();
    }

    internal static string Status(TerminalInfo t) => t.Status switch
    {
        TerminalStatus.Running => "running",
        TerminalStatus.Exited when t.ExitCode is { } code => $"exited {code}",
        TerminalStatus.Exited when t.Signal is { } signal => $"exited signal {signal}",
        TerminalStatus.Exited => "exited",
        TerminalStatus.Killed => "killed",
        TerminalStatus.Lost => "lost",
        _ => t.Status.ToString().ToLowerInvariant(),
    };

    /// <summary>The command as one line a shell would read back: arguments with spaces or quotes single-quoted.</summary>
    internal static string CommandLineText(IReadOnlyList<string> command) =>
        string.Join(' ', command.Select(a =>
            a.Length > 0 && a.All(ch => char.IsAsciiLetterOrDigit(ch) || "-_./=:,+@%".Contains(ch, StringComparison.Ordinal))
                ? a
                : "'" + a.Replace("'", @"'\''", StringComparison.Ordinal) + "'"));

    private static TerminalPurpose? ParsePurpose(string? value) => value switch
    {
        null => null,
        "shell" => TerminalPurpose.Shell,
        "build" => TerminalPurpose.Build,
        "test" => TerminalPurpose.Test,
        "repl" => TerminalPurpose.Repl,
        "agent" => TerminalPurpose.Agent,
        _ => throw new CliException($"Unknown --purpose '{value}'. Use shell, build, test, repl or agent."),
    };

    internal static int? ParseTail(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            throw new CliException($"--tail needs a number of lines (1 or more), not '{value}'.");
        }

        return n;
    }

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;
}

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
