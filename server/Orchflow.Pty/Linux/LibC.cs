using System.Runtime.InteropServices;

namespace Orchflow.Pty.Linux;

/// <summary>
/// The libc functions and constants the Linux backend uses. Values are those of glibc on
/// x86_64 and aarch64 (<see cref="PtyBackend.Default"/> refuses other architectures).
/// Functions of the posix_spawn family return an error number instead of setting errno.
/// </summary>
internal static unsafe partial class LibC
{
    // "libc" is mapped by the .NET runtime to the platform's C library (libc.so.6 on glibc).
    private const string Libc = "libc";

    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_NOCTTY = 0x100;
    public const int O_CLOEXEC = 0x80000;

    /// <summary>O_DIRECTORY differs between x86_64 (0200000) and aarch64 (040000).</summary>
    public static readonly int O_DIRECTORY = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    public const int EFD_CLOEXEC = O_CLOEXEC;
    public const int X_OK = 1;

    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int ECHILD = 10;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int ENOTDIR = 20;
    public const int EINVAL = 22;

    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;

    public const nuint TIOCSWINSZ = 0x5414;
    public const int TCSANOW = 0;
    public const uint IUTF8 = 0x4000;

    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    /// <summary>
    /// glibc's posix_spawnattr_t is 336 bytes and posix_spawn_file_actions_t 80 bytes on x86_64;
    /// the opaque buffers are allocated larger so a layout change cannot overrun them.
    /// </summary>
    public const int SpawnStructSize = 512;

    /// <summary>glibc's sigset_t is 128 bytes (1024 signals); allocated with the same margin.</summary>
    public const int SigsetSize = 256;

    /// <summary>struct termios is 60 bytes in glibc; c_iflag is its first field.</summary>
    public const int TermiosSize = 256;

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_openpt(int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int grantpt(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int unlockpt(int fd);

    [LibraryImport(Libc)]
    public static partial int ptsname_r(int fd, byte* buffer, nuint length);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ioctl(SafeHandle fd, nuint request, void* argument);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int tcgetattr(int fd, void* termios);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int tcsetattr(int fd, int optionalActions, void* termios);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int eventfd(uint initialValue, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint write(SafeHandle fd, byte* buffer, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int access(byte* path, int mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sigfillset(void* set);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Libc)]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigdefault(void* attributes, void* signals);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigmask(void* attributes, void* signals);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addchdir_np(void* fileActions, byte* path);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addfchdir_np(void* fileActions, int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int open(byte* path, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint readlink(byte* path, byte* buffer, nuint size);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int flags, uint mode);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newFd);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addclosefrom_np(void* fileActions, int from);

    /// <summary>The text of an error number, as strerror gives it.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="value"/>, to pin with <c>fixed</c>.</summary>
    public static byte[] ToUtf8z(string value)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(value) + 1];
        System.Text.Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
