using System.Text;

namespace Orchflow.Server.Terminals.Screen;

/// <summary>
/// A terminal's screen, fed off the PTY reader thread. The reader only appends the decoded text to a pending buffer
/// (a copy, under the terminal's lock); the parser runs when someone looks at the screen (the agent detector's tick,
/// <c>terminal read --screen</c>, an attach) or, for a terminal nobody looks at, on a thread-pool pass once
/// <see cref="PendingChars"/> have accumulated, at most once per <see cref="MinPumpSpacing"/>.
/// </summary>
/// <remarks>
/// Under a flood the pending buffer keeps only the newest <see cref="PendingChars"/>–2×<see cref="PendingChars"/>
/// characters: the older ones are skipped, never waited for, so the child is never slowed by the screen and the
/// parser's cost is bounded (at most 2×<see cref="PendingChars"/> characters per pass). After a skip the parser resumes
/// in ground at the next escape sequence: a program that redraws (every TUI does) is shown right again at its next
/// redraw, which is what "skip to the latest screen state" can promise without the bytes in between.
/// </remarks>
public sealed class ScreenFeed
{
    /// <summary>Pending output kept before older output is skipped; enough for a full redraw of a large screen.</summary>
    public const int PendingChars = 64 * 1024;

    /// <summary>Shortest time between two background passes of one terminal.</summary>
    public static readonly TimeSpan MinPumpSpacing = TimeSpan.FromMilliseconds(20);

    private readonly object _gate = new();
    private readonly object _screenGate = new();
    private readonly TerminalScreen _screen;
    private StringBuilder _pending = new();
    private StringBuilder _spare = new();
    private bool _skipped;
    private long _skippedChars;
    private long _parsedChars;
    private bool _scheduled;
    private long _lastPumpAt;

    public ScreenFeed(int columns, int rows) => _screen = new TerminalScreen(columns, rows);

    /// <summary>Characters that were skipped under floods (never parsed).</summary>
    public long SkippedChars => Interlocked.Read(ref _skippedChars);

    /// <summary>Characters parsed.</summary>
    public long ParsedChars => Interlocked.Read(ref _parsedChars);

    /// <summary>Takes output in order. Cheap and never blocks on the parser: called under the terminal's lock on the reader thread.</summary>
    public void Append(string text)
    {
        bool schedule = false;
        lock (_gate)
        {
            if (text.Length >= PendingChars)
            {
                Interlocked.Add(ref _skippedChars, _pending.Length + text.Length - PendingChars);
                _pending.Clear().Append(text, text.Length - PendingChars, PendingChars);
                _skipped = true;
            }
            else
            {
                _pending.Append(text);
                if (_pending.Length > PendingChars * 2)
                {
                    int drop = _pending.Length - PendingChars;
                    Interlocked.Add(ref _skippedChars, drop);
                    _pending.Remove(0, drop);
                    _skipped = true;
                }
            }

            if (!_scheduled && _pending.Length >= PendingChars)
            {
                _scheduled = schedule = true;
            }
        }

        if (schedule)
        {
            ScheduleBackgroundPump();
        }
    }

    /// <summary>Parses what is pending now; the screen is then current up to the last output appended.</summary>
    public void Pump()
    {
        lock (_screenGate)
        {
            PumpLocked();
        }
    }

    /// <summary>What is visible now.</summary>
    public ScreenSnapshot Snapshot()
    {
        lock (_screenGate)
        {
            PumpLocked();
            return _screen.Snapshot();
        }
    }

    /// <summary>Escape sequences that draw the current screen (see <see cref="TerminalScreen.Render"/>), and whether the alternate screen is active.</summary>
    public (string Text, bool AlternateScreen, bool CursorAddressed) Render()
    {
        lock (_screenGate)
        {
            PumpLocked();
            return (_screen.Render(), _screen.AlternateScreen, _screen.CursorAddressed);
        }
    }

    /// <summary>The terminal was resized: output so far is applied at the old size first.</summary>
    public void Resize(int columns, int rows)
    {
        lock (_screenGate)
        {
            PumpLocked();
            _screen.Resize(columns, rows);
        }
    }

    private void PumpLocked()
    {
        StringBuilder work;
        bool skipped;
        lock (_gate)
        {
            if (_pending.Length == 0)
            {
                return;
            }

            work = _pending;
            _pending = _spare;
            _spare = work;
            skipped = _skipped;
            _skipped = false;
        }

        int start = 0;
        if (skipped)
        {
            // Resume at a sequence boundary: the text before the first ESC may be the tail of a cut sequence.
            _screen.Parser.Reset();
            int limit = Math.Min(work.Length, 4096);
            for (int i = 0; i < limit; i++)
            {
                if (work[i] == '\x1b')
                {
                    start = i;
                    break;
                }
            }
        }

        int offset = 0;
        foreach (var chunk in work.GetChunks())
        {
            var span = chunk.Span;
            if (offset + span.Length > start)
            {
                _screen.Feed(span[Math.Max(0, start - offset)..]);
            }

            offset += span.Length;
        }

        Interlocked.Add(ref _parsedChars, work.Length - start);
        Interlocked.Add(ref _skippedChars, start);
        work.Clear();
        if (work.Capacity > PendingChars * 2)
        {
            // A flood's buffer is not kept for the terminal's life.
            _spare = new StringBuilder();
        }
    }

    private void ScheduleBackgroundPump()
    {
        long since = Environment.TickCount64 - Interlocked.Read(ref _lastPumpAt);
        long wait = (long)MinPumpSpacing.TotalMilliseconds - since;
        if (wait <= 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static feed => feed.BackgroundPump(), this, preferLocal: false);
            return;
        }

        _ = Task.Delay(TimeSpan.FromMilliseconds(wait)).ContinueWith(static (_, feed) => ((ScreenFeed)feed!).BackgroundPump(), this, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private void BackgroundPump()
    {
        Interlocked.Exchange(ref _lastPumpAt, Environment.TickCount64);
        lock (_gate)
        {
            _scheduled = false;
        }

        Pump();
    }
}
