using System.Runtime.InteropServices;

namespace Orchflow.Server.Cli;

/// <summary>
/// The caller's terminal for <c>orchflow terminal attach</c>: raw mode on stdin (every key, Ctrl-C included,
/// reaches the remote terminal as a byte), restored exactly once whatever ends the attach (return, exception,
/// SIGTERM/SIGHUP, process exit); the local window size; and blocking reads of stdin's bytes.
/// Values are glibc's on x86_64 and aarch64.
/// </summary>
internal sealed unsafe partial class RawMode : IDisposable
{
    public const int StdinFd = 0;
    public const int StdoutFd = 1;

    private const int TCSANOW = 0;
    private const nuint TIOCGWINSZ = 0x5413;
    private const int EINTR = 4;

    /// <summary>glibc's struct termios is 60 bytes; an opaque, larger buffer (only libc reads and writes it).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Termios
    {
        public fixed byte Bytes[256];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int IsATty(int fd);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, Termios* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int optionalActions, Termios* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static partial void CfMakeRaw(Termios* termios);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, WinSize* size);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadNative(int fd, byte* buffer, nuint count);

    private readonly Lock _gate = new();
    private readonly int _fd;
    private Termios _saved;
    private bool _active;

    private RawMode(int fd, Termios saved)
    {
        _fd = fd;
        _saved = saved;
        _active = true;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public static bool IsTerminal(int fd) => IsATty(fd) == 1;

    /// <summary>Puts <paramref name="fd"/> (a terminal) in raw mode; dispose (or <see cref="Restore"/>) to put it back.</summary>
    public static RawMode Enter(int fd = StdinFd)
    {
        Termios saved;
        if (TcGetAttr(fd, &saved) != 0)
        {
            throw new IOException($"Cannot read the terminal's settings (tcgetattr: errno {Marshal.GetLastPInvokeError()}).");
        }

        var raw = saved;
        CfMakeRaw(&raw);
        if (TcSetAttr(fd, TCSANOW, &raw) != 0)
        {
            throw new IOException($"Cannot put the terminal in raw mode (tcsetattr: errno {Marshal.GetLastPInvokeError()}).");
        }

        return new RawMode(fd, saved);
    }

    /// <summary>Puts the terminal back as it was. Safe to call many times, from any thread (signal handlers included).</summary>
    public void Restore()
    {
        lock (_gate)
        {
            if (!_active)
            {
                return;
            }

            _active = false;
            fixed (Termios* saved = &_saved)
            {
                TcSetAttr(_fd, TCSANOW, saved);
            }
        }
    }

    public void Dispose()
    {
        Restore();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Restore();

    /// <summary>The window size of the first of <paramref name="fds"/> that is a terminal, or null.</summary>
    public static (int Columns, int Rows)? WindowSize(params int[] fds)
    {
        foreach (var fd in fds)
        {
            WinSize size;
            if (Ioctl(fd, TIOCGWINSZ, &size) == 0 && size.Columns > 0 && size.Rows > 0)
            {
                return (size.Columns, size.Rows);
            }
        }

        return null;
    }

    /// <summary>A blocking read(2), retried on EINTR: the byte count, 0 at end of input; throws on a read error.</summary>
    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = ReadNative(fd, p, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR)
                {
                    throw new IOException($"Cannot read standard input (errno {errno}).");
                }
            }
        }
    }
}
