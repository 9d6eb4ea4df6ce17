using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Orchflow.Pty.Linux;

/// <summary>
/// A child running in a pseudo-terminal: owns the master descriptor, the reader thread and the
/// waiter thread. See the notes at the top of LinuxPtyBackend.cs for the design.
/// </summary>
internal sealed class LinuxPtyProcess : IPtyProcess
{
    /// <summary>
    /// How long the exit waits for the reader to drain the terminal once the child is reaped.
    /// The child's last output can still be in the kernel buffer when its exit status arrives;
    /// waiting lets it reach the sink first. It is bounded because the drain never finishes while
    /// reading is paused or while a background process keeps the terminal open. The value is
    /// VS Code's ShutdownConstants.DataFlushTimeout.
    /// </summary>
    internal static readonly TimeSpan OutputDrainGracePeriod = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long KillTree lets processes handle SIGHUP and SIGTERM (save state, remove lock files)
    /// before it sends SIGKILL to those still alive.
    /// </summary>
    internal static readonly TimeSpan KillGracePeriod = TimeSpan.FromMilliseconds(200);

    /// <summary>How long KillTree waits for SIGKILL to take effect before it scans again.</summary>
    private static readonly TimeSpan KillConfirmTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Scans after SIGKILL: a process may fork while the tree is being killed.</summary>
    private const int MaxKillRounds = 3;

    /// <summary>
    /// How long Dispose waits for the reader and waiter threads. Both normally end within
    /// milliseconds once the tree is killed; the bound keeps a stuck sink from hanging Dispose.
    /// </summary>
    private static readonly TimeSpan ThreadJoinTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaxLivenessPollInterval = TimeSpan.FromMilliseconds(10);

    private const int ReadBufferSize = 64 * 1024;

    /// <summary>
    /// Read buffers, shared by every terminal's reader. A reader rents one only once poll says output is waiting and
    /// returns it as soon as the sink has seen the bytes, so the many quiet terminals hold none (a buffer of its own
    /// was 64 KiB of every terminal's memory) and only terminals printing at that moment hold one. This pool keeps no
    /// per-thread cache, unlike ArrayPool.Shared, which would pin one buffer to each reader thread.
    /// </summary>
    private static readonly System.Buffers.ArrayPool<byte> ReadBuffers = System.Buffers.ArrayPool<byte>.Create(ReadBufferSize, maxArraysPerBucket: 32);

    private readonly FileDescriptorHandle _master;
    private readonly FileDescriptorHandle _wake;

    // The child as a descriptor (pidfd_open): readable once it has exited, so the terminal's one thread
    // polls it next to the master and reaps the child itself. Null where the kernel or libc has no
    // pidfd_open (Linux before 5.3, glibc before 2.36); a dedicated waiter thread reaps instead.
    private readonly FileDescriptorHandle? _pidfd;
    private readonly TaskCompletionSource<PtyExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Set when the reader has reached the end of output, or once Dispose stops reading: either way
    // the exit need not wait for more output.
    private readonly ManualResetEventSlim _outputSettled = new(false);

    private readonly Thread _thread;
    private readonly Thread? _waiter;
    private readonly Lock _writeLock = new();

    // Guards _sink, _paused and _stopping; a change is announced to the thread through _wake.
    private readonly object _gate = new();
    private IPtyOutputSink? _sink;
    private bool _paused;
    private bool _stopping;

    private PtyExit? _exit;
    private volatile bool _reaped;
    private int _disposed;

    public LinuxPtyProcess(int pid, string ptsName, FileDescriptorHandle master, FileDescriptorHandle wake)
    {
        Pid = pid;
        PtsName = ptsName;
        _master = master;
        _wake = wake;
        _pidfd = OpenPidfd(pid);

        // Reaping starts at once, whether or not the owner ever starts reading, so the child never
        // lingers as a zombie: the terminal's thread starts now and polls the pidfd until Start gives
        // it a sink, then the master too.
        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = $"pty {pid}",
        };
        _thread.Start();

        if (_pidfd is null)
        {
            // The thread only blocks in waitpid, so a small stack is enough.
            _waiter = new Thread(WaitForExit, maxStackSize: 256 * 1024)
            {
                IsBackground = true,
                Name = $"pty-wait {pid}",
            };
            _waiter.Start();
        }
    }

    public int Pid { get; }

    public string? PtsName { get; }

    public Task<PtyExit> Exited => _exited.Task;

    public void Start(IPtyOutputSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_sink is not null)
            {
                throw new InvalidOperationException("Start was already called: a terminal has exactly one output sink.");
            }

            _sink = sink;
        }

        WakeThread();
    }

    public void PauseReading()
    {
        lock (_gate)
        {
            _paused = true;
        }
    }

    public void ResumeReading()
    {
        lock (_gate)
        {
            _paused = false;
        }

        WakeThread();
    }

    public unsafe void Write(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_writeLock)
        {
            fixed (byte* start = data)
            {
                var offset = 0;
                while (offset < data.Length)
                {
                    // The SafeHandle overload holds a reference for the duration of the call, so a
                    // concurrent Dispose cannot close (and let the kernel reuse) the descriptor mid-write.
                    var written = LibC.write(_master, start + offset, (nuint)(data.Length - offset));
                    if (written >= 0)
                    {
                        offset += (int)written;
                        continue;
                    }

                    var errno = Marshal.GetLastPInvokeError();
                    switch (errno)
                    {
                        case LibC.EINTR:
                            continue;
                        case LibC.EAGAIN:
                            WaitUntilWritable();
                            continue;
                        case LibC.EIO:
                            // Nothing holds the slave open any more: there is nobody to type to.
                            return;
                        default:
                            throw new IOException($"Writing to terminal {PtsName} failed: {LibC.Describe(errno)}.", errno);
                    }
                }
            }
        }
    }

    public unsafe void Resize(ushort columns, ushort rows)
    {
        ArgumentOutOfRangeException.ThrowIfZero(columns);
        ArgumentOutOfRangeException.ThrowIfZero(rows);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        var size = new LibC.WinSize { Columns = columns, Rows = rows };
        if (LibC.ioctl(_master, LibC.TIOCSWINSZ, &size) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Resizing terminal {PtsName} failed: {LibC.Describe(errno)}.", errno);
        }
    }

    public void Signal(int signal)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (LibC.kill(-Pid, signal) == 0)
        {
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        switch (errno)
        {
            case LibC.ESRCH:
                // The group is gone: the signal has nothing left to do.
                return;
            case LibC.EINVAL:
                throw new ArgumentOutOfRangeException(nameof(signal), signal, "Not a valid signal number.");
            default:
                throw new IOException($"Sending signal {signal} to process group {Pid} failed: {LibC.Describe(errno)}.", errno);
        }
    }

    public void KillTree()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        KillTreeCore();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Even after the first process has exited, background jobs of its session may still run
        // and hold the terminal; disposing the terminal ends them too.
        KillTreeCore();
        StopReader();

        // Dispose may be called from the sink, that is on the terminal's thread, which cannot join itself.
        // The thread ends once the child is reaped, which the kill above makes prompt.
        if (_thread != Thread.CurrentThread)
        {
            _thread.Join(ThreadJoinTimeout);
        }

        _waiter?.Join(ThreadJoinTimeout);

        // If the thread is still inside a call, it holds references and the descriptors close when
        // it lets go of them.
        _master.Dispose();
        _wake.Dispose();
        _pidfd?.Dispose();
    }

    private void StopReader()
    {
        lock (_gate)
        {
            _stopping = true;
        }

        SettleOutput();
        WakeThread();
    }

    /// <summary>No more output will be waited for; if the child is already reaped, its exit is reported now.</summary>
    private void SettleOutput()
    {
        _outputSettled.Set();
        if (_reaped)
        {
            _exited.TrySetResult(_exit!.Value);
        }
    }

    /// <summary>
    /// Reports the exit once the output is drained, or after <see cref="OutputDrainGracePeriod"/>: the child's last output
    /// can still be in the kernel buffer when its exit status arrives.
    /// </summary>
    private void Reaped(PtyExit exit)
    {
        _exit = exit;
        _reaped = true;
        if (_outputSettled.IsSet)
        {
            _exited.TrySetResult(exit);
        }
        else
        {
            _ = Task.Delay(OutputDrainGracePeriod).ContinueWith(_ => _exited.TrySetResult(exit), TaskScheduler.Default);
        }
    }

    private unsafe void WakeThread()
    {
        // An eventfd becomes readable once any value is added to its counter; poll then returns.
        ulong one = 1;
        try
        {
            _ = LibC.write(_wake, (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // Disposed: the thread is stopping or gone, and there is nothing left to resume.
        }
    }

    private unsafe void WaitUntilWritable()
    {
        // The master is opened blocking, so EAGAIN is not expected; if it comes anyway, wait for room
        // rather than spin.
        var added = false;
        try
        {
            _master.DangerousAddRef(ref added);
            var poll = new LibC.PollFd { Fd = _master.Fd, Events = LibC.POLLOUT };
            _ = LibC.poll(&poll, 1, 100);
        }
        finally
        {
            if (added)
            {
                _master.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// The terminal's one thread: reads output into the sink while there is a sink and reading is not paused, and reaps
    /// the child when its pidfd becomes readable. It ends once output has ended (or reading stopped) and the child is
    /// reaped (or another thread reaps it).
    /// </summary>
    private unsafe void Run()
    {
        var masterAdded = false;
        var wakeAdded = false;
        var pidfdAdded = false;
        IPtyOutputSink? sink = null;
        var outputOpen = true;
        var sinkFaulted = false;
        try
        {
            // The loop uses raw descriptor numbers in poll and read; holding a reference on each
            // handle for its whole lifetime keeps Dispose from closing them underneath it.
            _master.DangerousAddRef(ref masterAdded);
            _wake.DangerousAddRef(ref wakeAdded);
            _pidfd?.DangerousAddRef(ref pidfdAdded);
            var fds = stackalloc LibC.PollFd[3];

            while (true)
            {
                bool read;
                var stopNow = false;
                lock (_gate)
                {
                    if (outputOpen)
                    {
                        sink ??= _sink;
                        stopNow = _stopping;
                        outputOpen = !_stopping;
                    }

                    read = outputOpen && sink is not null && !_paused;
                }

                if (stopNow && sink is not null)
                {
                    // Dispose stopped reading: the sink learns of it now, even if the child is still to be reaped.
                    EndOutput(sink, sinkFaulted);
                    sink = null;
                }

                var watchChild = _pidfd is not null && !_reaped;
                if (!outputOpen && !watchChild)
                {
                    break;
                }

                int count = 0, masterAt = -1, childAt = -1;
                if (read)
                {
                    masterAt = count;
                    fds[count++] = new LibC.PollFd { Fd = _master.Fd, Events = LibC.POLLIN };
                }

                var wakeAt = count;
                fds[count++] = new LibC.PollFd { Fd = _wake.Fd, Events = LibC.POLLIN };
                if (watchChild)
                {
                    childAt = count;
                    fds[count++] = new LibC.PollFd { Fd = _pidfd!.Fd, Events = LibC.POLLIN };
                }

                if (LibC.poll(fds, (nuint)count, -1) < 0)
                {
                    if (Marshal.GetLastPInvokeError() == LibC.EINTR)
                    {
                        continue;
                    }

                    break;
                }

                if (childAt >= 0 && fds[childAt].Revents != 0)
                {
                    Reaped(Reap());
                }

                if (fds[wakeAt].Revents != 0)
                {
                    // Start, resume or stop: take the wake-up and look at the state again.
                    ulong value;
                    _ = LibC.read(_wake.Fd, (byte*)&value, sizeof(ulong));
                    continue;
                }

                if (masterAt < 0 || fds[masterAt].Revents == 0)
                {
                    continue;
                }

                switch (ReadOnce(sink!))
                {
                    case ReadOutcome.Data:
                    case ReadOutcome.Retry:
                        continue;
                    case ReadOutcome.SinkFaulted:
                        sinkFaulted = true;
                        break;
                }

                // EIO: every holder of the slave has closed it, which is the normal end of output.
                // Anything else cannot be recovered from either. The child may still need reaping.
                outputOpen = false;
                EndOutput(sink!, sinkFaulted);
                sink = null;
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed before the loop took its references: there is nothing to read.
        }
        finally
        {
            if (pidfdAdded)
            {
                _pidfd!.DangerousRelease();
            }

            if (wakeAdded)
            {
                _wake.DangerousRelease();
            }

            if (masterAdded)
            {
                _master.DangerousRelease();
            }

            // Output stopped by a failed poll rather than by its end: the sink still learns of it.
            if (sink is not null)
            {
                EndOutput(sink, sinkFaulted);
            }

            SettleOutput();

            // Left the loop before the child was reaped (a failed poll, descriptors gone): reap it here, blocking, as a
            // waiter thread would.
            if (_pidfd is not null && !_reaped)
            {
                Reaped(Reap());
            }
        }
    }

    private enum ReadOutcome
    {
        Data,
        Retry,
        Ended,
        SinkFaulted,
    }

    private unsafe ReadOutcome ReadOnce(IPtyOutputSink sink)
    {
        var buffer = ReadBuffers.Rent(ReadBufferSize);
        try
        {
            nint count;
            int errno;
            fixed (byte* start = buffer)
            {
                count = LibC.read(_master.Fd, start, (nuint)ReadBufferSize);
                errno = count < 0 ? Marshal.GetLastPInvokeError() : 0;
            }

            if (count > 0)
            {
                try
                {
                    // The span is valid only during the call (IPtyOutputSink), so the buffer can go back right after.
                    sink.OnData(buffer.AsSpan(0, (int)count));
                }
                catch (Exception)
                {
                    // A failing sink must not take the daemon down with an unhandled exception on
                    // this thread; reading stops, as documented on IPtyOutputSink.
                    return ReadOutcome.SinkFaulted;
                }

                return ReadOutcome.Data;
            }

            return errno is LibC.EINTR or LibC.EAGAIN ? ReadOutcome.Retry : ReadOutcome.Ended;
        }
        finally
        {
            ReadBuffers.Return(buffer);
        }
    }

    private void EndOutput(IPtyOutputSink sink, bool sinkFaulted)
    {
        if (!sinkFaulted)
        {
            try
            {
                sink.OnEnd();
            }
            catch (Exception)
            {
                // Same reasoning as for OnData: the sink's failure stays the sink's.
            }
        }

        SettleOutput();
    }

    /// <summary>Collects the exit status of a child whose pidfd became readable (it has exited: waitpid does not block).</summary>
    private unsafe PtyExit Reap()
    {
        int status;
        int result;
        do
        {
            result = LibC.waitpid(Pid, &status, 0);
        }
        while (result < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR);

        // ECHILD means something else reaped the child (a waitpid(-1) elsewhere, or SIGCHLD set to
        // SIG_IGN): the process is gone but its status is lost.
        return result == Pid ? DecodeWaitStatus(status) : new PtyExit(null, null);
    }

    private static FileDescriptorHandle? OpenPidfd(int pid)
    {
        try
        {
            var fd = LibC.pidfd_open(pid, 0);
            return fd >= 0 ? new FileDescriptorHandle(fd) : null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    private void WaitForExit()
    {
        // Without a pidfd: block in waitpid on a thread of its own.
        var exit = Reap();
        _exit = exit;
        _reaped = true;
        _outputSettled.Wait(OutputDrainGracePeriod);
        _exited.TrySetResult(exit);
    }

    internal static PtyExit DecodeWaitStatus(int status)
    {
        var terminatingSignal = status & 0x7f;
        if (terminatingSignal == 0)
        {
            return new PtyExit((status >> 8) & 0xff, null);
        }

        // 0x7f marks a stopped child, which waitpid without WUNTRACED does not report.
        return terminatingSignal != 0x7f ? new PtyExit(null, terminatingSignal) : new PtyExit(null, null);
    }

    private void KillTreeCore()
    {
        var targets = new Dictionary<int, ulong>();
        CollectTree(targets);

        SignalGroupQuietly(LibC.SIGHUP);
        SignalGroupQuietly(LibC.SIGTERM);
        foreach (var pid in targets.Keys)
        {
            // Job-control jobs sit in process groups of their own and miss the group signal.
            _ = LibC.kill(pid, LibC.SIGHUP);
            _ = LibC.kill(pid, LibC.SIGTERM);
        }

        // A stopped process (Ctrl+Z) only acts on SIGTERM once continued.
        SignalGroupQuietly(LibC.SIGCONT);
        foreach (var pid in targets.Keys)
        {
            _ = LibC.kill(pid, LibC.SIGCONT);
        }

        WaitUntilEnded(targets, KillGracePeriod);

        for (var round = 0; round < MaxKillRounds; round++)
        {
            // Scan again: processes forked during the grace period were not in the first snapshot.
            CollectTree(targets);
            var alive = targets.Where(target => IsAlive(target.Key, target.Value)).ToDictionary();
            if (alive.Count == 0)
            {
                break;
            }

            SignalGroupQuietly(LibC.SIGKILL);
            foreach (var pid in alive.Keys)
            {
                _ = LibC.kill(pid, LibC.SIGKILL);
            }

            WaitUntilEnded(alive, KillConfirmTimeout);
        }
    }

    /// <summary>
    /// Adds the processes of the terminal's session and those descending from its first process,
    /// with their start times so that a pid reused later is never mistaken for one of them.
    /// </summary>
    private void CollectTree(Dictionary<int, ulong> targets)
    {
        var snapshot = ProcessTree.Snapshot();
        foreach (var stat in snapshot)
        {
            if (stat.Session == Pid && !stat.HasEnded)
            {
                targets.TryAdd(stat.Pid, stat.StartTime);
            }
        }

        // Once the first process has been reaped its pid may be reused by an unrelated process, whose
        // children must not be taken for ours. Its session id is safe: the kernel does not reuse
        // a pid while it still names a session with members.
        if (_reaped)
        {
            return;
        }

        var byPid = snapshot.ToDictionary(stat => stat.Pid);
        foreach (var pid in ProcessTree.DescendantsOf(Pid, snapshot))
        {
            if (byPid.TryGetValue(pid, out var stat) && !stat.HasEnded)
            {
                targets.TryAdd(pid, stat.StartTime);
            }
        }
    }

    private void SignalGroupQuietly(int signal)
    {
        // ESRCH (the group is already gone) is the expected outcome late in a kill.
        _ = LibC.kill(-Pid, signal);
    }

    private static bool IsAlive(int pid, ulong startTime) =>
        ProcessTree.TryRead(pid, out var stat) && stat.StartTime == startTime && !stat.HasEnded;

    private static void WaitUntilEnded(Dictionary<int, ulong> targets, TimeSpan timeout)
    {
        // Most processes die within a millisecond of the signal, so polling starts fast and backs off.
        var stopwatch = Stopwatch.StartNew();
        var interval = TimeSpan.FromMilliseconds(1);
        while (targets.Any(target => IsAlive(target.Key, target.Value)))
        {
            if (stopwatch.Elapsed >= timeout)
            {
                return;
            }

            Thread.Sleep(interval);
            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, MaxLivenessPollInterval.Ticks));
        }
    }
}
