using System.Diagnostics;
using Orchflow.Protocol;
using Orchflow.Pty;

namespace Orchflow.Server.Tests;

/// <summary>Terminals over in-memory RPC with real PTYs: lifecycle, isolation of environment and cwd, flow of output, limits.</summary>
[Trait("Tier", "rpc")]
public sealed class TerminalRpcTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    private static Task<string> WaitForText(TestClient c, string id, string marker) =>
        Poll.UntilAsync(
            async () => (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = id })).Text,
            text => text.Contains(marker, StringComparison.Ordinal),
            text => $"'{marker}' did not appear in {id}; it shows:\n{text}",
            Deadline,
            intervalMs: 20);

    private static Task<TerminalInfo> WaitForEnd(TestClient c, string id) =>
        Poll.UntilAsync(() => c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = id }), t => t.Status != TerminalStatus.Running, _ => $"{id} did not end", Deadline, intervalMs: 20);

    private async Task<(InMemoryServer Server, TestClient Client, WorkspaceInfo Ws)> Start(string project = "term", params (string, string)[] files)
    {
        var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ws = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project(project, files) });
        return (server, client, ws);
    }

    private static Task<TerminalInfo> Create(TestClient c, string ws, string? cmd = null, string? cwd = null) =>
        c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws, Command = cmd, Cwd = cwd });

    [Fact]
    public async Task A_terminal_runs_in_a_pty_in_the_workspace_root_and_reports_its_exit_code()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var t = await Create(c, ws.Id, "tty; pwd; exit 7");
        Assert.Equal(ws.Id, t.WorkspaceId);
        Assert.Equal($"{ws.Namespace}-t1", t.Id);
        Assert.Equal(TerminalStatus.Running, t.Status);
        var ended = await WaitForEnd(c, t.Id);
        Assert.Equal(TerminalStatus.Exited, ended.Status);
        Assert.Equal(7, ended.ExitCode);
        var text = await WaitForText(c, t.Id, ws.RootPath);
        Assert.Matches(@"/dev/pts/\d+", text);
        await c.WaitForNotificationAsync(Methods.TerminalChanged, json => json.Contains("\"exited\"", StringComparison.Ordinal));
    }

    /// <summary>Waits until a process named <paramref name="comm"/> runs in the session led by <paramref name="sessionLeader"/>.</summary>
    private static async Task WaitForProcessInSession(int sessionLeader, string comm)
    {
        await Poll.UntilAsync(() => ProcessTree.UsageInSession(sessionLeader).Any(u => ReadComm(u.Pid) == comm), $"a '{comm}' process appeared in session {sessionLeader}", intervalMs: 20, deadline: Deadline);

        static string? ReadComm(int pid)
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/comm").Trim();
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    [Fact]
    public async Task Ctrl_C_interrupts_the_foreground_job_and_the_shell_goes_on_and_resize_reaches_stty()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var t = await Create(c, ws.Id, "exec bash --norc --noprofile -i");
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = t.Id, Data = "sleep 100\r" });
        await WaitForText(c, t.Id, "sleep 100");

        // The echo comes before bash has started sleep; Ctrl-C must reach sleep itself, so wait until it runs.
        await WaitForProcessInSession(t.Pid!.Value, "sleep");
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = t.Id, Data = "\u0003" });
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = t.Id, Data = "echo status=$?\r" });
        await WaitForText(c, t.Id, "status=130");

        await c.CallAsync<TerminalInfo>(Methods.TerminalResize, new TerminalResizeParams { Id = t.Id, Columns = 101, Rows = 33 });
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = t.Id, Data = "stty size\r" });
        await WaitForText(c, t.Id, "33 101");
    }

    [Fact]
    public async Task The_environment_is_built_not_inherited_and_never_crosses_workspaces()
    {
        var configA = ("./.orchflow/workspace.json", """{ "workspace": { "shared_env": { "SHARED_FLAVOUR": "alpha" } } }""");
        var configB = ("./.orchflow/workspace.json", """{ "workspace": { "shared_env": { "SHARED_FLAVOUR": "beta", "ONLY_IN_B": "b-secret" } } }""");
        Environment.SetEnvironmentVariable("ORCHFLOW_TEST_DAEMON_ONLY", "daemon-secret");
        var (server, c, a) = await Start("env-a", configA);
        await using var _ = server;
        var b = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("env-b", configB) });
        var ta = await Create(c, a.Id, "env; echo END-OF-ENV");
        var tb = await Create(c, b.Id, "env; echo END-OF-ENV");
        var envA = await WaitForText(c, ta.Id, "END-OF-ENV");
        var envB = await WaitForText(c, tb.Id, "END-OF-ENV");

        Assert.Contains("SHARED_FLAVOUR=alpha", envA, StringComparison.Ordinal);
        Assert.Contains($"ORCHFLOW_WORKSPACE={a.Id}", envA, StringComparison.Ordinal);
        Assert.Contains("TERM=xterm-256color", envA, StringComparison.Ordinal);
        Assert.DoesNotContain("b-secret", envA, StringComparison.Ordinal);
        Assert.DoesNotContain("beta", envA, StringComparison.Ordinal);
        Assert.Contains("ONLY_IN_B=b-secret", envB, StringComparison.Ordinal);
        Assert.DoesNotContain("daemon-secret", envA + envB, StringComparison.Ordinal);

        // Each workspace has its own history file, outside every root.
        var histA = envA.Split('\n').Single(l => l.StartsWith("HISTFILE=", StringComparison.Ordinal));
        var histB = envB.Split('\n').Single(l => l.StartsWith("HISTFILE=", StringComparison.Ordinal));
        Assert.NotEqual(histA, histB);
        Assert.DoesNotContain(a.RootPath, histA, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cwd_must_stay_inside_the_workspace_root()
    {
        var (server, c, ws) = await Start("cwd", ("src/x.txt", "x"));
        await using var _ = server;
        var inside = await Create(c, ws.Id, "pwd", "src");
        Assert.Equal(Path.Combine(ws.RootPath, "src"), inside.Cwd);

        var escape = Path.Combine(ws.RootPath, "escape");
        File.CreateSymbolicLink(escape, _home.Projects);
        foreach (var cwd in new[] { "..", "/", escape, "../term", "missing-dir" })
        {
            var ex = await c.FailAsync(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws.Id, Cwd = cwd });
            Assert.Equal(ErrorCodes.InvalidPath, ex.ErrorCode);
        }
    }

    [Fact]
    public async Task The_terminal_limit_is_enforced_and_unknown_ids_are_NotFound()
    {
        var (server, c, ws) = await Start("limit", ("./.orchflow/workspace.json", """{ "workspace": { "resources": { "terminal_limit": 2 } } }"""));
        await using var _ = server;
        await Create(c, ws.Id, "sleep 60");
        await Create(c, ws.Id, "sleep 60");
        var ex = await c.FailAsync(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws.Id, Command = "true" });
        Assert.Equal(ErrorCodes.LimitReached, ex.ErrorCode);
        Assert.Contains("terminal_limit", ex.Message + ex.ErrorData?.Hint, StringComparison.Ordinal);

        foreach (var method in new[] { Methods.TerminalShow, Methods.TerminalKill, Methods.TerminalAttach, Methods.TerminalDetach })
        {
            var nf = await c.FailAsync(method, new TerminalRef { Id = "nope-t9" });
            Assert.Equal(ErrorCodes.NotFound, nf.ErrorCode);
        }

        var unknownWs = await c.FailAsync(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "ghost" });
        Assert.Equal(ErrorCodes.NotFound, unknownWs.ErrorCode);
    }

    [Fact]
    public async Task Attach_replays_scrollback_then_streams_in_order_to_several_clients()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var t = await Create(c, ws.Id, "exec bash --norc --noprofile -i");
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = t.Id, Data = "echo before-attach\r" });
        await WaitForText(c, t.Id, "\nbefore-attach\n");

        var second = await server.ConnectAsync();
        var attached = await second.CallAsync<TerminalAttachResult>(Methods.TerminalAttach, new TerminalRef { Id = t.Id });
        Assert.Contains("before-attach", attached.Scrollback, StringComparison.Ordinal);
        Assert.Equal(attached.Scrollback.Length, attached.Seq);
        var first = await c.CallAsync<TerminalAttachResult>(Methods.TerminalAttach, new TerminalRef { Id = t.Id });
        Assert.Equal(2, first.Terminal.AttachedClients);

        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = t.Id, Data = "for i in 1 2 3; do echo line-$i; done\r" });
        foreach (var client in new[] { c, second })
        {
            await client.WaitForNotificationAsync(Methods.TerminalOutput, json => json.Contains("line-3", StringComparison.Ordinal));
        }

        // The client disconnects; the terminal goes on.
        second.Dispose();
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = t.Id, Data = "echo still-here\r" });
        await WaitForText(c, t.Id, "\nstill-here\n");
    }

    [Fact]
    public async Task Kill_ends_the_whole_tree_including_background_and_nohup_children()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var t = await Create(c, ws.Id, "sleep 301 & nohup sleep 302 >/dev/null 2>&1 & (sleep 303 &); echo started; wait");
        await WaitForText(c, t.Id, "started");
        var tree = global::Orchflow.Pty.ProcessTree.InSession(t.Pid!.Value);
        Assert.True(tree.Count >= 4, $"expected the shell and three sleeps, found {tree.Count}");
        await c.CallAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = t.Id });
        await Poll.WithinAsync(() => !tree.Any(Alive), Deadline, intervalMs: 20);
        Assert.DoesNotContain(tree, Alive);
        var list = await c.CallAsync<TerminalListResult>(Methods.TerminalList, new TerminalListParams());
        Assert.DoesNotContain(list.Terminals, x => x.Id == t.Id);
    }

    [Fact]
    public async Task A_missing_program_and_a_missing_shell_are_clear_errors()
    {
        var (server, c, ws) = await Start();
        await using var _ = server;
        var t = await Create(c, ws.Id, "no-such-program-anywhere");
        var ended = await WaitForEnd(c, t.Id);
        Assert.Equal(127, ended.ExitCode);
        Assert.Contains("not found", await WaitForText(c, t.Id, "no-such-program-anywhere"), StringComparison.Ordinal);

        _home.WriteGlobalConfig("[terminals]\ndefault_shell = \"/no/such/shell\"\n");
        server.Server.Settings.Refresh();
        var ex = await c.FailAsync(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws.Id });
        Assert.Contains("/no/such/shell", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_thousand_short_lived_terminals_leave_no_zombie_and_no_descriptor()
    {
        var (server, c, ws) = await Start(files: ("./.orchflow/workspace.json", """{ "workspace": { "resources": { "terminal_limit": 1000 } } }"""));
        await using var _ = server;
        int fdsBefore = Directory.GetFiles("/proc/self/fd").Length;
        for (int batch = 0; batch < 100; batch++)
        {
            var ts = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Create(c, ws.Id, "exit 0")));
            foreach (var t in ts)
            {
                await WaitForEnd(c, t.Id);
                await c.CallAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = t.Id });
            }
        }

        // Tests running in parallel in this process make momentary zombies of their own; one of ours would stay.
        int Zombies() => Directory.GetDirectories("/proc").Select(d => Path.GetFileName(d)).Where(n => n.All(char.IsDigit))
            .Select(pid => { try { return File.ReadAllText($"/proc/{pid}/stat"); } catch (IOException) { return ""; } })
            .Where(stat => stat.Length > 0)
            .Select(stat => stat[(stat.LastIndexOf(')') + 2)..].Split(' '))
            .Count(f => f[0] == "Z" && f[1] == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Poll.WithinAsync(() => Zombies() == 0, Deadline);
        Assert.Equal(0, Zombies());
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, fdsBefore + 8);
    }

    [Fact]
    public async Task Terminals_running_when_the_daemon_stops_are_reported_lost_by_the_next_one()
    {
        var dbPath = Path.Combine(_home.Root, "lost.db");
        string id;
        await using (var first = new InMemoryServer(_home, Storage.Database.Open(dbPath, Hosting.Log.Null)))
        {
            var c = await first.ConnectAsync();
            var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("lost") });
            id = (await Create(c, ws.Id, "sleep 300")).Id;
            await first.DisposeAsync();
            first.Database.Dispose();
        }

        await using var second = new InMemoryServer(_home, Storage.Database.Open(dbPath, Hosting.Log.Null));
        var c2 = await second.ConnectAsync();
        var status = await c2.CallAsync<StatusResult>(Methods.Status, new StatusParams());
        var lost = Assert.Single(status.LostTerminals);
        Assert.Equal(id, lost.Id);
        Assert.Equal(TerminalStatus.Lost, lost.Status);
        second.Database.Dispose();
    }

    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
