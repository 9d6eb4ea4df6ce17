using System.Buffers.Binary;
using System.Net.Sockets;
using Orchflow.Pty.Linux;

namespace Orchflow.Pty.Holder;

/// <summary>
/// A terminal held by an orchflow-holder process, seen through its socket: the same contract as the daemon's own
/// terminals (<see cref="IPtyProcess"/>), except that the terminal does not end with this object.
/// <list type="bullet">
/// <item>Output is read from the holder from an offset (<see cref="Start(IPtyOutputSink, long)"/>) and each delivered
/// frame is acknowledged; <see cref="PauseReading"/> stops delivering and acknowledging, so the holder's window fills
/// and the child blocks.</item>
/// <item><see cref="Exited"/> completes on the holder's EXIT, after the last output (which needs
/// <see cref="Start(IPtyOutputSink)"/>), or with an unknown status when the holder itself vanished.</item>
/// <item><see cref="Dispose"/> never kills: before the exit it detaches (the holder and the child keep running, and the
/// next owner attaches again); after the exit was delivered it releases the holder, which exits and removes its socket.
/// Ending the terminal is <see cref="KillTree"/> or <see cref="Signal"/>.</item>
/// </list>
/// </summary>
public sealed class HolderPtyProcess : IPtyProcess
{
    /// <summary>Input goes in frames of at most this much, so acknowledgements interleave with a long paste.</summary>
    private const int InputChunk = 16 * 1024;

    /// <summary>
    /// Output is acknowledged once this much more has been delivered (and exactly on detach): fewer wake-ups of the
    /// holder under a flood, while its window (1 MiB by default) stays far from full.
    /// </summary>
    private const long AckEvery = 64 * 1024;

    private static readonly TimeSpan ThreadJoinTimeout = TimeSpan.FromSeconds(2);

    private readonly Socket _socket;
    private readonly IDisposable? _holderProcess;
    private readonly Lock _sendLock = new();

    // Held while a frame is handed to the sink and acknowledged, so Dispose never cuts between the two: what an owner
    // saw delivered is what the holder counts as acknowledged. A Monitor, so a sink may dispose from inside OnData.
    private readonly object _deliverLock = new();
    private readonly TaskCompletionSource<PtyExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly ReaderGate _reader = new();

    private long _delivered;
    private long _acknowledged = -1; // -1 until READ: the holder refuses an ACK before it
    private volatile bool _exitDelivered;
    private volatile string? _lastError;
    private int _disposed;

    internal HolderPtyProcess(Socket socket, HolderHello hello, IDisposable? holderProcess)
    {
        _socket = socket;
        Hello = hello;
        _holderProcess = holderProcess;
        _delivered = hello.FirstRetained;
    }

    /// <summary>What the holder said when this connection opened.</summary>
    public HolderHello Hello { get; }

    /// <summary>The child's pid (its process group and session id), not the holder's.</summary>
    public int Pid => Hello.ChildPid;

    /// <summary>The holder process.</summary>
    public int HolderPid => Hello.HolderPid;

    public string? PtsName => Hello.PtsName;

    public Task<PtyExit> Exited => _exited.Task;

    /// <summary>The offset of the next byte the sink will get: everything before it was delivered and acknowledged.</summary>
    public long DeliveredOffset => Interlocked.Read(ref _delivered);

    /// <summary>The last ERROR the holder sent on this connection (a refused request), for diagnostics.</summary>
    public string? LastError => _lastError;

    /// <summary>Starts reading from the oldest output the holder retains (for a new terminal, its very first byte).</summary>
    public void Start(IPtyOutputSink sink) => Start(sink, Hello.FirstRetained);

    /// <summary>
    /// Starts the reader thread, delivering output from <paramref name="fromOffset"/> on: a daemon that adopts a
    /// terminal passes what it had already shown to get every later byte once, or <see cref="HolderHello.FirstRetained"/>
    /// to replay the scrollback the holder kept.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An offset the holder no longer (or not yet) has.</exception>
    /// <exception cref="InvalidOperationException">When called a second time.</exception>
    public void Start(IPtyOutputSink sink, long fromOffset)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (fromOffset < Hello.FirstRetained || fromOffset > Hello.Next && Hello.State != HolderState.Running)
        {
            throw new ArgumentOutOfRangeException(nameof(fromOffset), fromOffset, $"The holder retains output from offset {Hello.FirstRetained} to {Hello.Next}.");
        }

        _reader.Start(sink, this, $"pty-holder {Pid}", ReadLoop, () =>
        {
            Interlocked.Exchange(ref _delivered, fromOffset);
            _acknowledged = fromOffset;
            TrySend(() => HolderProtocol.SendUInt64(_socket, HolderProtocol.Read, fromOffset));
        });
    }

    public void PauseReading() => _reader.Pause();

    public void ResumeReading() => _reader.Resume();

    public void Write(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        while (!data.IsEmpty)
        {
            var chunk = data[..Math.Min(InputChunk, data.Length)];
            data = data[chunk.Length..];
            lock (_sendLock)
            {
                try
                {
                    HolderProtocol.Send(_socket, HolderProtocol.Input, chunk);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // The holder has gone, and the terminal with it: there is nobody to type to.
                    return;
                }
            }
        }
    }

    public void Resize(ushort columns, ushort rows)
    {
        ArgumentOutOfRangeException.ThrowIfZero(columns);
        ArgumentOutOfRangeException.ThrowIfZero(rows);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(payload, columns);
        BinaryPrimitives.WriteUInt16LittleEndian(payload[2..], rows);
        var bytes = payload.ToArray();
        TrySend(() => HolderProtocol.Send(_socket, HolderProtocol.Resize, bytes));
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the child's process group through the holder, which signals it only while
    /// the child has not been reaped (its pid cannot have been reused). A holder that has gone is not an error.
    /// </summary>
    public void Signal(int signal)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (signal is <= 0 or >= 65)
        {
            throw new ArgumentOutOfRangeException(nameof(signal), signal, "Not a valid signal number.");
        }

        TrySend(() => HolderProtocol.SendInt32(_socket, HolderProtocol.Signal, signal));
    }

    /// <summary>
    /// Ends every process of the terminal's session or below its first process, as the daemon's own terminals do
    /// (the holder stays: it reports the exit, then waits to be released).
    /// </summary>
    public void KillTree()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        SessionKiller.Kill(Pid, reaped: Hello.State != HolderState.Running || _exited.Task.IsCompleted);
    }

    /// <summary>
    /// Tells the holder that its terminal's end has been recorded: the holder exits and removes its socket. For a
    /// holder whose child had already ended when this connection opened (<see cref="Hello"/>), without reading it.
    /// </summary>
    /// <exception cref="InvalidOperationException">While the child still runs.</exception>
    public void Release()
    {
        if (Hello.State == HolderState.Running && !_exitDelivered)
        {
            throw new InvalidOperationException($"The terminal of holder {HolderPid} still runs (pid {Pid}): end it first (KillTree or Signal), then release it once it has exited.");
        }

        _exitDelivered = true;
        Dispose();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _reader.Stop();
        lock (_deliverLock)
        {
            // What was delivered counts as acknowledged at the holder before the connection goes.
            Acknowledge(force: true);
        }

        if (_exitDelivered)
        {
            TrySend(() => HolderProtocol.Send(_socket, HolderProtocol.Release, []));
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already disconnected.
        }

        _reader.Join(ThreadJoinTimeout);
        _socket.Dispose();
        _holderProcess?.Dispose();
    }

    private void TrySend(Action send)
    {
        lock (_sendLock)
        {
            try
            {
                send();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The holder has gone: the reader reports it (Exited with an unknown status).
            }
        }
    }

    private void ReadLoop(IPtyOutputSink sink)
    {
        var buffer = new byte[HolderProtocol.HeaderSize + HolderProtocol.MaxPayload];
        PtyExit? exit = null;
        var sinkFaulted = false;
        try
        {
            using var stream = new BufferedStream(new NetworkStream(_socket, ownsSocket: false), 2 * buffer.Length);
            while (exit is null)
            {
                if (HolderProtocol.Receive(stream, buffer) is not { } frame)
                {
                    break;
                }

                var (type, length) = frame;

                switch (type)
                {
                    case HolderProtocol.Output when length >= 8:
                        if (!Deliver(sink, BinaryPrimitives.ReadInt64LittleEndian(buffer), buffer.AsSpan(8, length - 8), ref sinkFaulted))
                        {
                            return;
                        }

                        break;
                    case HolderProtocol.Exit when length >= 5:
                        exit = HolderHello.DecodeExit(buffer[0], BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(1)));
                        break;
                    case HolderProtocol.Error:
                        _lastError = HolderProtocol.Text(buffer.AsSpan(0, length));
                        break;
                    default:
                        _lastError = $"The holder sent a frame of type {type} and {length} bytes, which this version does not know.";
                        break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidDataException or IOException)
        {
            // Disposed (the socket shut down under the reader), or the holder vanished or misbehaved.
        }
        finally
        {
            if (!sinkFaulted)
            {
                try
                {
                    sink.OnEnd();
                }
                catch (Exception)
                {
                    // As in LinuxPtyProcess: the sink's failure stays the sink's.
                }
            }

            if (exit is { } ended)
            {
                _exitDelivered = true;
                _exited.TrySetResult(ended);
            }
            else if (!_reader.Stopping)
            {
                // The holder ended without an EXIT (killed): the terminal is gone and how it ended is unknown.
                _exited.TrySetResult(new PtyExit(null, null));
            }
        }
    }

    /// <summary>Hands the part of an OUTPUT frame not yet delivered to the sink and acknowledges it; false to stop.</summary>
    private bool Deliver(IPtyOutputSink sink, long offset, ReadOnlySpan<byte> data, ref bool sinkFaulted)
    {
        var delivered = Interlocked.Read(ref _delivered);
        if (offset > delivered)
        {
            throw new InvalidDataException($"The holder skipped output from offset {delivered} to {offset}.");
        }

        // A frame that was under way when the position moved starts before it: only the rest is new.
        var skip = (int)Math.Min(data.Length, delivered - offset);
        data = data[skip..];
        if (data.IsEmpty)
        {
            return true;
        }

        if (!_reader.WaitWhilePaused())
        {
            return false;
        }

        lock (_deliverLock)
        {
            if (_reader.Stopping)
            {
                return false;
            }

            try
            {
                sink.OnData(data);
            }
            catch (Exception)
            {
                // A failing sink must not take the daemon down; reading stops, as documented on IPtyOutputSink.
                sinkFaulted = true;
                return false;
            }

            Interlocked.Add(ref _delivered, data.Length);
            Acknowledge(force: false);
            return true;
        }
    }

    /// <summary>Sends an ACK of everything delivered once <see cref="AckEvery"/> more has been (or now, when forced); under the deliver lock.</summary>
    private void Acknowledge(bool force)
    {
        var delivered = Interlocked.Read(ref _delivered);
        if (_acknowledged < 0 || delivered == _acknowledged || (!force && delivered - _acknowledged < AckEvery))
        {
            return;
        }

        _acknowledged = delivered;
        TrySend(() => HolderProtocol.SendUInt64(_socket, HolderProtocol.Ack, delivered));
    }
}
