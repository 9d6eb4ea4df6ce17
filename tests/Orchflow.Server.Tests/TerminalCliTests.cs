using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchflow.Server.Cli;

namespace Orchflow.Server.Tests;

/// <summary>The <c>orchflow terminal</c> commands: escape parsing and usage errors in-process, the rest against a real daemon.</summary>
[Trait("Tier", "e2e")]
public sealed class TerminalCliTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>A command that reports every line it reads, the same under any shell.</summary>
    private const string Echoer = "while read -r l; do echo \"got:$l\"; done";

    [Theory]
    [InlineData(@"ls\r", "ls\r")]
    [InlineData(@"a\nb\tc", "a\nb\tc")]
    [InlineData(@"\e[A", "\u001b[A")]
    [InlineData(@"\x03", "\u0003")]
    [InlineData(@"\x1B\x7f", "\u001b\u007f")]
    [InlineData(@"C:\\dir", @"C:\dir")]
    [InlineData(@"\\r", @"\r")]
    [InlineData("plain text", "plain text")]
    [InlineData("", "")]
    public void Send_escapes_become_characters(string text, string expected) =>
        Assert.Equal(expected, TerminalCommands.Unescape(text));

    [Theory]
    [InlineData(@"bad\q", @"\q")]
    [InlineData(@"trailing\", "lone backslash")]
    [InlineData(@"\x4", "two hex digits")]
    [InlineData(@"\xZZ", "two hex digits")]
    public void Send_rejects_unknown_escapes(string text, string fragment)
    {
        var ex = Assert.Throws<CliException>(() => TerminalCommands.Unescape(text));
        Assert.Equal(2, ex.ExitCode);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Missing terminal command", "terminal")]
    [InlineData("Unknown terminal command 'frob'", "terminal", "frob")]
    [InlineData("Unknown --purpose 'banana'", "terminal", "create", "--purpose", "banana")]
    [InlineData("--cmd needs a command line", "terminal", "create", "--cmd", " ")]
    [InlineData("--cmd needs a value", "terminal", "create", "--cmd")]
    [InlineData("Unknown option --bogus", "terminal", "list", "--bogus")]
    [InlineData("Missing terminal ID", "terminal", "send")]
    [InlineData("Missing TEXT", "term", "send", "t1")]
    [InlineData(@"Unknown escape \q", "terminal", "send", "t1", @"x\q")]
    [InlineData("Unexpected argument 'extra'", "terminal", "send", "t1", "x", "extra")]
    [InlineData("--tail needs a number", "terminal", "read", "t1", "--tail", "0")]
    [InlineData("--tail needs a number", "terminal", "read", "t1", "--tail", "many")]
    [InlineData("Unknown option --json", "terminal", "attach", "t1", "--json")]
    [InlineData("Missing terminal ID", "terminal", "attach")]
    public Task Usage_errors_are_one_line_with_exit_code_2(string fragment, params string[] args) =>
        CliAssert.UsageErrorAsync(fragment, args);

    [Fact]
    public void Usage_documents_the_terminal_commands_and_send_escapes()
    {
        foreach (var line in new[] { "terminal create", "terminal list", "terminal send", "terminal read", "terminal kill", "terminal attach", @"\r is Enter", @"\xHH", "Ctrl-B d" })
        {
            Assert.Contains(line, CliApp.Usage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Status_column_says_how_a_terminal_ended()
    {
        var t = Info() with { Status = Protocol.TerminalStatus.Exited, ExitCode = 3 };
        Assert.Equal("exited 3", TerminalCommands.Status(t));
        Assert.Equal("exited signal 9", TerminalCommands.Status(t with { ExitCode = null, Signal = 9 }));
        Assert.Equal("killed", TerminalCommands.Status(t with { Status = Protocol.TerminalStatus.Killed }));
        Assert.Equal("lost", TerminalCommands.Status(t with { Status = Protocol.TerminalStatus.Lost }));
        Assert.Equal("running", TerminalCommands.Status(Info()));
        Assert.Equal("/bin/sh -c 'echo hi'", TerminalCommands.CommandLineText(["/bin/sh", "-c", "echo hi"]));
        Assert.Equal(@"sh -c 'it'\''s'", TerminalCommands.CommandLineText(["sh", "-c", "it's"]));
    }

    [Fact]
    public async Task Create_send_read_list_kill_against_the_daemon()
    {
        await using var d = new DaemonHome();
        var created = await Ok(d.Home, "terminal", "create", "--cmd", Echoer, "--name", "echoer", "--purpose", "test", "--json");
        using var json = JsonDocument.Parse(created.Stdout);
        var id = json.RootElement.GetProperty("id").GetString()!;
        Assert.Equal("echoer", json.RootElement.GetProperty("name").GetString());
        Assert.Equal("test", json.RootElement.GetProperty("purpose").GetString());
        Assert.Equal("running", json.RootElement.GetProperty("status").GetString());

        await Ok(d.Home, "terminal", "send", id, @"hello world\r");
        var text = await WaitForReadAsync(d.Home, id, t => t.Contains("got:hello world", StringComparison.Ordinal));
        Assert.DoesNotContain("\u001b", text, StringComparison.Ordinal);

        var sent = await Ok(d.Home, "terminal", "send", id, @"tab\there\r", "--json");
        Assert.Contains("\"data\": \"tab\\there\\r\"", sent.Stdout, StringComparison.Ordinal);
        await WaitForReadAsync(d.Home, id, t => t.Contains("got:tab", StringComparison.Ordinal));

        var tail = await Ok(d.Home, "terminal", "read", id, "--tail", "1", "--json");
        using (var tailJson = JsonDocument.Parse(tail.Stdout))
        {
            Assert.DoesNotContain("got:hello world", tailJson.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
        }

        var list = await Ok(d.Home, "terminal", "list");
        var lines = list.Stdout.TrimEnd().Split('\n');
        Assert.Matches(@"^ID\s+WORKSPACE\s+NAME\s+PURPOSE\s+STATUS\s+PID\s+COMMAND$", lines[0]);
        var row = Assert.Single(lines, l => l.StartsWith(id + " ", StringComparison.Ordinal));
        Assert.Matches(@"\sechoer\s+test\s+running\s+\d+\s+\S+ -c 'while read", row);

        var killed = await Ok(d.Home, "terminal", "kill", id);
        Assert.Equal($"Killed terminal '{id}' (echoer).", killed.Stdout.Trim());
        var after = await Ok(d.Home, "terminal", "list", "--json");
        Assert.DoesNotContain(id, after.Stdout, StringComparison.Ordinal);

        var gone = await Orchflow.RunAsync(d.Home, "terminal", "read", id);
        Assert.Equal(1, gone.ExitCode);
        Assert.StartsWith("orchflow: ", gone.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_shows_an_exit_code_and_cwd_is_relative_to_the_caller()
    {
        await using var d = new DaemonHome();
        var userHome = Path.Combine(d.Home.Root, "userhome");
        Directory.CreateDirectory(Path.Combine(userHome, "sub"));
        var created = await Orchflow.RunInAsync(d.Home, userHome, "terminal", "create", "--cmd", "exit 3", "--cwd", "sub", "--json");
        Assert.True(created.ExitCode == 0, created.Stderr);
        using var json = JsonDocument.Parse(created.Stdout);
        var id = json.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(Path.Combine(userHome, "sub"), json.RootElement.GetProperty("cwd").GetString());

        var text = await Ok(d.Home, "terminal", "create", "--cmd", "sleep 60");
        Assert.Matches(@"^Created terminal '[^']+' \(shell [^)]*\) in workspace '[^']+'\.$", text.Stdout.Trim());

        await Poll.UntilAsync(
            async () => (await Ok(d.Home, "terminal", "list")).Stdout.Split('\n').Single(l => l.StartsWith(id + " ", StringComparison.Ordinal)),
            row => Regex.IsMatch(row, @"\sexited 3\s+-\s"),
            row => $"terminal did not show 'exited 3': {row}",
            Deadline);
    }

    [Fact]
    public async Task Attach_with_piped_stdin_prints_output_and_detaches()
    {
        await using var d = new DaemonHome();
        var id = await CreateShellAsync(d.Home);
        var run = await AttachAsync(d.Home, id, "echo attached-ok\r", closeStdin: true);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Matches(@"[\r\n]attached-ok\r\n", run.Stdout); // the command's output, not the echo of what was typed
        Assert.EndsWith($"\n[detached from {id}]\n", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("", run.Stderr);

        // Detaching leaves the terminal running.
        var list = await Ok(d.Home, "terminal", "list");
        Assert.Matches($@"(?m)^{Regex.Escape(id)}\s.*\srunning\s", list.Stdout);
    }

    [Fact]
    public async Task Attach_ends_when_the_terminal_exits()
    {
        await using var d = new DaemonHome();
        var id = await CreateShellAsync(d.Home);
        var run = await AttachAsync(d.Home, id, "exit 7\r", closeStdin: true);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.EndsWith($"[terminal {id} exited with code 7]\n", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_b_d_detaches_and_ctrl_b_twice_types_one_ctrl_b()
    {
        await using var d = new DaemonHome();
        var created = await Ok(d.Home, "terminal", "create", "--cmd", "cat -v", "--json");
        using var json = JsonDocument.Parse(created.Stdout);
        var id = json.RootElement.GetProperty("id").GetString()!;

        // stdin stays open: only the chord can end this attach; what follows the chord is never typed.
        var run = await AttachAsync(d.Home, id, "a\u0002\u0002b\r\u0002dnever\r", closeStdin: false);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.EndsWith($"[detached from {id}]\n", run.Stdout, StringComparison.Ordinal);

        var text = await WaitForReadAsync(d.Home, id, t => Regex.Matches(t, @"a\^Bb").Count >= 2); // the tty's echo, then cat -v
        Assert.DoesNotContain("^B^B", text, StringComparison.Ordinal);
        Assert.DoesNotContain("never", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Attach_to_an_unknown_terminal_fails_with_exit_code_1()
    {
        await using var d = new DaemonHome();
        var run = await AttachAsync(d.Home, "no-such-terminal", "", closeStdin: true);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("orchflow: ", run.Stderr, StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }

    private static Protocol.TerminalInfo Info() => new()
    {
        Id = "t1",
        WorkspaceId = "default",
        Namespace = "default",
        Name = "shell 1",
        Purpose = Protocol.TerminalPurpose.Shell,
        Command = ["/bin/sh"],
        Cwd = "/",
        Status = Protocol.TerminalStatus.Running,
        Columns = 80,
        Rows = 24,
        CreatedAt = DateTimeOffset.UnixEpoch,
        AttachedClients = 0,
    };

    private static async Task<CliRun> Ok(TempHome home, params string[] args)
    {
        var run = await Orchflow.RunAsync(home, args);
        Assert.True(run.ExitCode == 0, $"orchflow {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
        return run;
    }

    /// <summary>An interactive shell, once it shows its prompt (so typed input is read at once).</summary>
    private static async Task<string> CreateShellAsync(TempHome home)
    {
        var created = await Ok(home, "terminal", "create", "--json");
        using var json = JsonDocument.Parse(created.Stdout);
        var id = json.RootElement.GetProperty("id").GetString()!;
        await WaitForReadAsync(home, id, t => t.Trim().Length > 0);
        return id;
    }

    /// <summary>Polls <c>terminal read</c> until <paramref name="done"/> holds; never a fixed sleep.</summary>
    private static Task<string> WaitForReadAsync(TempHome home, string id, Func<string, bool> done) =>
        Poll.UntilAsync(
            async () => (await Ok(home, "terminal", "read", id)).Stdout,
            done,
            text => $"terminal {id} never showed the expected text; it shows:\n{text}",
            Deadline);

    private static async Task<CliRun> AttachAsync(TempHome home, string id, string input, bool closeStdin)
    {
        using var p = Process.Start(Orchflow.StartInfo(home, ["terminal", "attach", id]))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var bytes = new UTF8Encoding(false).GetBytes(input);
        await p.StandardInput.BaseStream.WriteAsync(bytes);
        await p.StandardInput.BaseStream.FlushAsync();
        if (closeStdin)
        {
            p.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(Deadline);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"attach did not end; it printed:\n{await stdout}");
        }

        return new CliRun(p.ExitCode, await stdout, await stderr);
    }
}
