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
    /// How long Dispose waits for the reader and waiter threads. Both normally end within
    /// milliseconds once the tree is killed; the bound keeps a stuck sink from hanging Dispose.
    /// </summary>
    private static readonly TimeSpan ThreadJoinTimeout = TimeSpan.FromSeconds(2);

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
    private readonly TaskCompletionSource<PtyExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Set when the reader has reached the end of output, or once Dispose stops reading: either way
    // the exit need not wait for more output.
    private readonly ManualResetEventSlim _outputSettled = new(false);

    private readonly Thread _waiter;
    private readonly Lock _writeLock = new();

    private readonly ReaderGate _reader = new();

    private volatile bool _reaped;
    private int _disposed;

    public LinuxPtyProcess(int pid, string ptsName, FileDescriptorHandle master, FileDescriptorHandle wake)
    {
        Pid = pid;
        PtsName = ptsName;
        _master = master;
        _wake = wake;

        // Reaping starts at once, whether or not the owner ever starts reading, so the child never
        // lingers as a zombie. The thread only blocks in waitpid, so a small stack is enough.
        _waiter = new Thread(WaitForExit, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = $"pty-wait {pid}",
        };
        _waiter.Start();
    }

    public int Pid { get; }

    public string? PtsName { get; }

    public Task<PtyExit> Exited => _exited.Task;

    public void Start(IPtyOutputSink sink) => _reader.Start(sink, this, $"pty-read {Pid}", ReadLoop);

    public void PauseReading() => _reader.Pause();

    public void ResumeReading() => _reader.Resume();

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
        SessionKiller.Kill(Pid, _reaped);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Even after the first process has exited, background jobs of its session may still run
        // and hold the terminal; disposing the terminal ends them too.
        SessionKiller.Kill(Pid, _reaped);
        StopReader();

        // Dispose may be called from the sink, that is on the reader thread, which cannot join itself.
        _reader.Join(ThreadJoinTimeout);

        if (_waiter != Thread.CurrentThread)
        {
            _waiter.Join(ThreadJoinTimeout);
        }

        // If the reader is still inside a call, it holds references and the descriptors close when
        // it lets go of them.
        _master.Dispose();
        _wake.Dispose();
    }

    private void StopReader()
    {
        _reader.Stop();
        _outputSettled.Set();

        WakeReader();
    }

    private unsafe void WakeReader()
    {
        // An eventfd becomes readable once any value is added to its counter; poll then returns.
        ulong one = 1;
        _ = LibC.write(_wake, (byte*)&one, sizeof(ulong));
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

    private unsafe void ReadLoop(IPtyOutputSink sink)
    {
        var masterAdded = false;
        var wakeAdded = false;
        var sinkFaulted = false;
        try
        {
            // The loop uses raw descriptor numbers in poll and read; holding a reference on each
            // handle for its whole lifetime keeps Dispose from closing them underneath it.
            _master.DangerousAddRef(ref masterAdded);
            _wake.DangerousAddRef(ref wakeAdded);
            var fds = stackalloc LibC.PollFd[2];

            while (_reader.WaitWhilePaused())
            {
                fds[0] = new LibC.PollFd { Fd = _master.Fd, Events = LibC.POLLIN };
                fds[1] = new LibC.PollFd { Fd = _wake.Fd, Events = LibC.POLLIN };
                if (LibC.poll(fds, 2, -1) < 0)
                {
                    if (Marshal.GetLastPInvokeError() == LibC.EINTR)
                    {
                        continue;
                    }

                    break;
                }

                if (fds[1].Revents != 0)
                {
                    break;
                }

                nint count;
                int errno;
                var buffer = ReadBuffers.Rent(ReadBufferSize);
                try
                {
                    fixed (byte* start = buffer)
                    {
                        count = LibC.read(_master.Fd, start, (nuint)ReadBufferSize);
                        errno = count < 0 ? Marshal.GetLastPInvokeError() : 0;
                    }

                    if (count > 0)
                    {
                        // The span is valid only during the call (IPtyOutputSink), so the buffer can go back right after.
                        sink.OnData(buffer.AsSpan(0, (int)count));
                        continue;
                    }
                }
                catch (Exception)
                {
                    // A failing sink must not take the daemon down with an unhandled exception on
                    // this thread; reading stops, as documented on IPtyOutputSink.
                    sinkFaulted = true;
                    break;
                }
                finally
                {
                    ReadBuffers.Return(buffer);
                }

                if (errno is LibC.EINTR or LibC.EAGAIN)
                {
                    continue;
                }

                // EIO: every holder of the slave has closed it, which is the normal end of output.
                // Anything else cannot be recovered from either.
                break;
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed before the loop took its references: there is nothing to read.
        }
        finally
        {
            if (wakeAdded)
            {
                _wake.DangerousRelease();
            }

            if (masterAdded)
            {
                _master.DangerousRelease();
            }

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

            _outputSettled.Set();
        }
    }

    private unsafe void WaitForExit()
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
        var exit = result == Pid ? DecodeWaitStatus(status) : new PtyExit(null, null);
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
}
