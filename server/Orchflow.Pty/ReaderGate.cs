namespace Orchflow.Pty;

/// <summary>
/// A terminal's reader thread and what it waits on, shared by the daemon's own terminals and held ones: one sink for
/// the terminal's life, paused or not (<see cref="IPtyProcess.PauseReading"/>), and stopped for good on dispose.
/// </summary>
internal sealed class ReaderGate
{
    // Guards every field; the reader waits on it while paused.
    private readonly object _gate = new();
    private IPtyOutputSink? _sink;
    private Thread? _reader;
    private bool _paused;
    private bool _stopping;

    /// <summary>
    /// Starts <paramref name="loop"/> on a background thread named <paramref name="name"/>, after
    /// <paramref name="beforeStart"/> (under the gate, so a concurrent dispose waits for both).
    /// </summary>
    /// <exception cref="InvalidOperationException">When called a second time.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Stop"/>.</exception>
    public void Start(IPtyOutputSink sink, object owner, string name, Action<IPtyOutputSink> loop, Action? beforeStart = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, owner);
            if (_sink is not null)
            {
                throw new InvalidOperationException("Start was already called: a terminal has exactly one output sink.");
            }

            _sink = sink;
            beforeStart?.Invoke();
            _reader = new Thread(() => loop(sink))
            {
                IsBackground = true,
                Name = name,
            };
            _reader.Start();
        }
    }

    public void Pause()
    {
        lock (_gate)
        {
            _paused = true;
        }
    }

    public void Resume()
    {
        lock (_gate)
        {
            _paused = false;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The reader must stop: a paused one wakes, and <see cref="WaitWhilePaused"/> says false from now on.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    public bool Stopping
    {
        get
        {
            lock (_gate)
            {
                return _stopping;
            }
        }
    }

    /// <summary>Blocks while reading is paused; false once the reader must stop.</summary>
    public bool WaitWhilePaused()
    {
        lock (_gate)
        {
            while (_paused && !_stopping)
            {
                Monitor.Wait(_gate);
            }

            return !_stopping;
        }
    }

    /// <summary>Waits for the reader to end, unless called from the reader itself (a sink that disposes), which cannot join itself.</summary>
    public void Join(TimeSpan timeout)
    {
        Thread? reader;
        lock (_gate)
        {
            reader = _reader;
        }

        if (reader is not null && reader != Thread.CurrentThread)
        {
            reader.Join(timeout);
        }
    }
}
