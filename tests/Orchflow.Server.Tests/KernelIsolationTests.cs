using Nerdbank.Streams;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Limits;
using Orchflow.Server.Rpc;
using Orchflow.Server.Security;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Tests;

/// <summary>
/// What keeps a workspace off the kernel's own interfaces, as planned and said: the bubblewrap arguments (kernel files
/// read-only or masked, /sys read-only at enhanced too, the filter in front), the Landlock launcher's options (clone3,
/// keyrings, System V IPC), the report's four kernel promises at every tier, and the limits lines where a process can
/// leave its control groups. The escape suite (IsolationEscapeTests.Kernel.cs) attacks the same promises for real.
/// </summary>
[Trait("Tier", "rpc")]
public sealed class KernelIsolationTests : IAsyncDisposable
{
    private static readonly string[] KernelPromises = ["kernel_interfaces", "control_groups", "ipc", "unix_sockets"];

    private readonly TempHome _home = new();
    private OrchflowServer? _server;

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _home.Dispose();
    }

    private static readonly HostIsolation Bubblewrap = new() { BubblewrapAvailable = true, BubblewrapPath = "/usr/bin/bwrap", BubblewrapVersion = "0.8.0" };

    private static SandboxSpec Spec(SandboxLevel level) => new()
    {
        WorkspaceId = "b",
        Level = level,
        Root = "/p/b",
        WorkingDirectory = "/p/b",
        ReadOnly = ["/p/b/.orchflow"],
        PrivateTmp = level == SandboxLevel.Strict ? "/data/sandbox/b/tmp" : null,
        Network = level == SandboxLevel.Strict ? NetworkPolicy.None : NetworkPolicy.Full,
        DeniedFile = "/data/sandbox/denied",
    };

    private static SecurityPolicy Policy(SecurityTier tier) => new() { Tier = tier, Network = NetworkPolicy.None, AllowedCommands = [], RestrictedPaths = [], AllowedHosts = [] };

    private static LandlockBackend Landlock(bool ipcNamespace) => new(
        new HostIsolation { BubblewrapAvailable = false, LandlockAbi = 7, LandlockAvailable = true, LandlockLauncher = "/opt/orchflow/orchflow-landlock" },
        _ => [],
        ipcNamespace);

    [Theory]
    [InlineData(SandboxLevel.Strict)]
    [InlineData(SandboxLevel.Confined)]
    public void Bubblewrap_makes_the_kernel_files_read_only_or_masks_them_at_both_levels(SandboxLevel level)
    {
        var args = new BubblewrapBackend(Bubblewrap, "/opt/orchflow/orchflow-landlock", _ => true).Launcher(Spec(level));
        var line = string.Join(' ', args);
        int Index(string s) => line.IndexOf(s, StringComparison.Ordinal);

        // bwrap runs behind the filter, which refuses clone3 (and, at strict, the keyring calls) for it and all it starts.
        Assert.StartsWith(level == SandboxLevel.Strict
            ? "/opt/orchflow/orchflow-landlock --filter-only --no-clone3 --no-keyring -- /usr/bin/bwrap "
            : "/opt/orchflow/orchflow-landlock --filter-only --no-clone3 -- /usr/bin/bwrap ", line, StringComparison.Ordinal);

        foreach (var path in BubblewrapBackend.ReadOnlyKernelPaths)
        {
            Assert.Contains($"--ro-bind {path} {path}", line, StringComparison.Ordinal);
            Assert.True(Index("--proc /proc") < Index($"--ro-bind {path} {path}"), $"{path} is bound after the sandbox's /proc");
        }

        foreach (var file in BubblewrapBackend.MaskedKernelFiles)
        {
            Assert.Contains($"--ro-bind /data/sandbox/denied {file}", line, StringComparison.Ordinal);
        }

        foreach (var dir in BubblewrapBackend.MaskedKernelDirectories)
        {
            Assert.True(Index($"--tmpfs {dir}") < Index($"--remount-ro {dir}"), $"{dir} is masked by an empty directory made read-only");
        }

        if (level == SandboxLevel.Confined)
        {
            // The host's file system stays writable at enhanced, but not /sys (each control group mount below it included).
            Assert.True(Index("--dev-bind / /") < Index("--ro-bind /sys /sys"));
            Assert.Contains("--unshare-cgroup-try", args);
        }
        else
        {
            Assert.Contains("--unshare-all", args); // IPC and cgroup namespaces included
        }
    }

    [Fact]
    public void Bubblewrap_binds_only_the_kernel_paths_this_machine_has_and_says_what_a_missing_filter_costs()
    {
        var backend = new BubblewrapBackend(Bubblewrap, kernelFilter: null, exists: p => p == "/proc/sys");
        var line = string.Join(' ', backend.Launcher(Spec(SandboxLevel.Strict)));
        Assert.StartsWith("/usr/bin/bwrap ", line, StringComparison.Ordinal);
        Assert.Contains("--ro-bind /proc/sys /proc/sys", line, StringComparison.Ordinal);
        Assert.DoesNotContain("/proc/sysrq-trigger", line, StringComparison.Ordinal);
        Assert.DoesNotContain("/proc/kcore", line, StringComparison.Ordinal);

        var report = IsolationPlanner.Report(Policy(SecurityTier.Strict), backend);
        // Without the filter a process could leave its groups on cgroup v2, which enhanced promises too.
        Assert.Equal("strict requested: NOT enforced, bubblewrap 0.8.0 does not keep control_groups, ipc; standard in force", report.Summary);
        Assert.Contains("clone3(CLONE_INTO_CGROUP)", report.Features.Single(f => f.Name == "control_groups").Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, "--ipc-namespace", "own System V IPC namespace")]
    [InlineData(false, "--no-sysv-ipc", "the System V IPC calls (shmget")]
    public void Landlock_strict_keeps_System_V_IPC_and_keyrings_private_and_says_how(bool ipcNamespace, string option, string detail)
    {
        var backend = Landlock(ipcNamespace);
        var strict = backend.Launcher(Spec(SandboxLevel.Strict));
        Assert.Contains("--no-clone3", strict);
        Assert.Contains("--no-keyring", strict);
        Assert.Contains(option, strict);
        var ipc = IsolationPlanner.Report(Policy(SecurityTier.Strict), backend).Features.Single(f => f.Name == "ipc");
        Assert.True(ipc.Enforced);
        Assert.StartsWith(detail, ipc.Detail, StringComparison.Ordinal);

        // Enhanced shares the host's IPC (and says so), but keeps its processes in their control groups too.
        var enhanced = backend.Launcher(Spec(SandboxLevel.Confined));
        Assert.Contains("--no-clone3", enhanced);
        Assert.DoesNotContain("--no-keyring", enhanced);
        Assert.DoesNotContain(option, enhanced);
    }

    [Fact]
    public void Landlock_plans_proc_and_sys_read_only_at_enhanced_as_a_whole()
    {
        var tree = new Dictionary<string, string[]> { ["/"] = ["/p", "/proc", "/sys", "/usr"], ["/p"] = ["/p/b"], ["/p/b"] = ["/p/b/.orchflow", "/p/b/src"] };
        var rules = LandlockRules.Plan(LandlockBackend.Layers(Spec(SandboxLevel.Confined)), d => tree.GetValueOrDefault(d, [])).Select(r => $"{r.Access} {r.Path}").ToList();

        // Everything is readable and the rest of the machine writable, but nothing grants writing to /proc or /sys, not
        // even for a process's own /proc/self (a rule per process directory would be needed to carve /proc/sys out).
        Assert.Contains("Read /", rules);
        Assert.Contains("Write /usr", rules);
        Assert.Contains("Write /p/b/src", rules);
        Assert.DoesNotContain(rules, r => r == "Write /" || r.StartsWith("Write /proc", StringComparison.Ordinal) || r.StartsWith("Write /sys", StringComparison.Ordinal));
    }

    public static TheoryData<SecurityTier, string, string> Tiers => new()
    {
        // tier, backend, the kernel promises enforced (in KernelPromises order: 1 enforced, 0 not)
        { SecurityTier.Standard, "bubblewrap", "0000" },
        { SecurityTier.Enhanced, "bubblewrap", "1100" },
        { SecurityTier.Strict, "bubblewrap", "1111" },
        { SecurityTier.Enhanced, "landlock", "1100" },
        { SecurityTier.Strict, "landlock", "1110" },
        { SecurityTier.Strict, "none", "0000" },
    };

    [Theory]
    [MemberData(nameof(Tiers))]
    public void Every_tier_reports_the_four_kernel_promises(SecurityTier tier, string backend, string enforced)
    {
        IIsolationBackend sandbox = backend switch
        {
            "bubblewrap" => new BubblewrapBackend(Bubblewrap, "/opt/orchflow/orchflow-landlock"),
            "landlock" => Landlock(ipcNamespace: true),
            _ => new BubblewrapBackend(new HostIsolation { BubblewrapAvailable = false, BubblewrapProblem = "not installed" }, null),
        };
        var report = IsolationPlanner.Report(Policy(tier), sandbox);
        var features = KernelPromises.Select(name => report.Features.Single(f => f.Name == name)).ToList();
        Assert.Equal(enforced, string.Concat(features.Select(f => f.Enforced ? '1' : '0')));
        Assert.All(features.Where(f => !f.Enforced), f => Assert.Contains("NOT enforced", f.Detail, StringComparison.Ordinal));

        // None of them lowers a tier it does not belong to: enhanced stays enhanced with shared IPC and sockets.
        if (tier == SecurityTier.Enhanced)
        {
            Assert.Equal(SecurityTier.Enhanced, report.EnforcedTier);
        }
    }

    [Fact]
    public async Task The_limits_lines_say_when_a_process_can_leave_its_control_groups()
    {
        _home.Paths.EnsureDirectories();
        _server = new OrchflowServer(_home.Paths, Database.InMemory(), Log.Null, socketPath: null, cgroups: new CgroupV1OnPaper());
        var (x, y) = FullDuplexStream.CreatePair();
        _server.Attach(x, x, "memory");
        var c = new TestClient(y);
        await c.InitializeAsync();

        foreach (var tier in new[] { "standard", "strict" })
        {
            var path = _home.Project(tier, (".orchflow/workspace.json", $$"""{ "workspace": { "id": "{{tier}}", "security": { "tier": "{{tier}}" }, "resources": { "process_limit": 20, "memory_limit": "64MB" } } }"""));
            var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = path });
            var report = ws.Isolation.Features.ToDictionary(f => f.Name);
            var kept = report["control_groups"].Enforced;
            if (tier == "standard")
            {
                Assert.False(kept);
            }

            foreach (var limit in new[] { "memory_limit", "process_limit", "cpu" })
            {
                var detail = report[limit].Detail;
                Assert.Contains("cgroup v1", detail, StringComparison.Ordinal);
                Assert.Equal(!kept, detail.Contains("for the processes that stay in the workspace's group", StringComparison.Ordinal));
            }

            Assert.Equal(kept, report["process_limit"].Detail.Contains("a fork bomb stays inside the workspace", StringComparison.Ordinal));
            if (tier == "standard")
            {
                Assert.Contains("at tier standard (no sandbox) a process can move itself out of its group", report["process_limit"].Detail, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>
    /// Control groups v1 as the report sees them, every limit enforced, without a group on the machine: the limits lines
    /// depend only on what the driver says, and no process joins a group (its group operations are <see cref="NoCgroups"/>'s,
    /// which do nothing).
    /// </summary>
    private sealed class CgroupV1OnPaper() : NoCgroups("unused: every limit is reported enforced")
    {
        public override CgroupVersion Version => CgroupVersion.V1;

        public override string Description => "cgroup v1 (memory, pids, cpu, cpuacct, freezer)";

        public override bool Usable => true;

        public override CgroupLimits Enforced => CgroupLimits.All;

        public override string? NotEnforcedReason(CgroupLimits limit) => null;
    }
}
