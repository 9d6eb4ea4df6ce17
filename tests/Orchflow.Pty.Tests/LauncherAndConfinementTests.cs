namespace Orchflow.Pty.Tests;

/// <summary>The two hooks the security layer uses: a launcher (the sandbox) and a working directory entered by descriptor.</summary>
[Trait("Tier", "unit")]
public sealed class LauncherAndConfinementTests
{
    [Fact]
    public async Task A_launcher_runs_the_resolved_program_with_its_arguments()
    {
        // env(1) as a stand-in launcher: it receives the program resolved on the child's PATH, then the arguments.
        var options = PtySession.Options("sh", "-c", "echo \"$0 ran: $X\"") with { Launcher = ["/usr/bin/env", "X=launched"] };
        using var session = PtySession.Start(options);
        var exit = await session.WaitForExit();
        await session.Output.Ended.WaitAsync(Timeouts.Default);

        Assert.Equal(0, exit.ExitCode);
        Assert.Matches(@"^/\S*/sh ran: launched$", Assert.Single(session.Output.Lines())); // argv[0] is the resolved path
    }

    [Fact]
    public void A_missing_program_fails_before_the_launcher_runs()
    {
        var options = PtySession.Options("nosuchcmd-orchflow") with { Launcher = ["/usr/bin/env"] };
        var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(options));
        Assert.Contains("nosuchcmd-orchflow", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_launcher_is_refused()
    {
        var options = PtySession.Options("true") with { Launcher = ["env"] };
        var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(options));
        Assert.Contains("absolute", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_confined_working_directory_inside_the_root_is_entered()
    {
        var root = Directory.CreateTempSubdirectory("of-confine-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "sub"));
            var options = new PtySpawnOptions("sh", ["-c", "pwd -P"], Path.Combine(root, "sub"), PtySession.DefaultEnvironment()) { ConfineWorkingDirectoryTo = root };
            using var session = PtySession.Start(options);
            await session.WaitForExit();
            await session.Output.Ended.WaitAsync(Timeouts.Default);
            Assert.Equal([Path.Combine(root, "sub")], session.Output.Lines());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_symlink_out_of_the_root_is_refused_as_opened()
    {
        var root = Directory.CreateTempSubdirectory("of-confine-").FullName;
        var outside = Directory.CreateTempSubdirectory("of-outside-").FullName;
        try
        {
            // What a swap after the caller's check leaves behind: a path that, opened now, lands outside.
            Directory.CreateSymbolicLink(Path.Combine(root, "link"), outside);
            var options = new PtySpawnOptions("true", [], Path.Combine(root, "link"), PtySession.DefaultEnvironment()) { ConfineWorkingDirectoryTo = root };
            var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(options));
            Assert.Contains($"is {outside} once opened, outside {root}", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }
}
