using System.Diagnostics;
using Orchflow.Protocol;
using Orchflow.Server.Terminals.Screen;

namespace Orchflow.Server.Tests;

/// <summary>`terminal read --screen` and attaching over in-memory RPC with a real PTY: what is visible, not the raw bytes.</summary>
public sealed class ScreenRpcTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    private static async Task<string> WaitForScreen(TestClient c, string id, string marker, int? tail = null)
    {
        var sw = Stopwatch.StartNew();
        string text = "";
        while (sw.Elapsed < Deadline)
        {
            text = (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = id, Screen = true, Tail = tail })).Text;
            if (text.Contains(marker, StringComparison.Ordinal))
            {
                return text;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"'{marker}' did not appear on the screen of {id}; it shows:\n{text}");
    }

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
}
