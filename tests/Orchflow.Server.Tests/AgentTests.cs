using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nerdbank.Streams;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Agents;
using StreamJsonRpc;

namespace Orchflow.Server.Tests;

/// <summary>
/// Agents over in-memory RPC with real PTYs, driven by a scripted fake agent CLI (Fixtures/fake-agent.sh): states and
/// transitions, the pool and its queue, needs-input detection, pause/resume/stop of whole sessions, worktrees, argv
/// safety, logs, events, restarts across daemons, and measured resource figures.
/// </summary>
[Collection(AgentTestsCollection.Name)]
[Trait("Tier", "rpc")]
public sealed class AgentTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    /// <summary>Absolute, so that the fake agent also starts in a workspace whose PATH finds nothing.</summary>
    private const string Bash = "/bin/bash";

    private static readonly string FakeAgent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fake-agent.sh");
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    // ---- Set-up ----

    /// <summary>A workspace.json with the fake agent under several types, each a different script of the same CLI.</summary>
    private static string Config(int? maxAgents = null, JsonObject? sharedEnv = null, JsonObject? extraTypes = null)
    {
        static JsonObject Fake(string? args = "{task}", JsonObject? env = null, string[]? needsInput = null, string[]? done = null)
        {
            var type = new JsonObject { ["command"] = $"{Bash} '{FakeAgent}'" + (args is null ? "" : " " + args) };
            if (env is not null)
            {
                type["env"] = env;
            }

            if (needsInput is not null)
            {
                type["needs_input_patterns"] = new JsonArray(needsInput.Select(p => (JsonNode)p).ToArray());
            }

            if (done is not null)
            {
                type["done_patterns"] = new JsonArray(done.Select(p => (JsonNode)p).ToArray());
            }

            return type;
        }

        var types = new JsonObject
        {
            ["fake"] = Fake(),
            ["fake-slow"] = Fake(env: new JsonObject { ["FAKE_DELAY"] = "1.5" }),
            ["fake-working"] = Fake(env: new JsonObject { ["FAKE_WORK"] = "2" }),
            ["fake-quiet"] = Fake(env: new JsonObject { ["FAKE_ASK"] = "" }),
            ["fake-exit3"] = Fake(env: new JsonObject { ["FAKE_ASK"] = "", ["FAKE_EXIT"] = "3" }),
            ["fake-shared"] = Fake(env: new JsonObject { ["FAKE_ASK"] = "", ["FAKE_FILE"] = "shared.txt" }),
            ["fake-typed"] = Fake(args: null, env: new JsonObject { ["FAKE_ASK"] = "" }),
            ["fake-pattern"] = Fake(env: new JsonObject { ["FAKE_ASK"] = "Shall I continue " }, needsInput: ["Shall I continue"]),
            ["fake-done"] = Fake(env: new JsonObject { ["FAKE_ASK"] = "", ["FAKE_WORK"] = "1", ["FAKE_DONE"] = "Task complete: 3 files" }, done: ["^Task complete"]),
        };
        foreach (var (name, value) in extraTypes ?? [])
        {
            types[name] = value!.DeepClone();
        }

        var ws = new JsonObject { ["agents"] = new JsonObject { ["types"] = types } };
        if (maxAgents is { } max)
        {
            ws["resources"] = new JsonObject { ["max_agents"] = max };
        }

        if (sharedEnv is not null)
        {
            ws["shared_env"] = sharedEnv;
        }

        return new JsonObject { ["workspace"] = ws }.ToJsonString();
    }

    private async Task<(InMemoryServer Server, TestClient Client, WorkspaceInfo Ws)> Start(string project = "agents", string? config = null, InMemoryServer? server = null)
    {
        server ??= new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ws = await CreateWorkspace(client, project, config);
        return (server, client, ws);
    }

    private Task<WorkspaceInfo> CreateWorkspace(TestClient c, string project, string? config = null) =>
        c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project(project, (".orchflow/workspace.json", config ?? Config())) });

    private static Task<AgentInfo> Spawn(TestClient c, string ws, string type, string task, bool worktree = false) =>
        c.CallAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ws, Type = type, Task = task, Worktree = worktree });

    private static Task<AgentInfo> Show(TestClient c, string id) => c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = id });

    private static Task<AgentInfo> Act(TestClient c, string method, string id) => c.CallAsync<AgentInfo>(method, new AgentRef { Id = id });

    private static Task<AgentInfo> WaitFor(TestClient c, string id, Func<AgentInfo, bool> condition, string what, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => Show(c, id), condition, a => $"{id} did not become {what}; it is {a.State} ({a.Message}), last line '{a.LastLine}'", timeout ?? Deadline, intervalMs: 20);

    private static Task<AgentInfo> WaitForState(TestClient c, string id, AgentState state, TimeSpan? timeout = null) =>
        WaitFor(c, id, a => a.State == state, state.ToString(), timeout);

    private static Task<string> WaitForTerminalText(TestClient c, string terminalId, string marker) =>
        Poll.UntilAsync(
            async () => (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = terminalId })).Text,
            text => text.Contains(marker, StringComparison.Ordinal),
            text => $"'{marker}' did not appear in {terminalId}; it shows:\n{text}",
            Deadline,
            intervalMs: 10);

    private static async Task<IReadOnlyList<AgentEvent>> Events(TestClient c, string ws, string? agentId = null) =>
        (await c.CallAsync<AgentEventsResult>(Methods.AgentEvents, new AgentEventsParams { WorkspaceId = ws, Limit = 1000 })).Events
            .Where(e => agentId is null || e.AgentId == agentId).ToList();


    private static string Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "user.name=Orchflow Test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)} failed: {error}");
        return output;
    }

    // ---- Pure parts ----

    [Theory]
    [InlineData("claude {task}", new[] { "claude", "{task}" })]
    [InlineData("  gemini   -i {task}  ", new[] { "gemini", "-i", "{task}" })]
    [InlineData("bash 'a b' \"c \\\"d\\\"\" e\\ f", new[] { "bash", "a b", "c \"d\"", "e f" })]
    [InlineData("tool --prompt='{task}' ''", new[] { "tool", "--prompt={task}", "" })]
    [InlineData("aider", new[] { "aider" })]
    public void Templates_split_on_whitespace_with_quotes_and_nothing_else(string template, string[] expected) =>
        Assert.Equal(expected, AgentTypes.SplitTemplate(template));

    [Theory]
    [InlineData("tool 'unclosed {task}")]
    [InlineData("tool \"unclosed")]
    public void An_unclosed_quote_in_a_template_is_a_config_error(string template)
    {
        var ex = Assert.Throws<OrchflowException>(() => AgentTypes.SplitTemplate(template));
        Assert.Equal(ErrorCodes.InvalidConfig, ex.Code);
    }

    [Fact]
    public void The_task_is_substituted_after_splitting_so_it_stays_one_argument()
    {
        const string task = "x'; rm -rf / \"$(id)\" `uname` && echo {shell} | cat > f; {task}";
        var type = AgentTypes.BuiltIns.Single(t => t.Name == "claude") with { Command = "tool --flag {task} --prompt={task}" };
        var (argv, inArgv) = AgentTypes.BuildArgv(type, task, "/bin/sh");
        Assert.True(inArgv);
        Assert.Equal(["tool", "--flag", task, "--prompt=" + task], argv);

        var aider = AgentTypes.BuiltIns.Single(t => t.Name == "aider");
        var (aiderArgv, aiderTaskInArgv) = AgentTypes.BuildArgv(aider, task, "/bin/sh");
        Assert.Equal(["aider"], aiderArgv);
        Assert.False(aiderTaskInArgv);
        var command = AgentTypes.BuiltIns.Single(t => t.Name == "command");
        Assert.Equal(["/bin/zsh", "-c", "exit 4"], AgentTypes.BuildArgv(command, "exit 4", "/bin/zsh").Argv);
    }

    [Theory]
    [InlineData("Proceed? [y/n]", true)]
    [InlineData("Overwrite file (yes/no) ", true)]
    [InlineData("Name: ", true)]
    [InlineData("> ", true)]
    [InlineData("user@host:~$ ", true)]
    [InlineData("[Y/n]", true)]
    [InlineData("Compiling orchflow v0.1.0", false)]
    [InlineData("Shall I continue", false)]
    [InlineData("   ", false)]
    public void Prompt_like_lines(string line, bool expected) => Assert.Equal(expected, NeedsInputDetector.LooksLikePrompt(line));

    [Fact]
    public void The_detector_reports_a_quiet_prompt_once_and_rearms_only_after_a_new_line_follows_the_answer()
    {
        var time = new ManualTime();
        var d = new NeedsInputDetector([], [], time);
        d.Append("\x1b[1mworking\x1b[0m\r\nProceed? [y/n] ");
        Assert.False(d.Evaluate().NeedsInput);
        time.Advance(NeedsInputDetector.QuietPeriod - TimeSpan.FromMilliseconds(1));
        Assert.False(d.Evaluate().NeedsInput);
        time.Advance(TimeSpan.FromMilliseconds(1));
        var r = d.Evaluate();
        Assert.True(r.NeedsInput);
        Assert.Equal("Proceed? [y/n]", r.LastLine);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(d.Evaluate().NeedsInput);

        // The echo of the answer is output after input, but still on the prompt's line: not a new prompt.
        d.InputGiven();
        d.Append("y\r\n");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(d.Evaluate().NeedsInput);
        d.Append("Next question? ");
        time.Advance(NeedsInputDetector.QuietPeriod);
        Assert.True(d.Evaluate().NeedsInput);
    }

    [Fact]
    public void A_needs_input_pattern_reports_at_once_and_done_patterns_see_every_new_line()
    {
        var time = new ManualTime();
        var d = new NeedsInputDetector(AgentTypes.Compile(["Shall I"]), AgentTypes.Compile(["^All done"]), time);
        d.Append("step 1\nAll done.\nstep 2\nShall I continue ");
        var r = d.Evaluate();
        Assert.True(r.NeedsInput);
        Assert.Equal("All done.", r.DoneLine);
        Assert.Contains("Shall I", r.Reason, StringComparison.Ordinal);
        d.Append("more output\n");
        Assert.Null(d.Evaluate().DoneLine);
    }

    [Fact]
    public void A_done_line_split_across_two_reads_is_still_seen_and_an_unfinished_one_counts_when_the_run_ends()
    {
        var time = new ManualTime();
        var d = new NeedsInputDetector([], AgentTypes.Compile(["^Task complete"]), time);
        d.Append("working\r\nTask compl");
        Assert.Null(d.Evaluate().DoneLine);
        d.Append("ete: 3 files\r\n");
        Assert.Equal("Task complete: 3 files", d.Evaluate().DoneLine);

        var e = new NeedsInputDetector([], AgentTypes.Compile(["^Task complete"]), time);
        e.Append("Task complete");
        Assert.Null(e.Evaluate().DoneLine);
        Assert.Equal("Task complete", e.Evaluate(final: true).DoneLine);

        // Quiet output at an unfinished line counts too: the agent may print its verdict and wait.
        var q = new NeedsInputDetector([], AgentTypes.Compile(["^Task complete"]), time);
        q.Append("Task complete, waiting");
        Assert.Null(q.Evaluate().DoneLine);
        time.Advance(NeedsInputDetector.QuietPeriod);
        Assert.Equal("Task complete, waiting", q.Evaluate().DoneLine);
    }

    [Fact]
    public void Process_usage_reads_cpu_ticks_and_resident_memory_of_this_process()
    {
        var self = ProcessTree.Usage().Single(u => u.Pid == Environment.ProcessId);
        Assert.True(self.CpuTicks > 0);
        Assert.True(self.ResidentBytes > 10 * 1024 * 1024, $"RSS {self.ResidentBytes}");
        Assert.Contains(ProcessTree.UsageInSession(self.Session), u => u.Pid == Environment.ProcessId);
        Assert.Equal(100, ProcessTree.ClockTicksPerSecond);
    }

    [Fact]
    public async Task The_log_is_capped_by_rotating_to_dot_1_and_reads_back_as_plain_text()
    {
        var path = Path.Combine(_home.Root, "logs", "a.log");
        var log = new AgentLog(path, "header\n", maxBytes: 1000);
        for (int i = 0; i < 5; i++)
        {
            log.Append($"\x1b[32mchunk-{i}\x1b[0m " + new string('x', 500) + "\n");
        }

        await log.CompleteAsync();
        Assert.True(File.Exists(AgentLog.RotatedPath(path)));
        Assert.InRange(new FileInfo(path).Length, 1, 1100);
        Assert.InRange(new FileInfo(AgentLog.RotatedPath(path)).Length, 1000, 1600);
        var text = AgentLog.ReadPlain(path, null);
        Assert.Contains("chunk-4 xxx", text, StringComparison.Ordinal);
        Assert.DoesNotContain("chunk-0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\x1b", text, StringComparison.Ordinal);
        Assert.StartsWith("chunk-4", AgentLog.ReadPlain(path, 1), StringComparison.Ordinal);
    }

    // ---- Through the protocol, with real PTYs ----

    [Fact]
    public async Task An_agent_starts_runs_waits_for_input_gets_it_edits_a_file_and_succeeds()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        const string task = "add a greeting";
        var a = await Spawn(c, ws.Id, "fake-slow", task);
        Assert.Equal($"{ws.Namespace}-a1", a.Id);
        Assert.Equal(AgentState.Starting, a.State);
        Assert.Equal(ws.RootPath, a.Cwd);
        Assert.Equal(1, a.Runs);
        Assert.Null(a.CpuPercent);
        var terminal = await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = a.TerminalId! });
        Assert.Equal(TerminalPurpose.Agent, terminal.Purpose);
        Assert.Equal(a.Id, terminal.AgentId);
        Assert.Equal([Bash, FakeAgent, task], terminal.Command);

        // The prompt appears; needsInput follows (how fast is measured by bench/agents.mjs, not asserted here: a
        // timed assertion flakes on a loaded machine).
        await WaitForTerminalText(c, a.TerminalId!, "Proceed? [y/n]");
        var waiting = await WaitForState(c, a.Id, AgentState.NeedsInput);
        Assert.NotNull(waiting.NeedsInputSince);
        Assert.Equal("Proceed? [y/n]", waiting.LastLine);
        var ws2 = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = ws.Id });
        Assert.Equal([a.Id], ws2.Metadata.ActiveAgents);

        var answered = await c.CallAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = a.Id, Text = "y\r" });
        Assert.Equal(AgentState.Running, answered.State);
        Assert.Null(answered.NeedsInputSince);

        var done = await WaitForState(c, a.Id, AgentState.Succeeded);
        Assert.Equal(0, done.ExitCode);
        Assert.NotNull(done.EndedAt);
        Assert.Equal("All done.", done.LastLine);
        Assert.Equal(task + "\n", File.ReadAllText(Path.Combine(ws.RootPath, "agent-output.txt")));

        var kinds = (await Events(c, ws.Id, a.Id)).Select(e => e.Kind).Reverse().ToList();
        Assert.Equal([AgentEventKind.Spawned, AgentEventKind.Started, AgentEventKind.NeedsInput, AgentEventKind.InputGiven, AgentEventKind.Succeeded], kinds);
        var given = (await Events(c, ws.Id, a.Id)).Single(e => e.Kind == AgentEventKind.InputGiven);
        Assert.Equal("test", given.By);

        var logs = await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id });
        Assert.Contains("fake-agent: got answer 'y'", logs.Text, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(_home.Paths.DataDirectory, "agents", ws.Id, a.Id + ".log"), logs.Path);
        var tail = await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id, Tail = 1 });
        Assert.Equal("All done.\n", tail.Text);
        Assert.Empty((await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = ws.Id })).Metadata.ActiveAgents);
    }

    [Fact]
    public async Task Exit_codes_decide_succeeded_and_failed_and_a_failing_command_says_how_it_ended()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var three = await Spawn(c, ws.Id, "fake-exit3", "break things");
        var command = await Spawn(c, ws.Id, "command", "echo about to fail; exit 4");
        var ok = await Spawn(c, ws.Id, "command", "true");

        var failed3 = await WaitForState(c, three.Id, AgentState.Failed);
        Assert.Equal(3, failed3.ExitCode);
        Assert.Contains("exit 3", failed3.Message, StringComparison.Ordinal);
        var failed4 = await WaitForState(c, command.Id, AgentState.Failed);
        Assert.Equal(4, failed4.ExitCode);
        Assert.Contains("exit 4", failed4.Message, StringComparison.Ordinal);
        Assert.Equal("about to fail", failed4.LastLine);
        Assert.Equal(0, (await WaitForState(c, ok.Id, AgentState.Succeeded)).ExitCode);

        var failedEvent = (await Events(c, ws.Id, command.Id)).Single(e => e.Kind == AgentEventKind.Failed);
        Assert.Equal(4, failedEvent.ExitCode);
    }

    [Fact]
    public async Task The_pool_queues_spawns_beyond_max_agents_and_starts_them_in_order_as_slots_free()
    {
        var (server, c, ws) = await Start(config: Config(maxAgents: 1));
        await using var _ = server;
        var first = await Spawn(c, ws.Id, "fake", "one");
        var second = await Spawn(c, ws.Id, "fake", "two");
        var third = await Spawn(c, ws.Id, "fake-quiet", "three");
        Assert.Equal(AgentState.Starting, first.State);
        Assert.Equal(AgentState.Queued, second.State);
        Assert.Equal(1, second.QueuePosition);
        Assert.Null(second.TerminalId);
        Assert.Equal(AgentState.Queued, third.State);
        Assert.Equal(2, third.QueuePosition);
        Assert.Contains((await Events(c, ws.Id, second.Id)), e => e.Kind == AgentEventKind.Queued);

        var resources = await c.CallAsync<ResourceSnapshot>(Methods.WorkspaceResources, new WorkspaceResourcesParams());
        var mine = resources.Workspaces.Single(w => w.WorkspaceId == ws.Id);
        Assert.Equal((1, 2), (mine.Agents, mine.QueuedAgents));

        // The first finishes: the second starts, the third moves up.
        await WaitForState(c, first.Id, AgentState.NeedsInput);
        Assert.Equal(AgentState.Queued, (await Show(c, second.Id)).State);
        await c.CallAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = first.Id, Text = "y\r" });
        await WaitForState(c, first.Id, AgentState.Succeeded);
        var started = await WaitFor(c, second.Id, a => a.State is AgentState.Starting or AgentState.Running or AgentState.NeedsInput, "started");
        Assert.NotNull(started.TerminalId);
        Assert.Equal(1, (await WaitFor(c, third.Id, a => a.QueuePosition == 1, "first in the queue")).QueuePosition);

        // A stop frees the slot too.
        var stopped = await Act(c, Methods.AgentStop, second.Id);
        Assert.Equal(AgentState.Stopped, stopped.State);
        Assert.Equal(0, (await WaitForState(c, third.Id, AgentState.Succeeded)).ExitCode);
        Assert.Equal("one\nthree\n", File.ReadAllText(Path.Combine(ws.RootPath, "agent-output.txt")));

        // Never more than one at a time: each started only after the previous one ended.
        var all = (await c.CallAsync<AgentListResult>(Methods.AgentList, new AgentListParams { WorkspaceId = ws.Id })).Agents.OrderBy(x => x.StartedAt).ToList();
        for (int i = 1; i < all.Count; i++)
        {
            Assert.True(all[i].StartedAt >= all[i - 1].EndedAt, $"{all[i].Id} started before {all[i - 1].Id} ended");
        }
    }

    [Fact]
    public async Task Pause_stops_every_process_of_the_session_resume_continues_them_and_stop_leaves_no_process()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "command", "sleep 301 & sleep 302 & echo started; wait");
        var pid = (await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = a.TerminalId! })).Pid!.Value;
        await WaitForState(c, a.Id, AgentState.Running);
        await Poll.UntilAsync(() => ProcessTree.InSession(pid).Count >= 3, "the shell and both sleeps run", intervalMs: 20);
        var tree = ProcessTree.InSession(pid);

        var paused = await Act(c, Methods.AgentPause, a.Id);
        Assert.Equal(AgentState.Paused, paused.State);
        await Poll.UntilAsync(() => tree.All(p => ProcFs.State(p) == 'T'), "every process is stopped (T)", intervalMs: 20);
        var refused = await c.FailAsync(Methods.AgentSend, new AgentSendParams { Id = a.Id, Text = "x" });
        Assert.Equal(ErrorCodes.NotAllowed, refused.ErrorCode);
        Assert.Contains("resume", refused.ErrorData?.Hint, StringComparison.Ordinal);

        var resumed = await Act(c, Methods.AgentResume, a.Id);
        Assert.Equal(AgentState.Running, resumed.State);
        await Poll.UntilAsync(() => tree.All(p => ProcFs.State(p) is 'S' or 'R'), "every process continues", intervalMs: 20);

        var stopped = await Act(c, Methods.AgentStop, a.Id);
        Assert.Equal(AgentState.Stopped, stopped.State);
        Assert.Null(stopped.TerminalId);
        await Poll.UntilAsync(() => !tree.Any(ProcFs.Alive), "no process of the tree is left", intervalMs: 20);
        Assert.DoesNotContain(ProcessTree.InSession(pid), ProcFs.Alive);

        // The record stays, with who stopped it.
        Assert.Equal(AgentState.Stopped, (await Show(c, a.Id)).State);
        var events = await Events(c, ws.Id, a.Id);
        Assert.Equal("test", events.Single(e => e.Kind == AgentEventKind.Stopped).By);
        Assert.Contains(events, e => e.Kind == AgentEventKind.Paused);
        Assert.Contains(events, e => e.Kind == AgentEventKind.Resumed);
        Assert.Equal(ErrorCodes.NotAllowed, (await c.FailAsync(Methods.AgentStop, new AgentRef { Id = a.Id })).ErrorCode);
        Assert.Equal(ErrorCodes.NotAllowed, (await c.FailAsync(Methods.AgentPause, new AgentRef { Id = a.Id })).ErrorCode);
    }

    [Fact]
    public async Task A_needs_input_pattern_detects_a_prompt_without_a_prompt_character_and_terminal_input_clears_it()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "fake-pattern", "pattern task");
        var waiting = await WaitForState(c, a.Id, AgentState.NeedsInput);
        Assert.Equal("Shall I continue", waiting.LastLine);

        var b = await Spawn(c, ws.Id, "fake-working", "typed in the terminal");
        await WaitForState(c, b.Id, AgentState.NeedsInput);
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = (await Show(c, b.Id)).TerminalId!, Data = "y\r" });
        await WaitForState(c, b.Id, AgentState.Running);
        Assert.Contains(await Events(c, ws.Id, b.Id), e => e.Kind == AgentEventKind.InputGiven && e.By is null);
        await WaitForState(c, b.Id, AgentState.Succeeded);
        Assert.Equal("typed in the terminal\n", File.ReadAllText(Path.Combine(ws.RootPath, "agent-output.txt")));

        await c.CallAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = a.Id, Text = "n\r" });
        await WaitForState(c, a.Id, AgentState.Succeeded);
    }

    [Fact]
    public async Task A_cli_without_a_task_argument_gets_the_task_typed_at_its_first_prompt_and_done_patterns_are_reported()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var typed = await Spawn(c, ws.Id, "fake-typed", "typed task with 'quotes'");
        var done = await Spawn(c, ws.Id, "fake-done", "finish it");

        var t = await WaitForState(c, typed.Id, AgentState.Succeeded);
        Assert.Contains("typed at its first prompt", t.Message, StringComparison.Ordinal);
        Assert.Contains("fake-agent: argc=0", (await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = typed.Id })).Text, StringComparison.Ordinal);

        var d = await WaitForState(c, done.Id, AgentState.Succeeded);
        Assert.NotNull(d.DoneAt);
        Assert.Contains("Task complete: 3 files", d.Message, StringComparison.Ordinal);
        Assert.Contains(await Events(c, ws.Id, done.Id), e => e.Kind == AgentEventKind.Done);

        var lines = File.ReadAllLines(Path.Combine(ws.RootPath, "agent-output.txt")).Order().ToList();
        Assert.Equal(["finish it", "typed task with 'quotes'"], lines);
    }

    [Fact]
    public async Task A_task_is_typed_as_a_bracketed_paste_when_the_program_asked_for_one()
    {
        // Asks for bracketed paste, prompts, and records the line it read (its terminal turns the Enter into the line's end).
        var paste = new JsonObject { ["fake-paste"] = new JsonObject { ["command"] = $"{Bash} -c 'printf \"\\033[?2004h> \"; IFS= read -r t; printf %s \"$t\" | od -An -tx1 | tr -d \" \\n\" > typed.hex'" } };
        var (server, c, ws) = await Start("paste", Config(extraTypes: paste));
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "fake-paste", "do it");
        await WaitForState(c, a.Id, AgentState.Succeeded);
        var expected = Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes("\u001b[200~do it\u001b[201~")).ToLowerInvariant();
        Assert.Equal(expected, File.ReadAllText(Path.Combine(ws.RootPath, "typed.hex")));
    }

    /// <summary>
    /// A workspace whose PATH has a stand-in named claude: it answers --version, records its argv, and runs the fake
    /// agent without arguments, which reads its task at a "> " prompt and then asks "Proceed? [y/n]".
    /// </summary>
    private async Task<(InMemoryServer Server, TestClient Client, WorkspaceInfo Ws)> StartWithClaude(string project, TimeProvider? time = null)
    {
        var bin = Path.Combine(_home.Root, "claude-bin");
        Directory.CreateDirectory(bin);
        var claude = Path.Combine(bin, "claude");
        File.WriteAllText(claude, $"#!/bin/sh\n[ \"$1\" = --version ] && {{ echo '2.1.337 (Claude Code)'; exit 0; }}\nprintf '%s\\n' \"$@\" > claude.args\nexec {Bash} '{FakeAgent}'\n");
        File.SetUnixFileMode(claude, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var env = new JsonObject { ["PATH"] = $"{bin}:/usr/bin:/bin", ["ANTHROPIC_API_KEY"] = "test-key" };
        return await Start(project, Config(sharedEnv: env), new InMemoryServer(_home, time: time));
    }

    /// <summary>A connection on the MCP socket with the agent's token, as <c>orchflow mcp</c> makes one.</summary>
    private static async Task<(TestClient Mcp, string Token)> ConnectMcp(InMemoryServer server, TempHome home, WorkspaceInfo ws, string agentId)
    {
        var (a, b) = FullDuplexStream.CreatePair();
        server.Server.Attach(a, a, "mcp", mcpOnly: true);
        var mcp = new TestClient(b);
        await mcp.InitializeAsync();
        var token = await File.ReadAllTextAsync(Path.Combine(Mcp.McpAgentSetup.DirectoryFor(home.Paths.DataDirectory, ws.Id, agentId), "token"));
        return (mcp, token);
    }

    private const string AtPromptMessage = "At its first prompt: the task is typed once its CLI has connected to Orchflow's MCP server.";

    [Fact]
    public async Task Claudes_task_waits_at_its_first_prompt_until_its_cli_has_listed_orchflows_tools()
    {
        var (server, c, ws) = await StartWithClaude("claude-waits");
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "claude", "typed once connected");
        Assert.Null(a.McpConnectedAt);
        await WaitFor(c, a.Id, x => x.Message == AtPromptMessage, "waiting at its prompt for MCP");
        Assert.DoesNotContain("typed once connected", File.ReadAllText(Path.Combine(ws.RootPath, "claude.args")), StringComparison.Ordinal);

        // Several detection passes later it still waits: nothing was typed.
        await Task.Delay(AgentDetection.DetectInterval * 5);
        var log = (await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id })).Text;
        Assert.DoesNotContain("working on", log, StringComparison.Ordinal);
        Assert.Equal(AgentState.Running, (await Show(c, a.Id)).State);

        var (mcp, token) = await ConnectMcp(server, _home, ws, a.Id);
        using (mcp)
        {
            await mcp.CallAsync<object?>(Methods.McpReady, new McpReadyParams { Token = token, Client = "claude-code" });
            var asked = await WaitForState(c, a.Id, AgentState.NeedsInput);
            Assert.NotNull(asked.McpConnectedAt);
            Assert.Contains("fake-agent: working on: typed once connected", (await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id })).Text, StringComparison.Ordinal);
            Assert.Equal("The task was typed at its first prompt.", asked.Message);

            // Once per run: a second list of the tools records nothing more.
            await mcp.CallAsync<object?>(Methods.McpReady, new McpReadyParams { Token = token, Client = "claude-code" });
            var connected = Assert.Single(await Events(c, ws.Id, a.Id), e => e.Kind == AgentEventKind.McpConnected);
            Assert.Matches($@"^{a.Id}: claude-code connected to Orchflow's MCP server \(\d+\.\d s after its start\)$", connected.Message);
            Assert.Equal("claude-code", connected.By);
            Assert.Equal(asked.McpConnectedAt, (await Show(c, a.Id)).McpConnectedAt);

            var forged = await mcp.FailAsync(Methods.McpReady, new McpReadyParams { Token = "ofmcp_forged", Client = "claude-code" });
            Assert.Equal(ErrorCodes.Unauthorized, forged.ErrorCode);
        }

        // A restart is a new run: not connected, and its task waits again.
        var restarted = await Act(c, Methods.AgentRestart, a.Id);
        Assert.Null(restarted.McpConnectedAt);
        await WaitFor(c, a.Id, x => x.Message == AtPromptMessage && x.Runs == 2, "waiting at its prompt again");
        await Act(c, Methods.AgentStop, a.Id);
    }

    [Fact]
    public async Task Claudes_task_is_typed_without_orchflows_tools_when_its_cli_has_not_connected_within_the_grace_and_says_so()
    {
        var time = new ShiftedTime();
        var (server, c, ws) = await StartWithClaude("claude-grace", time);
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "claude", "typed after the grace");
        await WaitFor(c, a.Id, x => x.Message == AtPromptMessage, "waiting at its prompt for MCP");

        time.Advance(AgentDetection.McpConnectGrace);
        var asked = await WaitForState(c, a.Id, AgentState.NeedsInput);
        Assert.Equal("Orchflow's MCP server had not connected within 30 s, so the task was typed at its first prompt without it: the first turn has no Orchflow tools.", asked.Message);
        Assert.Null(asked.McpConnectedAt);
        Assert.Contains("fake-agent: working on: typed after the grace", (await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id })).Text, StringComparison.Ordinal);
        await Act(c, Methods.AgentStop, a.Id);
    }

    [Fact]
    public async Task A_task_with_shell_metacharacters_reaches_a_custom_type_as_one_argument()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        const string task = "x\"; touch pwned; echo $(touch pwned2) `touch pwned3` && rm -rf nothing | cat > pwned4 ; 'q' {task} \\ *";
        var a = await Spawn(c, ws.Id, "fake-quiet", task);
        await WaitForState(c, a.Id, AgentState.Succeeded);
        var log = (await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id })).Text;
        Assert.Contains("fake-agent: argc=1\n", log, StringComparison.Ordinal);
        Assert.Equal(task + "\n", File.ReadAllText(Path.Combine(ws.RootPath, "agent-output.txt")));
        Assert.Equal([".orchflow", "agent-output.txt"], Directory.GetFileSystemEntries(ws.RootPath).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Worktree_agents_work_on_their_own_branches_without_touching_each_other_or_the_root()
    {
        var (server, c, ws) = await Start("repo");
        await using var _ = server;
        Git(ws.RootPath, "init", "-q");
        File.WriteAllText(Path.Combine(ws.RootPath, "README.md"), "hello\n");
        Git(ws.RootPath, "add", "-A");
        Git(ws.RootPath, "commit", "-q", "-m", "init");

        var one = await Spawn(c, ws.Id, "fake-shared", "first", worktree: true);
        var two = await Spawn(c, ws.Id, "fake-shared", "second", worktree: true);
        await WaitForState(c, one.Id, AgentState.Succeeded);
        await WaitForState(c, two.Id, AgentState.Succeeded);

        foreach (var (agent, task) in new[] { (one, "first"), (two, "second") })
        {
            var expected = Path.Combine(_home.Paths.DataDirectory, "worktrees", ws.Id, agent.Id);
            Assert.Equal(expected, agent.Worktree!.Path);
            Assert.Equal($"orchflow/{agent.Id}", agent.Worktree.Branch);
            Assert.Equal(expected, agent.Cwd);
            Assert.Equal(task + "\n", File.ReadAllText(Path.Combine(expected, "shared.txt")));
            Assert.Equal("hello\n", File.ReadAllText(Path.Combine(expected, "README.md")));
        }

        Assert.False(File.Exists(Path.Combine(ws.RootPath, "shared.txt")));
        Assert.Equal("", Git(ws.RootPath, "status", "--porcelain"));

        // Removing the agent removes its worktree and keeps its branch.
        await c.CallAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = one.Id });
        Assert.False(Directory.Exists(one.Worktree!.Path));
        Assert.Contains($"orchflow/{one.Id}", Git(ws.RootPath, "branch", "--list", "orchflow/*"), StringComparison.Ordinal);
        Assert.DoesNotContain(one.Worktree.Path, Git(ws.RootPath, "worktree", "list"), StringComparison.Ordinal);
        Assert.False(File.Exists(one.LogPath));
        Assert.Equal(ErrorCodes.NotFound, (await c.FailAsync(Methods.AgentShow, new AgentRef { Id = one.Id })).ErrorCode);
        Assert.Equal("second\n", File.ReadAllText(Path.Combine(two.Worktree!.Path, "shared.txt")));
    }

    [Fact]
    public async Task A_worktree_needs_a_git_repository_with_a_commit()
    {
        var (server, c, plain) = await Start("plain");
        await using var _ = server;
        var notRepo = await c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = plain.Id, Type = "fake", Task = "t", Worktree = true });
        Assert.Equal(ErrorCodes.NotAllowed, notRepo.ErrorCode);
        Assert.Contains("not a git repository", notRepo.Message, StringComparison.Ordinal);

        var empty = await CreateWorkspace(c, "empty-repo");
        Git(empty.RootPath, "init", "-q");
        var noCommit = await c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = empty.Id, Type = "fake", Task = "t", Worktree = true });
        Assert.Equal(ErrorCodes.NotAllowed, noCommit.ErrorCode);
        Assert.Contains("no commit", noCommit.Message, StringComparison.Ordinal);
        Assert.Empty((await c.CallAsync<AgentListResult>(Methods.AgentList, new AgentListParams())).Agents);
    }

    [Fact]
    public async Task Twenty_agents_across_five_workspaces_all_finish_each_in_its_own_workspace()
    {
        var server = new InMemoryServer(_home);
        await using var _ = server;
        var c = await server.ConnectAsync();
        var workspaces = new List<WorkspaceInfo>();
        for (int w = 0; w < 5; w++)
        {
            workspaces.Add(await CreateWorkspace(c, $"many-{w}"));
        }

        var spawned = await Task.WhenAll(workspaces.SelectMany(ws => Enumerable.Range(0, 4).Select(i => Spawn(c, ws.Id, "fake-quiet", $"{ws.Id} task {i}"))));
        Assert.Equal(20, spawned.Select(a => a.Id).Distinct().Count());
        foreach (var a in spawned)
        {
            Assert.Equal(0, (await WaitForState(c, a.Id, AgentState.Succeeded)).ExitCode);
        }

        foreach (var ws in workspaces)
        {
            var lines = File.ReadAllLines(Path.Combine(ws.RootPath, "agent-output.txt")).Order().ToList();
            Assert.Equal(Enumerable.Range(0, 4).Select(i => $"{ws.Id} task {i}"), lines);
            var ids = (await c.CallAsync<AgentListResult>(Methods.AgentList, new AgentListParams { WorkspaceId = ws.Id })).Agents.Select(a => a.Id).ToList();
            Assert.Equal(4, ids.Count);
            Assert.All(ids, id => Assert.StartsWith(ws.Namespace + "-a", id, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_missing_cli_is_a_clear_error_with_how_to_install_it_and_types_say_what_is_installed()
    {
        var emptyBin = Directory.CreateDirectory(Path.Combine(_home.Root, "empty-bin")).FullName;
        var ghost = new JsonObject { ["ghost"] = new JsonObject { ["command"] = "no-such-agent-cli --go {task}", ["purpose"] = "nothing" } };
        var (server, c, ws) = await Start(config: Config(sharedEnv: new JsonObject { ["PATH"] = emptyBin }, extraTypes: ghost));
        await using var _ = server;

        var claude = await c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ws.Id, Type = "claude", Task = "fix the bug" });
        Assert.Equal(ErrorCodes.NotFound, claude.ErrorCode);
        Assert.Contains("Claude Code (`claude`) is not installed: install it with `npm install -g @anthropic-ai/claude-code`, or set [agents.types.claude] command in orchflow.toml", claude.Message, StringComparison.Ordinal);
        Assert.Contains(emptyBin, claude.ErrorData?.Hint, StringComparison.Ordinal);

        var custom = await c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ws.Id, Type = "ghost", Task = "t" });
        Assert.Contains("(`no-such-agent-cli`) is not installed", custom.Message, StringComparison.Ordinal);
        Assert.Contains("workspace.json", custom.Message, StringComparison.Ordinal);

        var unknown = await c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ws.Id, Type = "nope", Task = "t" });
        Assert.Equal(ErrorCodes.NotFound, unknown.ErrorCode);
        Assert.Contains("claude", unknown.ErrorData?.Hint, StringComparison.Ordinal);
        var emptyTask = await c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ws.Id, Type = "command", Task = "  " });
        Assert.Equal(ErrorCodes.InvalidArgument, emptyTask.ErrorCode);
        Assert.Empty((await c.CallAsync<AgentListResult>(Methods.AgentList, new AgentListParams { WorkspaceId = ws.Id })).Agents);

        var types = (await c.CallAsync<AgentTypesResult>(Methods.AgentTypes, new AgentTypesParams { WorkspaceId = ws.Id })).Types;
        Assert.Equal(["claude", "codex", "gemini", "aider", "command"], types.Take(5).Select(t => t.Name));
        var claudeType = types.Single(t => t.Name == "claude");
        Assert.False(claudeType.Installed);
        Assert.True(claudeType.BuiltIn);
        Assert.Equal(AgentTypeSource.BuiltIn, claudeType.Source);
        Assert.Equal("claude", claudeType.Command);
        Assert.Contains("npm install -g @anthropic-ai/claude-code", claudeType.InstallHint, StringComparison.Ordinal);
        Assert.Equal("gemini -i {task}", types.Single(t => t.Name == "gemini").Command);
        var commandType = types.Single(t => t.Name == "command");
        Assert.True(commandType.Installed);
        Assert.NotNull(commandType.ResolvedPath);
        var fake = types.Single(t => t.Name == "fake");
        Assert.Equal((AgentTypeSource.Workspace, false, true), (fake.Source, fake.BuiltIn, fake.Installed));
        Assert.False(types.Single(t => t.Name == "ghost").Installed);
    }

    [Fact]
    public async Task Workspace_types_override_global_ones_which_override_built_ins()
    {
        _home.WriteGlobalConfig($$"""
            [agents.types.claude]
            command = "{{Bash}} '{{FakeAgent}}' {task}"
            env = { FAKE_ASK = "", FAKE_DONE = "global claude" }

            [agents.types.helper]
            command = "{{Bash}} '{{FakeAgent}}' {task}"
            env = { FAKE_ASK = "", FAKE_DONE = "global helper" }
            """);
        var helper = new JsonObject { ["helper"] = new JsonObject { ["command"] = $"{Bash} '{FakeAgent}' {{task}}", ["env"] = new JsonObject { ["FAKE_DONE"] = "workspace helper" } } };
        var (server, c, ws) = await Start(config: Config(extraTypes: helper));
        await using var _ = server;

        var types = (await c.CallAsync<AgentTypesResult>(Methods.AgentTypes, new AgentTypesParams { WorkspaceId = ws.Id })).Types;
        var claude = types.Single(t => t.Name == "claude");
        Assert.Equal((AgentTypeSource.Global, true, true, "Claude Code"), (claude.Source, claude.BuiltIn, claude.Installed, claude.DisplayName));
        Assert.NotEmpty(claude.NeedsInputPatterns);
        Assert.Equal(AgentTypeSource.Workspace, types.Single(t => t.Name == "helper").Source);

        var a = await Spawn(c, ws.Id, "claude", "global override");
        var b = await Spawn(c, ws.Id, "helper", "workspace override");
        Assert.Equal("global claude", (await WaitForState(c, a.Id, AgentState.Succeeded)).LastLine);

        // The workspace's definition replaces the command and keeps the global one's env it does not set.
        await WaitForState(c, b.Id, AgentState.Succeeded);
        Assert.Equal("workspace helper", (await Show(c, b.Id)).LastLine);
    }

    [Fact]
    public async Task Restart_runs_the_same_task_again_with_the_same_id_in_a_new_terminal()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "fake", "restart me");
        var firstRun = await WaitForState(c, a.Id, AgentState.NeedsInput);
        var firstPid = (await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = firstRun.TerminalId! })).Pid!.Value;

        var restarted = await Act(c, Methods.AgentRestart, a.Id);
        Assert.Equal(a.Id, restarted.Id);
        Assert.Equal(AgentState.Starting, restarted.State);
        Assert.Equal(2, restarted.Runs);
        var terminals = (await c.CallAsync<TerminalListResult>(Methods.TerminalList, new TerminalListParams { WorkspaceId = ws.Id })).Terminals;
        var terminal = Assert.Single(terminals);
        Assert.Equal(restarted.TerminalId, terminal.Id);
        Assert.NotEqual(firstPid, terminal.Pid);
        Assert.False(ProcFs.Alive(firstPid));

        await WaitForState(c, a.Id, AgentState.NeedsInput);
        await c.CallAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = a.Id, Text = "y\r" });
        await WaitForState(c, a.Id, AgentState.Succeeded);
        Assert.Equal("restart me\n", File.ReadAllText(Path.Combine(ws.RootPath, "agent-output.txt")));

        // A finished agent restarts too; the log keeps every run.
        var again = await Act(c, Methods.AgentRestart, a.Id);
        Assert.Equal(3, again.Runs);
        Assert.Null(again.ExitCode);
        Assert.Null(again.EndedAt);
        await WaitForState(c, a.Id, AgentState.NeedsInput);
        await c.CallAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = a.Id, Text = "y\r" });
        await WaitForState(c, a.Id, AgentState.Succeeded);
        var log = (await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id })).Text;
        Assert.Equal(3, log.Split('\n').Count(l => l.StartsWith("[orchflow] run ", StringComparison.Ordinal)));
        Assert.Equal(2, (await Events(c, ws.Id, a.Id)).Count(e => e.Kind == AgentEventKind.Restarted));
    }

    [Fact]
    public async Task Agents_active_when_the_daemon_stops_are_interrupted_at_the_next_start_and_can_be_restarted()
    {
        var dbPath = Path.Combine(_home.Root, "agents.db");
        string waitingId, queuedId, finishedId, wsId;
        await using (var first = new InMemoryServer(_home, Storage.Database.Open(dbPath, Hosting.Log.Null)))
        {
            var (_, c, ws) = await Start(config: Config(maxAgents: 2), server: first);
            wsId = ws.Id;
            finishedId = (await Spawn(c, ws.Id, "fake-quiet", "finished before")).Id;
            await WaitForState(c, finishedId, AgentState.Succeeded);
            waitingId = (await Spawn(c, ws.Id, "fake", "interrupt me")).Id;
            await Spawn(c, ws.Id, "command", "sleep 300");
            queuedId = (await Spawn(c, ws.Id, "fake", "never started")).Id;
            await WaitForState(c, waitingId, AgentState.NeedsInput);
            Assert.Equal(AgentState.Queued, (await Show(c, queuedId)).State);
            await first.DisposeAsync();
            first.Database.Dispose();
        }

        await using var second = new InMemoryServer(_home, Storage.Database.Open(dbPath, Hosting.Log.Null));
        var c2 = await second.ConnectAsync();
        var interrupted = await Show(c2, waitingId);
        Assert.Equal(AgentState.Interrupted, interrupted.State);
        Assert.Contains("daemon stopped while it was needsInput", interrupted.Message, StringComparison.Ordinal);
        Assert.Equal(AgentState.Interrupted, (await Show(c2, queuedId)).State);
        Assert.Equal(AgentState.Succeeded, (await Show(c2, finishedId)).State);
        Assert.Null((await Show(c2, finishedId)).TerminalId);
        var status = await c2.CallAsync<StatusResult>(Methods.Status, new StatusParams());
        Assert.Contains(status.LostTerminals, t => t.AgentId == waitingId && t.Id == interrupted.TerminalId);
        Assert.Equal(3, (await Events(c2, wsId)).Count(e => e.Kind == AgentEventKind.Interrupted));

        // Restart runs it again under the same id; ids are never reused.
        var restarted = await Act(c2, Methods.AgentRestart, waitingId);
        Assert.Equal(2, restarted.Runs);
        await WaitForState(c2, waitingId, AgentState.NeedsInput);
        await c2.CallAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = waitingId, Text = "y\r" });
        await WaitForState(c2, waitingId, AgentState.Succeeded);
        var fresh = await Spawn(c2, wsId, "fake-quiet", "after restart");
        Assert.EndsWith("-a5", fresh.Id, StringComparison.Ordinal);
        await WaitForState(c2, fresh.Id, AgentState.Succeeded);
        second.Database.Dispose();
    }

    [Fact]
    public async Task A_busy_agent_shows_measured_cpu_and_memory_and_resources_are_notified_every_sample()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        using var listener = await Listener.ConnectAsync(server);
        var busy = await Spawn(c, ws.Id, "command", "sh -c 'while :; do :; done'");
        Assert.Null(busy.CpuPercent);

        var measured = await WaitFor(c, busy.Id, a => a.CpuPercent > 20 && a.MemoryBytes > 0, "measured busy", TimeSpan.FromSeconds(10));
        Assert.True(measured.Processes >= 1, $"processes {measured.Processes}");
        Assert.InRange(measured.CpuPercent!.Value, 20, 100.0 * Environment.ProcessorCount + 10);

        var snapshot = await c.CallAsync<ResourceSnapshot>(Methods.WorkspaceResources, new WorkspaceResourcesParams());
        Assert.NotNull(snapshot.SampledAt);
        var mine = snapshot.Workspaces.Single(w => w.WorkspaceId == ws.Id);
        Assert.True(mine.CpuPercent > 20, $"workspace cpu {mine.CpuPercent}");
        Assert.True(mine.MemoryBytes > 0);
        Assert.Equal((1, 1), (mine.Terminals, mine.Agents));
        Assert.Contains(snapshot.Workspaces, w => w.WorkspaceId == "default" && w.CpuPercent == 0 && w.MemoryBytes == 0);
        Assert.Contains(snapshot.Agents, x => x.Id == busy.Id && x.CpuPercent > 20);

        var notified = await listener.WaitAsync(Methods.ResourcesChanged, json =>
        {
            var r = JsonSerializer.Deserialize<ResourceSnapshot>(json, ProtocolJson.Options)!;
            return r.Agents.Any(x => x.Id == busy.Id && x.CpuPercent > 20);
        });
        Assert.Contains(busy.Id, notified, StringComparison.Ordinal);
        await listener.WaitAsync(Methods.AgentChanged, json => json.Contains(busy.Id, StringComparison.Ordinal));
        await listener.WaitAsync(Methods.AgentEvent, json => json.Contains("\"spawned\"", StringComparison.Ordinal));

        var stopped = await Act(c, Methods.AgentStop, busy.Id);
        Assert.Null(stopped.CpuPercent);
    }

    [Fact]
    public async Task Unknown_ids_are_NotFound_and_removing_an_active_agent_stops_it_first()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        foreach (var method in new[] { Methods.AgentShow, Methods.AgentPause, Methods.AgentResume, Methods.AgentStop, Methods.AgentRestart, Methods.AgentRemove })
        {
            Assert.Equal(ErrorCodes.NotFound, (await c.FailAsync(method, new AgentRef { Id = "nope-a9" })).ErrorCode);
        }

        var a = await Spawn(c, ws.Id, "command", "echo hello; sleep 300");
        var pid = (await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = a.TerminalId! })).Pid!.Value;
        await WaitFor(c, a.Id, x => x.LastLine == "hello", "printing hello");
        await c.CallAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = a.Id });
        await Poll.UntilAsync(() => !ProcessTree.InSession(pid).Any(ProcFs.Alive), "the removed agent's processes are gone", intervalMs: 20);
        Assert.Equal(ErrorCodes.NotFound, (await c.FailAsync(Methods.TerminalShow, new TerminalRef { Id = a.TerminalId! })).ErrorCode);
        Assert.Equal(AgentEventKind.Removed, (await Events(c, ws.Id, a.Id))[0].Kind);
        Assert.Empty((await c.CallAsync<AgentListResult>(Methods.AgentList, new AgentListParams())).Agents);
    }

    [Fact]
    public async Task Deleting_a_workspace_stops_and_forgets_its_agents_and_leaves_other_workspaces_alone()
    {
        var (server, c, doomed) = await Start("doomed");
        await using var _ = server;
        var other = await CreateWorkspace(c, "other");
        var a = await Spawn(c, doomed.Id, "fake", "in the doomed workspace");
        var b = await Spawn(c, other.Id, "fake", "in the other workspace");
        var queued = await Spawn(c, doomed.Id, "fake-quiet", "queued or not");
        await WaitForState(c, a.Id, AgentState.NeedsInput);
        await WaitForState(c, b.Id, AgentState.NeedsInput);
        var pid = (await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = a.TerminalId! })).Pid!.Value;

        await c.CallAsync<WorkspaceDeleteResult>(Methods.WorkspaceDelete, new WorkspaceRef { Id = doomed.Id });
        await Poll.UntilAsync(() => !ProcessTree.InSession(pid).Any(ProcFs.Alive), "the deleted workspace's agent processes are gone", intervalMs: 20);
        var left = (await c.CallAsync<AgentListResult>(Methods.AgentList, new AgentListParams())).Agents;
        Assert.Equal([b.Id], left.Select(x => x.Id));
        Assert.DoesNotContain((await c.CallAsync<AgentEventsResult>(Methods.AgentEvents, new AgentEventsParams())).Events, e => e.WorkspaceId == doomed.Id);
        Assert.Equal(ErrorCodes.NotFound, (await c.FailAsync(Methods.AgentShow, new AgentRef { Id = queued.Id })).ErrorCode);
        await Poll.UntilAsync(() => !File.Exists(a.LogPath), "its log is removed", intervalMs: 20);
        Assert.Equal(AgentState.NeedsInput, (await Show(c, b.Id)).State);

        // The default workspace takes agents spawned without naming one.
        var d = await c.CallAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { Type = "command", Task = "true" });
        Assert.Equal("default", d.WorkspaceId);
        Assert.StartsWith("default-a", d.Id, StringComparison.Ordinal);
        await WaitForState(c, d.Id, AgentState.Succeeded);
    }

    [Fact]
    public async Task Killing_an_agents_terminal_directly_stops_the_agent()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "fake", "killed from outside");
        await WaitForState(c, a.Id, AgentState.NeedsInput);
        await c.CallAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = a.TerminalId! });
        var stopped = await WaitForState(c, a.Id, AgentState.Stopped);
        Assert.Contains("terminal was killed", stopped.Message, StringComparison.Ordinal);
        Assert.Null(stopped.TerminalId);
    }

    /// <summary>A second client that records the agent notifications (the shared test client does not subscribe to them).</summary>
    private sealed class Listener : IDisposable
    {
        private readonly List<(string Method, string Json)> _seen = [];
        private readonly SemaphoreSlim _signal = new(0);

        private Listener(JsonRpc rpc) => Rpc = rpc;

        public JsonRpc Rpc { get; }

        public static async Task<Listener> ConnectAsync(InMemoryServer server)
        {
            var (a, b) = FullDuplexStream.CreatePair();
            server.Server.Attach(a, a, "memory");
            var listener = new Listener(Cli.OrchflowClientRpc.Create(b));
            foreach (var method in new[] { Methods.AgentChanged, Methods.AgentEvent, Methods.ResourcesChanged })
            {
                var handler = new Action<JsonElement>(p => listener.Record(method, p));
                listener.Rpc.AddLocalRpcMethod(handler.Method, handler.Target, new JsonRpcMethodAttribute(method) { UseSingleObjectParameterDeserialization = true });
            }

            listener.Rpc.StartListening();
            await listener.Rpc.InvokeWithParameterObjectAsync<InitializeResult>(Methods.Initialize, new InitializeParams { ClientInfo = new ClientInfo { Name = "listener" } });
            return listener;
        }

        public async Task<string> WaitAsync(string method, Func<string, bool> match)
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                lock (_seen)
                {
                    var hit = _seen.FirstOrDefault(n => n.Method == method && match(n.Json));
                    if (hit.Json is not null)
                    {
                        return hit.Json;
                    }
                }

                var left = Deadline - sw.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"No matching {method} notification.");
                }

                await _signal.WaitAsync(left);
            }
        }

        private void Record(string method, JsonElement p)
        {
            lock (_seen)
            {
                _seen.Add((method, p.GetRawText()));
            }

            _signal.Release();
        }

        public void Dispose() => Rpc.Dispose();
    }

    /// <summary>A wall clock that a test moves ahead while timers and timestamps stay real, so the daemon's loops keep running.</summary>
    private sealed class ShiftedTime : TimeProvider
    {
        private long _offset;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offset));

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offset, by.Ticks);
    }

    /// <summary>A clock the detector tests move by hand.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}

/// <summary>
/// The agent tests start dozens of processes and a CPU hog; they run on their own, after the parallel tests, so that
/// neither they nor the timing-sensitive terminal tests (a second to report a prompt, a few ms to see a terminal run)
/// measure each other's load on a two-core machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AgentTestsCollection
{
    public const string Name = "agents (not parallel)";
}
