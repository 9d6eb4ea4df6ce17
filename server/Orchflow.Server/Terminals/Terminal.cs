using System.Text;
using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Rpc;
using Orchflow.Server.Terminals.Screen;

namespace Orchflow.Server.Terminals;

/// <summary>
/// One terminal: its PTY process, its scrollback, and the clients attached to it. Output is decoded once
/// (a stateful UTF-8 decoder, so a character split across reads is never mangled), kept in the scrollback, and
/// queued to each attached client in order. Flow control follows VS Code: when any attached client has more than
/// <see cref="HighWatermarkChars"/> unacknowledged characters the PTY stops being read (the child blocks, the daemon
/// holds no more), and reading resumes once every client is below <see cref="LowWatermarkChars"/>.
/// Input never waits for output, so Ctrl-C gets through a flood.
/// </summary>
public sealed class Terminal : IPtyOutputSink
{
    /// <summary>VS Code pauses a PTY above 100,000 unacknowledged characters...</summary>
    public const int HighWatermarkChars = 100_000;

    /// <summary>...and resumes it below 5,000.</summary>
    public const int LowWatermarkChars = 5_000;

    private readonly object _gate = new();
    private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
    private readonly Scrollback _scrollback;
    private readonly Dictionary<int, Attachment> _attachments = new();
    private readonly Action<Terminal> _onExit;
    private long _seq;
    private long _ioCount;
    private bool _paused;

    internal Terminal(TerminalInfo info, int scrollbackChars, Action<Terminal> onExit)
    {
        Info = info;
        _scrollback = new Scrollback(scrollbackChars);
        _onExit = onExit;
        Screen = new ScreenFeed(info.Columns, info.Rows);
    }

    /// <summary>What is visible now: a screen model fed with the same output, parsed off the reader thread.</summary>
    public ScreenFeed Screen { get; }

    public string Id => Info.Id;

    public string WorkspaceId => Info.WorkspaceId;

    /// <summary>The metadata as last published; replaced (records are immutable) under the lock.</summary>
    public TerminalInfo Info { get; private set; }

    public IPtyProcess? Process { get; private set; }

    /// <summary>
    /// Writes text to the PTY as typed (UTF-8), without telling the observer: the caller records the input itself. A full
    /// input buffer blocks here; a terminal without its process throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Write(string text)
    {
        (Process ?? throw new ObjectDisposedException("terminal")).Write(System.Text.Encoding.UTF8.GetBytes(text));
        Interlocked.Increment(ref _ioCount);
    }

    /// <summary>Output chunks read plus inputs written so far: hibernation's idle check compares it between its ticks.</summary>
    public long IoCount => Interlocked.Read(ref _ioCount);

    /// <summary>
    /// Sees this terminal's output (decoded text, in order) and learns of input, for the agent driving it.
    /// Set before the process starts; called under the terminal's lock on the reader thread, so it must be cheap and never block.
    /// </summary>
    internal ITerminalObserver? Observer { get; init; }

    public bool IsRunning => Info.Status == TerminalStatus.Running;

    /// <summary>Characters of output so far (the sequence number of the last one).</summary>
    public long Seq
    {
        get
        {
            lock (_gate)
            {
                return _seq;
            }
        }
    }

    /// <summary>Takes the spawned process without reading it yet, so the owner can publish "created" before any output or exit.</summary>
    internal TerminalInfo Bind(IPtyProcess process)
    {
        Process = process;
        return Update(i => i with { Pid = process.Pid });
    }

    /// <summary>Starts reading output and watching for the exit (which may already have happened).</summary>
    internal void Start()
    {
        var process = Process ?? throw new InvalidOperationException("Bind the process first.");
        process.Exited.ContinueWith(t => OnExited(t.Result), TaskScheduler.Default);
        process.Start(this);
    }

    internal TerminalInfo Update(Func<TerminalInfo, TerminalInfo> change)
    {
        lock (_gate)
        {
            Info = change(Info) with { AttachedClients = _attachments.Count };
            return Info;
        }
    }

    public void OnData(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _ioCount);
            if (DecodeLocked(data, flush: false) is { } text)
            {
                PublishLocked(text);
            }
        }
    }

    public void OnEnd()
    {
        lock (_gate)
        {
            if (DecodeLocked(ReadOnlySpan<byte>.Empty, flush: true) is { } text)
            {
                PublishLocked(text);
            }
        }
    }

    /// <summary>
    /// Decodes straight into the string that is published: no character buffer is kept per terminal (one that grew to
    /// the largest read stayed at 128 KiB for the terminal's life). Bytes of a character split across reads stay in the
    /// decoder's state; null when no character is complete yet.
    /// </summary>
    private string? DecodeLocked(ReadOnlySpan<byte> data, bool flush)
    {
        int n = _decoder.GetCharCount(data, flush);
        if (n == 0)
        {
            // Still hand the bytes over, so a partial character is kept for the next read.
            _decoder.GetChars(data, Span<char>.Empty, flush);
            return null;
        }

        return string.Create(n, new PendingBytes(_decoder, data, flush), static (chars, pending) =>
        {
            int written = pending.Decoder.GetChars(pending.Bytes, chars, pending.Flush);
            if (written != chars.Length)
            {
                throw new InvalidOperationException($"The UTF-8 decoder produced {written} characters where it counted {chars.Length}.");
            }
        });
    }

    private readonly ref struct PendingBytes(Decoder decoder, ReadOnlySpan<byte> bytes, bool flush)
    {
        public Decoder Decoder { get; } = decoder;

        public ReadOnlySpan<byte> Bytes { get; } = bytes;

        public bool Flush { get; } = flush;
    }

    private void PublishLocked(string text)
    {
        Observer?.OnOutput(text);
        _scrollback.Append(text);
        Screen.Append(text);
        _seq += text.Length;
        foreach (var a in _attachments.Values)
        {
            a.Queue.Writer.TryWrite(new TerminalOutputNotification { Id = Id, Seq = _seq, Data = text });
            a.SentSeq = _seq;
        }

        UpdateFlowLocked();
    }

    /// <summary>Attaches a client: it gets the scrollback now and every later output in order.</summary>
    public TerminalAttachResult Attach(ClientSession session)
    {
        lock (_gate)
        {
            if (!_attachments.ContainsKey(session.Id))
            {
                var attachment = new Attachment(session, _seq);
                _attachments[session.Id] = attachment;
                _ = PumpAsync(attachment);
            }

            Info = Info with { AttachedClients = _attachments.Count };

            // Under the lock, so the screen is exactly the output up to _seq (the pending part is parsed here, bounded).
            var (screen, alternate, addressed) = Screen.Render();
            bool fromScreen = alternate || (addressed && _scrollback.Length >= _scrollback.Capacity);
            return new TerminalAttachResult { Terminal = Info, Scrollback = fromScreen ? screen : _scrollback.Snapshot(), FromScreen = fromScreen, Seq = _seq };
        }
    }

    public bool Detach(int sessionId)
    {
        lock (_gate)
        {
            if (!_attachments.Remove(sessionId, out var a))
            {
                return false;
            }

            a.Queue.Writer.TryComplete();
            Info = Info with { AttachedClients = _attachments.Count };
            UpdateFlowLocked();
            return true;
        }
    }

    public void Acknowledge(int sessionId, long seq)
    {
        lock (_gate)
        {
            if (_attachments.TryGetValue(sessionId, out var a) && seq > a.AckedSeq)
            {
                a.AckedSeq = Math.Min(seq, a.SentSeq);
                UpdateFlowLocked();
            }
        }
    }

    public string ScrollbackText()
    {
        lock (_gate)
        {
            return _scrollback.Snapshot();
        }
    }

    /// <summary>Pauses reading while any attached client lags past the high watermark; resumes when all are under the low one.</summary>
    private void UpdateFlowLocked()
    {
        if (Process is null)
        {
            return;
        }

        long worst = 0;
        foreach (var a in _attachments.Values)
        {
            worst = Math.Max(worst, a.SentSeq - a.AckedSeq);
        }

        if (!_paused && worst > HighWatermarkChars)
        {
            _paused = true;
            Process.PauseReading();
        }
        else if (_paused && worst < LowWatermarkChars)
        {
            _paused = false;
            Process.ResumeReading();
        }
    }

    /// <summary>
    /// Most characters merged into one notification. A PTY read returns at most a few KiB, so under a flood the queue
    /// holds many small chunks; merging what is already queued (never waiting for more) cuts the per-message cost
    /// without adding latency to a lone keystroke's echo.
    /// </summary>
    private const int MaxMergedChars = 256 * 1024;

    private static async Task PumpAsync(Attachment a)
    {
        // One sender per client and terminal keeps the notifications in output order.
        var reader = a.Queue.Reader;
        var merged = new StringBuilder();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var first))
            {
                var last = first;
                merged.Clear().Append(first.Data);
                while (merged.Length < MaxMergedChars && reader.TryRead(out var next))
                {
                    merged.Append(next.Data);
                    last = next;
                }

                var n = ReferenceEquals(last, first) ? first : new TerminalOutputNotification { Id = first.Id, Seq = last.Seq, Data = merged.ToString() };
                await a.Session.NotifyAsync(Methods.TerminalOutput, n).ConfigureAwait(false);
            }
        }
    }

    private void OnExited(PtyExit exit)
    {
        Update(i => i.Status == TerminalStatus.Running
            ? i with { Status = TerminalStatus.Exited, ExitCode = exit.ExitCode, Signal = exit.Signal, Pid = null, EndedAt = DateTimeOffset.UtcNow }
            : i with { Pid = null });
        _onExit(this);
    }

    /// <summary>Marks the terminal killed before its tree is ended, so the exit that follows is reported as a kill.</summary>
    internal void MarkKilled() =>
        Update(i => i with { Status = TerminalStatus.Killed, EndedAt = DateTimeOffset.UtcNow });

    internal void DetachAll()
    {
        lock (_gate)
        {
            foreach (var a in _attachments.Values)
            {
                a.Queue.Writer.TryComplete();
            }

            _attachments.Clear();
            if (_paused && Process is not null)
            {
                _paused = false;
                Process.ResumeReading();
            }
        }
    }

    private sealed class Attachment(ClientSession session, long seq)
    {
        public ClientSession Session { get; } = session;

        public Channel<TerminalOutputNotification> Queue { get; } = Channel.CreateUnbounded<TerminalOutputNotification>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        public long SentSeq { get; set; } = seq;

        public long AckedSeq { get; set; } = seq;
    }
}

/// <summary>Watches one terminal for its owner (an agent). Both calls must return at once: they run on the PTY's reader thread or a request's thread.</summary>
public interface ITerminalObserver
{
    /// <summary>Output, decoded, in order, under the terminal's lock.</summary>
    void OnOutput(string text);

    /// <summary>Input reached the terminal (orchflow/terminal/input): what a person typed, or what their terminal sent by itself.</summary>
    void OnInput(string data);
}
