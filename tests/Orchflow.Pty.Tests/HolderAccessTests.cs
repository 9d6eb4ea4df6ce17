using System.Diagnostics;
using Orchflow.Pty.Holder;

namespace Orchflow.Pty.Tests;

/// <summary>
/// Who may talk to a holder: its socket is 0600, a peer of another uid is refused even when the file's mode would let
/// it in, a client of another protocol version gets an error that names both versions, and a dead socket is a value.
/// </summary>
[Trait("Tier", "unit")]
public sealed class HolderAccessTests : IDisposable
{
    private readonly HeldTerminals _held = new();

    public void Dispose() => _held.Dispose();

    [Fact]
    public void The_socket_is_private_to_its_user()
    {
        var (_, socket) = _held.Spawn("sleep", "100");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
    }

    [OtherUserFact]
    public async Task A_peer_of_another_uid_is_refused()
    {
        var (process, socket) = _held.Spawn("sleep", "100");

        // Opened up on purpose, as a mistake elsewhere could: SO_PEERCRED is the check that still holds.
        File.SetUnixFileMode(_held.Directory, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(socket, (UnixFileMode)0b110_110_110);
        var client = new ProcessStartInfo("/usr/bin/setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/perl", "-MIO::Socket::UNIX", "-e",
            "my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die \"connect: $!\"; local $/; my $d = <$s>; print substr($d, 5);", socket])
        {
            client.ArgumentList.Add(argument);
        }

        using var peer = Process.Start(client)!;
        var said = await peer.StandardOutput.ReadToEndAsync().WaitAsync(Timeouts.Default);
        var error = await peer.StandardError.ReadToEndAsync().WaitAsync(Timeouts.Default);
        await peer.WaitForExitAsync().WaitAsync(Timeouts.Default);

        Assert.True(said.Length > 0, $"the peer got nothing: {error}");
        Assert.Contains("uid 65534 may not attach", said, StringComparison.Ordinal);

        // The holder goes on serving its own user.
        var owner = _held.Attach(socket);
        Assert.Equal(process.Pid, owner.Pid);
    }

    [Fact]
    public void A_client_of_another_version_gets_an_error_naming_both()
    {
        var (process, socket) = _held.Spawn("sleep", "100");
        process.Dispose();

        using (var raw = new RawHolderClient(socket))
        {
            Assert.Equal(HolderProtocol.Hello, raw.Receive()!.Value.Type);
            raw.Hello(version: 2);
            var (type, payload) = raw.Receive()!.Value;
            Assert.Equal(HolderProtocol.Error, type);
            Assert.Contains("protocol version 2 is not supported: this holder speaks version 1", HolderProtocol.Text(payload), StringComparison.Ordinal);
            Assert.Null(raw.Receive());
        }

        Assert.Equal(HolderState.Running, _held.Attach(socket).Hello.State);
    }

    [Theory]
    [InlineData(false, 0, "the first frame must be HELLO with the protocol version (this holder speaks 1)")]
    [InlineData(true, 5, "cannot read from offset 5: this holder retains offsets 0 to 0")]
    public void A_bad_request_is_answered_with_what_is_expected(bool hello, long readFrom, string error)
    {
        var (process, socket) = _held.Spawn("sleep", "100");
        process.Dispose();

        using var raw = new RawHolderClient(socket);
        raw.Receive();
        if (hello)
        {
            raw.Hello();
        }

        raw.SendOffset(HolderProtocol.Read, readFrom);
        var (type, payload) = raw.Receive()!.Value;
        Assert.Equal(HolderProtocol.Error, type);
        Assert.Contains(error, HolderProtocol.Text(payload), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_holder_that_has_gone_is_unreachable_and_its_client_sees_an_unknown_exit()
    {
        var (process, _, socket) = _held.Run("sleep", "100");
        _ = Orchflow.Pty.Linux.LibC.kill(process.HolderPid, Orchflow.Pty.Linux.LibC.SIGKILL);

        Assert.Equal(new PtyExit(null, null), await process.Exited.WaitAsync(Timeouts.Default));
        var result = HolderPtyBackend.Attach(socket);
        Assert.Contains("No terminal holder answers", Assert.IsType<HolderAttachResult.Unreachable>(result).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_holder_ended_by_SIGTERM_removes_its_socket_and_hangs_up_its_terminal()
    {
        var (process, socket) = _held.Spawn("sleep", "100");
        await Poll.UntilAsync(() => Proc.IsBlockedInNanosleep(process.Pid), "sleep has started");

        _ = Orchflow.Pty.Linux.LibC.kill(process.HolderPid, Orchflow.Pty.Linux.LibC.SIGTERM);

        await Poll.UntilAsync(() => !File.Exists(socket) && Proc.IsGone(process.HolderPid), "the holder removed its socket and exited");
        await Poll.UntilAsync(() => Proc.IsGone(process.Pid), "the child got the terminal's hangup");
    }

    /// <summary>Needs root (to run a client as nobody), setpriv and perl: a test of another uid cannot run without them.</summary>
    private sealed class OtherUserFactAttribute : FactAttribute
    {
        public OtherUserFactAttribute()
        {
            if (!Environment.IsPrivilegedProcess)
            {
                Skip = "a client of another uid needs root to become nobody (setpriv); this test runs unprivileged";
            }
            else if (!File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/perl"))
            {
                Skip = "a client of another uid is run with /usr/bin/setpriv and /usr/bin/perl, and one is missing";
            }
        }
    }
}
