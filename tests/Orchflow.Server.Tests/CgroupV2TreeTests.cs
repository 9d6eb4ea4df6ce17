using Orchflow.Server.Limits;

namespace Orchflow.Server.Tests;

/// <summary>
/// The cgroup v2 driver on a fake cgroup tree of plain files (<see cref="FakeCgroupTree"/>, which plays the kernel's
/// part: a child offers what its parent enabled, enabling needs the controller offered and, below the root, no processes
/// in the group), for what this machine's hybrid hierarchy cannot show: controllers, delegation, the internal-process rule.
/// </summary>
[Trait("Tier", "unit")]
public sealed class CgroupV2TreeTests : IDisposable
{
    private const string Key = "orchflow-0123456789ab";
    private readonly FakeCgroupTree _tree = new("cpuset cpu io memory hugetlb pids");

    public void Dispose() => _tree.Dispose();

    [Fact]
    public void Controllers_are_enabled_from_the_base_down_and_only_those_offered()
    {
        var driver = Create("/");
        Assert.Equal(CgroupLimits.All, driver.Enforced);
        Assert.Equal(
            ["cgroup.subtree_control=+memory", "cgroup.subtree_control=+pids", "cgroup.subtree_control=+cpu", $"{Key}/cgroup.subtree_control=+memory", $"{Key}/cgroup.subtree_control=+pids", $"{Key}/cgroup.subtree_control=+cpu"],
            _tree.SubtreeWrites());
        Assert.False(Directory.Exists(_tree.At(Key)), "the probe leaves no group behind");

        // The first process of a workspace makes the daemon's group again, its controllers enabled before the workspace's group exists.
        _tree.Writes.Clear();
        Assert.Equal([_tree.At($"{Key}/ws1/cgroup.procs")], driver.JoinFiles("ws1"));
        Assert.Equal([$"{Key}/cgroup.subtree_control=+memory +pids +cpu"], _tree.SubtreeWrites());
        Assert.Equal("cpu memory pids", _tree.ReadRel($"{Key}/ws1/cgroup.controllers"));
    }

    [Fact]
    public void A_controller_the_hierarchy_lacks_is_not_enforced_and_says_why()
    {
        using var tree = new FakeCgroupTree("cpu memory hugetlb");
        var (driver, problem) = CgroupV2.TryCreate(tree.Mount, "/", Key, tree);
        Assert.Null(problem);
        Assert.Equal(CgroupLimits.Memory | CgroupLimits.Cpu | CgroupLimits.Freeze | CgroupLimits.Kill, driver!.Enforced);
        Assert.DoesNotContain(tree.SubtreeWrites(), w => w.Contains("pids", StringComparison.Ordinal));
        Assert.Contains("the pids controller is not on the cgroup v2 hierarchy", driver.NotEnforcedReason(CgroupLimits.Processes), StringComparison.Ordinal);
        Assert.Contains("lists cpu, hugetlb, memory", driver.NotEnforcedReason(CgroupLimits.Processes), StringComparison.Ordinal);
        Assert.Null(driver.NotEnforcedReason(CgroupLimits.Memory));
        Assert.Contains("not by the kernel: pids (", driver.Description, StringComparison.Ordinal);

        driver.Apply("ws", 64L << 20, 40, 1024);
        Assert.False(File.Exists(tree.At($"{Key}/ws/pids.max")), "no pids.max written where the controller is absent");
        Assert.Equal("67108864", tree.ReadRel($"{Key}/ws/memory.max"));
    }

    [Fact]
    public void Limits_are_written_in_v2_units()
    {
        var driver = Create("/");
        driver.Apply("ws", 64L << 20, 40, 1024);
        Assert.Equal(("67108864", "40", "39"), (_tree.ReadRel($"{Key}/ws/memory.max"), _tree.ReadRel($"{Key}/ws/pids.max"), _tree.ReadRel($"{Key}/ws/cpu.weight")));
        driver.Apply("ws", null, 10, 2048);
        Assert.Equal(("max", "10", "79"), (_tree.ReadRel($"{Key}/ws/memory.max"), _tree.ReadRel($"{Key}/ws/pids.max"), _tree.ReadRel($"{Key}/ws/cpu.weight")));
        driver.ApplyTotal(1L << 30);
        Assert.Equal("1073741824", _tree.ReadRel($"{Key}/memory.max"));
        driver.ApplyTotal(null);
        Assert.Equal("max", _tree.ReadRel($"{Key}/memory.max"));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(1, 1)]
    [InlineData(512, 20)]
    [InlineData(1024, 39)]
    [InlineData(2048, 79)]
    [InlineData(262_144, 10_000)]
    [InlineData(1_000_000, 10_000)]
    public void Cpu_shares_become_cpu_weight_by_the_standard_conversion(int shares, int weight) =>
        Assert.Equal(weight, CgroupV2.Weight(shares));

    [Fact]
    public void Usage_is_read_from_memory_current_pids_current_cpu_stat_and_memory_events()
    {
        var driver = Create("/");
        driver.JoinFiles("ws");
        _tree.WriteRel($"{Key}/ws/memory.current", "12345\n");
        _tree.WriteRel($"{Key}/ws/pids.current", "7\n");
        _tree.WriteRel($"{Key}/ws/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
        _tree.WriteRel($"{Key}/ws/memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n");
        Assert.Equal(new CgroupUsage(12345, 7, 2_500_000, 1), driver.Usage("ws"));
        Assert.Null(driver.Usage("never-started"));
    }

    [Fact]
    public void Without_the_pids_and_memory_controllers_usage_counts_cgroup_procs_and_reports_no_memory()
    {
        using var tree = new FakeCgroupTree("hugetlb");
        var (driver, _) = CgroupV2.TryCreate(tree.Mount, "/", Key, tree);
        Assert.Equal(CgroupLimits.Freeze | CgroupLimits.Kill, driver!.Enforced);
        driver.JoinFiles("ws");
        tree.WriteRel($"{Key}/ws/cgroup.procs", "10\n11\n12\n");
        tree.WriteRel($"{Key}/ws/cpu.stat", "usage_usec 7\n");
        Assert.Equal(new CgroupUsage(null, 3, 7000, null), driver.Usage("ws"));
    }

    [Fact]
    public void A_group_holding_processes_puts_the_workspaces_beside_it_where_the_controllers_already_are()
    {
        _tree.Enable("", "memory pids cpu");
        _tree.Group("user.slice", procs: []);
        _tree.Enable("user.slice", "memory pids cpu");
        _tree.Group("user.slice/app.scope", procs: [4242]);
        _tree.Writes.Clear();

        var driver = Create("/user.slice/app.scope");
        Assert.Equal(CgroupLimits.All, driver.Enforced);
        Assert.Equal(_tree.At($"user.slice/{Key}"), driver.ParentGroup);
        Assert.Contains("beside the daemon's own group", driver.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(_tree.Writes, w => w.StartsWith("user.slice/app.scope/", StringComparison.Ordinal)); // nothing written into the daemon's own group
        Assert.Equal([$"user.slice/{Key}/cgroup.subtree_control=+memory", $"user.slice/{Key}/cgroup.subtree_control=+pids", $"user.slice/{Key}/cgroup.subtree_control=+cpu"], _tree.SubtreeWrites());
    }

    [Fact]
    public void A_group_holding_processes_under_an_unwritable_parent_leaves_the_limits_to_the_watchdog_with_the_rule_as_reason()
    {
        _tree.Enable("", "memory pids cpu");
        _tree.Group("user.slice", procs: []);
        _tree.Enable("user.slice", "memory pids cpu");
        _tree.Group("user.slice/app.scope", procs: [4242]);
        _tree.Unwritable.Add("user.slice");
        _tree.Writes.Clear();

        var driver = Create("/user.slice/app.scope");
        Assert.Equal(CgroupLimits.Freeze | CgroupLimits.Kill, driver.Enforced);
        Assert.Equal(_tree.At($"user.slice/app.scope/{Key}"), driver.ParentGroup);
        foreach (var limit in new[] { CgroupLimits.Memory, CgroupLimits.Processes, CgroupLimits.Cpu })
        {
            var why = driver.NotEnforcedReason(limit)!;
            Assert.Contains("holds processes", why, StringComparison.Ordinal);
            Assert.Contains("no-internal-process rule", why, StringComparison.Ordinal);
            Assert.Contains("is not writable", why, StringComparison.Ordinal);
        }

        Assert.Empty(_tree.SubtreeWrites()); // never a half state: nothing enabled that cannot be used
        driver.Apply("ws", 64L << 20, 40, 1024);
        Assert.False(File.Exists(_tree.At($"user.slice/app.scope/{Key}/ws/memory.max")));
    }

    [Fact]
    public void The_root_of_a_cgroup_namespace_holding_processes_enables_nothing_and_keeps_freeze_and_kill()
    {
        // A container's "/": not the real root (it has cgroup.type), so the no-internal-process rule applies, and there is no group above it.
        _tree.WriteRel("cgroup.type", "domain");
        _tree.WriteRel("cgroup.procs", "1\n77\n");
        var driver = Create("/");
        Assert.Equal(CgroupLimits.Freeze | CgroupLimits.Kill, driver.Enforced);
        Assert.Empty(_tree.SubtreeWrites()); // not even pids or cpu, which would make it a thread root and the groups below unjoinable
        Assert.Contains("which holds processes (cgroup v2's no-internal-process rule)", driver.NotEnforcedReason(CgroupLimits.Memory), StringComparison.Ordinal);
        Assert.Contains("outside the cgroup2 mount", driver.NotEnforcedReason(CgroupLimits.Cpu), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unwritable_subtree_control_is_reported_as_not_delegated()
    {
        _tree.Unwritable.Add("cgroup.subtree_control");
        var driver = Create("/");
        Assert.Equal(CgroupLimits.Freeze | CgroupLimits.Kill, driver.Enforced);
        var why = driver.NotEnforcedReason(CgroupLimits.Memory)!;
        Assert.Contains($"{_tree.At("cgroup.subtree_control")} is not writable by this user", why, StringComparison.Ordinal);
        Assert.Contains("not delegated", why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_daemon_group_that_cannot_be_created_is_a_clear_problem_and_undoes_the_controllers_it_enabled()
    {
        _tree.Unwritable.Add("");
        var (driver, problem) = CgroupV2.TryCreate(_tree.Mount, "/", Key, _tree);
        Assert.Null(driver);
        Assert.Contains($"cannot create a control group in {_tree.Mount}", problem, StringComparison.Ordinal);
        Assert.Contains("needs root or a group delegated", problem, StringComparison.Ordinal);
        Assert.Equal(["cgroup.subtree_control=+memory", "cgroup.subtree_control=+pids", "cgroup.subtree_control=+cpu", "cgroup.subtree_control=-memory", "cgroup.subtree_control=-pids", "cgroup.subtree_control=-cpu"], _tree.SubtreeWrites());
        Assert.Equal("", _tree.ReadRel("cgroup.subtree_control"));
    }

    [Fact]
    public void Freeze_writes_cgroup_freeze_and_returns_once_cgroup_events_says_frozen()
    {
        var (created, _) = CgroupV2.TryCreate(_tree.Mount, "/", Key, _tree, TimeSpan.FromMilliseconds(200));
        var driver = (CgroupV2)created!;
        driver.JoinFiles("ws");
        _tree.WriteRel($"{Key}/ws/cgroup.events", "populated 1\nfrozen 1\n");
        driver.Freeze("ws", true);
        Assert.Equal("1", _tree.ReadRel($"{Key}/ws/cgroup.freeze"));

        // A group that does not report frozen within the timeout is an error naming the workspace, not a wait forever.
        _tree.WriteRel($"{Key}/ws/cgroup.events", "populated 1\nfrozen 0\n");
        var e = Assert.Throws<IOException>(() => driver.Freeze("ws", true));
        Assert.Contains("workspace 'ws' did not all freeze", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kill_all_writes_cgroup_kill_and_remove_waits_for_the_group_to_empty()
    {
        var driver = Create("/");
        driver.JoinFiles("ws");
        _tree.WriteRel($"{Key}/ws/cgroup.procs", "10\n11\n");
        Assert.Equal(2, driver.KillAll("ws"));
        Assert.Equal("1", _tree.ReadRel($"{Key}/ws/cgroup.kill"));
        _tree.WriteRel($"{Key}/ws/cgroup.events", "populated 0\nfrozen 0\n");
        _tree.WriteRel($"{Key}/ws/cgroup.procs", "");
        driver.RemoveAll();
        Assert.False(Directory.Exists(_tree.At(Key)));
    }

    [Fact]
    public void Detection_takes_v1_on_a_hybrid_machine_v2_on_a_pure_one_and_honours_a_forced_version()
    {
        var v1 = Path.Combine(_tree.Root, "v1");
        string[] v1Mounts = CgroupV1.Controllers.Select(c => $"cgroup {v1}/{c} cgroup rw,relatime,{c} 0 0").ToArray();
        foreach (var c in CgroupV1.Controllers)
        {
            Directory.CreateDirectory(Path.Combine(v1, c));
        }

        string v2Mount = $"cgroup2 {_tree.Mount} cgroup2 rw,relatime 0 0";
        string[] self = ["1:memory:/", "0::/"];
        Assert.Equal(CgroupVersion.V1, CgroupProbe.Detect([.. v1Mounts, v2Mount], self, Key, "", _tree).Version);
        Assert.Equal(CgroupVersion.V2, CgroupProbe.Detect([.. v1Mounts, v2Mount], self, Key, "v2", _tree).Version);
        Assert.Equal(CgroupVersion.V2, CgroupProbe.Detect([v2Mount], ["0::/"], Key, "", _tree).Version);

        var v1Forced = CgroupProbe.Detect([v2Mount], ["0::/"], Key, "v1", _tree);
        Assert.Equal(CgroupVersion.None, v1Forced.Version);
        Assert.Contains("ORCHFLOW_CGROUPS=v1, but cgroup v1 controller memory is not mounted", v1Forced.Description, StringComparison.Ordinal);
        var v2Forced = CgroupProbe.Detect(v1Mounts, self, Key, "v2", _tree);
        Assert.Contains("ORCHFLOW_CGROUPS=v2, but no cgroup2 file system is mounted", v2Forced.Description, StringComparison.Ordinal);
        var bogus = CgroupProbe.Detect(_tree.Root, "v3");
        Assert.Equal(CgroupVersion.None, bogus.Version);
        Assert.Contains("ORCHFLOW_CGROUPS=v3 is not one of auto, off, v1, v2", bogus.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void The_own_v2_group_is_the_0_line_of_proc_self_cgroup() =>
        Assert.Equal(["/user.slice/app.scope", "/", null], new[] { "1:memory:/x\n0::/user.slice/app.scope", "0::/", "2:cpu:/" }.Select(t => CgroupProbe.OwnV2Path(t.Split('\n'))));

    private CgroupV2 Create(string own)
    {
        var (driver, problem) = CgroupV2.TryCreate(_tree.Mount, own, Key, _tree);
        Assert.True(driver is not null, problem);
        return (CgroupV2)driver;
    }
}

/// <summary>
/// A cgroup v2 hierarchy as plain files in a temp directory, playing the kernel's part for what the driver relies on:
/// a new group offers (cgroup.controllers) what its parent enabled; only the root lacks cgroup.type; enabling a controller needs it offered (ENOENT) and,
/// below the root, no processes in the group (EBUSY); <see cref="Unwritable"/> paths fail with EACCES.
/// </summary>
public sealed class FakeCgroupTree : CgroupFiles, IDisposable
{
    public FakeCgroupTree(string rootControllers)
    {
        Root = Directory.CreateTempSubdirectory("of-cg2-").FullName;
        Mount = Path.Combine(Root, "cg");
        Directory.CreateDirectory(Mount);
        File.WriteAllText(At("cgroup.controllers"), rootControllers);
        Populate("", []);
    }

    public string Root { get; }

    public string Mount { get; }

    /// <summary>Writes as "relative path=value", in order.</summary>
    public List<string> Writes { get; } = [];

    /// <summary>Relative paths (files, or directories in which nothing can be created) that refuse writes.</summary>
    public HashSet<string> Unwritable { get; } = new(StringComparer.Ordinal);

    public string At(string relative) => relative.Length == 0 ? Mount : Path.Combine(Mount, relative);

    public string ReadRel(string relative) => File.ReadAllText(At(relative)).Trim();

    public void WriteRel(string relative, string text) => File.WriteAllText(At(relative), text);

    public List<string> SubtreeWrites() => Writes.Where(w => w.Contains("cgroup.subtree_control=", StringComparison.Ordinal)).ToList();

    /// <summary>A group (its controllers those its parent enabled) holding the given processes.</summary>
    public void Group(string relative, int[] procs)
    {
        Directory.CreateDirectory(At(relative));
        File.WriteAllText(Path.Combine(At(relative), "cgroup.controllers"), File.ReadAllText(Path.Combine(At(Parent(relative)), "cgroup.subtree_control")));
        File.WriteAllText(Path.Combine(At(relative), "cgroup.type"), "domain");
        Populate(relative, procs);
    }

    public void Enable(string relative, string controllers) => File.WriteAllText(Path.Combine(At(relative), "cgroup.subtree_control"), controllers);

    public override void Write(string path, string value)
    {
        var rel = Relative(path);
        Writes.Add($"{rel}={value}");
        if (Unwritable.Contains(rel))
        {
            throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }

        if (Path.GetFileName(path) != "cgroup.subtree_control")
        {
            base.Write(path, value);
            return;
        }

        var group = Path.GetDirectoryName(path)!;
        var offered = Words(File.ReadAllText(Path.Combine(group, "cgroup.controllers")));
        var enabled = Words(File.ReadAllText(path));
        foreach (var token in Words(value))
        {
            var name = token[1..];
            if (token[0] == '+' && !offered.Contains(name))
            {
                throw new FileNotFoundException($"Could not find file '{path}'.");
            }

            if (token[0] == '+' && group != Mount && Words(File.ReadAllText(Path.Combine(group, "cgroup.procs"))).Count > 0)
            {
                throw new IOException($"Device or resource busy : '{path}'", EBUSY);
            }

            if (token[0] == '+')
            {
                enabled.Add(name);
            }
            else
            {
                enabled.Remove(name);
            }
        }

        File.WriteAllText(path, string.Join(' ', enabled.Order(StringComparer.Ordinal)));
    }

    public override void CreateDirectory(string path)
    {
        var rel = Relative(path);
        if (Directory.Exists(path))
        {
            return;
        }

        if (Unwritable.Contains(Parent(rel)))
        {
            throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
        }

        Group(rel, []);
    }

    public override void RemoveDirectory(string path) => Directory.Delete(path, recursive: true);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Populate(string relative, int[] procs)
    {
        var dir = At(relative);
        File.WriteAllText(Path.Combine(dir, "cgroup.subtree_control"), "");
        File.WriteAllText(Path.Combine(dir, "cgroup.procs"), string.Concat(procs.Select(p => $"{p}\n")));
        File.WriteAllText(Path.Combine(dir, "cgroup.events"), $"populated {(procs.Length > 0 ? 1 : 0)}\nfrozen 0\n");
        File.WriteAllText(Path.Combine(dir, "cgroup.freeze"), "0");
        File.WriteAllText(Path.Combine(dir, "cgroup.kill"), "");
        File.WriteAllText(Path.Combine(dir, "cpu.stat"), "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    }

    private string Relative(string path) => path == Mount ? "" : Path.GetRelativePath(Mount, path);

    private static string Parent(string relative) => Path.GetDirectoryName(relative) ?? "";

    private static SortedSet<string> Words(string text) => new(text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
}
