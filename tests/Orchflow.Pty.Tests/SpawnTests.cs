using Orchflow.Pty.Linux;

namespace Orchflow.Pty.Tests;

[Trait("Tier", "unit")]
public sealed class SpawnTests
{
    [Fact]
    public void Default_backend_is_available_on_linux()
    {
        Assert.Same(PtyBackend.Default, PtyBackend.Default);
    }

    [Fact]
    public async Task Child_has_the_pseudo_terminal_as_its_tty()
    {
        using var session = PtySession.Start("tty");
        await session.Output.Ended.WaitAsync(Timeouts.Default);

        Assert.Matches(@"^/dev/pts/\d+$", session.Process.PtsName);
        Assert.Equal([session.Process.PtsName!], session.Output.Lines());
    }

    [Fact]
    public async Task Pseudo_terminal_is_the_controlling_terminal()
    {
        // Opening /dev/tty fails with ENXIO in a process without a controlling terminal.
        using var session = PtySession.Start("sh", "-c", "echo via-dev-tty > /dev/tty");
        var exit = await session.WaitForExit();
        await session.Output.Ended.WaitAsync(Timeouts.Default);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(["via-dev-tty"], session.Output.Lines());
    }

    [Fact]
    public async Task Initial_size_comes_from_the_options()
    {
        using var session = PtySession.Start(PtySession.Options("stty", "size") with { Columns = 132, Rows = 50 });
        await session.Output.Ended.WaitAsync(Timeouts.Default);

        Assert.Equal(["50 132"], session.Output.Lines());
    }

    [Fact]
    public async Task Exit_code_is_reported()
    {
        using var session = PtySession.Start("sh", "-c", "exit 7");

        var exit = await session.WaitForExit();

        Assert.Equal(new PtyExit(7, null), exit);
    }

    [Fact]
    public async Task Terminating_signal_is_reported()
    {
        using var session = PtySession.Start("sh", "-c", "kill -TERM $$");

        var exit = await session.WaitForExit();

        Assert.Equal(new PtyExit(null, 15), exit);
    }

    [Fact]
    public async Task Final_output_reaches_the_sink_before_the_exit_is_reported()
    {
        using var session = PtySession.Start("sh", "-c", "head -c 100000 /dev/zero; printf last-words; exit 3");

        var exit = await session.WaitForExit();

        Assert.Equal(3, exit.ExitCode);
        Assert.True(session.Output.Ended.IsCompleted, "the reader had not reached the end of output");
        Assert.EndsWith("last-words", session.Output.Text, StringComparison.Ordinal);
        Assert.Equal(100_000 + "last-words".Length, session.Output.ByteCount);
    }

    [Fact]
    public void Missing_program_is_a_failure_naming_it()
    {
        var options = PtySession.Options("nosuchcmd-orchflow") with
        {
            Environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
        };

        var result = PtyBackend.Default.Spawn(options);

        var failure = Assert.IsType<PtySpawnResult.Failure>(result);
        Assert.Equal(2, failure.Errno);
        Assert.Contains("'nosuchcmd-orchflow'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("/usr/bin:/bin", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_program_given_as_a_path_is_a_failure_naming_it()
    {
        var result = PtyBackend.Default.Spawn(PtySession.Options("/no/such/dir/prog"));

        var failure = Assert.IsType<PtySpawnResult.Failure>(result);
        Assert.Equal(2, failure.Errno);
        Assert.Contains("/no/such/dir/prog", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Program_is_looked_up_on_the_childs_path_not_the_daemons()
    {
        // sh is on the daemon's PATH, but the child's PATH has nothing in it.
        var options = PtySession.Options("sh") with
        {
            Environment = new Dictionary<string, string> { ["PATH"] = "/nonexistent-orchflow" },
        };

        var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(options));

        Assert.Equal(2, failure.Errno);
        Assert.Contains("/nonexistent-orchflow", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_that_is_not_executable_is_a_failure()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "#!/bin/sh\necho hi\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var options = PtySession.Options(Path.GetFileName(path)) with
            {
                Environment = new Dictionary<string, string> { ["PATH"] = Path.GetDirectoryName(path)! },
            };

            var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(options));

            Assert.Equal(13, failure.Errno);
            Assert.Contains(path, failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Missing_working_directory_is_a_failure_naming_it()
    {
        var options = PtySession.Options("sh") with { WorkingDirectory = "/no/such/orchflow-dir" };

        var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(options));

        Assert.Equal(2, failure.Errno);
        Assert.Contains("/no/such/orchflow-dir", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_working_directory_is_refused()
    {
        var options = PtySession.Options("sh") with { WorkingDirectory = "tmp" };

        var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(options));

        Assert.Equal(22, failure.Errno);
        Assert.Contains("'tmp'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_name_with_equals_sign_is_a_failure()
    {
        var environment = PtySession.DefaultEnvironment();
        environment["A=B"] = "x";

        var failure = Assert.IsType<PtySpawnResult.Failure>(PtyBackend.Default.Spawn(PtySession.Options("sh") with { Environment = environment }));

        Assert.Equal(22, failure.Errno);
        Assert.Contains("'A=B'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Child_starts_in_the_working_directory_with_arguments_verbatim()
    {
        var directory = Directory.CreateTempSubdirectory("orchflow pty ").FullName;
        try
        {
            var options = PtySession.Options("sh", "-c", "pwd; printf '<%s>' \"$@\"", "sh", "two words", "ünï", "") with
            {
                WorkingDirectory = directory,
            };
            using var session = PtySession.Start(options);
            await session.Output.Ended.WaitAsync(Timeouts.Default);

            Assert.Equal([directory, "<two words><ünï><>"], session.Output.Lines());
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public async Task Environment_is_exactly_what_was_passed()
    {
        var environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["FOO"] = "bar" };
        using var session = PtySession.Start(new PtySpawnOptions("/usr/bin/env", [], "/", environment));
        await session.Output.Ended.WaitAsync(Timeouts.Default);

        Assert.Equal(["FOO=bar", "PATH=/usr/bin:/bin"], session.Output.Lines().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Signals_start_with_default_dispositions()
    {
        // The .NET runtime ignores SIGPIPE; if that leaked into the child, yes would survive the
        // closed pipe and report "Broken pipe" instead of dying quietly of SIGPIPE.
        using var session = PtySession.Start("sh", "-c", "yes | head -c3; echo \" status=$?\"");

        var exit = await session.WaitForExit();
        await session.Output.Ended.WaitAsync(Timeouts.Default);

        Assert.Equal(0, exit.ExitCode);
        Assert.DoesNotContain("Broken pipe", session.Output.Text, StringComparison.Ordinal);
        Assert.Equal(["y", "y status=0"], session.Output.Lines());
    }

    [Fact]
    public async Task No_descriptor_of_the_daemon_reaches_the_child()
    {
        // Descriptors without close-on-exec are exactly the ones posix_spawn would pass on:
        // an eventfd and another terminal's master, as a careless library elsewhere could leave them.
        var eventFd = LibC.eventfd(0, 0);
        var otherMaster = LibC.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY);
        using var file = File.OpenRead("/etc/hostname");
        using var otherTerminal = PtySession.Start("sleep", "100");
        try
        {
            Assert.True(eventFd >= 3 && otherMaster >= 3, "could not open the test descriptors");
            using var session = PtySession.Start("sleep", "100");
            var pid = session.Process.Pid;

            // posix_spawn returns after the exec, but the dynamic loader of the new program still opens its libraries
            // (as descriptor 3, briefly): look once the program sleeps, when only what it inherited is left.
            await Poll.UntilAsync(() => Proc.IsBlockedInNanosleep(pid), "sleep has started");
            var descriptors = Directory.GetFileSystemEntries($"/proc/{pid}/fd")
                .Select(entry => int.Parse(Path.GetFileName(entry), System.Globalization.CultureInfo.InvariantCulture))
                .Order()
                .ToList();
            Assert.Equal([0, 1, 2], descriptors);
            foreach (var fd in descriptors)
            {
                Assert.Equal(session.Process.PtsName, new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget);
            }
        }
        finally
        {
            _ = LibC.close(eventFd);
            _ = LibC.close(otherMaster);
        }
    }

    [Fact]
    public async Task Shell_sees_only_the_three_standard_descriptors()
    {
        var eventFd = LibC.eventfd(0, 0);
        try
        {
            // The glob briefly opens /proc/$$/fd itself (as fd 3), so each entry is checked again once
            // the listing is complete and that directory is closed.
            using var session = PtySession.Start("sh", "-c", "for f in /proc/$$/fd/*; do [ -e \"$f\" ] && echo \"fd:${f##*/}\"; done; true");
            await session.Output.Ended.WaitAsync(Timeouts.Default);

            Assert.Equal(["fd:0", "fd:1", "fd:2"], session.Output.Lines());
        }
        finally
        {
            _ = LibC.close(eventFd);
        }
    }
}
