using System.Diagnostics;
using Orchflow.Protocol;
using Orchflow.Server.Terminals.Screen;

namespace Orchflow.Server.Tests;

/// <summary>`terminal read --screen` and attaching over in-memory RPC with a real PTY: what is visible, not the raw bytes.</summary>
[Trait("Tier", "rpc")]
public sealed class ScreenRpcTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    private static Task<string> WaitForScreen(TestClient c, string id, string marker, int? tail = null) =>
        Poll.UntilAsync(
            async () => (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = id, Screen = true, Tail = tail })).Text,
            text => text.Contains(marker, StringComparison.Ordinal),
            text => $"'{marker}' did not appear on the screen of {id}; it shows:\n{text}",
            Deadline,
            intervalMs: 20);

    [Fact]
    public async Task Read_screen_shows_what_a_full_screen_program_drew_and_attach_replays_that_screen()
    {
        var server = new InMemoryServer(_home);
        await using var _ = server;
        var c = await server.ConnectAsync();
        var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("screen") });

        // A shell line, then a dialog drawn on the alternate screen by cursor addressing, redrawn once, with a footer.
        const string script = """
            printf 'shell$ run\r\n'
            printf '\033[?1049h\033[?2004h\033[2J\033[3;5HDo you want to proceed?\033[4;5H1. Yes\033[5;5H2. No'
            printf '\033[4;3H> \033[24;1HEsc to cancel\033[3;1H\033[2KAllow command? (redrawn)'
            sleep 30
            """;
        var t = await c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws.Id, Command = script, Columns = 40, Rows = 24 });

        var screen = await WaitForScreen(c, t.Id, "Esc to cancel");
        var lines = screen.Split('\n');
        Assert.Equal("", lines[0]);
        Assert.Equal("Allow command? (redrawn)", lines[2]);
        Assert.Equal("  > 1. Yes", lines[3]);
        Assert.Equal("    2. No", lines[4]);
        Assert.Equal("Esc to cancel", lines[23]);
        Assert.DoesNotContain("shell$", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("Do you want", screen, StringComparison.Ordinal);

        // The scrollback still has every byte as text, the overwritten question included.
        var plain = (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = t.Id })).Text;
        Assert.Contains("Do you want to proceed?", plain, StringComparison.Ordinal);

        var tail = await WaitForScreen(c, t.Id, "Esc", tail: 2);
        Assert.Equal("\nEsc to cancel\n", tail);

        // A client that attaches gets escape sequences drawing this screen, not the tail of the redraws.
        var attached = await c.CallAsync<TerminalAttachResult>(Methods.TerminalAttach, new TerminalRef { Id = t.Id });
        Assert.True(attached.FromScreen);
        Assert.Contains("\u001b[?1049h", attached.Scrollback, StringComparison.Ordinal);
        Assert.Contains("\u001b[?2004h", attached.Scrollback, StringComparison.Ordinal);
        Assert.DoesNotContain("Do you want", attached.Scrollback, StringComparison.Ordinal);
        var replayed = new TerminalScreen(40, 24);
        replayed.Feed(attached.Scrollback);
        Assert.Equal(screen, replayed.Snapshot().Text);
        Assert.True(replayed.AlternateScreen);

        // The screen follows a resize.
        await c.CallAsync<TerminalInfo>(Methods.TerminalResize, new TerminalResizeParams { Id = t.Id, Columns = 20, Rows = 10 });
        var resized = (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = t.Id, Screen = true })).Text.Split('\n');
        Assert.Equal("Allow command? (redr", resized[2]);
    }

    [Fact]
    public async Task A_line_printing_program_attaches_with_its_scrollback_and_reads_the_same_lines_on_its_screen()
    {
        var server = new InMemoryServer(_home);
        await using var _ = server;
        var c = await server.ConnectAsync();
        var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("lines") });
        var t = await c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws.Id, Command = "echo one; echo two; sleep 30" });
        var screen = await WaitForScreen(c, t.Id, "two");
        Assert.Equal("one\ntwo\n", screen);
        var attached = await c.CallAsync<TerminalAttachResult>(Methods.TerminalAttach, new TerminalRef { Id = t.Id });
        Assert.False(attached.FromScreen);
        Assert.Equal(attached.Scrollback.Length, attached.Seq);
    }

    [Fact]
    public async Task A_bad_tail_with_screen_is_refused_with_a_clear_error()
    {
        var server = new InMemoryServer(_home);
        await using var _ = server;
        var c = await server.ConnectAsync();
        var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("bad") });
        var t = await c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws.Id, Command = "sleep 30" });
        var e = await Assert.ThrowsAnyAsync<Exception>(() => c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = t.Id, Screen = true, Tail = 0 }));
        Assert.Contains("--tail must be at least 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_whose_tui_draws_a_dialog_above_a_footer_needs_input_with_its_question_and_choices_and_the_keys_answer_it()
    {
        var server = new InMemoryServer(_home);
        await using var _ = server;
        var c = await server.ConnectAsync();
        var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("tui-agent") });

        // Works behind a spinner for a while, then asks in a box with a footer below, and reads one key unbuffered.
        const string task = """
            printf '\033[?25l'
            for s in 0 1 2 3 4 5; do printf '\033[2J\033[H\342\234\273 Thinking\342\200\246 (%ss \302\267 esc to interrupt)\r\n\r\n> \r\n  ? for shortcuts' "$s"; sleep 0.2; done
            printf '\033[2J\033[H\342\225\255\342\224\200\342\225\256\r\n\342\224\202 Bash command\r\n\342\224\202   echo hi\r\n\342\224\202 Do you want to proceed?\r\n\342\224\202 \342\235\257 1. Yes\r\n\342\224\202   2. Yes, and always for echo\r\n\342\224\202   3. No\r\n\342\225\260\342\224\200\342\225\257\r\n  Esc to cancel \302\267 Tab to amend\r\n'
            stty -icanon -echo; k=$(dd bs=1 count=1 2>/dev/null); printf '\033[2J\033[Hchosen %s\r\n' "$k"
            """;
        var a = await c.CallAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ws.Id, Type = "command", Task = task });

        var sw = Stopwatch.StartNew();
        var info = await Poll.UntilAsync(
            async () =>
            {
                var shown = await c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = a.Id });
                var screen = (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = a.TerminalId!, Screen = true })).Text;

                // Never waiting while the spinner is drawn.
                Assert.False(shown.State == AgentState.NeedsInput && screen.Contains("esc to interrupt", StringComparison.Ordinal), $"needs input while working:\n{screen}");
                return shown;
            },
            shown => shown.State == AgentState.NeedsInput,
            shown => $"{a.Id} never needed input; it is {shown.State}, last line '{shown.LastLine}'",
            Deadline,
            intervalMs: 20);

        Assert.Equal("Do you want to proceed?", info.Question);
        Assert.Equal(["Yes", "Yes, and always for echo", "No"], info.Choices!.Select(ch => ch.Label));
        Assert.Equal(["1", "2", "3"], info.Choices!.Select(ch => ch.Keys));

        var answered = await c.CallAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = a.Id, Text = info.Choices![0].Keys });
        Assert.Equal(AgentState.Running, answered.State);
        Assert.Null(answered.Question);
        Assert.Null(answered.Choices);
        await Poll.UntilAsync(
            async () => (await c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = a.Id })).State == AgentState.Succeeded,
            $"{a.Id} finished after its answer",
            intervalMs: 20,
            deadline: (Deadline * 2) - sw.Elapsed);

        var log = await c.CallAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = a.Id });
        Assert.Contains("chosen 1", log.Text, StringComparison.Ordinal);
    }
}
