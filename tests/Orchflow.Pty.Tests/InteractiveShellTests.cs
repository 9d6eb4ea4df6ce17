namespace Orchflow.Pty.Tests;

[Trait("Tier", "unit")]
public sealed class InteractiveShellTests
{
    // Typed commands are echoed back, so markers are built so that only the command's output
    // contains them (the prompt is not something the tests type).
    private const string Prompt = "orchflow-prompt> ";

    private static PtySession StartBash()
    {
        var environment = PtySession.DefaultEnvironment();
        environment["PS1"] = Prompt;
        return PtySession.Start(new PtySpawnOptions("bash", ["--norc", "--noprofile", "-i"], "/", environment));
    }

    [Fact]
    public async Task Ctrl_c_interrupts_the_foreground_job_and_the_shell_continues()
    {
        using var session = StartBash();
        var position = await session.WaitForOutput(Prompt);

        session.Write("sleep 100\r");
        var pid = session.Process.Pid;
        ProcStat sleep = default;
        await Poll.UntilAsync(
            () => ProcessTree.Snapshot().Any(stat =>
            {
                // Job control puts sleep in its own process group, which becomes the terminal's foreground.
                var found = stat.Session == pid && stat.Name == "sleep" && stat.ProcessGroup == stat.TerminalForegroundGroup;
                if (found)
                {
                    sleep = stat;
                }

                return found;
            }),
            "sleep runs in the foreground");
        Assert.NotEqual(pid, sleep.ProcessGroup);

        session.Write("\x03");
        await Poll.UntilAsync(() => Proc.IsGone(sleep.Pid), "sleep has ended");
        position = await session.WaitForOutput(Prompt, position);

        session.Write("echo status-$? after-$((1+1))\r");
        await session.WaitForOutput("status-130 after-2", position);

        session.Write("exit\r");
        var exit = await session.WaitForExit();
        Assert.Equal(0, exit.ExitCode);
    }

    [Fact]
    public async Task Resize_changes_the_size_the_shell_sees()
    {
        using var session = StartBash();
        var position = await session.WaitForOutput(Prompt);

        session.Process.Resize(100, 40);
        session.Write("stty size\r");

        await session.WaitForOutput("40 100", position);
    }
}
