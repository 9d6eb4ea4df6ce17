using System.Diagnostics;
using System.Globalization;
using Orchflow.Pty.Holder;
using Orchflow.Pty.Linux;

namespace Orchflow.Pty.Tests;

/// <summary>
/// A terminal held by orchflow-holder behaves as the daemon's own terminals do: output, exit statuses, input, size,
/// signals, a bad command as a failure, and nothing but the terminal in the child's descriptors.
/// </summary>
[Trait("Tier", "unit")]
public sealed class HolderTerminalTests : IDisposable
{
    private readonly HeldTerminals _held = new();

    public void Dispose() => _held.Dispose();

    [Fact]
    public async Task Echo_output_arrives_and_the_exit_code_is_zero()
    {
        var (process, output, _) = _held.Run("echo", "hi");
        var exit = await process.Exited.WaitAsync(Timeouts.Default);
        await output.Ended.WaitAsync(Timeouts.Default);

        Assert.Equal(new PtyExit(0, null), exit);
        Assert.Equal(["hi"], output.Lines());
        Assert.NotEqual(process.Pid, process.HolderPid);
    }

    [Fact]
    public async Task An_exit_code_comes_through()
    {
        var (process, _, _) = _held.Run("sh", "-c", "exit 3");

        Assert.Equal(new PtyExit(3, null), await process.Exited.WaitAsync(Timeouts.Default));
    }

    [Fact]
    public async Task A_terminating_signal_comes_through()
    {
        var (process, _, _) = _held.Run("sh", "-c", "kill -TERM $$");

        Assert.Equal(new PtyExit(null, 15), await process.Exited.WaitAsync(Timeouts.Default));
    }

    [Fact]
    public void A_missing_program_is_a_spawn_failure()
    {
        var result = _held.Backend.Spawn(PtySession.Options("no-such-program-orchflow"), _held.NewSocketPath());

        var failure = Assert.IsType<PtySpawnResult.Failure>(result);
        Assert.Equal(LibC.ENOENT, failure.Errno);
        Assert.Contains("no-such-program-orchflow", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_program_the_kernel_cannot_execute_is_reported_by_the_holder_and_the_holder_goes()
    {
        // Executable by its mode, so the checks before the holder pass; execve in the holder's child refuses it.
        var program = Path.Combine(_held.Directory, "not-a-program");
        File.WriteAllBytes(program, [0x7f, (byte)'E', (byte)'L', (byte)'F', 0, 0, 0, 0]);
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var socket = _held.NewSocketPath();

        var result = _held.Backend.Spawn(PtySession.Options(program), socket);

        var failure = Assert.IsType<PtySpawnResult.Failure>(result);
        Assert.Equal(8, failure.Errno); // ENOEXEC
        Assert.Contains("execute", failure.Message, StringComparison.Ordinal);
        await Poll.UntilAsync(() => !File.Exists(socket), "the holder of a failed spawn is released and removes its socket");
    }

    [Fact]
    public async Task Input_reaches_the_program()
    {
        var (process, output, _) = _held.Run("sh", "-c", "read line; echo \"got:$line\"");
        process.Write("hello holder\n"u8);

        await output.WaitForOutput("got:hello holder");
        Assert.Equal(new PtyExit(0, null), await process.Exited.WaitAsync(Timeouts.Default));
    }

    [Fact]
    public async Task Resize_is_what_stty_reports()
    {
        var (process, output, _) = _held.Run("sh", "-c", "stty size; read line; stty size");
        await output.WaitForOutput("24 80");
        process.Resize(100, 40);
        process.Write("\n"u8);

        await output.WaitForOutput("40 100");
    }

    [Fact]
    public async Task A_signal_reaches_the_whole_process_group()
    {
        var (process, output, _) = _held.Run("sh", "-c", "sleep 1000 & echo \"bg:$!\"; wait");
        var end = await output.WaitForOutput("bg:");
        await output.WaitForOutput("\n", from: end);
        var background = int.Parse(output.Text[end..].Split('\r', '\n')[0], CultureInfo.InvariantCulture);

        process.Signal(LibC.SIGTERM);

        Assert.Equal(new PtyExit(null, 15), await process.Exited.WaitAsync(Timeouts.Default));
        await Poll.UntilAsync(() => Proc.IsGone(background), "the background sleep got the group's SIGTERM");
    }

    [Fact]
    public async Task KillTree_ends_the_session_and_the_holder_reports_it()
    {
        var (process, output, _) = _held.Run("sh", "-c", "trap '' HUP TERM; echo ready; while :; do sleep 1; done");
        await output.WaitForOutput("ready");

        process.KillTree();

        var exit = await process.Exited.WaitAsync(Timeouts.Default);
        Assert.Equal(LibC.SIGKILL, exit.Signal);
    }

    [Fact]
    public async Task The_child_has_exactly_the_three_standard_descriptors_on_its_terminal()
    {
        var (process, _) = _held.Spawn("sleep", "100");
        var pid = process.Pid;

        await Poll.UntilAsync(() => Proc.IsBlockedInNanosleep(pid), "sleep has started");
        var descriptors = Directory.GetFileSystemEntries($"/proc/{pid}/fd")
            .Select(entry => int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture))
            .Order()
            .ToList();
        Assert.Equal([0, 1, 2], descriptors);
        foreach (var fd in descriptors)
        {
            Assert.Equal(process.PtsName, new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget);
        }
    }

    [Fact]
    public async Task The_holder_is_outside_the_daemons_session_and_the_child_leads_its_own()
    {
        var (process, _) = _held.Spawn("sleep", "100");
        await Poll.UntilAsync(() => Proc.IsBlockedInNanosleep(process.Pid), "sleep has started");

        Assert.True(ProcessTree.TryRead(process.HolderPid, out var holder));
        Assert.True(ProcessTree.TryRead(process.Pid, out var child));
        Assert.Equal(process.HolderPid, holder.Session);
        Assert.NotEqual(Environment.ProcessId, holder.Session);
        Assert.Equal(process.Pid, child.Session);
        Assert.Equal(process.Pid, child.ProcessGroup);
        Assert.Equal(process.HolderPid, child.ParentPid);
    }

    [Fact]
    public async Task The_working_directory_and_argv0_are_those_asked_for()
    {
        var (process, output, _) = _held.Run(PtySession.Options("sh", "-c", "echo \"$0 $(pwd)\"") with { WorkingDirectory = "/tmp", ConfineWorkingDirectoryTo = "/tmp" });

        await process.Exited.WaitAsync(Timeouts.Default);
        await output.Ended.WaitAsync(Timeouts.Default);
        Assert.Equal(["sh /tmp"], output.Lines());
    }

    [Fact]
    public void A_working_directory_outside_its_confinement_is_refused_by_the_holder()
    {
        var inside = Directory.CreateDirectory(Path.Combine(_held.Directory, "root")).FullName;
        var link = Path.Combine(inside, "escape");
        File.CreateSymbolicLink(link, "/etc");

        var result = _held.Backend.Spawn(PtySession.Options("true") with { WorkingDirectory = link, ConfineWorkingDirectoryTo = inside }, _held.NewSocketPath());

        var failure = Assert.IsType<PtySpawnResult.Failure>(result);
        Assert.Contains("/etc once opened, outside", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_descriptor_from_the_starter_is_where_the_child_starts_and_it_does_not_leak()
    {
        var socket = _held.NewSocketPath();
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])["-c", "exec 5</tmp && exec \"$0\" --socket \"$1\" --cols 80 --rows 24 --scrollback 4096 --cwd-fd 5 -- /bin/sh -c \"$2\"",
            HolderOptions.DefaultPath, socket, "pwd; for f in /proc/$$/fd/*; do [ -e \"$f\" ] && echo \"fd:${f##*/}\"; done; true"])
        {
            psi.ArgumentList.Add(argument);
        }

        using var holder = Process.Start(psi)!;
        Assert.Equal("ready", await holder.StandardOutput.ReadLineAsync().WaitAsync(Timeouts.Default));
        var process = _held.Attach(socket);
        var output = new OutputCollector();
        process.Start(output);

        Assert.Equal(new PtyExit(0, null), await process.Exited.WaitAsync(Timeouts.Default));
        Assert.Equal(["/tmp", "fd:0", "fd:1", "fd:2"], output.Lines());
    }

    [Fact]
    public void A_holder_that_cannot_listen_says_why()
    {
        var socket = Path.Combine(_held.Directory, "missing", "t.sock");

        var result = _held.Backend.Spawn(PtySession.Options("true"), socket);

        var failure = Assert.IsType<PtySpawnResult.Failure>(result);
        Assert.Contains($"could not listen at '{socket}': No such file or directory", failure.Message, StringComparison.Ordinal);
    }
}
