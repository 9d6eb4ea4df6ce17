using System.Text;
using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Server.Agents;
using Orchflow.Server.Hosting;
using Orchflow.Server.Terminals;

namespace Orchflow.Server.Cli;

/// <summary>
/// <c>orchflow agent logs ID --follow</c>: the agent's log file as plain text, then what is appended to it, until the
/// agent ends (or Ctrl-C). Two subscriptions drive it and nothing polls: inotify on the log's directory says the file
/// grew, <c>orchflow/agent/changed</c> says the agent ended or was removed.
/// </summary>
/// <remarks>
/// It reads the file rather than attaching to the agent's terminal on purpose: an attached client that reads slowly
/// (a pager, a slow pipe) holds the terminal back through flow control, and a log follower must never slow an agent.
/// The file is the daemon's own record (<see cref="AgentInfo.LogPath"/>, on the same machine, as the same user).
/// Once the agent's final state is published, one <c>orchflow/agent/logs</c> request waits until the daemon has
/// written the run's last output, so the follower reads the file to its true end before it stops.
/// </remarks>
internal static class AgentLogFollow
{
    /// <summary>Re-reads this often only when inotify cannot be used (no watch left); with it, nothing is timed.</summary>
    internal static readonly TimeSpan FallbackInterval = TimeSpan.FromMilliseconds(500);

    private sealed record FileTouched;

    /// <summary>Whoever read stdout has gone (<c>| head</c>, <c>| grep -m1</c>): following ends, as tail's would.</summary>
    private sealed class StdoutClosed : Exception;

    private sealed record ConnectionLost;

    public static async Task<int> RunAsync(string id, int? tail, Output output, OrchflowPaths paths)
    {
        try
        {
            return await FollowAsync(id, tail, output, paths).ConfigureAwait(false);
        }
        catch (StdoutClosed)
        {
            return 0;
        }
    }

    /// <summary>
    /// Writes to stdout as a plain byte stream (<see cref="Output.Terminal"/>): unlike .NET's console stream, which
    /// ignores a closed pipe, it fails, so the follower learns that nobody reads any more.
    /// </summary>
    private static void Print(Output output, string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        try
        {
            output.Terminal.Write(text);
        }
        catch (IOException)
        {
            throw new StdoutClosed();
        }
    }

    private static async Task<int> FollowAsync(string id, int? tail, Output output, OrchflowPaths paths)
    {
        var events = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true, register: rpc =>
            DaemonClient.On<AgentChangedNotification>(rpc, Methods.AgentChanged, n =>
            {
                if (n.Id == id)
                {
                    events.Writer.TryWrite(n);
                }
            })).ConfigureAwait(false);
        client.Rpc.Disconnected += (_, _) => events.Writer.TryWrite(new ConnectionLost());

        // Subscribed first, then read: an end in between is already in the channel.
        var agent = await client.InvokeAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = id }).ConfigureAwait(false);
        if (AgentFormat.IsFinal(agent.State))
        {
            var all = await client.InvokeAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = id, Tail = tail }).ConfigureAwait(false);
            Print(output, all.Text);
            output.Error.WriteLine($"[agent {agent.Id} {AgentFormat.State(agent)}]");
            return 0;
        }

        var file = new LogFileReader(agent.LogPath);
        var text = new PlainTextStream();
        FileSystemWatcher? watcher = null;
        bool watchFailed = false;
        void Watch()
        {
            if (watcher is not null || watchFailed)
            {
                return;
            }

            watcher = TryWatch(agent.LogPath, () => events.Writer.TryWrite(new FileTouched()), out watchFailed);
        }

        try
        {
            // The watch first, then the first read: growth in between wakes the loop, and the read takes it anyway.
            Watch();
            Print(output, text.Start(file.ReadNew(), tail));
            while (true)
            {
                object e;
                if (watchFailed)
                {
                    using var wait = new CancellationTokenSource(FallbackInterval);
                    try
                    {
                        e = await events.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        e = new FileTouched();
                    }
                }
                else
                {
                    e = await events.Reader.ReadAsync().ConfigureAwait(false);
                }

                // Many writes make many wake-ups: take every pending one, then read once.
                bool lost = false;
                AgentChangedNotification? change = null;
                for (var next = e; next is not null; next = events.Reader.TryRead(out var more) ? more : null)
                {
                    lost |= next is ConnectionLost;
                    change = next as AgentChangedNotification ?? change;
                }

                if (lost)
                {
                    Print(output, text.Feed(file.ReadNew()) + text.Flush());
                    throw new RemoteFailure("The connection to the Orchflow daemon was lost.", "See the daemon log with `orchflow daemon status`.", [], 0);
                }

                if (change is { Kind: AgentChangeKind.Removed })
                {
                    Print(output, text.Feed(file.ReadNew()) + text.Flush());
                    output.Error.WriteLine($"[agent {id} was removed]");
                    return 0;
                }

                if (change?.Agent is { } now)
                {
                    agent = now;

                    // A queued agent has no log directory until it starts.
                    Watch();
                    if (AgentFormat.IsFinal(now.State))
                    {
                        try
                        {
                            // Returns once the daemon has written the run's last output to the file.
                            await client.InvokeAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = id, Tail = 1 }).ConfigureAwait(false);
                        }
                        catch (RemoteFailure ex) when (ex.Code == ErrorCodes.NotFound)
                        {
                            // Removed meanwhile: what the file still holds is all there is.
                        }

                        Print(output, text.Feed(file.ReadNew()) + text.Flush());
                        output.Error.WriteLine($"[agent {now.Id} {AgentFormat.State(now)}]");
                        return 0;
                    }
                }

                Print(output, text.Feed(file.ReadNew()));
            }
        }
        finally
        {
            watcher?.Dispose();
        }
    }

    /// <summary>Watches the log's directory for the log and its rotation; null when it does not exist yet or inotify refuses.</summary>
    private static FileSystemWatcher? TryWatch(string logPath, Action touched, out bool failed)
    {
        failed = false;
        var dir = Path.GetDirectoryName(logPath)!;
        if (!Directory.Exists(dir))
        {
            return null;
        }

        var watcher = new FileSystemWatcher(dir, Path.GetFileName(logPath) + "*")
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            IncludeSubdirectories = false,
        };
        watcher.Changed += (_, _) => touched();
        watcher.Created += (_, _) => touched();
        watcher.Renamed += (_, _) => touched();
        watcher.Deleted += (_, _) => touched();

        // An overflowed event queue lost wake-ups, not data: a read catches up.
        watcher.Error += (_, _) => touched();
        try
        {
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (IOException)
        {
            // The user's inotify limits are used up (fs.inotify.max_user_instances or max_user_watches).
            watcher.Dispose();
            failed = true;
            return null;
        }
    }
}

/// <summary>
/// Reads what was appended to an agent's log since the last read, following its rotation: when the file is shorter
/// than what was read, it was moved to <c>.1</c> (<see cref="AgentLog"/>), whose rest is read first. The first read
/// takes the rotated file and the current one whole.
/// </summary>
internal sealed class LogFileReader(string path)
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private readonly Decoder _decoder = Utf8.GetDecoder();
    private long _offset = -1;

    public string ReadNew()
    {
        var text = new StringBuilder();
        long length = Length(path);
        if (_offset < 0)
        {
            // The first read: everything kept so far.
            Read(AgentLog.RotatedPath(path), 0, text);
            _offset = 0;
        }
        else if (length >= 0 && length < _offset)
        {
            // Rotated since the last read: the rest of the old file, then the new one from its start.
            Read(AgentLog.RotatedPath(path), _offset, text);
            _offset = 0;
        }

        if (length >= 0)
        {
            _offset += Read(path, _offset, text);
        }

        return text.ToString();
    }

    private static long Length(string file)
    {
        var info = new FileInfo(file);
        return info.Exists ? info.Length : -1;
    }

    private long Read(string file, long from, StringBuilder into)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }

        using (stream)
        {
            if (from > stream.Length)
            {
                return 0;
            }

            stream.Seek(from, SeekOrigin.Begin);
            var buffer = new byte[64 * 1024];
            var chars = new char[Utf8.GetMaxCharCount(buffer.Length)];
            long total = 0;
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                int count = _decoder.GetChars(buffer, 0, n, chars, 0, flush: false);
                into.Append(chars, 0, count);
                total += n;
            }

            return total;
        }
    }
}

/// <summary>
/// Terminal output arriving in pieces, shown as plain text as it comes: each complete line as <see cref="PlainText"/>
/// renders it, and the unfinished last line (a prompt waiting for an answer) as far as it is known, as long as what
/// arrives only extends it. When a carriage return rewrites the unfinished line (a progress bar), the rest waits for
/// the line's end, which is then printed on a line of its own.
/// </summary>
internal sealed class PlainTextStream
{
    /// <summary>An escape this close to the end of an unfinished line may be cut off; the text from it waits for more.</summary>
    internal const int EscapeWindow = 64;

    private readonly StringBuilder _line = new();
    private string _shown = "";

    /// <summary>What there is so far: with <paramref name="tailLines"/>, only that many complete lines, then the unfinished one.</summary>
    public string Start(string raw, int? tailLines)
    {
        int end = raw.LastIndexOf('\n') + 1;
        var result = new StringBuilder(PlainText.From(raw[..end], tailLines));
        _line.Append(raw, end, raw.Length - end);
        result.Append(ShowUnfinished());
        return result.ToString();
    }

    public string Feed(string raw)
    {
        var result = new StringBuilder();
        int start = 0;
        int newline;
        while ((newline = raw.IndexOf('\n', start)) >= 0)
        {
            _line.Append(raw, start, newline - start);
            result.Append(Complete(Render(_line.ToString())));
            _line.Clear();
            start = newline + 1;
        }

        _line.Append(raw, start, raw.Length - start);
        result.Append(ShowUnfinished());
        return result.ToString();
    }

    /// <summary>The output has ended: the unfinished line counts as complete.</summary>
    public string Flush()
    {
        var line = Render(_line.ToString());
        _line.Clear();
        return line.Length == 0 && _shown.Length == 0 ? "" : Complete(line);
    }

    private string Complete(string line)
    {
        var result = _shown.Length == 0 ? line + "\n"
            : line.StartsWith(_shown, StringComparison.Ordinal) ? line[_shown.Length..] + "\n"
            : "\n" + line + "\n";
        _shown = "";
        return result;
    }

    private string ShowUnfinished()
    {
        var raw = _line.ToString();
        int esc = raw.LastIndexOf('\x1b');
        if (esc >= 0 && raw.Length - esc <= EscapeWindow)
        {
            raw = raw[..esc];
        }

        var rendered = Render(raw);
        if (rendered.Length <= _shown.Length || !rendered.StartsWith(_shown, StringComparison.Ordinal))
        {
            return "";
        }

        var added = rendered[_shown.Length..];
        _shown = rendered;
        return added;
    }

    private static string Render(string rawLine) => PlainText.From(rawLine).TrimEnd('\n');
}
