using System.Buffers.Binary;
using System.Net.Sockets;
using Orchflow.Pty.Holder;

namespace Orchflow.Pty.Tests;

/// <summary>
/// Held terminals for the holder tests: a private 0700 socket directory per test, the holder built next to the tests,
/// and a starter standing in for the daemon's ProcessFactory. Disposing kills what is left (holders and children).
/// </summary>
internal sealed class HeldTerminals : IDisposable
{
    private readonly List<HolderPtyProcess> _processes = [];
    private int _next;

    public HeldTerminals(long scrollback = 64 * 1024, long window = HolderOptions.DefaultWindowBytes)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("orchflow-holders-").FullName;
        File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.True(File.Exists(HolderOptions.DefaultPath), $"{HolderOptions.DefaultPath} was not built (gcc missing?)");
        Backend = new HolderPtyBackend(new HolderOptions(HolderOptions.DefaultPath, scrollback, window), HolderProcessStarter.Start);
    }

    public string Directory { get; }

    public HolderPtyBackend Backend { get; }

    public string NewSocketPath() => Path.Combine(Directory, $"t{Interlocked.Increment(ref _next)}.sock");

    public (HolderPtyProcess Process, string Socket) Spawn(string file, params string[] arguments) => Spawn(PtySession.Options(file, arguments));

    public (HolderPtyProcess Process, string Socket) Spawn(PtySpawnOptions options)
    {
        var socket = NewSocketPath();
        var result = Backend.Spawn(options, socket);
        if (result is PtySpawnResult.Failure failure)
        {
            Assert.Fail($"Spawn failed: {failure.Message} (errno {failure.Errno})");
        }

        var process = (HolderPtyProcess)Assert.IsType<PtySpawnResult.Success>(result).Process;
        Track(process);
        return (process, socket);
    }

    /// <summary>Spawns and starts reading into a collector.</summary>
    public (HolderPtyProcess Process, OutputCollector Output, string Socket) Run(string file, params string[] arguments) => Run(PtySession.Options(file, arguments));

    public (HolderPtyProcess Process, OutputCollector Output, string Socket) Run(PtySpawnOptions options)
    {
        var (process, socket) = Spawn(options);
        var output = new OutputCollector();
        process.Start(output);
        return (process, output, socket);
    }

    public HolderPtyProcess Attach(string socket)
    {
        return HolderPtyBackend.Attach(socket) switch
        {
            HolderAttachResult.Attached attached => Track(attached.Process),
            var other => throw new Xunit.Sdk.XunitException($"Could not attach to {socket}: {other}"),
        };
    }

    public HolderPtyProcess Track(HolderPtyProcess process)
    {
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }

    /// <summary>Reads /proc/PID/status VmRSS, in bytes.</summary>
    public static long ResidentBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public void Dispose()
    {
        List<HolderPtyProcess> processes;
        lock (_processes)
        {
            processes = [.. _processes];
        }

        foreach (var process in processes)
        {
            // The tests own these holders: end the child and the holder both, whatever state they are in.
            _ = Orchflow.Pty.Linux.LibC.kill(-process.Pid, Orchflow.Pty.Linux.LibC.SIGKILL);
            _ = Orchflow.Pty.Linux.LibC.kill(process.HolderPid, Orchflow.Pty.Linux.LibC.SIGKILL);
            process.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A holder killed a moment ago may still be removing its socket.
        }
    }
}

/// <summary>A client speaking the holder protocol frame by frame, for what HolderPtyProcess never does on purpose.</summary>
internal sealed class RawHolderClient : IDisposable
{
    private readonly byte[] _buffer = new byte[HolderProtocol.HeaderSize + HolderProtocol.MaxPayload];

    public RawHolderClient(string socketPath)
    {
        Socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Timeouts.Default.TotalMilliseconds };
        Socket.Connect(new UnixDomainSocketEndPoint(socketPath));
    }

    public Socket Socket { get; }

    /// <summary>The next frame, or null at the end of the connection.</summary>
    public (byte Type, byte[] Payload)? Receive() =>
        HolderProtocol.Receive(Socket, _buffer) is { } frame ? (frame.Type, _buffer[..frame.Length]) : null;

    public void Send(byte type, ReadOnlySpan<byte> payload) => HolderProtocol.Send(Socket, type, payload);

    public void SendOffset(byte type, long offset) => HolderProtocol.SendUInt64(Socket, type, offset);

    public void Hello(int version = HolderProtocol.Version) => HolderProtocol.SendInt32(Socket, HolderProtocol.ClientHello, version);

    public static long Offset(byte[] payload) => BinaryPrimitives.ReadInt64LittleEndian(payload);

    public void Dispose() => Socket.Dispose();
}
