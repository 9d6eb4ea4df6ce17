using System.Net.Sockets;

namespace Orchflow.Server.Security;

/// <summary>
/// Tells, at accept, whether a client of the main socket runs inside a workspace's sandbox, which may not use it: through
/// it, a workspace could start terminals in another. Orchflow hides the socket from its sandboxes, but hiding is not
/// enough: Landlock (up to ABI 7) does not restrict connecting to a named socket, and a socket can be reached by other
/// paths than the one hidden. So the daemon checks who connects, by two marks no sandboxed process can shed:
/// <list type="bullet">
/// <item>no_new_privs: Orchflow's Landlock launcher sets it, and bubblewrap sets it in its sandbox (measured:
/// NoNewPrivs 1); no process can ever clear it and every descendant inherits it. It tells only while the daemon itself
/// runs without it (<see cref="DaemonMarked"/>).</item>
/// <item>The PID namespace: every bubblewrap sandbox has its own, a child of the daemon's, and a process cannot move back
/// into an ancestor's.</item>
/// </list>
/// The peer is named by a pidfd taken at connect (SO_PEERPIDFD), and its marks are read by pid and then confirmed against
/// that pidfd, so a pid reused meanwhile cannot stand in for the peer. A peer whose marks cannot be read is refused.
/// A peer outside the daemon's PID namespace altogether (pid 0 in the credentials) is not a process of Orchflow's
/// sandboxes, whose namespaces are the daemon's children, and is let through as before.
/// </summary>
public static class SandboxedPeers
{
    /// <summary>True when this process carries no_new_privs itself: the mark then tells nothing apart.</summary>
    public static bool DaemonMarked { get; } = HasNoNewPrivs("/proc/self/status") ?? false;

    /// <summary>The daemon's own PID namespace (<c>pid:[inode]</c>).</summary>
    public static string? DaemonPidNamespace { get; } = PidNamespace("self");

    /// <summary>
    /// Why this peer may not use the main socket, or null when it may; the peer's pid (0 when unknown); and whether it was
    /// gone before it could be checked (a client that probes the socket and quits, like <c>orchflow daemon start</c>).
    /// </summary>
    public static (string? Refusal, int Pid, bool Gone) Check(Socket client)
    {
        using var peer = SocketPeer.Of(client);
        if (peer is null)
        {
            return (null, 0, false); // not a peer with credentials in this PID namespace: nothing to tell
        }

        int pid = peer.Pid;
        bool? marked = DaemonMarked ? false : HasNoNewPrivs($"/proc/{pid}/status");
        string? pidNamespace = PidNamespace(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        bool stillThere = peer.StillThere;
        return (Judge(pid, stillThere, marked, pidNamespace, DaemonPidNamespace), pid, !stillThere || marked is null);
    }

    /// <summary>The refusal for a peer with these marks, or null when it may use the socket. Pure.</summary>
    internal static string? Judge(int pid, bool stillThere, bool? noNewPrivs, string? pidNamespace, string? daemonPidNamespace)
    {
        if (!stillThere || noNewPrivs is null)
        {
            return $"the connecting process (pid {pid}) ended before it could be checked";
        }

        if (noNewPrivs.Value)
        {
            return $"process {pid} runs inside a workspace's sandbox (it carries no_new_privs, which Orchflow's sandboxes set), and sandboxed processes may not use Orchflow's socket";
        }

        if (pidNamespace is null || daemonPidNamespace is null)
        {
            return $"the PID namespace of the connecting process (pid {pid}) cannot be read, so it cannot be told apart from a sandboxed one";
        }

        return pidNamespace != daemonPidNamespace
            ? $"process {pid} runs inside a workspace's sandbox (its PID namespace {pidNamespace} is not the daemon's {daemonPidNamespace}), and sandboxed processes may not use Orchflow's socket"
            : null;
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

    /// <summary>
    /// The workspace of <paramref name="pid"/> by its ancestry, where control groups do not tell: the nearest ancestor that
    /// is a terminal's process (<paramref name="terminalWorkspace"/>). Inside a bubblewrap sandbox orphans go to the
    /// sandbox's own init, so the chain holds; a process that was reparented to the daemon is not found.
    /// </summary>
    public static string? WorkspaceByAncestry(int pid, Func<int, string?> terminalWorkspace)
    {
        for (int p = pid, steps = 0; p > 1 && steps < 64; steps++)
        {
            if (terminalWorkspace(p) is { } workspaceId)
            {
                return workspaceId;
            }

            if (SocketPeer.ParentOf(p) is not { } parent || parent == Environment.ProcessId)
            {
                return null;
            }

            p = parent;
        }

        return null;
    }

    /// <summary>The target of /proc/&lt;pid&gt;/ns/pid, or null when it cannot be read.</summary>
    private static string? PidNamespace(string pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/pid").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
}
