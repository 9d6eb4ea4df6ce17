using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Orchflow.Server.Security;

/// <summary>
/// Tells, at accept, whether a client of the main socket runs inside a Landlock sandbox. Landlock (up to ABI 7) does
/// not restrict connecting to a named socket, so a strict workspace's process could reach the daemon and, through it,
/// other workspaces' terminals. Orchflow's launcher sets no_new_privs, which no process can ever clear and which every
/// descendant inherits; the daemon itself normally runs without it. When both hold, a client carrying the mark is a
/// sandboxed process (or a descendant of one) and is refused. The peer is named by a pidfd taken at connect
/// (SO_PEERPIDFD), and the mark is read by pid and then confirmed against that pidfd, so a pid reused meanwhile cannot
/// stand in for the peer.
/// </summary>
public static partial class SandboxedPeers
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    private const int SoPeerPidFd = 77;
    private const long PidFdSendSignal = 424; // the same number on x86_64 and arm64

    /// <summary>True when this process carries no_new_privs itself: the mark then tells nothing apart.</summary>
    public static bool DaemonMarked { get; } = HasNoNewPrivs("/proc/self/status") ?? false;

    /// <summary>Why this peer may not use the main socket, or null when it may; and the peer's pid (0 when unknown).</summary>
    public static (string? Refusal, int Pid) Check(Socket client)
    {
        if (DaemonMarked)
        {
            return (null, 0);
        }

        int handle = (int)client.SafeHandle.DangerousGetHandle();
        int pidfd = -1;
        try
        {
            if (!TryPeerPid(handle, out int pid))
            {
                return (null, 0); // not a Unix socket peer with credentials: nothing to tell
            }

            int size = sizeof(int);
            if (GetSockOpt(handle, SolSocket, SoPeerPidFd, ref pidfd, ref size) != 0)
            {
                pidfd = -1; // a kernel before 6.5: the pid alone
            }

            bool? marked = HasNoNewPrivs($"/proc/{pid}/status");
            bool stillThere = pidfd < 0 || Hosting.Native.Syscall(PidFdSendSignal, pidfd, 0, 0, 0) == 0;
            if (marked is null || !stillThere)
            {
                return ($"the connecting process (pid {pid}) ended before it could be checked", pid);
            }

            return (marked.Value
                ? $"process {pid} runs inside a workspace's Landlock sandbox (it carries no_new_privs), and sandboxed processes may not use Orchflow's socket"
                : null, pid);
        }
        finally
        {
            if (pidfd >= 0)
            {
                Hosting.Native.Close(pidfd);
            }
        }
    }

    /// <summary>
    /// The workspace whose control group holds <paramref name="pid"/> (groups are named <c>…/&lt;daemon key&gt;/&lt;workspace&gt;</c>),
    /// for the audit log; null without control groups. A strict sandbox cannot leave its group: the group files are
    /// read-only to it.
    /// </summary>
    public static string? WorkspaceOf(int pid, string daemonKey)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/cgroup"))
            {
                var segments = line.Split(':', 3) is { Length: 3 } parts ? parts[2].Split('/') : [];
                int at = Array.IndexOf(segments, daemonKey);
                if (at >= 0 && at + 1 < segments.Length && segments[at + 1].Length > 0)
                {
                    return segments[at + 1];
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static bool TryPeerPid(int handle, out int pid)
    {
        var cred = new UCred();
        int size = Marshal.SizeOf<UCred>();
        pid = GetSockOpt(handle, SolSocket, SoPeerCred, ref cred, ref size) == 0 ? cred.Pid : 0;
        return pid > 0;
    }

    /// <summary>The NoNewPrivs line of a /proc status file; null when the process is gone.</summary>
    internal static bool? HasNoNewPrivs(string statusFile)
    {
        try
        {
            foreach (var line in File.ReadLines(statusFile))
            {
                if (line.StartsWith("NoNewPrivs:", StringComparison.Ordinal))
                {
                    return line["NoNewPrivs:".Length..].Trim() == "1";
                }
            }

            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
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
