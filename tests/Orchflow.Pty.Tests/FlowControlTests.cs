namespace Orchflow.Pty.Tests;

[Trait("Tier", "unit")]
public sealed class FlowControlTests
{
    /// <summary>Counts bytes and pauses reading once, from the reader thread, past a threshold.</summary>
    private sealed class PausingCounter(long pauseAt) : IPtyOutputSink
    {
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _count;
        private long _nonZero;

        public IPtyProcess? Process { get; set; }

        public long Count => Interlocked.Read(ref _count);

        public long NonZeroBytes => Interlocked.Read(ref _nonZero);

        public Task Paused => _paused.Task;

        public Task Ended => _ended.Task;

        public void OnData(ReadOnlySpan<byte> data)
        {
            var nonZero = data.Length - data.Count((byte)0);
            Interlocked.Add(ref _nonZero, nonZero);
            var total = Interlocked.Add(ref _count, data.Length);
            if (total >= pauseAt && !_paused.Task.IsCompleted)
            {
                Process!.PauseReading();
                _paused.TrySetResult();
            }
        }

        public void OnEnd() => _ended.TrySetResult();
    }

    [Fact]
    public async Task Paused_reading_blocks_the_writer_and_loses_nothing()
    {
        const long total = 50_000_000;
        var sink = new PausingCounter(pauseAt: 1_000_000);
        var process = PtySession.Spawn(PtySession.Options("head", "-c", total.ToString(System.Globalization.CultureInfo.InvariantCulture), "/dev/zero"));
        using var owner = process;
        sink.Process = process;
        process.Start(sink);

        await sink.Paused.WaitAsync(Timeouts.Default);
        await Poll.UntilAsync(() => Proc.IsBlockedInWrite(process.Pid), "head blocks in write()");
        var frozen = sink.Count;

        // Progress is observed over a window: a blocked writer must deliver nothing more in it.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(frozen, sink.Count);
        Assert.True(Proc.IsBlockedInWrite(process.Pid), "head stopped being blocked while reading was paused");
        Assert.False(process.Exited.IsCompleted);
        Assert.InRange(frozen, 1_000_000, total - 1);

        process.ResumeReading();
        await sink.Ended.WaitAsync(TimeSpan.FromSeconds(60));
        var exit = await process.Exited.WaitAsync(Timeouts.Default);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(total, sink.Count);
        Assert.Equal(0, sink.NonZeroBytes);
    }

    [Fact]
    public async Task Pause_and_resume_are_idempotent_from_any_thread()
    {
        using var session = PtySession.Start("sh", "-c", "head -c 300000 /dev/zero");

        await Parallel.ForAsync(0, 200, async (i, _) =>
        {
            if (i % 2 == 0)
            {
                session.Process.PauseReading();
            }
            else
            {
                session.Process.ResumeReading();
            }

            await Task.Yield();
        });
        session.Process.ResumeReading();
        session.Process.ResumeReading();

        await session.Output.Ended.WaitAsync(Timeouts.Default);
        Assert.Equal(300_000, session.Output.ByteCount);
    }

    [Fact]
    public async Task Ctrl_c_stops_a_flooding_program_promptly()
    {
        using var session = PtySession.Start("yes");
        await Poll.UntilAsync(() => session.Output.ByteCount > 1_000_000, "yes has flooded the terminal");

        session.Write("\x03");

        var exit = await session.Process.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new PtyExit(null, 2), exit);
    }
}
