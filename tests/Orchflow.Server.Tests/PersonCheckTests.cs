using System.Diagnostics;
using System.Net.Sockets;
using Orchflow.Server.Security;

namespace Orchflow.Server.Tests;

/// <summary>
/// Tier 1 on the real kernel: who may act for a person. A process is refused when the "daemon" (here: a chosen pid) is
/// among its ancestors, read from /proc and from a Unix socket's peer credentials. The end-to-end refusal, a real
/// workspace terminal running <c>orchflow workspace confirm-policy</c>, is in PolicyTamperTests and PolicyCliTests.
/// </summary>
[Trait("Tier", "unit")]
public sealed class PersonCheckTests
{
    [Fact]
    public async Task A_descendant_of_the_daemon_is_not_a_person_and_an_ancestor_or_stranger_is()
    {
        using var child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            int self = Environment.ProcessId;
            Assert.True(PersonCheck.StartedBy(child.Id, self)); // the test process plays the daemon
            Assert.False(PersonCheck.StartedBy(self, child.Id)); // a parent is not its child's descendant
            Assert.True(PersonCheck.StartedBy(self, self));

            child.Kill();
            await child.WaitForExitAsync();
            Assert.Null(PersonCheck.StartedBy(child.Id, self)); // gone: nothing to vouch for
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
    }

    [Fact]
    public async Task The_peer_of_a_socket_is_checked_by_its_credentials()
    {
        var dir = Directory.CreateTempSubdirectory("of-peer-").FullName;
        using var child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            var path = Path.Combine(dir, "s");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
            using var accepted = await listener.AcceptAsync();

            // The peer is this process: a descendant of itself (refused), not of the sleeping child (a person).
            var (refusal, pid) = PersonCheck.Check(accepted, Environment.ProcessId);
            Assert.Equal(Environment.ProcessId, pid);
            Assert.Equal($"process {pid} was started by Orchflow (a workspace's terminal or agent, or a process one of them left behind), and such processes may not act for a person", refusal);
            Assert.Equal((null, Environment.ProcessId), PersonCheck.Check(accepted, child.Id));
        }
        finally
        {
            child.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }
}
