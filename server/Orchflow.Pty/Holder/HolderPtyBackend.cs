using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Orchflow.Pty.Linux;

namespace Orchflow.Pty.Holder;

/// <summary>
/// How to run orchflow-holder: exactly <paramref name="Program"/> with <paramref name="Arguments"/> and no other
/// environment than <paramref name="Environment"/> (the holder's environment is the child's).
/// </summary>
public sealed record HolderCommand(string Program, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// Starts a holder: the daemon's process factory, the one place that starts children. The process must run in
/// <c>/</c> with its standard input empty and its standard output redirected (the holder writes one line there, "ready"
/// or "error: …", then lets go of it); the caller of the delegate disposes the returned process, which never kills it.
/// </summary>
public delegate Process HolderStarter(HolderCommand command);

/// <summary>Sizes and places for held terminals.</summary>
/// <param name="HolderPath">The orchflow-holder executable (built next to this library).</param>
/// <param name="ScrollbackBytes">Acknowledged output each holder keeps for a new daemon to replay.</param>
/// <param name="WindowBytes">Unacknowledged output each holder buffers before the child blocks.</param>
public sealed record HolderOptions(string HolderPath, long ScrollbackBytes, long WindowBytes = HolderOptions.DefaultWindowBytes)
{
    public const long DefaultWindowBytes = 1024 * 1024;

    /// <summary>The holder's smallest window: several of the client's acknowledgement steps (64 KiB).</summary>
    public const long MinimumWindowBytes = 256 * 1024;

    public long ScrollbackBytes { get; } = ScrollbackBytes >= 0 ? ScrollbackBytes
        : throw new ArgumentOutOfRangeException(nameof(ScrollbackBytes), ScrollbackBytes, "The scrollback cannot be negative.");

    public long WindowBytes { get; } = WindowBytes >= MinimumWindowBytes ? WindowBytes
        : throw new ArgumentOutOfRangeException(nameof(WindowBytes), WindowBytes, $"The window must be at least {MinimumWindowBytes} bytes.");

    /// <summary>The executable's file name, next to the assembly (bin/, dist/server, the tests' output).</summary>
    public const string ProgramName = "orchflow-holder";

    /// <summary>Where the build puts the holder: next to this library.</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, ProgramName);
}

/// <summary>
/// Terminals held by orchflow-holder processes, which outlive the daemon: <see cref="Spawn"/> starts a holder for a
/// new terminal, <see cref="Attach"/> adopts one that runs already (after a daemon restart).
/// </summary>
public sealed class HolderPtyBackend(HolderOptions options, HolderStarter starter)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts <paramref name="spawn"/>'s program under a new holder listening at <paramref name="socketPath"/> (whose
    /// directory the caller made, 0700) and attaches to it. A bad command is a <see cref="PtySpawnResult.Failure"/>, as
    /// from the daemon's own backend: checked before the holder starts where it can be, else reported by the holder,
    /// which is then released.
    /// </summary>
    public PtySpawnResult Spawn(PtySpawnOptions spawn, string socketPath)
    {
        ArgumentNullException.ThrowIfNull(socketPath);
        var (executable, failure) = LinuxPtyBackend.Prepare(spawn);
        if (failure is not null)
        {
            return failure;
        }

        var (program, argv) = LinuxPtyBackend.CommandLine(spawn, executable!);
        var command = new HolderCommand(options.HolderPath, Arguments(spawn, socketPath, program, argv), spawn.Environment);
        Process holder;
        try
        {
            holder = starter(command);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return new PtySpawnResult.Failure($"Could not start the terminal's holder ({options.HolderPath}): {e.Message}", null);
        }

        if (ReadyLine(holder) is { } notReady)
        {
            holder.Dispose();
            return new PtySpawnResult.Failure($"The terminal's holder could not start '{spawn.File}': {notReady}", null);
        }

        switch (Attach(socketPath, holder))
        {
            case HolderAttachResult.Attached { Process: var process } when process.Hello.State == HolderState.SpawnFailed:
                var hello = process.Hello;
                process.Release();
                return new PtySpawnResult.Failure(
                    $"Could not start '{spawn.File}' ({program}) in '{spawn.WorkingDirectory}': {LibC.Describe(hello.SpawnErrno)} (when trying to {hello.SpawnStep}).",
                    hello.SpawnErrno);
            case HolderAttachResult.Attached attached:
                return new PtySpawnResult.Success(attached.Process);
            case HolderAttachResult.Incompatible incompatible:
                return new PtySpawnResult.Failure(incompatible.Message, null);
            case HolderAttachResult.Unreachable unreachable:
                return new PtySpawnResult.Failure(unreachable.Message, null);
            default:
                throw new UnreachableException();
        }
    }

    /// <summary>
    /// Connects to the holder at <paramref name="socketPath"/> and reads its HELLO: the terminal's pids, size, the
    /// output it retains and how it ended, if it has. Nothing is read or changed until <see cref="IPtyProcess.Start"/>.
    /// </summary>
    public static HolderAttachResult Attach(string socketPath) => Attach(socketPath, null);

    private static HolderAttachResult Attach(string socketPath, Process? holder)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var handedOver = false;
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.ReceiveTimeout = (int)StartTimeout.TotalMilliseconds;
            var buffer = new byte[HolderProtocol.HeaderSize + HolderProtocol.MaxPayload];
            if (HolderProtocol.Receive(socket, buffer) is not { } frame)
            {
                return new HolderAttachResult.Unreachable($"The terminal holder at {socketPath} closed the connection without a word.");
            }

            var (type, length) = frame;
            var payload = buffer.AsSpan(0, length);
            if (type == HolderProtocol.Error)
            {
                return new HolderAttachResult.Unreachable($"The terminal holder at {socketPath} refused this daemon: {HolderProtocol.Text(payload)}.");
            }

            if (type != HolderProtocol.Hello || length < HolderHello.StableSize)
            {
                return new HolderAttachResult.Unreachable($"What listens at {socketPath} is not a terminal holder (its first frame is of type {type}).");
            }

            var version = BitConverter.ToInt32(payload);
            var holderPid = BitConverter.ToInt32(payload[4..]);
            var childPid = BitConverter.ToInt32(payload[8..]);
            if (version != HolderProtocol.Version || HolderHello.Parse(payload) is not { } hello)
            {
                return new HolderAttachResult.Incompatible(version, holderPid, childPid,
                    $"The terminal holder {holderPid} (program pid {childPid}) speaks protocol version {version}; this daemon speaks {HolderProtocol.Version}. It keeps running until its program ends; close it from a daemon of its version or end pid {childPid}.");
            }

            HolderProtocol.SendInt32(socket, HolderProtocol.ClientHello, HolderProtocol.Version);
            socket.ReceiveTimeout = 0;
            handedOver = true;
            return new HolderAttachResult.Attached(new HolderPtyProcess(socket, hello, holder));
        }
        catch (SocketException e)
        {
            return new HolderAttachResult.Unreachable($"No terminal holder answers at {socketPath}: {e.Message}.");
        }
        finally
        {
            if (!handedOver)
            {
                socket.Dispose();
                holder?.Dispose();
            }
        }
    }

    /// <summary>Waits for the holder's one line; null once it is ready, else what went wrong.</summary>
    private static string? ReadyLine(Process holder)
    {
        var line = holder.StandardOutput.ReadLineAsync();
        if (!line.Wait(StartTimeout))
        {
            return $"it did not answer within {StartTimeout.TotalSeconds:0} s (pid {holder.Id}).";
        }

        return line.Result switch
        {
            "ready" => null,
            { } text when text.StartsWith("error: ", StringComparison.Ordinal) => text["error: ".Length..],
            { } text => $"it said '{text}' instead of 'ready'.",
            null => holder.WaitForExit(StartTimeout)
                ? $"it exited with code {holder.ExitCode} without saying why."
                : "it closed its output without saying why.",
        };
    }

    private List<string> Arguments(PtySpawnOptions spawn, string socketPath, string program, string[] argv)
    {
        var arguments = new List<string>
        {
            "--socket", socketPath,
            "--cols", spawn.Columns.ToString(CultureInfo.InvariantCulture),
            "--rows", spawn.Rows.ToString(CultureInfo.InvariantCulture),
            "--scrollback", options.ScrollbackBytes.ToString(CultureInfo.InvariantCulture),
            "--window", options.WindowBytes.ToString(CultureInfo.InvariantCulture),
            "--cwd", spawn.WorkingDirectory,
        };
        if (spawn.ConfineWorkingDirectoryTo is { } confine)
        {
            arguments.AddRange(["--confine", confine]);
        }

        arguments.AddRange(["--argv0", argv[0], "--", program, .. argv[1..]]);
        return arguments;
    }
}
