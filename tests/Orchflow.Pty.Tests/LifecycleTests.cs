namespace Orchflow.Pty.Tests;

[Trait("Tier", "unit")]
public sealed class LifecycleTests
{
    [Fact]
    public async Task Dispose_ends_a_running_child_and_completes_exited()
    {
        var session = PtySession.Start("sleep", "100");
        var pid = session.Process.Pid;

        session.Dispose();
        session.Dispose();

        var exit = await session.WaitForExit();
        Assert.NotNull(exit.Signal);
        Assert.True(Proc.IsGone(pid));
        await session.Output.Ended.WaitAsync(Timeouts.Default);
        Assert.Throws<ObjectDisposedException>(() => session.Write("x"));
        Assert.Throws<ObjectDisposedException>(() => session.Process.Resize(10, 10));
        Assert.Throws<ObjectDisposedException>(() => session.Process.Start(new OutputCollector()));
        session.Process.PauseReading();
        session.Process.ResumeReading();
    }

    [Fact]
    public async Task A_child_that_ends_before_anyone_reads_is_reaped_and_its_exit_reported()
    {
        // Nobody calls Start and nobody disposes yet: the terminal's thread reaps the child as soon as it ends.
        var process = PtySession.Spawn(PtySession.Options("sh", "-c", "exit 7"));
        try
        {
            var exit = await process.Exited.WaitAsync(Timeouts.Default);

            Assert.Equal(7, exit.ExitCode);
            Assert.False(ProcessTree.TryRead(process.Pid, out _), "the child was reaped, not left a zombie");

            // Reading can still start afterwards: the end of output comes at once.
            var output = new OutputCollector();
            process.Start(output);
            await output.Ended.WaitAsync(Timeouts.Default);
        }
        finally
        {
            process.Dispose();
        }
    }

    [Fact]
    public async Task Dispose_without_start_still_reaps_the_child()
    {
        var process = PtySession.Spawn(PtySession.Options("sleep", "100"));

        process.Dispose();

        var exit = await process.Exited.WaitAsync(Timeouts.Default);
        Assert.NotNull(exit.Signal);
        Assert.DoesNotContain(process.Pid, Proc.ZombieChildrenOfThisProcess());
    }

    [Fact]
    public async Task Dispose_from_the_sink_does_not_deadlock()
    {
        var sink = new DisposingSink();
        var process = PtySession.Spawn(PtySession.Options("sh", "-c", "echo hello; sleep 100"));
        sink.Process = process;

        process.Start(sink);

        var exit = await process.Exited.WaitAsync(Timeouts.Default);
        Assert.NotNull(exit.Signal);
    }

    [Fact]
    public void Start_twice_is_refused()
    {
        using var session = PtySession.Start("sleep", "100");

        Assert.Throws<InvalidOperationException>(() => session.Process.Start(new OutputCollector()));
    }

    [Fact]
    public async Task Write_after_the_child_exited_is_dropped()
    {
        using var session = PtySession.Start("true");
        await session.WaitForExit();
        await session.Output.Ended.WaitAsync(Timeouts.Default);

        session.Write("nobody is listening\r");
    }

    [Fact]
    public async Task A_throwing_sink_stops_reading_without_crashing()
    {
        var sink = new ThrowingSink();
        using var process = PtySession.Spawn(PtySession.Options("sh", "-c", "echo boom; sleep 100"));

        process.Start(sink);
        await sink.Called.WaitAsync(Timeouts.Default);
        process.Dispose();

        var exit = await process.Exited.WaitAsync(Timeouts.Default);
        Assert.NotNull(exit.Signal);
        Assert.Equal(1, sink.Calls);
    }

    [Fact]
    public void Wait_status_is_decoded()
    {
        Assert.Equal(new PtyExit(0, null), Linux.LinuxPtyProcess.DecodeWaitStatus(0));
        Assert.Equal(new PtyExit(7, null), Linux.LinuxPtyProcess.DecodeWaitStatus(7 << 8));
        Assert.Equal(new PtyExit(255, null), Linux.LinuxPtyProcess.DecodeWaitStatus(255 << 8));
        Assert.Equal(new PtyExit(null, 15), Linux.LinuxPtyProcess.DecodeWaitStatus(15));
        Assert.Equal(new PtyExit(null, 11), Linux.LinuxPtyProcess.DecodeWaitStatus(0x80 | 11));
    }

    private sealed class DisposingSink : IPtyOutputSink
    {
        public IPtyProcess? Process { get; set; }

        public void OnData(ReadOnlySpan<byte> data) => Process!.Dispose();

        public void OnEnd()
        {
        }
    }

    private sealed class ThrowingSink : IPtyOutputSink
    {
        private readonly TaskCompletionSource _called = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public Task Called => _called.Task;

        public int Calls => Volatile.Read(ref _calls);

        public void OnData(ReadOnlySpan<byte> data)
        {
            Interlocked.Increment(ref _calls);
            _called.TrySetResult();
            throw new InvalidOperationException("sink failure");
        }

        public void OnEnd() => Interlocked.Increment(ref _calls);
    }
}
