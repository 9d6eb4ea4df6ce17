namespace Orchflow.Pty.Tests;

[Trait("Tier", "unit")]
public sealed class SignalTests
{
    private const int SigStop = 19;
    private const int SigCont = 18;

    [Fact]
    public async Task Stop_and_continue_reach_the_process_group()
    {
        using var session = PtySession.Start("sleep", "100");
        var pid = session.Process.Pid;

        session.Process.Signal(SigStop);
        await Poll.UntilAsync(() => Proc.State(pid) == 'T', "the process is stopped");

        session.Process.Signal(SigCont);
        await Poll.UntilAsync(() => Proc.State(pid) is not ('T' or null), "the process runs again");
        Assert.False(session.Process.Exited.IsCompleted);
    }

    [Fact]
    public async Task Signal_to_an_ended_group_is_not_an_error()
    {
        using var session = PtySession.Start("true");
        await session.WaitForExit();

        session.Process.Signal(15);
    }

    [Fact]
    public async Task Kill_tree_ends_background_nohup_and_double_forked_children()
    {
        // 300: plain background job; 301: nohup (ignores SIGHUP); 302: double-forked, reparented to init;
        // 303: ignores SIGHUP and SIGTERM, so only SIGKILL ends it; 304: job control on, so it sits in
        // a process group of its own that signals to the shell's group miss.
        const string script =
            "sleep 300 & nohup sleep 301 >/dev/null 2>&1 & (sleep 302 &); " +
            "(trap '' HUP TERM; exec sleep 303) & set -m; sleep 304 & echo ready; wait";
        using var session = PtySession.Start("bash", "-c", script);
        var pid = session.Process.Pid;
        await session.WaitForOutput("ready");

        var expected = Enumerable.Range(300, 5).Select(n => $"sleep {n}").ToList();
        Dictionary<string, ProcStat> sleeps = [];
        await Poll.UntilAsync(
            () =>
            {
                sleeps = ProcessTree.Snapshot()
                    .Where(stat => stat.Session == pid)
                    .GroupBy(stat => Proc.CommandLine(stat.Pid))
                    .ToDictionary(group => group.Key, group => group.First());
                return expected.All(sleeps.ContainsKey);
            },
            "every sleep has started");
        Assert.NotEqual(pid, sleeps["sleep 302"].ParentPid);
        Assert.NotEqual(pid, sleeps["sleep 304"].ProcessGroup);
        var tree = ProcessTree.InSession(pid).Union(ProcessTree.Descendants(pid)).ToList();
        Assert.Contains(pid, tree);
        Assert.All(expected, name => Assert.Contains(sleeps[name].Pid, tree));

        session.Process.KillTree();

        await Poll.UntilAsync(() => tree.All(Proc.IsGone), "every process of the tree has ended");
        var exit = await session.WaitForExit();
        Assert.NotNull(exit.Signal);
    }

    [Fact]
    public async Task Dispose_kills_a_process_that_ignores_polite_signals()
    {
        var session = PtySession.Start("sh", "-c", "trap '' HUP TERM; echo ready; while :; do sleep 1; done");
        await session.WaitForOutput("ready");

        session.Dispose();

        var exit = await session.WaitForExit();
        Assert.Equal(new PtyExit(null, 9), exit);
        Assert.True(Proc.IsGone(session.Process.Pid));
    }
}
