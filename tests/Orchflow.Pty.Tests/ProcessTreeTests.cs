using System.Text;

namespace Orchflow.Pty.Tests;

[Trait("Tier", "unit")]
public sealed class ProcessTreeTests
{
    [Fact]
    public void Stat_line_with_spaces_and_parentheses_in_the_name_is_parsed()
    {
        const string line = "4242 (a) b (c) S 17 4242 4242 34816 4242 4194560 120 0 0 0 1 2 0 0 20 0 1 0 987654 8192000 200 " +
            "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

        Assert.True(ProcessTree.TryParse(Encoding.ASCII.GetBytes(line), out var stat));

        Assert.Equal(new ProcStat(4242, "a) b (c", 'S', 17, 4242, 4242, 4242, 987654), stat);
    }

    [Fact]
    public void State_and_parent_are_read_after_a_name_with_spaces_and_parentheses()
    {
        Assert.True(ProcessTree.TryParseStateAndParent("4242 (a) Z (c) Z 17 4242 4242\n"u8, out var state, out var ppid));
        Assert.Equal((byte)'Z', state);
        Assert.Equal(17, ppid);
        Assert.False(ProcessTree.TryParseStateAndParent("12 (x)"u8, out _, out _));
    }

    [Fact]
    public async Task Zombie_children_of_a_process_are_found()
    {
        // sh starts a child that ends at once, then becomes a sleep that never waits for it: a zombie child of the sleep.
        using var session = PtySession.Start("sh", "-c", "true & exec sleep 100");
        var pid = session.Process.Pid;

        await Poll.UntilAsync(() => ProcessTree.ZombieChildrenOf(pid).Count == 1, "the ended child shows as a zombie of its parent");
        var zombie = ProcessTree.ZombieChildrenOf(pid).Single();
        Assert.True(ProcessTree.TryRead(zombie, out var stat));
        Assert.Equal(pid, stat.ParentPid);
        Assert.True(stat.HasEnded);
        Assert.Empty(ProcessTree.ZombieChildrenOf(1 << 23));
    }

    [Fact]
    public void Truncated_stat_line_is_rejected()
    {
        Assert.False(ProcessTree.TryParse("12 (x) S 1 12"u8, out _));
        Assert.False(ProcessTree.TryParse("garbage"u8, out _));
    }

    [Fact]
    public void This_process_is_readable()
    {
        Assert.True(ProcessTree.TryRead(Environment.ProcessId, out var stat));
        Assert.Equal(Environment.ProcessId, stat.Pid);
        Assert.NotEqual('Z', stat.State);
    }

    [Fact]
    public async Task Descendants_and_session_follow_the_terminal_tree()
    {
        // "started" only once the background child has exec'd sleep: between fork and exec it is still named sh.
        using var session = PtySession.Start("sh", "-c", "sleep 100 & while [ \"$(cat /proc/$!/comm)\" != sleep ]; do :; done; echo started; wait");
        await session.WaitForOutput("started");
        var pid = session.Process.Pid;

        var sleep = ProcessTree.Descendants(pid).Single();

        Assert.Equal("sleep", ProcessTree.TryRead(sleep, out var stat) ? stat.Name : null);
        Assert.Equal([pid, sleep], ProcessTree.InSession(pid).Order());
        Assert.Contains(pid, ProcessTree.Descendants(Environment.ProcessId));
        Assert.Contains(sleep, ProcessTree.Descendants(Environment.ProcessId));
    }

    [Fact]
    public void Unknown_process_has_no_descendants_and_no_session()
    {
        // pid_max is at most 2^22, so this pid cannot exist.
        const int unknown = 1 << 23;

        Assert.Empty(ProcessTree.Descendants(unknown));
        Assert.Empty(ProcessTree.InSession(unknown));
        Assert.False(ProcessTree.TryRead(unknown, out _));
    }
}
