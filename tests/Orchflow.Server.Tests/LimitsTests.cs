using System.Diagnostics;
using Nerdbank.Streams;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Limits;
using Orchflow.Server.Rpc;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Tests;

/// <summary>
/// Resource limits, CPU weights and hibernation over in-memory RPC with real PTYs, with the control groups this machine
/// offers (cgroup v1 as root here) and with the watchdog alone (control groups turned off). The tests of the kernel's
/// enforcement are skipped, saying why, where control groups are not usable; the watchdog's report and enforcement are
/// tested everywhere (control groups turned off).
/// </summary>
[Collection(IsolationCollection.Name)]
[Trait("Tier", "e2e")]
public sealed class LimitsTests : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly TempHome _home = new();
    private readonly List<OrchflowServer> _servers = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers)
        {
            await s.DisposeAsync();
        }

        _home.Dispose();
    }

    [CgroupsFact]
    public async Task A_daemon_killed_while_a_workspace_is_suspended_leaves_nothing_frozen_behind_its_next_start()
    {
        var root = _home.Project("frozen");
        int pid;
        using (var daemon = KillableDaemon.Start(_home))
        {
            var rpc = await KillableDaemon.ConnectAsync(_home, daemon);
            var ws = await rpc.InvokeWithParameterObjectAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
            var terminal = await rpc.InvokeWithParameterObjectAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws.Id, Command = "sleep 300" });
            pid = terminal.Pid!.Value;
            var suspended = await rpc.InvokeWithParameterObjectAsync<WorkspaceSuspendResult>(Methods.WorkspaceSuspend, new WorkspaceRef { Id = ws.Id });
            Assert.Equal("cgroup freezer", suspended.Workspace.Hibernation!.Mechanism);
            daemon.Kill(); // SIGKILL, while the workspace is frozen
            await daemon.WaitForExitAsync();
            rpc.Dispose();
        }

        // The attack's precondition: the process outlived its daemon, frozen, so the hang-up of its terminal is still pending.
        await Task.Delay(200);
        Assert.True(ProcFs.Alive(pid), $"the frozen process {pid} did not outlive the daemon: the scenario did not happen");

        using var next = KillableDaemon.Start(_home);
        try
        {
            var rpc = await KillableDaemon.ConnectAsync(_home, next);
            var status = await rpc.InvokeWithParameterObjectAsync<StatusResult>(Methods.Status, new StatusParams());
            var notice = Assert.Single(status.StartNotices);
            Assert.Equal((NoticeKind.Recovered, "frozen"), (notice.Kind, notice.WorkspaceId));
            Assert.Contains("1 process(es) it left in workspace 'frozen''s control group, frozen by a suspension, were killed", notice.Message, StringComparison.Ordinal);
            Assert.False(ProcFs.Alive(pid), $"process {pid} is still there after the next daemon started");
            var lost = Assert.Single(status.LostTerminals);
            Assert.Equal("frozen", lost.WorkspaceId);

            // The workspace works again: it is not suspended, and a new terminal runs in it.
            var ws = await rpc.InvokeWithParameterObjectAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "frozen" });
            Assert.Null(ws.Hibernation);
            var again = await rpc.InvokeWithParameterObjectAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "frozen", Command = "echo thawed; sleep 5" });
            Assert.Equal(TerminalStatus.Running, again.Status);
            rpc.Dispose();
        }
        finally
        {
            await Orchflow.StopDaemonAsync(_home);
            next.Kill();
        }
    }

    [Theory]
    [InlineData("7:pids:/\n4:memory:/process_api/x\n2:cpu,cpuacct:/\n0::/\n", "pids=|memory=/process_api/x|cpu,cpuacct=")]
    [InlineData("0::/user.slice/app.scope\n", "")]
    public void Own_cgroup_paths_are_read_per_hierarchy(string procSelfCgroup, string expected)
    {
        var paths = CgroupProbe.OwnPaths(procSelfCgroup.Split('\n'));
        Assert.Equal(expected, string.Join('|', paths.Select(p => $"{p.Key}={p.Value}")));
    }

    [Fact]
    public void Cgroup_mounts_are_told_apart_by_version_and_controllers()
    {
        var mounts = CgroupProbe.Mounts([
            "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0",
            "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0",
            "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0",
            "cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0",
            "proc /proc proc rw 0 0",
        ]);
        Assert.Equal(
            ["/sys/fs/cgroup/memory V1 memory", "/sys/fs/cgroup/cpu,cpuacct V1 cpu,cpuacct", "/sys/fs/cgroup/unified V2 "],
            mounts.Select(m => $"{m.Path} {m.Version} {string.Join(',', m.Controllers)}"));
    }

    [CgroupsFact]
    public async Task With_control_groups_a_fork_bomb_and_a_memory_hog_in_B_are_contained_and_A_stays_responsive()
    {
        var (server, c) = await StartAsync(cgroups: null);
        var a = await CreateAsync(c, "a", "{}");
        var b = await CreateAsync(c, "b", """{ "resources": { "process_limit": 40 } }""");
        var report = b.Isolation.Features.ToDictionary(f => f.Name);
        Assert.True(server.Limits.Cgroups.Usable, server.Limits.Cgroups.Description);
        Assert.Contains("cgroup", report["process_limit"].Detail, StringComparison.Ordinal);
        var echoer = await TerminalAsync(c, a.Id, "while read -r l; do echo \"got:$l\"; done");

        var bomb = await TerminalAsync(c, b.Id, "exec bash -c 'f(){ while :; do f & done; }; f'"); // every process keeps forking: bash retries refused forks
        await Poll.UntilAsync(() => ForksRefused(server, b.Id) > 0, "the kernel refuses the fork bomb's forks at pids.max");
        await AssertRespondsAsync(c, echoer, "during-bomb");
        Assert.True(server.Limits.Cgroups.Usage(b.Id)!.Processes <= 40, "the fork bomb went past pids.max");

        await c.CallAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = bomb.Id });
        Assert.Empty(LiveProcessesOf(server, b.Id)); // frozen and killed together: nothing of the bomb is left running

        // In its own workspace: the bomb's killed processes stay zombies (and count in pids.current) on a machine whose PID 1 does not reap orphans.
        var hogs = await CreateAsync(c, "hogs", """{ "resources": { "memory_limit": "64MB" } }""");
        var hog = await TerminalAsync(c, hogs.Id, "perl -e '$x = \"a\" x (200 * 1024 * 1024); sleep 30'");
        var ended = await WaitForEndAsync(c, hog.Id);
        Assert.Equal(137, ended.ExitCode ?? 128 + ended.Signal); // SIGKILL by the kernel's OOM killer in B's group
        await AssertRespondsAsync(c, echoer, "after-hog");
        await Poll.UntilAsync(async () => (await AuditAsync(c, hogs.Id)).Any(e => e.Kind == AuditKind.Limit && e.Message.Contains("The kernel killed", StringComparison.Ordinal)), "the OOM kill is audited");
    }

    [Fact]
    public async Task Without_control_groups_the_watchdog_stops_what_pushed_B_over_its_limits()
    {
        var (server, c) = await StartAsync(cgroups: new NoCgroups("turned off for this test"));
        var b = await CreateAsync(c, "b", """{ "resources": { "memory_limit": "64MB" } }""");
        var p = await CreateAsync(c, "p", """{ "resources": { "process_limit": 40 } }""");
        var report = b.Isolation.Features.ToDictionary(f => f.Name);
        Assert.Contains("watchdog", report["memory_limit"].Detail, StringComparison.Ordinal);
        Assert.Contains("can pass the limit before it acts", report["memory_limit"].Detail, StringComparison.Ordinal);
        Assert.False(report["cpu"].Enforced);

        var quiet = await TerminalAsync(c, b.Id, "sleep 300");
        var grower = await TerminalAsync(c, b.Id, "perl -e 'my @a; for (1..40) { push @a, \"a\" x (8 * 1024 * 1024); select(undef, undef, undef, 0.2) } sleep 60'");
        var stopped = await WaitForEndAsync(c, grower.Id);
        Assert.Equal(TerminalStatus.Killed, stopped.Status);
        Assert.Equal(TerminalStatus.Running, (await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = quiet.Id })).Status);
        Assert.Contains(await AuditAsync(c, b.Id), e => e.Rule == "resources.memory_limit" && e.Message.Contains($"terminal {grower.Id}", StringComparison.Ordinal) && e.Message.Contains("grew most", StringComparison.Ordinal));
        var notice = await NoticeAsync(c, n => n.WorkspaceId == b.Id && n.Kind == NoticeKind.Stopped);
        Assert.Equal((grower.Id, NoticeLevel.Error, "resources.memory_limit"), (notice.TerminalId, notice.Level, notice.Rule));
        Assert.Contains(await AuditAsync(c, b.Id), e => e.Subject == grower.Id && e.Rule == "resources.memory_limit");

        var spawner = await TerminalAsync(c, p.Id, "for i in $(seq 60); do sleep 300 & done; wait");
        Assert.Equal(TerminalStatus.Killed, (await WaitForEndAsync(c, spawner.Id)).Status);
        Assert.Contains(await AuditAsync(c, p.Id), e => e.Rule == "resources.process_limit" && e.Message.Contains(spawner.Id, StringComparison.Ordinal));
    }

    [CgroupsFact]
    public async Task Fair_cpu_gives_the_switched_to_workspace_twice_the_weight_of_an_idle_one()
    {
        var (server, c) = await StartAsync(cgroups: null);
        var a = await CreateAsync(c, "a", """{ "resources": { "cpu_shares": 512 } }""");
        var b = await CreateAsync(c, "b", "{}");
        Assert.True(server.Limits.Cgroups.Usable, server.Limits.Cgroups.Description);

        await TerminalAsync(c, a.Id, "sleep 300");
        await TerminalAsync(c, b.Id, "sleep 300");
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceSwitch, new WorkspaceRef { Id = a.Id });
        await Poll.UntilAsync(() => Shares(server, a.Id) == 1024 && Shares(server, b.Id) == 1024, "a: 512 × 2 while switched to; b: 1024 idle");
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceSwitch, new WorkspaceRef { Id = b.Id });
        await Poll.UntilAsync(() => Shares(server, a.Id) == 512 && Shares(server, b.Id) == 2048, "the weights follow the switch");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Suspend_stops_every_process_and_resume_continues_them(bool cgroups)
    {
        var (server, c) = await StartAsync(cgroups: cgroups ? null : new NoCgroups("turned off for this test"));
        var a = await CreateAsync(c, "a", "{}");
        var busy = await TerminalAsync(c, a.Id, "sh -c 'while :; do :; done' & sh -c 'while :; do :; done'");
        await Poll.UntilAsync(() => Session(busy).Count >= 3, "the shell and its two loops run");

        var suspended = await c.CallAsync<WorkspaceSuspendResult>(Methods.WorkspaceSuspend, new WorkspaceRef { Id = a.Id });
        Assert.Equal(server.Limits.Cgroups.Usable ? "cgroup freezer" : "SIGSTOP", suspended.Workspace.Hibernation!.Mechanism);
        Assert.True(suspended.Processes >= 3, $"{suspended.Processes} processes stopped");
        var notice = await NoticeAsync(c, n => n.WorkspaceId == a.Id && n.Kind == NoticeKind.Suspended);
        Assert.Equal((NoticeLevel.Info, "hibernation"), (notice.Level, notice.Rule));
        Assert.Contains("suspended by test", notice.Message, StringComparison.Ordinal);
        await Poll.UntilAsync(() => Session(busy).All(p => p.State is 'D' or 'T'), "every process is frozen (D) or stopped (T)");
        Assert.NotNull((await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = a.Id })).Hibernation);

        ErrorAssert.Code(ErrorCodes.NotAllowed, await c.FailAsync(Methods.WorkspaceSuspend, new WorkspaceRef { Id = a.Id }), "already suspended");

        var resumed = await c.CallAsync<WorkspaceSuspendResult>(Methods.WorkspaceResume, new WorkspaceRef { Id = a.Id });
        Assert.Null(resumed.Workspace.Hibernation);
        Assert.Contains("resumed by test", (await NoticeAsync(c, n => n.WorkspaceId == a.Id && n.Kind == NoticeKind.Resumed)).Message, StringComparison.Ordinal);
        await Poll.UntilAsync(() => Session(busy).All(p => p.State is not ('D' or 'T')), "every process runs again");
        Assert.Contains(await AuditAsync(c, a.Id), e => e.Rule == "hibernation" && e.Message.Contains("suspended", StringComparison.Ordinal));

        // Creating a terminal in a suspended workspace wakes it first (issue 14), instead of being refused.
        await c.CallAsync<WorkspaceSuspendResult>(Methods.WorkspaceSuspend, new WorkspaceRef { Id = a.Id });
        var created = await c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = a.Id, Command = "sleep 5" });
        Assert.Equal(TerminalStatus.Running, created.Status);
        Assert.Null((await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = a.Id })).Hibernation);
        await Poll.UntilAsync(() => Session(busy).All(p => p.State is not ('D' or 'T')), "the woken workspace's processes run again");
    }

    [Fact]
    public async Task An_idle_workspace_hibernates_after_idle_after_and_wakes_on_input()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        _home.WriteGlobalConfig("[hibernation]\nidle_after = \"5m\"\n");
        var (_, c) = await StartAsync(cgroups: null, clock);
        var a = await CreateAsync(c, "a", "{}");
        var echoer = await TerminalAsync(c, a.Id, "while read -r l; do echo \"got:$l\"; done");
        await Poll.UntilAsync(async () =>
        {
            // Time passes for the governor's ticks, whichever tick first saw the workspace.
            clock.Advance(TimeSpan.FromMinutes(2));
            return (await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = a.Id })).Hibernation?.By == "idle";
        }, "the idle workspace hibernates");
        await AssertRespondsAsync(c, echoer, "wake-up"); // typing into its terminal resumes it
        Assert.Null((await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = a.Id })).Hibernation);
    }

    [Fact]
    public async Task A_terminal_still_printing_keeps_its_workspace_awake_and_creating_a_terminal_wakes_it()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        _home.WriteGlobalConfig("[hibernation]\nidle_after = \"5m\"\n");
        var (_, c) = await StartAsync(cgroups: null, clock);
        var a = await CreateAsync(c, "a", "{}");
        var printer = await TerminalAsync(c, a.Id, "while :; do echo tick; sleep 0.1; done");
        await TerminalAsync(c, a.Id, "sleep 600"); // quiet: what hibernation will freeze once the printer is gone

        // No client attached, no agent: only its output says it works (a dev server, a build). Ten idle_afters pass
        // for the governor's clock, a minute at a time, while it prints; its workspace never hibernates.
        for (int minute = 0; minute < 50; minute++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(60);
            Assert.Null((await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = a.Id })).Hibernation);
        }

        // Once it is quiet, the workspace is idle, and it hibernates.
        await c.CallAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = printer.Id });
        await Poll.UntilAsync(async () =>
        {
            clock.Advance(TimeSpan.FromMinutes(2));
            return (await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = a.Id })).Hibernation?.By == "idle";
        }, "the quiet workspace hibernates");

        // Creating a terminal wakes it first, and the new terminal runs.
        var echoer = await TerminalAsync(c, a.Id, "while read -r l; do echo \"got:$l\"; done");
        Assert.Null((await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = a.Id })).Hibernation);
        await AssertRespondsAsync(c, echoer, "awake");
    }

    [Fact]
    public async Task The_daemon_adopts_and_reaps_its_workspaces_orphans()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("orphans");
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", root)).ExitCode);
        var daemon = int.Parse(File.ReadAllText(d.Home.Paths.PidFile).Trim());
        var created = await Orchflow.RunAsync(d.Home, "terminal", "create", "--cmd", "for i in 1 2 3; do (exec -a orphan-of-test sleep 1 &); done; sleep 300");
        Assert.True(created.ExitCode == 0, created.Stderr);

        // Their parents (subshells) are gone at once: the daemon, a subreaper, adopts them rather than PID 1.
        List<int> orphans = [];
        await Poll.UntilAsync(() => (orphans = Named("orphan-of-test")).Count == 3 && orphans.All(pid => Parent(pid) == daemon), "three orphans adopted by the daemon");

        // When they end, the daemon reaps them: not even a zombie is left behind, whatever PID 1 does.
        await Poll.UntilAsync(() => orphans.All(pid => !Directory.Exists($"/proc/{pid}")), "the orphans ended and were reaped");

        static List<int> Named(string argv0) => Directory.EnumerateDirectories("/proc")
            .Select(dir => int.TryParse(Path.GetFileName(dir), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && ReadOrEmpty($"/proc/{pid}/cmdline").StartsWith(argv0 + "\0", StringComparison.Ordinal))
            .ToList();

        static int Parent(int pid)
        {
            var stat = ReadOrEmpty($"/proc/{pid}/stat");
            return stat.Length == 0 ? 0 : int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }

        static string ReadOrEmpty(string path)
        {
            try
            {
                return File.ReadAllText(path);
            }
            catch (IOException)
            {
                return "";
            }
        }
    }

    // ---- helpers ----

    private async Task<(OrchflowServer Server, TestClient Client)> StartAsync(ICgroupDriver? cgroups, TimeProvider? time = null)
    {
        _home.Paths.EnsureDirectories();
        var server = new OrchflowServer(_home.Paths, Database.InMemory(), Log.Null, socketPath: null, time, Path.Combine(_home.Root, "userhome"), cgroups: cgroups);
        _servers.Add(server);
        var (x, y) = FullDuplexStream.CreatePair();
        server.Attach(x, x, "memory");
        var client = new TestClient(y);
        await client.InitializeAsync();
        return (server, client);
    }

    private Task<WorkspaceInfo> CreateAsync(TestClient c, string id, string workspaceJson) =>
        c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project(id, (".orchflow/workspace.json", $$"""{ "workspace": {{workspaceJson}} }""")) });

    private static Task<TerminalInfo> TerminalAsync(TestClient c, string ws, string command) =>
        c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws, Command = command });

    private static async Task<IReadOnlyList<AuditEntry>> AuditAsync(TestClient c, string ws) =>
        (await c.CallAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = ws, Limit = 1000 })).Entries;

    /// <summary>Types a line into the echoer and waits for its answer: the terminal and its process are responsive.</summary>
    /// <summary>The first orchflow/workspace/notice the client received that satisfies <paramref name="match"/>.</summary>
    private static async Task<WorkspaceNotice> NoticeAsync(TestClient c, Func<WorkspaceNotice, bool> match)
    {
        static WorkspaceNotice Read(string json) => System.Text.Json.JsonSerializer.Deserialize<WorkspaceNotice>(json, ProtocolJson.Options)!;
        return Read(await c.WaitForNotificationAsync(Methods.WorkspaceNotice, json => match(Read(json)), Deadline));
    }

    private static async Task AssertRespondsAsync(TestClient c, TerminalInfo echoer, string word)
    {
        await c.CallAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = echoer.Id, Data = word + "\r" });
        await Poll.UntilAsync(async () => (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = echoer.Id })).Text.Contains("got:" + word, StringComparison.Ordinal), $"A's terminal answers '{word}'");
    }

    private static async Task<TerminalInfo> WaitForEndAsync(TestClient c, string id)
    {
        TerminalInfo t = null!;
        await Poll.UntilAsync(async () => (t = await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = id })).Status != TerminalStatus.Running, $"terminal {id} ends");
        return t;
    }

    private static List<int> LiveProcessesOf(OrchflowServer server, string workspaceId)
    {
        var file = server.Limits.Cgroups.JoinFiles(workspaceId).First(f => f.Contains("/freezer/", StringComparison.Ordinal));
        return File.ReadAllLines(file).Where(l => l.Length > 0).Select(int.Parse).Where(pid => State(pid) is not ('Z' or 'X' or null)).ToList();
    }

    /// <summary>pids.events "max": how many forks the kernel refused because the group was at pids.max.</summary>
    private static int ForksRefused(OrchflowServer server, string workspaceId)
    {
        var file = server.Limits.Cgroups.JoinFiles(workspaceId).First(f => f.Contains("/pids/", StringComparison.Ordinal));
        var line = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(file)!, "pids.events")).Single(l => l.StartsWith("max ", StringComparison.Ordinal));
        return int.Parse(line[4..]);
    }

    private static int Shares(OrchflowServer server, string workspaceId)
    {
        var file = server.Limits.Cgroups.JoinFiles(workspaceId).First(f => f.Contains("/cpu/", StringComparison.Ordinal) || f.Contains("/cpu,", StringComparison.Ordinal));
        return int.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(file)!, "cpu.shares")).Trim());
    }

    private static List<(int Pid, char State)> Session(TerminalInfo t) =>
        Pty.ProcessTree.InSession(t.Pid!.Value).Select(p => (p, State(p) ?? 'X')).Where(p => p.Item2 is not ('Z' or 'X')).ToList();

    private static char? State(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A clock the test moves; timers still tick in real time, so a governor tick sees the new "now" within a second.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    /// <summary>
    /// Runs where this machine gives the daemon usable control groups, probed as the daemon probes them at start (and
    /// honouring ORCHFLOW_CGROUPS); skipped, with the probe's reason, elsewhere.
    /// </summary>
    private sealed class CgroupsFactAttribute : FactAttribute
    {
        private static readonly Lazy<string?> Problem = new(() =>
        {
            var driver = CgroupProbe.Detect(Path.Combine(Path.GetTempPath(), $"orchflow-cgroup-probe-{Environment.ProcessId}"), Environment.GetEnvironmentVariable(CgroupProbe.Variable));
            try
            {
                return driver.Usable ? null : driver.Description;
            }
            finally
            {
                driver.RemoveAll();
            }
        });

        public CgroupsFactAttribute()
        {
            if (Problem.Value is { } why)
            {
                Skip = $"control groups are not usable here, so the daemon enforces limits with its watchdog (tested with control groups turned off): {why}";
            }
        }
    }
}
