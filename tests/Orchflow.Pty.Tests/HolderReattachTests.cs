using System.Security.Cryptography;
using System.Text;
using Orchflow.Pty.Holder;
using Orchflow.Pty.Linux;

namespace Orchflow.Pty.Tests;

/// <summary>
/// What the holder is for: a terminal outlives its client. A client that goes mid-output (detached, or its socket
/// dropped with output unacknowledged) is followed by one that reads from the last acknowledged offset and gets every
/// byte once, in order; with no client a flood blocks in the child with the holder's memory bounded; an exit is kept
/// for a client that comes later; RELEASE ends the holder.
/// </summary>
[Trait("Tier", "unit")]
public sealed class HolderReattachTests : IDisposable
{
    private readonly HeldTerminals _held = new();

    public void Dispose() => _held.Dispose();

    /// <summary>8 MiB of random data as base64, also written to a file: what the terminal must show, byte for byte.</summary>
    private (string Command, string File) Flood()
    {
        var file = Path.Combine(_held.Directory, "expected.txt");
        return ($"head -c 8388608 /dev/urandom | base64 | tee {file}", file);
    }

    /// <summary>The file's bytes as the terminal shows them (the line discipline turns \n into \r\n).</summary>
    private static byte[] AsShown(string file) => Encoding.ASCII.GetBytes(File.ReadAllText(file).Replace("\n", "\r\n", StringComparison.Ordinal));

    [Fact]
    public async Task A_detached_client_is_followed_by_one_that_gets_every_byte_once_in_order()
    {
        var (command, file) = Flood();
        var (first, socket) = _held.Spawn("sh", "-c", command);
        var part1 = new ByteCollector();
        first.Start(part1);
        await Poll.UntilAsync(() => part1.Count >= 2 * 1024 * 1024, "2 MiB arrived through the first client");

        first.Dispose(); // detaches: the holder and the child keep going
        var resumeAt = first.DeliveredOffset;
        Assert.Equal(part1.Count, resumeAt);

        var second = _held.Attach(socket);
        var part2 = new ByteCollector();
        second.Start(part2, resumeAt);
        Assert.Equal(new PtyExit(0, null), await second.Exited.WaitAsync(TimeSpan.FromSeconds(60)));

        var all = part1.Bytes.Concat(part2.Bytes).ToArray();
        Assert.Equal(SHA256.HashData(AsShown(file)), SHA256.HashData(all));
    }

    [Fact]
    public async Task A_client_dropped_with_output_unacknowledged_loses_nothing()
    {
        var (command, file) = Flood();
        var (process, socket) = _held.Spawn("sh", "-c", command);
        process.Dispose(); // no reading yet: the raw client below is the first to read

        // Reads frames, acknowledges only every other one, and drops the socket with frames in flight.
        var kept = new MemoryStream();
        long acked;
        using (var raw = new RawHolderClient(socket))
        {
            Assert.Equal(HolderProtocol.Hello, raw.Receive()!.Value.Type);
            raw.Hello();
            raw.SendOffset(HolderProtocol.Read, 0);
            acked = 0;
            var unacked = new MemoryStream();
            for (var frames = 0; kept.Length < 3 * 1024 * 1024; frames++)
            {
                var (type, payload) = raw.Receive()!.Value;
                Assert.Equal(HolderProtocol.Output, type);
                Assert.Equal(acked + unacked.Length, RawHolderClient.Offset(payload));
                unacked.Write(payload.AsSpan(8));
                if (frames % 2 == 1)
                {
                    acked += unacked.Length;
                    unacked.WriteTo(kept);
                    unacked.SetLength(0);
                    raw.SendOffset(HolderProtocol.Ack, acked);
                }
            }
        }

        var next = _held.Attach(socket);
        var rest = new ByteCollector();
        next.Start(rest, acked);
        Assert.Equal(new PtyExit(0, null), await next.Exited.WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(SHA256.HashData(AsShown(file)), SHA256.HashData([.. kept.ToArray(), .. rest.Bytes]));
    }

    [Fact]
    public async Task With_no_client_a_flood_blocks_with_the_holders_memory_bounded_and_resumes_on_attach()
    {
        const long total = 64L * 1024 * 1024;
        var (process, socket) = _held.Spawn("sh", "-c", $"head -c {total} /dev/zero");
        var holder = process.HolderPid;
        process.Dispose();

        // The holder stops reading at its window; the kernel's buffer fills; head blocks in write.
        await Poll.UntilAsync(() => ProcessTree.InSession(process.Pid).Any(Proc.IsBlockedInWrite), "the flood blocks in write");
        await Task.Delay(300);
        var blocked = HeldTerminals.ResidentBytes(holder);
        Assert.True(blocked < 4 * 1024 * 1024, $"the blocked holder holds {blocked} bytes resident; its ring is 64 KiB + 1 MiB");
        Assert.False(Proc.IsGone(process.Pid), "the flood waits; it has not ended");

        var next = _held.Attach(socket);
        Assert.Equal(HolderOptions.DefaultWindowBytes, next.Hello.Next);
        var output = new ByteCollector(keep: false);
        next.Start(output);
        Assert.Equal(new PtyExit(0, null), await next.Exited.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(total, output.Count);
    }

    [Fact]
    public async Task The_smallest_window_still_flows_and_a_smaller_one_is_refused()
    {
        using var held = new HeldTerminals(window: HolderOptions.MinimumWindowBytes);
        const long total = 8L * 1024 * 1024;
        var (process, _) = held.Spawn("head", "-c", total.ToString(System.Globalization.CultureInfo.InvariantCulture), "/dev/zero");
        var output = new ByteCollector(keep: false);
        process.Start(output);

        Assert.Equal(new PtyExit(0, null), await process.Exited.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(total, output.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new HolderOptions(HolderOptions.DefaultPath, 0, HolderOptions.MinimumWindowBytes - 1));
    }

    [Fact]
    public async Task An_exit_is_kept_for_a_later_client_and_release_ends_the_holder()
    {
        var (process, socket) = _held.Spawn("sh", "-c", "echo bye; exit 7");
        var holder = process.HolderPid;
        var child = process.Pid;
        process.Dispose();
        await Poll.UntilAsync(() => Proc.IsGone(child), "the child has exited");

        var later = _held.Attach(socket);
        Assert.Equal(HolderState.Exited, later.Hello.State);
        Assert.Equal(new PtyExit(7, null), later.Hello.Exit);
        var output = new OutputCollector();
        later.Start(output);
        Assert.Equal(new PtyExit(7, null), await later.Exited.WaitAsync(Timeouts.Default));
        Assert.Equal(["bye"], output.Lines());
        Assert.True(File.Exists(socket), "the holder waits for RELEASE");

        later.Dispose(); // after the exit: RELEASE

        await Poll.UntilAsync(() => !File.Exists(socket) && Proc.IsGone(holder), "the released holder exits and removes its socket");
    }

    [Fact]
    public async Task Scrollback_is_replayed_to_a_new_client_from_the_first_retained_offset()
    {
        using var held = new HeldTerminals(scrollback: 4096);
        var (first, socket) = held.Spawn("sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done; echo end; read x");
        var output = new OutputCollector();
        first.Start(output);
        await output.WaitForOutput("end");
        first.Dispose();

        var second = held.Attach(socket);
        var all = first.DeliveredOffset;
        Assert.Equal(all - 4096, second.Hello.FirstRetained);
        var replay = new OutputCollector();
        second.Start(replay);
        await replay.WaitForOutput("end");
        Assert.EndsWith(output.Text[^1000..], replay.Text, StringComparison.Ordinal);
        Assert.True(replay.ByteCount <= 4096 + 16, $"{replay.ByteCount} bytes replayed for a 4 KiB scrollback");
        Assert.Throws<ArgumentOutOfRangeException>(() => held.Attach(socket).Start(new OutputCollector(), 0));
    }

    [Fact]
    public async Task Release_of_a_running_terminal_is_refused()
    {
        var (process, socket) = _held.Spawn("sleep", "100");
        Assert.Throws<InvalidOperationException>(process.Release);
        process.Dispose();

        using var raw = new RawHolderClient(socket);
        raw.Receive();
        raw.Hello();
        raw.Send(HolderProtocol.Release, []);
        var (type, payload) = raw.Receive()!.Value;
        Assert.Equal(HolderProtocol.Error, type);
        Assert.Contains("cannot release a running terminal", HolderProtocol.Text(payload), StringComparison.Ordinal);
        await Task.Delay(100);
        Assert.True(File.Exists(socket));
    }

    /// <summary>Counts (and keeps, unless told not to) every byte delivered.</summary>
    private sealed class ByteCollector(bool keep = true) : IPtyOutputSink
    {
        private readonly MemoryStream _bytes = new();
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public byte[] Bytes
        {
            get
            {
                lock (_bytes)
                {
                    return _bytes.ToArray();
                }
            }
        }

        public void OnData(ReadOnlySpan<byte> data)
        {
            if (keep)
            {
                lock (_bytes)
                {
                    _bytes.Write(data);
                }
            }

            Interlocked.Add(ref _count, data.Length);
        }

        public void OnEnd()
        {
        }
    }
}
