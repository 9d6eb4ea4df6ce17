using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Orchflow.Server.Security;

/// <summary>
/// The process at the other end of a Unix socket, for the checks that decide what a client may do
/// (<see cref="PersonCheck"/>, <see cref="SandboxedPeers"/>): its pid from the credentials (SO_PEERCRED), pinned by a
/// pidfd taken at connect (SO_PEERPIDFD, kernel 6.5 and later), so that what was read about the pid can be confirmed
/// to be about this process and not one that reused the pid meanwhile (<see cref="StillThere"/>).
/// </summary>
internal sealed partial class SocketPeer : IDisposable
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    private const int SoPeerPidFd = 77;
    private const long PidFdSendSignal = 424; // the same number on x86_64 and arm64

    private int _pidfd;

    private SocketPeer(int pid, int pidfd)
    {
        Pid = pid;
        _pidfd = pidfd;
    }

    public int Pid { get; }

    /// <summary>The peer of <paramref name="socket"/>; null when it has no credentials in this PID namespace.</summary>
    public static SocketPeer? Of(Socket socket)
    {
        int handle = (int)socket.SafeHandle.DangerousGetHandle();
        var cred = default(UCred);
        int size = Marshal.SizeOf<UCred>();
        if (GetSockOpt(handle, SolSocket, SoPeerCred, ref cred, ref size) != 0 || cred.Pid <= 0)
        {
            return null;
        }

        int pidfd = -1;
        size = sizeof(int);
        if (GetSockOpt(handle, SolSocket, SoPeerPidFd, ref pidfd, ref size) != 0)
        {
            pidfd = -1; // a kernel before 6.5: the pid alone
        }

        return new SocketPeer(cred.Pid, pidfd);
    }

    /// <summary>True while the process that connected still runs (always true without a pidfd: the pid alone).</summary>
    public bool StillThere => _pidfd < 0 || Hosting.Native.Syscall(PidFdSendSignal, _pidfd, 0, 0, 0) == 0;

    public void Dispose()
    {
        if (_pidfd >= 0)
        {
            Hosting.Native.Close(_pidfd);
            _pidfd = -1;
        }
    }

    /// <summary>The ppid field of /proc/PID/stat (after the command name, which may hold spaces and parentheses); null when the process is gone.</summary>
    public static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int ppid) ? ppid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct UCred
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetSockOpt(int socket, int level, int name, ref UCred value, ref int length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetSockOpt(int socket, int level, int name, ref int value, ref int length);
}
