using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchflow.Pty;
using Orchflow.Server.Cli;

namespace Orchflow.Server.Tests;

/// <summary>
/// The <c>orchflow agent</c> commands: the plain-text streaming of <c>logs --follow</c> and usage errors in-process,
/// the rest as real CLI processes against a real daemon, driven by the scripted fake agent (Fixtures/fake-agent.sh).
/// </summary>
[Collection(AgentTestsCollection.Name)]
[Trait("Tier", "slow")]
public sealed class AgentCliTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly string FakeAgent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fake-agent.sh");
    private static readonly string MenuAgent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "menu-agent.sh");

    // ---- In-process: streaming plain text, formatting, usage ----

    /// <summary>The first piece is what the file held when following began; the rest arrive one by one; then the output ends.</summary>
    private static void CheckStream(string[] pieces, string expected, int? tail = null)
    {
        var stream = new PlainTextStream();
        var printed = new StringBuilder(stream.Start(pieces[0], tail));
        foreach (var piece in pieces.Skip(1))
        {
            printed.Append(stream.Feed(piece));
        }

        printed.Append(stream.Flush());
        Assert.Equal(expected, printed.ToString());
    }

    [Theory]
    [InlineData(new[] { "line 1\r\nline 2\r\n" }, "line 1\nline 2\n")]
    [InlineData(new[] { "", "a\n\nb\n" }, "a\n\nb\n")]
    [InlineData(new[] { "", "Proceed? [y/n] ", "y\r\n", "done\n" }, "Proceed? [y/n] y\ndone\n")]
    [InlineData(new[] { "", "\x1b[3", "2mgreen\x1b[0m\n" }, "green\n")]
    [InlineData(new[] { "", "10%\r", "20%\r", "100% done\n" }, "10%\n100% done\n")]
    [InlineData(new[] { "", "wor", "king", "\r\n" }, "working\n")]
    [InlineData(new[] { "", "no newline at the end" }, "no newline at the end\n")]
    [InlineData(new[] { "", "   " }, "")]
    public void Follow_prints_plain_text_as_it_comes(string[] pieces, string expected) => CheckStream(pieces, expected);

    [Fact]
    public void Follow_starts_with_the_last_lines_and_the_unfinished_one()
    {
        CheckStream(["a\nb\nc\nProceed? ", "y\n"], "b\nc\nProceed? y\n", tail: 2);
        CheckStream(["\x1b[1ma\x1b[0m\nb\n"], "a\nb\n", tail: 5);
    }

    [Fact]
    public void A_prompt_is_printed_before_its_line_ends()
    {
        var stream = new PlainTextStream();
        Assert.Equal("working\n", stream.Start("working\n", null));
        Assert.Equal("Proceed? [y/n]", stream.Feed("\x1b[1mProceed? [y/n] \x1b[0m"));
        Assert.Equal("", stream.Feed(""));
        Assert.Equal(" y\nok\n", stream.Feed("y\r\nok\n"));
    }

    [Fact]
    public void The_log_reader_follows_appends_and_rotation_to_dot_1()
    {
        using var home = new TempHome();
        var path = Path.Combine(home.Root, "a.log");
        File.WriteAllText(AgentLogPath(path), "old ");
        File.WriteAllText(path, "first ");
        var reader = new LogFileReader(path);
        Assert.Equal("old first ", reader.ReadNew());
        Assert.Equal("", reader.ReadNew());

        File.AppendAllText(path, "second é ");
        Assert.Equal("second é ", reader.ReadNew());

        // The daemon rotates: the full file becomes .1 (after one more write), a new one starts.
        File.AppendAllText(path, "third ");
        File.Move(path, AgentLogPath(path), overwrite: true);
        File.WriteAllText(path, "fourth");
        Assert.Equal("third fourth", reader.ReadNew());

        // A character split across two writes comes out whole.
        var bytes = Encoding.UTF8.GetBytes("€");
        using (var f = new FileStream(path, FileMode.Append))
        {
            f.Write(bytes, 0, 1);
        }

        Assert.Equal("", reader.ReadNew());
        using (var f = new FileStream(path, FileMode.Append))
        {
            f.Write(bytes, 1, bytes.Length - 1);
        }

        Assert.Equal("€", reader.ReadNew());
    }

    private static string AgentLogPath(string path) => Agents.AgentLog.RotatedPath(path);

    [Fact]
    public void States_read_as_the_cli_spells_them()
    {
        var a = Info();
        Assert.Equal("running", AgentFormat.State(a));
        Assert.Equal("needs-input", AgentFormat.State(a with { State = Protocol.AgentState.NeedsInput }));
        Assert.Equal("queued (#2)", AgentFormat.State(a with { State = Protocol.AgentState.Queued, QueuePosition = 2 }));
        Assert.Equal("succeeded (exit 0)", AgentFormat.State(a with { State = Protocol.AgentState.Succeeded, ExitCode = 0 }));
        Assert.Equal("failed (exit 3)", AgentFormat.State(a with { State = Protocol.AgentState.Failed, ExitCode = 3 }));
        Assert.Equal("failed (signal 9)", AgentFormat.State(a with { State = Protocol.AgentState.Failed, Signal = 9 }));
        Assert.Equal("failed", AgentFormat.State(a with { State = Protocol.AgentState.Failed }));
        Assert.Equal("built-in", AgentFormat.Kebab(Protocol.AgentTypeSource.BuiltIn));
        Assert.Equal("input-given", AgentFormat.Kebab(Protocol.AgentEventKind.InputGiven));
        Assert.Equal("—", AgentFormat.Cpu(null));
        Assert.Equal("12.5%", AgentFormat.Cpu(12.5));
        Assert.Equal("—", AgentFormat.Ram(null));
        Assert.Equal("3 MiB", AgentFormat.Ram(3 * 1024 * 1024));
        Assert.Equal("add tests for…", AgentFormat.Truncate("add tests for\nthe parser", 14));
    }

    [Theory]
    [InlineData("Missing agent command", "agent")]
    [InlineData("Unknown agent command 'frob'", "agent", "frob")]
    [InlineData("Missing --type TYPE", "agent", "spawn", "true")]
    [InlineData("Missing --type TYPE", "agent", "spawn", "--workspace", "w", "true")]
    [InlineData("Missing TASK", "agent", "spawn", "--workspace", "w", "--type", "claude")]
    [InlineData("TASK must be one argument", "agent", "spawn", "--workspace", "w", "--type", "claude", "fix", "the", "bug")]
    [InlineData("Unknown option --bogus", "agent", "list", "--bogus")]
    [InlineData("Missing agent ID", "agent", "show")]
    [InlineData("Missing TEXT", "agent", "send", "w-a1")]
    [InlineData(@"Unknown escape \q", "agent", "send", "w-a1", @"y\q")]
    [InlineData("Missing --until", "agent", "wait", "w-a1")]
    [InlineData("Unknown --until 'finished'", "agent", "wait", "w-a1", "--until", "finished")]
    [InlineData("--timeout needs a number of seconds", "agent", "wait", "w-a1", "--until", "done", "--timeout", "0")]
    [InlineData("--timeout needs a number of seconds", "agent", "wait", "w-a1", "--until", "done", "--timeout", "soon")]
    [InlineData("leave out --json", "agent", "logs", "w-a1", "--follow", "--json")]
    [InlineData("--tail needs a number", "agent", "logs", "w-a1", "--tail", "0")]
    [InlineData("Missing agent ID", "agent", "answer")]
    [InlineData("Missing CHOICE", "agent", "answer", "w-a1")]
    [InlineData("CHOICE must be one argument", "agent", "answer", "w-a1", "yes", "and", "always")]
    [InlineData("--question is empty", "agent", "answer", "w-a1", "1", "--question", " ")]
    [InlineData("--limit needs a number", "agent", "events", "--limit", "0")]
    [InlineData("--limit needs a number", "agent", "events", "--workspace", "w", "--limit", "none")]
    [InlineData("Unexpected argument 'extra'", "agent", "stop", "w-a1", "extra")]
    public Task Usage_errors_are_one_line_with_exit_code_2(string fragment, params string[] args) =>
        CliAssert.UsageErrorAsync(fragment, args);

    [Fact]
    public void Usage_documents_the_agent_commands()
    {
        foreach (var line in new[] { "agent spawn [--workspace ID] --type TYPE", "agent list", "agent show", "agent logs AGENT [--tail N] [--follow]", "agent send", "agent answer AGENT CHOICE [--question TEXT] [--json]", "agent pause|resume|stop|restart", "agent rm", "agent wait AGENT --until needs-input|done [--timeout S]", "agent types", "agent events [--workspace ID]" })
        {
            Assert.Contains(line, CliApp.Usage, StringComparison.Ordinal);
        }
    }

    // ---- Against a real daemon ----

    [Fact]
    public async Task Spawn_list_show_wait_send_wait_logs_events_through_the_cli()
    {
        await using var d = new DaemonHome();
        var ws = await CreateWorkspaceAsync(d.Home, "cli-agents");

        var spawned = await Ok(d.Home, "agent", "spawn", "--workspace", ws, "--type", "fake", "--name", "greeter", "add a greeting", "--json");
        using var json = JsonDocument.Parse(spawned.Stdout);
        var root = json.RootElement;
        var id = root.GetProperty("id").GetString()!;
        Assert.Equal(ws, root.GetProperty("workspaceId").GetString());
        Assert.Equal("fake", root.GetProperty("type").GetString());
        Assert.Equal("greeter", root.GetProperty("name").GetString());
        Assert.Equal("add a greeting", root.GetProperty("task").GetString());
        Assert.Contains(root.GetProperty("state").GetString(), new[] { "starting", "running", "needsInput" });
        var terminalId = root.GetProperty("terminalId").GetString()!;

        using (var terminals = JsonDocument.Parse((await Ok(d.Home, "terminal", "list", "--json")).Stdout))
        {
            var terminal = terminals.RootElement.GetProperty("terminals").EnumerateArray().Single(t => t.GetProperty("id").GetString() == terminalId);
            Assert.Equal($"greeter · {id}", terminal.GetProperty("name").GetString());
            Assert.Equal("agent", terminal.GetProperty("purpose").GetString());
        }

        var waiting = await Ok(d.Home, "agent", "wait", id, "--until", "needs-input", "--timeout", "30");
        Assert.Equal($"{id} needs input: Proceed? [y/n]", waiting.Stdout.Trim());

        var list = await Ok(d.Home, "agent", "list", "--workspace", ws);
        var lines = list.Stdout.TrimEnd().Split('\n');
        Assert.Matches(@"^ID\s+NAME\s+WORKSPACE\s+TYPE\s+STATE\s+TASK\s+CPU\s+MEMORY$", lines[0]);
        var row = Assert.Single(lines, l => l.StartsWith(id + " ", StringComparison.Ordinal));
        Assert.Matches($@"^{Regex.Escape(id)}\s+greeter\s+{Regex.Escape(ws)}\s+fake\s+needs-input\s+add a greeting\s+(—|\d+\.\d%)\s+(—|[\d.]+ [KMG]?i?B)$", row);

        var show = await Ok(d.Home, "agent", "show", id);
        Assert.Matches($@"(?m)^state:\s+needs-input$", show.Stdout);
        Assert.Matches($@"(?m)^terminal:\s+{Regex.Escape(terminalId)}$", show.Stdout);
        Assert.Matches($@"(?m)^cwd:\s+/.*/cli-agents$", show.Stdout);
        Assert.Matches(@"(?m)^last line:\s+Proceed\? \[y/n\]$", show.Stdout);
        Assert.Matches(@"(?m)^started:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", show.Stdout);
        Assert.Matches(@"(?m)^ended:\s+-$", show.Stdout);
        Assert.Matches(@"(?m)^mcp connected: -$", show.Stdout);
        Assert.Matches(@"(?m)^log:\s+/.*\.log$", show.Stdout);
        Assert.Contains("recent events:", show.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{id} needs input: Proceed? [y/n]", show.Stdout, StringComparison.Ordinal);

        var sent = await Ok(d.Home, "agent", "send", id, @"y\r");
        Assert.Equal($"Sent to agent '{id}'; it is running.", sent.Stdout.Trim());

        var done = await Ok(d.Home, "agent", "wait", id, "--until", "done");
        Assert.Equal($"{id} succeeded (exit 0)", done.Stdout.Trim());

        var logs = await Ok(d.Home, "agent", "logs", id);
        Assert.Contains("fake-agent: arg=<add a greeting>\n", logs.Stdout, StringComparison.Ordinal);
        Assert.Contains("Proceed? [y/n] y\nfake-agent: got answer 'y'\n", logs.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\x1b", logs.Stdout, StringComparison.Ordinal);
        Assert.Equal("All done.\n", (await Ok(d.Home, "agent", "logs", id, "--tail", "1")).Stdout);

        var events = await Ok(d.Home, "agent", "events", "--workspace", ws);
        var kinds = events.Stdout.TrimEnd().Split('\n').Skip(1).Select(l => Regex.Split(l, @"\s{2,}")[2]).ToList();
        Assert.Equal(["spawned", "started", "needs-input", "input-given", "succeeded"], kinds);
        Assert.Contains("got input from orchflow-cli: y", events.Stdout, StringComparison.Ordinal);

        var eventsJson = await Ok(d.Home, "agent", "events", "--workspace", ws, "--limit", "2", "--json");
        using var ej = JsonDocument.Parse(eventsJson.Stdout);
        Assert.Equal(["succeeded", "inputGiven"], ej.RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString()));

        Assert.Equal("add a greeting\n", File.ReadAllText(Path.Combine(d.Home.Projects, "cli-agents", "agent-output.txt")));
    }

    [Fact]
    public async Task Show_prints_the_question_and_its_numbered_choices_and_answer_picks_one()
    {
        await using var d = new DaemonHome();
        var ws = await CreateWorkspaceAsync(d.Home, "cli-answer");
        var id = await SpawnAsync(d.Home, ws, "menu", "pick one");

        const string Menu = "question:      Do you want to proceed?\nchoices:\n  1. Yes\n  2. Yes, and don't ask again for echo\n  3. No\n";
        var waiting = await Ok(d.Home, "agent", "wait", id, "--until", "needs-input", "--timeout", "30");
        Assert.Equal($"{id} needs input: Do you want to proceed?\n{Menu}answer with:   orchflow agent answer {id} N\n", waiting.Stdout);
        var show = await Ok(d.Home, "agent", "show", id);
        Assert.Matches(@"(?m)^state:\s+needs-input$", show.Stdout);
        Assert.Contains(Menu + $"answer with:   orchflow agent answer {id} N\n", show.Stdout, StringComparison.Ordinal);
        using (var shown = JsonDocument.Parse((await Ok(d.Home, "agent", "show", id, "--json")).Stdout))
        {
            Assert.Equal("Do you want to proceed?", shown.RootElement.GetProperty("question").GetString());
            Assert.Equal(["1", "2", "3"], shown.RootElement.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("keys").GetString()));
        }

        var none = await Orchflow.RunAsync(d.Home, "agent", "answer", id, "maybe");
        Assert.Equal((1, ""), (none.ExitCode, none.Stdout));
        Assert.StartsWith("orchflow: No choice matches 'maybe': the choices are 1. Yes, 2. Yes, and don't ask again for echo, 3. No.", none.Stderr, StringComparison.Ordinal);
        Assert.Contains($"orchflow agent answer {id} 1", none.Stderr, StringComparison.Ordinal);
        var other = await Orchflow.RunAsync(d.Home, "agent", "answer", id, "3", "--question", "Do you want to delete everything?");
        Assert.Equal(1, other.ExitCode);
        Assert.StartsWith("orchflow: The question changed: it now asks \"Do you want to proceed?\"", other.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(d.Home.Projects, "cli-answer", "answer.txt")));

        var answered = await Ok(d.Home, "agent", "answer", id, "no", "--question", "Do you want to proceed?");
        Assert.Equal($"Answered agent '{id}' with 'no'; it is running.\n", answered.Stdout);
        Assert.Equal($"{id} succeeded (exit 0)", (await Ok(d.Home, "agent", "wait", id, "--until", "done", "--timeout", "30")).Stdout.Trim());
        Assert.Equal("chosen 3: No\n", File.ReadAllText(Path.Combine(d.Home.Projects, "cli-answer", "answer.txt")));
        Assert.Contains($"{id} answered \"No\" to \"Do you want to proceed?\" (by orchflow-cli)", (await Ok(d.Home, "agent", "events", "--workspace", ws)).Stdout, StringComparison.Ordinal);

        // --json prints the agent as the other commands do; an agent that ended takes no answer.
        var json = await Orchflow.RunAsync(d.Home, "agent", "answer", id, "1", "--json");
        Assert.Equal(1, json.ExitCode);
        Assert.Contains($"Agent '{id}' is succeeded and cannot receive input.", json.Stderr, StringComparison.Ordinal);
        var second = await SpawnAsync(d.Home, ws, "menu", "pick again");
        await Ok(d.Home, "agent", "wait", second, "--until", "needs-input", "--timeout", "30");
        using var answeredJson = JsonDocument.Parse((await Ok(d.Home, "agent", "answer", second, "1", "--json")).Stdout);
        Assert.Equal(second, answeredJson.RootElement.GetProperty("id").GetString());
        Assert.Equal("running", answeredJson.RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Logs_follow_prints_the_prompt_while_it_waits_and_the_rest_until_the_agent_ends()
    {
        await using var d = new DaemonHome();
        var ws = await CreateWorkspaceAsync(d.Home, "follow");
        var id = await SpawnAsync(d.Home, ws, "fake-working", "follow me");
        await Ok(d.Home, "agent", "wait", id, "--until", "needs-input");

        using var follow = new CliProcess(d.Home, "agent", "logs", id, "--follow");
        await follow.WaitForStdoutAsync("Proceed? [y/n]");
        Assert.False(follow.HasExited, "--follow ended while the agent still runs");

        await Ok(d.Home, "agent", "send", id, @"y\r");
        var run = await follow.WaitForExitAsync();
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("fake-agent: working on: follow me\nfake-agent: in ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Proceed? [y/n] y\nfake-agent: got answer 'y'\nfake-agent: edited agent-output.txt\nAll done.\n", run.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("All done.\n", run.Stdout, StringComparison.Ordinal);
        Assert.Equal($"[agent {id} succeeded (exit 0)]\n", run.Stderr);

        // On a finished agent it prints the log and ends at once.
        var after = await Ok(d.Home, "agent", "logs", id, "--follow", "--tail", "2");
        Assert.Equal("fake-agent: edited agent-output.txt\nAll done.\n", after.Stdout);
    }

    [Fact]
    public async Task Pause_stops_the_session_resume_continues_it_stop_restart_and_rm_through_the_cli()
    {
        await using var d = new DaemonHome();
        var ws = await CreateWorkspaceAsync(d.Home, "control");
        var id = await SpawnAsync(d.Home, ws, "command", "sleep 301 & sleep 302 & echo started; wait");
        var pid = await TerminalPidAsync(d.Home, id);
        await Poll.UntilAsync(() => ProcessTree.InSession(pid).Count >= 3, "the shell and both sleeps run", intervalMs: 20);
        var tree = ProcessTree.InSession(pid);

        var paused = await Ok(d.Home, "agent", "pause", id);
        Assert.StartsWith($"Paused agent '{id}'", paused.Stdout, StringComparison.Ordinal);
        await Poll.UntilAsync(() => tree.All(p => ProcFs.State(p) == 'T'), "every process of the session is stopped (T)", intervalMs: 20);
        var refused = await Orchflow.RunAsync(d.Home, "agent", "send", id, @"x\r");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("is paused", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains($"orchflow agent resume {id}", refused.Stderr, StringComparison.Ordinal);

        var resumed = await Ok(d.Home, "agent", "resume", id, "--json");
        using (var r = JsonDocument.Parse(resumed.Stdout))
        {
            Assert.Equal("running", r.RootElement.GetProperty("state").GetString());
        }

        await Poll.UntilAsync(() => tree.All(p => ProcFs.State(p) is 'S' or 'R'), "every process continues", intervalMs: 20);

        var stopped = await Ok(d.Home, "agent", "stop", id);
        Assert.StartsWith($"Stopped agent '{id}'", stopped.Stdout, StringComparison.Ordinal);
        await Poll.UntilAsync(() => !tree.Any(ProcFs.Alive), "no process of the session is left", intervalMs: 20);
        var waited = await Orchflow.RunAsync(d.Home, "agent", "wait", id, "--until", "done");
        Assert.Equal(1, waited.ExitCode);
        Assert.Equal($"{id} stopped", waited.Stdout.Trim());
        Assert.Contains($"agent '{id}' stopped: Stopped by orchflow-cli.", waited.Stderr, StringComparison.Ordinal);

        var restarted = await Ok(d.Home, "agent", "restart", id);
        Assert.Matches($@"^Restarted agent '{Regex.Escape(id)}' \(run 2\): (starting|running) in terminal '[^']+'\.$", restarted.Stdout.Trim());
        var newPid = await TerminalPidAsync(d.Home, id);
        Assert.NotEqual(pid, newPid);

        var removed = await Ok(d.Home, "agent", "rm", id);
        Assert.StartsWith($"Removed agent '{id}'", removed.Stdout, StringComparison.Ordinal);
        await Poll.UntilAsync(() => !ProcessTree.InSession(newPid).Any(ProcFs.Alive), "the removed agent's processes are gone", intervalMs: 20);
        var gone = await Orchflow.RunAsync(d.Home, "agent", "show", id);
        Assert.Equal(1, gone.ExitCode);
    }

    [Fact]
    public async Task Wait_exits_3_on_timeout_and_1_when_the_agent_fails_or_ends_without_asking()
    {
        await using var d = new DaemonHome();
        var ws = await CreateWorkspaceAsync(d.Home, "waits");
        var sleeper = await SpawnAsync(d.Home, ws, "command", "sleep 300");
        var timedOut = await Orchflow.RunAsync(d.Home, "agent", "wait", sleeper, "--until", "needs-input", "--timeout", "0.3");
        Assert.Equal(3, timedOut.ExitCode);
        Assert.Equal("", timedOut.Stdout);
        Assert.Matches($@"^orchflow: Timed out after 0\.3 s waiting for agent '{Regex.Escape(sleeper)}' to need input; it is (starting|running)\.\n$", timedOut.Stderr);

        var failing = await SpawnAsync(d.Home, ws, "command", "echo about to fail; exit 4");
        var failed = await Orchflow.RunAsync(d.Home, "agent", "wait", failing, "--until", "done", "--json");
        Assert.Equal(1, failed.ExitCode);
        using (var f = JsonDocument.Parse(failed.Stdout))
        {
            Assert.Equal("failed", f.RootElement.GetProperty("state").GetString());
            Assert.Equal(4, f.RootElement.GetProperty("exitCode").GetInt32());
        }

        Assert.Contains($"agent '{failing}' failed: The process ended right after it started: exit 4. Its last output: about to fail", failed.Stderr, StringComparison.Ordinal);

        var quiet = await SpawnAsync(d.Home, ws, "fake-quiet", "no questions");
        var neverAsked = await Orchflow.RunAsync(d.Home, "agent", "wait", quiet, "--until", "needs-input");
        Assert.Equal(1, neverAsked.ExitCode);
        Assert.Contains("without asking for input", neverAsked.Stderr, StringComparison.Ordinal);

        // A list shows the exit codes; the sleeper still runs, with a memory figure once sampled.
        var list = await Ok(d.Home, "agent", "list");
        Assert.Matches($@"(?m)^{Regex.Escape(failing)}\s.*\sfailed \(exit 4\)\s", list.Stdout);
        Assert.Matches($@"(?m)^{Regex.Escape(quiet)}\s.*\ssucceeded \(exit 0\)\s", list.Stdout);
        await Ok(d.Home, "agent", "stop", sleeper);
    }

    [Fact]
    public async Task Unknown_ids_exit_1_with_a_message_and_a_missing_cli_says_how_to_install_it()
    {
        await using var d = new DaemonHome();
        var emptyBin = Directory.CreateDirectory(Path.Combine(d.Home.Root, "empty-bin")).FullName;
        var ws = await CreateWorkspaceAsync(d.Home, "missing", sharedPath: emptyBin);
        foreach (var args in new[]
        {
            new[] { "agent", "show", "nope-a9" },
            new[] { "agent", "send", "nope-a9", @"y\r" },
            new[] { "agent", "answer", "nope-a9", "1" },
            new[] { "agent", "wait", "nope-a9", "--until", "done" },
            new[] { "agent", "logs", "nope-a9", "--follow" },
            new[] { "agent", "pause", "nope-a9" },
            new[] { "agent", "rm", "nope-a9" },
        })
        {
            var run = await Orchflow.RunAsync(d.Home, args);
            Assert.True(run.ExitCode == 1, $"{string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
            Assert.Equal("", run.Stdout);
            Assert.Equal("orchflow: No agent 'nope-a9'. Run `orchflow agent list` to see the ids.\n", run.Stderr);
        }

        var claude = await Orchflow.RunAsync(d.Home, "agent", "spawn", "--workspace", ws, "--type", "claude", "fix the bug");
        Assert.Equal(1, claude.ExitCode);
        Assert.Equal("", claude.Stdout);
        Assert.StartsWith("orchflow: Claude Code (`claude`) is not installed: install it with `npm install -g @anthropic-ai/claude-code`, or set [agents.types.claude] command in orchflow.toml.", claude.Stderr, StringComparison.Ordinal);
        Assert.Contains(emptyBin, claude.Stderr, StringComparison.Ordinal);
        Assert.Single(claude.Stderr.TrimEnd('\n').Split('\n'));

        var unknownType = await Orchflow.RunAsync(d.Home, "agent", "spawn", "--workspace", ws, "--type", "nope", "t");
        Assert.Equal(1, unknownType.ExitCode);
        Assert.Contains("No agent type 'nope'", unknownType.Stderr, StringComparison.Ordinal);
        Assert.Contains("Known types: aider, claude, codex, command, fake", unknownType.Stderr, StringComparison.Ordinal);

        var longName = await Orchflow.RunAsync(d.Home, "agent", "spawn", "--workspace", ws, "--type", "fake", "--name", new string('n', 81), "t");
        Assert.Equal(1, longName.ExitCode);
        Assert.Contains("The name must be one line of at most 80 characters.", longName.Stderr, StringComparison.Ordinal);

        var types = await Ok(d.Home, "agent", "types", "--workspace", ws);
        var lines = types.Stdout.Split('\n');
        Assert.Matches(@"^NAME\s+SOURCE\s+INSTALLED\s+COMMAND$", lines[0]);
        Assert.Matches(@"^claude\s+built-in\s+no\s+claude$", lines.Single(l => l.StartsWith("claude ", StringComparison.Ordinal)));
        Assert.Matches(@"^fake\s+workspace\s+yes: /bin/bash\s+/bin/bash '.*fake-agent\.sh' \{task\}$", lines.Single(l => l.StartsWith("fake ", StringComparison.Ordinal)));
        Assert.Contains("claude: Claude Code (`claude`) is not installed: install it with `npm install -g @anthropic-ai/claude-code`", types.Stdout, StringComparison.Ordinal);
        var typesJson = await Ok(d.Home, "agent", "types", "--workspace", ws, "--json");
        using var tj = JsonDocument.Parse(typesJson.Stdout);
        var fake = tj.RootElement.GetProperty("types").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "fake");
        Assert.Equal("workspace", fake.GetProperty("source").GetString());
        Assert.Equal("/bin/bash", fake.GetProperty("resolvedPath").GetString());

        Assert.Empty(JsonDocument.Parse((await Ok(d.Home, "agent", "list", "--json")).Stdout).RootElement.GetProperty("agents").EnumerateArray());
    }

    [Fact]
    public async Task A_spawn_beyond_max_agents_is_queued_and_says_so()
    {
        await using var d = new DaemonHome();
        var ws = await CreateWorkspaceAsync(d.Home, "queue", maxAgents: 1);
        var first = await SpawnAsync(d.Home, ws, "command", "sleep 300");
        var second = await Ok(d.Home, "agent", "spawn", "--workspace", ws, "--type", "command", "echo output of the queued one");
        Assert.Matches(@"^Spawned agent '[^']+' \(command\) in workspace 'queue': queued at position 1; it starts when a slot of the workspace's max_agents frees\.$", second.Stdout.Trim());
        var secondId = Regex.Match(second.Stdout, "'([^']+)'").Groups[1].Value;
        Assert.Matches($@"(?m)^{Regex.Escape(secondId)}\s.*\squeued \(#1\)\s", (await Ok(d.Home, "agent", "list")).Stdout);

        // Following a queued agent: it has no log yet; the follower picks the file up when it starts.
        using var follow = new CliProcess(d.Home, "agent", "logs", secondId, "--follow");
        var wait = Orchflow.RunAsync(d.Home, "agent", "wait", secondId, "--until", "done");
        await Poll.UntilAsync(async () => JsonDocument.Parse((await Ok(d.Home, "status", "--json")).Stdout).RootElement.GetProperty("clients").GetInt32() >= 3, "the follower and the waiter are connected", intervalMs: 20);
        await Ok(d.Home, "agent", "stop", first);
        var done = await wait;
        Assert.True(done.ExitCode == 0, done.Stderr);
        Assert.Equal($"{secondId} succeeded (exit 0)", done.Stdout.Trim());
        var followed = await follow.WaitForExitAsync();
        Assert.True(followed.ExitCode == 0, followed.Stderr);
        Assert.EndsWith("\noutput of the queued one\n", followed.Stdout, StringComparison.Ordinal);
        Assert.Equal($"[agent {secondId} succeeded (exit 0)]\n", followed.Stderr);
    }

    [Fact]
    public async Task A_worktree_agent_says_where_it_works_and_on_which_branch()
    {
        await using var d = new DaemonHome();
        var ws = await CreateWorkspaceAsync(d.Home, "repo");
        var root = Path.Combine(d.Home.Projects, "repo");
        foreach (var args in new[] { new[] { "init", "-q" }, ["add", "-A"], ["commit", "-q", "-m", "init"] })
        {
            Git(root, args);
        }

        var spawned = await Ok(d.Home, "agent", "spawn", "--workspace", ws, "--type", "fake-quiet", "--worktree", "on a branch");
        var id = Regex.Match(spawned.Stdout, "'([^']+)'").Groups[1].Value;
        var worktree = Path.Combine(d.Home.Paths.DataDirectory, "worktrees", ws, id);
        Assert.Contains($"It works in {worktree}, on branch orchflow/{id}.", spawned.Stdout, StringComparison.Ordinal);
        await Ok(d.Home, "agent", "wait", id, "--until", "done");

        var show = await Ok(d.Home, "agent", "show", id);
        Assert.Matches($@"(?m)^worktree:\s+{Regex.Escape(worktree)}, branch orchflow/{Regex.Escape(id)}$", show.Stdout);
        Assert.Matches($@"(?m)^cwd:\s+{Regex.Escape(worktree)}$", show.Stdout);
        Assert.Equal("on a branch\n", File.ReadAllText(Path.Combine(worktree, "agent-output.txt")));
        Assert.False(File.Exists(Path.Combine(root, "agent-output.txt")));
    }

    // ---- Helpers ----

    private static Protocol.AgentInfo Info() => new()
    {
        Id = "w-a1",
        WorkspaceId = "w",
        Type = "claude",
        Task = "t",
        State = Protocol.AgentState.Running,
        Cwd = "/",
        Runs = 1,
        CreatedAt = DateTimeOffset.UnixEpoch,
        LogPath = "/tmp/w-a1.log",
    };

    /// <summary>A project whose workspace.json defines the fake agent under a few types; returns the workspace id.</summary>
    private static async Task<string> CreateWorkspaceAsync(TempHome home, string name, int? maxAgents = null, string? sharedPath = null)
    {
        static JsonObject Fake(JsonObject? env = null)
        {
            var type = new JsonObject { ["command"] = $"/bin/bash '{FakeAgent}' {{task}}" };
            if (env is not null)
            {
                type["env"] = env;
            }

            return type;
        }

        var ws = new JsonObject
        {
            ["agents"] = new JsonObject
            {
                ["types"] = new JsonObject
                {
                    ["fake"] = Fake(),
                    ["fake-quiet"] = Fake(new JsonObject { ["FAKE_ASK"] = "" }),
                    ["fake-working"] = Fake(new JsonObject { ["FAKE_WORK"] = "1" }),
                    ["menu"] = new JsonObject { ["command"] = $"/bin/bash '{MenuAgent}' {{task}}" },
                },
            },
        };
        if (maxAgents is { } max)
        {
            ws["resources"] = new JsonObject { ["max_agents"] = max };
        }

        if (sharedPath is not null)
        {
            ws["shared_env"] = new JsonObject { ["PATH"] = sharedPath };
        }

        var dir = home.Project(name, (".orchflow/workspace.json", new JsonObject { ["workspace"] = ws }.ToJsonString()));
        var created = await Ok(home, "workspace", "create", dir, "--json");
        using var json = JsonDocument.Parse(created.Stdout);
        return json.RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string> SpawnAsync(TempHome home, string ws, string type, string task)
    {
        var spawned = await Ok(home, "agent", "spawn", "--workspace", ws, "--type", type, task, "--json");
        using var json = JsonDocument.Parse(spawned.Stdout);
        return json.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>The pid of the agent's terminal (the leader of its session), from `agent show` and `terminal list`.</summary>
    private static async Task<int> TerminalPidAsync(TempHome home, string agentId)
    {
        using var agent = JsonDocument.Parse((await Ok(home, "agent", "show", agentId, "--json")).Stdout);
        var terminalId = agent.RootElement.GetProperty("terminalId").GetString();
        using var terminals = JsonDocument.Parse((await Ok(home, "terminal", "list", "--json")).Stdout);
        return terminals.RootElement.GetProperty("terminals").EnumerateArray().Single(t => t.GetProperty("id").GetString() == terminalId).GetProperty("pid").GetInt32();
    }

    private static async Task<CliRun> Ok(TempHome home, params string[] args)
    {
        var run = await Orchflow.RunAsync(home, args);
        Assert.True(run.ExitCode == 0, $"orchflow {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
        return run;
    }

    private static void Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "user.name=Orchflow Test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)} failed: {error.Result}");
    }


    /// <summary>A CLI process whose stdout is read as it comes, so a test can wait for a line before acting.</summary>
    private sealed class CliProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly SemaphoreSlim _grew = new(0);
        private readonly Task _reading;
        private readonly Task<string> _stderr;

        public CliProcess(TempHome home, params string[] args)
        {
            _process = Process.Start(Orchflow.StartInfo(home, args))!;
            _process.StandardInput.Close();
            _stderr = _process.StandardError.ReadToEndAsync();
            _reading = Task.Run(async () =>
            {
                var buffer = new char[4096];
                int n;
                while ((n = await _process.StandardOutput.ReadAsync(buffer)) > 0)
                {
                    lock (_stdout)
                    {
                        _stdout.Append(buffer, 0, n);
                    }

                    _grew.Release();
                }

                _grew.Release();
            });
        }

        public bool HasExited => _process.HasExited;

        public string Stdout
        {
            get
            {
                lock (_stdout)
                {
                    return _stdout.ToString();
                }
            }
        }

        public async Task WaitForStdoutAsync(string marker)
        {
            var sw = Stopwatch.StartNew();
            while (!Stdout.Contains(marker, StringComparison.Ordinal))
            {
                var left = Deadline - sw.Elapsed;
                Assert.True(left > TimeSpan.Zero && !_reading.IsCompleted, $"'{marker}' never came; stdout so far:\n{Stdout}\nstderr: {(_reading.IsCompleted ? await _stderr : "")}");
                await _grew.WaitAsync(left);
            }
        }

        public async Task<CliRun> WaitForExitAsync()
        {
            using var cts = new CancellationTokenSource(Deadline);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"the command did not end; it printed:\n{Stdout}");
            }

            await _reading;
            return new CliRun(_process.ExitCode, Stdout, await _stderr);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}
