using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchflow.Protocol;
using Orchflow.Server.Agents;

namespace Orchflow.Server.Tests;

/// <summary>
/// <c>orchflow/agent/answer</c>: which choice an answer names (pure), and over in-memory RPC with real PTYs, a scripted
/// TUI (Fixtures/menu-agent.sh) that draws a menu, records every byte it reads, and says which choice it took. Every
/// refusal leaves the agent waiting and types nothing.
/// </summary>
[Collection(AgentTestsCollection.Name)]
[Trait("Tier", "rpc")]
public sealed class AgentAnswerTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly string MenuAgent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "menu-agent.sh");
    private static readonly string FakeAgent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fake-agent.sh");

    private static readonly AgentChoice[] Approval =
    [
        new() { Label = "Yes", Keys = "1" },
        new() { Label = "Yes, and don't ask again for echo", Keys = "2" },
        new() { Label = "No", Keys = "3" },
    ];

    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    // ---- Which choice an answer names ----

    [Theory]
    [InlineData("1", 1)]
    [InlineData(" 3 ", 3)]
    [InlineData("yes", 1)] // the whole label wins over the start of a longer one
    [InlineData("YES, AND", 2)]
    [InlineData("yes,   and  don't", 2)]
    [InlineData("Yes, and don't ask again for echo", 2)]
    [InlineData("n", 3)]
    [InlineData("No", 3)]
    public void An_answer_names_a_choice_by_number_or_by_label(string answer, int expected)
    {
        var (number, choice) = AgentChoices.Resolve(Approval, answer, "w-a1");
        Assert.Equal(expected, number);
        Assert.Same(Approval[expected - 1], choice);
    }

    [Theory]
    [InlineData("", "The choice is empty.")]
    [InlineData("   ", "The choice is empty.")]
    [InlineData("4", "There is no choice 4: the choices are 1. Yes, 2. Yes, and don't ask again for echo, 3. No.")]
    [InlineData("0", "There is no choice 0: the choices are 1. Yes, 2. Yes, and don't ask again for echo, 3. No.")]
    [InlineData("maybe", "No choice matches 'maybe': the choices are 1. Yes, 2. Yes, and don't ask again for echo, 3. No.")]
    [InlineData("-1", "No choice matches '-1': the choices are 1. Yes, 2. Yes, and don't ask again for echo, 3. No.")]
    [InlineData(" y ", "'y' fits several choices: 1. Yes, 2. Yes, and don't ask again for echo.")]
    public void An_answer_that_names_no_choice_or_several_is_refused_with_the_choices(string answer, string message)
    {
        var e = Assert.Throws<OrchflowException>(() => AgentChoices.Resolve(Approval, answer, "w-a1"));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Equal(message, e.Message);
        Assert.Contains("orchflow agent answer w-a1 ", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_choices_with_the_same_label_are_named_by_number()
    {
        AgentChoice[] twice = [new() { Label = "Allow", Keys = "1" }, new() { Label = "allow", Keys = "2" }];
        var e = Assert.Throws<OrchflowException>(() => AgentChoices.Resolve(twice, "ALLOW", "w-a1"));
        Assert.Equal("'ALLOW' fits several choices: 1. Allow, 2. allow.", e.Message);
        Assert.Equal(2, AgentChoices.Resolve(twice, "2", "w-a1").Number);
    }

    [Theory]
    [InlineData("  Do you want\n  to proceed?  ", "Do you want to proceed?")]
    [InlineData("a\tb", "a b")]
    [InlineData(null, "")]
    public void Questions_and_labels_compare_with_whitespace_runs_as_one_space(string? text, string expected) =>
        Assert.Equal(expected, AgentChoices.Normalize(text));

    // ---- Over RPC, against a TUI that draws a menu ----

    private async Task<(InMemoryServer Server, TestClient Client, WorkspaceInfo Ws)> StartAsync(string project)
    {
        static JsonObject Menu(string script, JsonObject? env = null) =>
            env is null ? new JsonObject { ["command"] = $"/bin/bash '{script}' {{task}}" } : new JsonObject { ["command"] = $"/bin/bash '{script}' {{task}}", ["env"] = env };

        var types = new JsonObject
        {
            ["menu"] = Menu(MenuAgent),
            ["menu-arrows"] = Menu(MenuAgent, new JsonObject { ["MENU_STYLE"] = "arrows" }),
            ["menu-switch"] = Menu(MenuAgent, new JsonObject { ["MENU_SWITCH"] = "switch" }),
            ["menu-working"] = Menu(MenuAgent, new JsonObject { ["MENU_WORK"] = "60" }),
            ["menu-prompt-first"] = Menu(MenuAgent, new JsonObject { ["MENU_PROMPT_FIRST"] = "1.5" }),
            ["line"] = Menu(FakeAgent),
        };
        var config = new JsonObject { ["workspace"] = new JsonObject { ["agents"] = new JsonObject { ["types"] = types } } };
        var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ws = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project(project, (".orchflow/workspace.json", config.ToJsonString())) });
        return (server, client, ws);
    }

    private static Task<AgentInfo> Spawn(TestClient c, string ws, string type) =>
        c.CallAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ws, Type = type, Task = "pick one" });

    private static Task<AgentInfo> Answer(TestClient c, string id, string choice, string? question = null) =>
        c.CallAsync<AgentInfo>(Methods.AgentAnswer, new AgentAnswerParams { Id = id, Choice = choice, Question = question });

    private static Task<RpcFailure> Refused(TestClient c, string id, string choice, string? question = null) =>
        c.FailAsync(Methods.AgentAnswer, new AgentAnswerParams { Id = id, Choice = choice, Question = question });

    private static Task<AgentInfo> WaitFor(TestClient c, string id, Func<AgentInfo, bool> condition, string what) =>
        Poll.UntilAsync(
            () => c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = id }),
            condition,
            async a =>
            {
                var screen = a.TerminalId is { } t ? (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = t, Screen = true })).Text : "";
                return $"{id} did not become {what}; it is {a.State} ({a.Message}), question '{a.Question}', screen:\n{screen}";
            },
            Deadline,
            intervalMs: 20);

    private static Task<AgentInfo> WaitForMenu(TestClient c, string id) =>
        WaitFor(c, id, a => a.State == AgentState.NeedsInput && a.Choices is { Count: > 0 }, "needsInput with a menu");

    /// <summary>What the TUI read from its terminal, as hex ("" before it read anything).</summary>
    private static string KeysRead(WorkspaceInfo ws)
    {
        var path = Path.Combine(ws.RootPath, "keys.log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    private static async Task<IReadOnlyList<AgentEvent>> Events(TestClient c, string ws, string id) =>
        (await c.CallAsync<AgentEventsResult>(Methods.AgentEvents, new AgentEventsParams { WorkspaceId = ws, Limit = 100 })).Events.Where(e => e.AgentId == id).ToList();

    [Fact]
    public async Task A_numbered_menu_is_answered_by_the_start_of_a_label_and_its_digit_reaches_the_program()
    {
        var (server, c, ws) = await StartAsync("numbered");
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "menu");
        var waiting = await WaitForMenu(c, a.Id);
        Assert.Equal("Do you want to proceed?", waiting.Question);
        Assert.Equal(Approval.Select(x => (x.Label, x.Keys)), waiting.Choices!.Select(x => (x.Label, x.Keys)));

        // Names no choice, or several: refused with the list, and nothing reaches the program.
        var none = await Refused(c, a.Id, "maybe");
        ErrorAssert.Code(ErrorCodes.InvalidArgument, none, "No choice matches 'maybe': the choices are 1. Yes, 2. Yes, and don't ask again for echo, 3. No.");
        var several = await Refused(c, a.Id, "y");
        ErrorAssert.Code(ErrorCodes.InvalidArgument, several, "'y' fits several choices: 1. Yes, 2. Yes, and don't ask again for echo.");
        ErrorAssert.Code(ErrorCodes.InvalidArgument, await Refused(c, a.Id, "9"), "There is no choice 9");
        Assert.Equal(AgentState.NeedsInput, (await c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = a.Id })).State);
        Assert.Equal("", KeysRead(ws));

        // The question as the person saw it, with its own line breaks and spaces, still matches.
        var answered = await Answer(c, a.Id, "yes, and", "  Do you want\n to proceed? ");
        Assert.Equal(AgentState.Running, answered.State);
        Assert.Null(answered.Question);
        Assert.Null(answered.Choices);

        await WaitFor(c, a.Id, x => x.State == AgentState.Succeeded, "succeeded");
        Assert.Equal("32", KeysRead(ws));
        Assert.Equal("chosen 2: Yes, and don't ask again for echo\n", File.ReadAllText(Path.Combine(ws.RootPath, "answer.txt")));
        var given = Assert.Single(await Events(c, ws.Id, a.Id), e => e.Kind == AgentEventKind.InputGiven);
        Assert.Equal($"{a.Id} answered \"Yes, and don't ask again for echo\" to \"Do you want to proceed?\" (by test)", given.Message);
        Assert.Equal("test", given.By);

        // It has ended: nothing takes an answer any more.
        ErrorAssert.Code(ErrorCodes.NotAllowed, await Refused(c, a.Id, "1"), $"Agent '{a.Id}' is succeeded and cannot receive input.");
    }

    [Fact]
    public async Task A_menu_picked_with_arrow_keys_is_answered_by_number_with_the_arrows_and_enter()
    {
        var (server, c, ws) = await StartAsync("arrows");
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "menu-arrows");
        var waiting = await WaitForMenu(c, a.Id);
        Assert.Equal("Is this a project you created or one you trust?", waiting.Question);
        Assert.Equal(["No, exit", "Yes, I trust this folder"], waiting.Choices!.Select(x => x.Label));

        await Answer(c, a.Id, "2", waiting.Question);
        await WaitFor(c, a.Id, x => x.State == AgentState.Succeeded, "succeeded");
        Assert.Equal("1b5b420d", KeysRead(ws)); // ESC [ B, then Enter
        Assert.Equal("chosen 2: Yes, I trust this folder\n", File.ReadAllText(Path.Combine(ws.RootPath, "answer.txt")));
    }

    [Fact]
    public async Task An_answer_for_a_question_the_screen_no_longer_asks_is_refused_and_the_new_one_can_be_answered()
    {
        var (server, c, ws) = await StartAsync("switch");
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "menu-switch");
        var first = await WaitForMenu(c, a.Id);
        Assert.Equal("Do you want to proceed?", first.Question);

        // The dialog is replaced by another one without a pause: the agent's question follows the screen.
        File.WriteAllText(Path.Combine(ws.RootPath, "switch"), "");
        var second = await WaitFor(c, a.Id, x => x.Question == "Do you want to make this edit to notes.md?", "asking the second question");
        Assert.Equal(AgentState.NeedsInput, second.State);
        Assert.Equal(["Yes", "No"], second.Choices!.Select(x => x.Label));

        var changed = await Refused(c, a.Id, "1", first.Question);
        ErrorAssert.Code(ErrorCodes.NotAllowed, changed, "The question changed: it now asks \"Do you want to make this edit to notes.md?\" (1. Yes, 2. No), not \"Do you want to proceed?\".");
        Assert.Contains($"orchflow agent show {a.Id}", ErrorAssert.Data(changed).Hint, StringComparison.Ordinal);
        Assert.Equal(AgentState.NeedsInput, (await c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = a.Id })).State);
        Assert.Equal("", KeysRead(ws));

        await Answer(c, a.Id, "no", second.Question);
        await WaitFor(c, a.Id, x => x.State == AgentState.Succeeded, "succeeded");
        Assert.Equal("32", KeysRead(ws));
        Assert.Equal("chosen 2: No\n", File.ReadAllText(Path.Combine(ws.RootPath, "answer.txt")));
    }

    [Fact]
    public async Task An_agent_that_does_not_wait_or_waits_without_a_menu_is_not_answered_and_says_what_to_do()
    {
        var (server, c, ws) = await StartAsync("refusals");
        await using var _ = server;

        var unknown = await Refused(c, "nobody-a9", "1");
        ErrorAssert.Code(ErrorCodes.NotFound, unknown, "nobody-a9");
        Assert.Contains("orchflow agent list", ErrorAssert.Data(unknown).Hint, StringComparison.Ordinal);

        // Working behind its spinner: nothing to answer.
        var working = await Spawn(c, ws.Id, "menu-working");
        await WaitFor(c, working.Id, x => x.State == AgentState.Running, "running");
        var busy = await Refused(c, working.Id, "1");
        ErrorAssert.Code(ErrorCodes.NotAllowed, busy, $"Agent '{working.Id}' is running; nothing to answer.");
        Assert.Contains($"orchflow agent wait {working.Id} --until needs-input", ErrorAssert.Data(busy).Hint, StringComparison.Ordinal);
        await c.CallAsync<AgentInfo>(Methods.AgentStop, new AgentRef { Id = working.Id });

        // A line prompt waits, but there is no menu to pick from: the answer is typed with send instead.
        var line = await Spawn(c, ws.Id, "line");
        await WaitFor(c, line.Id, x => x.State == AgentState.NeedsInput, "needsInput");
        var noMenu = await Refused(c, line.Id, "1");
        ErrorAssert.Code(ErrorCodes.NotAllowed, noMenu, $"Agent '{line.Id}' needs input, but its screen shows no menu to pick from (its last line: \"Proceed? [y/n]\").");
        Assert.Equal($"Type the answer instead: `orchflow agent send {line.Id} 'text\\r'`.", ErrorAssert.Data(noMenu).Hint);
        Assert.Equal(AgentState.NeedsInput, (await c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = line.Id })).State);

        // Params that do not bind are the binder's error, not a crash.
        var missing = await c.FailAsync(Methods.AgentAnswer, new { id = line.Id });
        Assert.Equal((int)StreamJsonRpc.Protocol.JsonRpcErrorCode.InvalidParams, missing.ErrorCode);
    }

    [Fact]
    public async Task A_terminals_own_focus_report_leaves_the_question_waiting_and_a_key_a_person_types_does_not()
    {
        var (server, c, ws) = await StartAsync("focus");
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "menu");
        var waiting = await WaitForMenu(c, a.Id);

        // VS Code's terminal sends ESC [ I when it is shown to a program that asked for focus reports (Claude Code does).
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = waiting.TerminalId!, Data = "\u001b[I" });
        await Poll.UntilAsync(() => KeysRead(ws).Contains("1b5b49", StringComparison.Ordinal), "the menu reads the focus report");
        await Task.Delay(AgentDetection.DetectInterval * 3);
        var still = await c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = a.Id });
        Assert.Equal(AgentState.NeedsInput, still.State);
        Assert.Equal(waiting.Question, still.Question);
        Assert.DoesNotContain(await Events(c, ws.Id, a.Id), e => e.Kind == AgentEventKind.InputGiven);

        // A key typed in the terminal is the person's: the agent works again.
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = waiting.TerminalId!, Data = "x" });
        await WaitFor(c, a.Id, x => x.State == AgentState.Running, "running after a typed key");
    }

    [Fact]
    public async Task A_dialog_drawn_over_a_screen_already_taken_for_a_prompt_brings_its_question_and_choices()
    {
        var (server, c, ws) = await StartAsync("prompt-first");
        await using var _ = server;
        var a = await Spawn(c, ws.Id, "menu-prompt-first");
        await WaitFor(c, a.Id, x => x.State == AgentState.NeedsInput, "needsInput at its first prompt");
        var waiting = await WaitForMenu(c, a.Id);
        Assert.Equal("Do you want to proceed?", waiting.Question);
        Assert.Equal(Approval.Select(x => x.Label), waiting.Choices!.Select(x => x.Label));
        await Answer(c, a.Id, "1", waiting.Question);
        await WaitFor(c, a.Id, x => x.State == AgentState.Succeeded, "succeeded");
        Assert.Equal("31", KeysRead(ws));
    }
}
