using System.Diagnostics;
using Nerdbank.Streams;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Limits;
using Orchflow.Server.Rpc;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Tests;

/// <summary>
/// The cgroup v2 driver against the real kernel, forced (<c>ORCHFLOW_CGROUPS=v2</c>) on this hybrid machine's cgroup2
/// mount, whose only controller is hugetlb: processes really join their workspace's v2 group, cgroup.freeze really stops
/// them, cgroup.kill really takes down a daemonized child, and memory, processes and CPU are reported as held by the
/// watchdog, which really acts.
/// </summary>
[Collection(IsolationCollection.Name)]
[Trait("Tier", "rpc")]
public sealed class CgroupV2Tests : IAsyncDisposable
{
    public const string Mount = "/sys/fs/cgroup/unified";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly TempHome _home = new();

    public ValueTask DisposeAsync()
    {
        _home.Dispose();
        return ValueTask.CompletedTask;
    }

    [V2MountFact]
    public async Task Workspace_processes_join_their_v2_group_freeze_thaw_and_die_with_it_and_the_watchdog_holds_the_absent_controllers()
    {
        var driver = CgroupProbe.Detect(_home.Paths.DataDirectory, "v2");
        Assert.True(driver is CgroupV2, driver.Description);
        var v2 = (CgroupV2)driver;
        var server = Start(driver, out var c);
        try
        {
            await c.InitializeAsync();

            // What the workspace is told: freeze and kill by the kernel, the rest by the watchdog, each with its reason.
            var status = await c.CallAsync<StatusResult>(Methods.Status, new StatusParams());
            Assert.Equal("v2", status.Isolation.Cgroups);
            Assert.StartsWith($"cgroup v2 (freeze, kill) in {v2.ParentGroup}", status.Isolation.CgroupsDetail, StringComparison.Ordinal);
            var a = await CreateAsync(c, "a", "{}");
            var b = await CreateAsync(c, "b", """{ "resources": { "memory_limit": "64MB", "process_limit": 40, "cpu_shares": 512 } }""");
            var report = b.Isolation.Features.ToDictionary(f => f.Name);
            Assert.Contains("by the daemon's watchdog", report["memory_limit"].Detail, StringComparison.Ordinal);
            Assert.Contains("the memory controller is not on the cgroup v2 hierarchy", report["memory_limit"].Detail, StringComparison.Ordinal);
            Assert.Contains("by the daemon's watchdog", report["process_limit"].Detail, StringComparison.Ordinal);
            Assert.Contains("the pids controller is not on the cgroup v2 hierarchy", report["process_limit"].Detail, StringComparison.Ordinal);
            Assert.False(report["cpu"].Enforced);
            Assert.Contains("the cpu controller is not on the cgroup v2 hierarchy", report["cpu"].Detail, StringComparison.Ordinal);

            // A counting loop, a background child and a daemonized one (own session, nohup): all in B's v2 group.
            var counter = Path.Combine(b.RootPath, "count");
            var peerCounter = Path.Combine(a.RootPath, "count");
            var peer = await TerminalAsync(c, a.Id, "i=0; while :; do i=$((i+1)); echo $i 1<>count; done");
            var loop = await TerminalAsync(c, b.Id, "setsid nohup sleep 301 >/dev/null 2>&1 & sleep 302 & i=0; while :; do i=$((i+1)); echo $i 1<>count; done");
            var group = Path.Combine(v2.ParentGroup, b.Id);
            List<int> procs = [];
            int daemonized = 0;
            await Poll.UntilAsync(() => (daemonized = Named(procs = Procs(group), "sleep\0" + "301")) > 0 && Named(procs, "sleep\0" + "302") > 0, "the terminal's children are in B's group");
            Assert.Contains(loop.Pid!.Value, procs);
            Assert.NotEqual(loop.Pid, SessionOf(daemonized)); // really daemonized: a session of its own
            var relative = "/" + Path.GetRelativePath(Mount, group);
            Assert.All(procs, pid => Assert.Equal($"0::{relative}", File.ReadAllLines($"/proc/{pid}/cgroup").Single(l => l.StartsWith("0::", StringComparison.Ordinal))));
            Assert.DoesNotContain(peer.Pid!.Value, procs);
            Assert.Equal(procs.Count, driver.Usage(b.Id)!.Processes); // counted by cgroup.procs: no pids controller here
            Assert.Null(driver.Usage(b.Id)!.MemoryBytes);

            // Suspend: the kernel's freezer. The loop does not advance while A's, in the same run, does.
            var suspended = await c.CallAsync<WorkspaceSuspendResult>(Methods.WorkspaceSuspend, new WorkspaceRef { Id = b.Id });
            Assert.Equal("cgroup freezer", suspended.Workspace.Hibernation!.Mechanism);
            Assert.Contains("frozen 1", File.ReadAllText(Path.Combine(group, "cgroup.events")), StringComparison.Ordinal);
            long frozenAt = await CountAsync(counter);
            long peerAt = await CountAsync(peerCounter);
            await Poll.UntilAsync(async () => await CountAsync(peerCounter) > peerAt + 2000, "A's loop counts on");
            Assert.Equal(frozenAt, await CountAsync(counter));
            Assert.Equal('S', State(loop.Pid.Value)); // a busy loop, asleep: frozen (v2 freezes in the signal path, not with SIGSTOP)

            var resumed = await c.CallAsync<WorkspaceSuspendResult>(Methods.WorkspaceResume, new WorkspaceRef { Id = b.Id });
            Assert.Null(resumed.Workspace.Hibernation);
            Assert.Contains("frozen 0", File.ReadAllText(Path.Combine(group, "cgroup.events")), StringComparison.Ordinal);
            await Poll.UntilAsync(async () => await CountAsync(counter) > frozenAt, "B's loop counts again");

            // Kill-all: cgroup.kill takes the daemonized child too, which the terminal's session does not reach.
            Assert.True(driver.KillAll(b.Id) >= 3);
            await Poll.UntilAsync(() => File.ReadAllText(Path.Combine(group, "cgroup.events")).Contains("populated 0", StringComparison.Ordinal), "B's group is empty");
            Assert.All(procs, pid => Assert.True(State(pid) is null or 'Z', $"{pid} survived the kill"));
            Assert.NotEqual(TerminalStatus.Running, (await WaitForEndAsync(c, loop.Id)).Status);
            Assert.Equal(TerminalStatus.Running, (await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = peer.Id })).Status);

            // Killing a terminal: its session's leftovers go through the frozen group (KillWhere), the rest of the workspace stays.
            var keeper = await TerminalAsync(c, b.Id, "sleep 303");
            var forker = await TerminalAsync(c, b.Id, "sleep 304 & sleep 305 & wait");
            await Poll.UntilAsync(() => Named(Procs(group), "sleep\0" + "305") > 0, "the forker's children run");
            await c.CallAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = forker.Id });
            Assert.Equal(0, Named(Procs(group), "sleep\0" + "304") + Named(Procs(group), "sleep\0" + "305"));
            Assert.Contains(keeper.Pid!.Value, Procs(group));

            // The watchdog holds process_limit (no pids controller), on the group's own count.
            var p = await CreateAsync(c, "p", """{ "resources": { "process_limit": 40 } }""");
            var spawner = await TerminalAsync(c, p.Id, "for i in $(seq 60); do sleep 300 & done; wait");
            Assert.Equal(TerminalStatus.Killed, (await WaitForEndAsync(c, spawner.Id)).Status);
            var audit = await c.CallAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = p.Id, Limit = 1000 });
            Assert.Contains(audit.Entries, e => e.Rule == "resources.process_limit" && e.Message.Contains(spawner.Id, StringComparison.Ordinal));
        }
        finally
        {
            await server.DisposeAsync();
        }

        // The daemon's end removes its groups.
        Assert.False(Directory.Exists(v2.ParentGroup), $"{v2.ParentGroup} is left behind");
    }

    private OrchflowServer Start(ICgroupDriver cgroups, out TestClient client)
    {
        _home.Paths.EnsureDirectories();
        var server = new OrchflowServer(_home.Paths, Database.InMemory(), Log.Null, socketPath: null, null, Path.Combine(_home.Root, "userhome"), cgroups: cgroups);
        var (x, y) = FullDuplexStream.CreatePair();
        server.Attach(x, x, "memory");
        client = new TestClient(y);
        return server;
    }

    private Task<WorkspaceInfo> CreateAsync(TestClient c, string id, string workspaceJson) =>
        c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project(id, (".orchflow/workspace.json", $$"""{ "workspace": {{workspaceJson}} }""")) });

    private static Task<TerminalInfo> TerminalAsync(TestClient c, string ws, string command) =>
        c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = ws, Command = command });

    private static async Task<TerminalInfo> WaitForEndAsync(TestClient c, string id)
    {
        TerminalInfo t = null!;
        await Poll.UntilAsync(async () => (t = await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = id })).Status != TerminalStatus.Running, $"terminal {id} ends");
        return t;
    }

    /// <summary>The loop's count, once the file holds one (the loop overwrites it in place: counts only grow longer).</summary>
    private static async Task<long> CountAsync(string file)
    {
        long value = 0;
        await Poll.UntilAsync(() => File.Exists(file) && long.TryParse(File.ReadAllText(file).Trim(), out value), $"{file} holds a count");
        return value;
    }

    private static List<int> Procs(string group) =>
        File.ReadAllLines(Path.Combine(group, "cgroup.procs")).Where(l => l.Length > 0).Select(int.Parse).ToList();

    /// <summary>The first of <paramref name="pids"/> whose command line starts with <paramref name="argv"/> (NUL-separated), or 0.</summary>
    private static int Named(List<int> pids, string argv) => pids.FirstOrDefault(pid => Read($"/proc/{pid}/cmdline").StartsWith(argv, StringComparison.Ordinal));

    private static int? SessionOf(int pid)
    {
        var stat = Read($"/proc/{pid}/stat");
        return stat.Length == 0 ? null : int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3]);
    }

    private static char? State(int pid)
    {
        var stat = Read($"/proc/{pid}/stat");
        return stat.Length == 0 ? null : stat[stat.LastIndexOf(')') + 2];
    }

    private static string Read(string path)
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

    /// <summary>Runs where a cgroup2 file system is mounted at <see cref="Mount"/> (as on this hybrid machine); skipped, saying so, elsewhere.</summary>
    private sealed class V2MountFactAttribute : FactAttribute
    {
        public V2MountFactAttribute()
        {
            if (!File.Exists(Path.Combine(Mount, "cgroup.procs")))
            {
                Skip = $"{Mount} is not a cgroup2 mount here: the real cgroup v2 tests need it (the fake-tree tests in CgroupV2TreeTests still run)";
            }
        }
    }
}
