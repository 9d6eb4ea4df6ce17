using System.Globalization;
using System.Net.Sockets;
using Orchflow.Protocol;
using Orchflow.Server.Rpc;

namespace Orchflow.Server.Security;

/// <summary>
/// Decides whether a client may act for a person: confirm a workspace's weaker policy, or adopt a replaced root.
/// An MCP-socket connection never may (an agent's token speaks for its agent, and the socket serves nothing else).
/// On the main socket, every process Orchflow started is a descendant of the daemon: a workspace's terminals and
/// agents, and whatever they leave behind, which the daemon adopts as child subreaper. A person's CLI or VS Code is
/// not. So a peer with the daemon among its ancestors is refused, whatever it calls itself; its pid comes from
/// SO_PEERCRED and is confirmed against a pidfd (SO_PEERPIDFD) after the walk, so a pid reused meanwhile cannot
/// stand in for it. A connection without a socket peer (the stdio server's own client, in-memory tests) is the
/// person who started it.
/// </summary>
public static class PersonCheck
{
    /// <summary>A process tree deeper than this is not walked to its end (none is; it bounds a loop on a racing /proc).</summary>
    private const int MaxDepth = 4096;

    /// <summary>
    /// Returns who acts (the client's name, version and process, for the audit log) when the client may act for a
    /// person; throws Unauthorized, saying why and what to do instead, when it may not.
    /// </summary>
    /// <param name="what">What the client tried, e.g. "confirm a weaker policy".</param>
    public static string Require(ClientSession session, string what)
    {
        var (refusal, pid) = Check(session);
        var name = session.ClientInfo is { } info ? $"{info.Name}{(info.Version is { Length: > 0 } v ? " " + v : "")}" : "an unnamed client";
        if (refusal is not null)
        {
            throw new OrchflowException(ErrorCodes.Unauthorized, $"Only a person can {what}: {refusal}.",
                "Run the orchflow command in a terminal that Orchflow did not start, or answer the notification in VS Code.");
        }

        return pid > 0 ? string.Create(CultureInfo.InvariantCulture, $"{name} (pid {pid})") : name;
    }

    /// <summary>Why the client may not act for a person (null when it may), and its pid (0 when it has no socket peer).</summary>
    public static (string? Refusal, int Pid) Check(ClientSession session)
    {
        if (session.McpOnly)
        {
            return ("this connection is the MCP socket's, which speaks only for an agent", 0);
        }

        return session.Peer is { } socket ? Check(socket, Environment.ProcessId) : (null, 0);
    }

    /// <summary>The check on a socket's peer, against <paramref name="daemonPid"/>'s descendants.</summary>
    internal static (string? Refusal, int Pid) Check(Socket socket, int daemonPid)
    {
        using var peer = SocketPeer.Of(socket);
        if (peer is null)
        {
            return ("the connecting process cannot be identified (no peer credentials)", 0);
        }

        int pid = peer.Pid;
        var startedBy = StartedBy(pid, daemonPid);
        if (startedBy is null || !peer.StillThere)
        {
            return ($"the connecting process (pid {pid}) ended before it could be checked", pid);
        }

        return (startedBy.Value
            ? $"process {pid} was started by Orchflow (a workspace's terminal or agent, or a process one of them left behind), and such processes may not act for a person"
            : null, pid);
    }

    /// <summary>
    /// True when <paramref name="daemonPid"/> is among <paramref name="pid"/>'s ancestors; null when the process is
    /// gone. An ancestor that ends during the walk reparents its children, so the walk then starts again.
    /// </summary>
    internal static bool? StartedBy(int pid, int daemonPid)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int current = pid;
            bool complete = true;
            for (int depth = 0; depth < MaxDepth && current > 1; depth++)
            {
                if (current == daemonPid)
                {
                    return true;
                }

                if (SocketPeer.ParentOf(current) is not { } parent)
                {
                    if (current == pid)
                    {
                        return null;
                    }

                    complete = false;
                    break;
                }

                current = parent;
            }

            if (complete)
            {
                return current == daemonPid;
            }
        }

        return null;
    }
}
