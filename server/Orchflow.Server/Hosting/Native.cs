using System.Runtime.InteropServices;

namespace Orchflow.Server.Hosting;

/// <summary>The few libc calls the daemon itself needs (the PTY layer has its own).</summary>
internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "close")]
    internal static partial int Close(int fd);

    /// <summary>A raw system call, for those libc has no wrapper for here (landlock_create_ruleset, pidfd_send_signal).</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long a, long b, long c, long d);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint RealPath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    /// <summary>The canonical absolute path with every symlink resolved, or null when it does not exist.</summary>
    public static string? TryRealPath(string path)
    {
        nint p = RealPath(path, 0);
        if (p == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            Free(p);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, out StatBuffer buffer);

    /// <summary>Room for glibc's <c>struct stat</c> (144 bytes on x86_64, 128 on aarch64); only st_uid is read, by offset.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct StatBuffer
    {
        public fixed byte Bytes[256];
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LStat(string path, out StatBuffer buffer);

    /// <summary>The owner of <paramref name="path"/>; with <paramref name="followLinks"/> false, of a symlink itself.</summary>
    public static unsafe uint GetOwnerUid(string path, bool followLinks = true)
    {
        StatBuffer buffer;
        if ((followLinks ? Stat(path, out buffer) : LStat(path, out buffer)) != 0)
        {
            throw new IOException($"Cannot stat {path}: errno {Marshal.GetLastPInvokeError()}.");
        }

        // st_uid offset: x86_64 = 28 (dev 8, ino 8, nlink 8, mode 4); aarch64 = 24 (dev 8, ino 8, mode 4, nlink 4).
        int offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 28 : 24;
        return *(uint*)(buffer.Bytes + offset);
    }

    /// <summary>
    /// Detaches the daemon from whoever started it: a new session (no controlling terminal to hang up on it),
    /// and stdin/stdout/stderr on /dev/null so that it never holds a caller's pipe open (a CLI run inside
    /// <c>$(...)</c> would otherwise wait for the daemon forever).
    /// </summary>
    public static void DetachStandardStreams()
    {
        int fd = Open("/dev/null", 2 /* O_RDWR */);
        if (fd < 0)
        {
            return;
        }

        Dup2(fd, 0);
        Dup2(fd, 1);
        Dup2(fd, 2);
        if (fd > 2)
        {
            Close(fd);
        }
    }
}
