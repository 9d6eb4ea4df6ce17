using System.Globalization;

namespace Orchflow.Server.Limits;

/// <summary>
/// cgroup v2: one unified hierarchy. Workspace groups are <c>&lt;base&gt;/&lt;DaemonKey&gt;/&lt;workspace&gt;</c>, where the base is
/// the daemon's own group (the <c>0::</c> line of /proc/self/cgroup) or, when that group holds processes and so cannot
/// enable controllers for its children, the group above it.
/// <para>
/// v2's rules, as the driver follows them: a controller reaches a child only when its parent lists it in
/// <c>cgroup.subtree_control</c>, and a parent can list only what its own <c>cgroup.controllers</c> offers, so the
/// controllers are enabled level by level from the base down (memory, pids and cpu, each on its own write so that one
/// refused controller does not take the others with it). A group other than the root that holds processes cannot enable
/// controllers for its children (the no-internal-process rule). The daemon never moves itself or anyone else: the
/// workspaces then go beside its group if the group above is writable, and otherwise in its group without those
/// controllers, their limits held by the watchdog, each with its reason (<see cref="NotEnforcedReason"/>).
/// <c>cgroup.freeze</c> and <c>cgroup.kill</c> are in every group, whatever the controllers.
/// </para>
/// <para>
/// memory.high is left at max on purpose: it would throttle and reclaim the whole workspace at the soft limit, where the
/// governor's behaviour is to pause the newest agent and leave the others at full speed.
/// </para>
/// </summary>
public sealed class CgroupV2 : ICgroupDriver
{
    /// <summary>The controllers Orchflow uses, and the limit each holds.</summary>
    public static readonly IReadOnlyList<(string Controller, CgroupLimits Limit)> Controllers =
        [("memory", CgroupLimits.Memory), ("pids", CgroupLimits.Processes), ("cpu", CgroupLimits.Cpu)];

    private static readonly (CgroupLimits Limit, string Name)[] Names =
        [(CgroupLimits.Memory, "memory"), (CgroupLimits.Processes, "pids"), (CgroupLimits.Cpu, "cpu"), (CgroupLimits.Freeze, "freeze"), (CgroupLimits.Kill, "kill")];

    /// <summary>How long to wait for a freeze to settle or a killed group to empty, as v1.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly CgroupFiles _files;
    private readonly string _parent;
    private readonly IReadOnlyList<string> _enabled;
    private readonly IReadOnlyDictionary<CgroupLimits, string> _missing;
    private readonly TimeSpan _timeout;
    private readonly Lock _gate = new();

    private CgroupV2(CgroupFiles files, string parent, IReadOnlyList<string> enabled, CgroupLimits enforced, IReadOnlyDictionary<CgroupLimits, string> missing, string placement, TimeSpan timeout)
    {
        _files = files;
        _parent = parent;
        _enabled = enabled;
        Enforced = enforced;
        _missing = missing;
        _timeout = timeout;
        Description = Describe(parent, enforced, missing, placement);
    }

    public CgroupVersion Version => CgroupVersion.V2;

    public string Description { get; }

    public bool Usable => true;

    public CgroupLimits Enforced { get; }

    /// <summary>This daemon's parent group: <c>&lt;base&gt;/&lt;DaemonKey&gt;</c>.</summary>
    public string ParentGroup => _parent;

    public string? NotEnforcedReason(CgroupLimits limit) =>
        _missing.GetValueOrDefault(limit) is not { } why ? null
        : Controllers.FirstOrDefault(c => c.Limit == limit).Controller is { } controller ? $"the {controller} controller is {why}"
        : why;

    /// <summary>cpu.shares (2..262144, 1024 normal) to cpu.weight (1..10000), the conversion runc and crun use.</summary>
    public static int Weight(int cpuShares)
    {
        long shares = Math.Clamp(cpuShares, 2, 262_144);
        return (int)Math.Clamp(1 + ((shares - 2) * 9999) / 262_142, 1, 10_000);
    }

    /// <summary>
    /// Sets up this daemon's parent group on the cgroup2 mount at <paramref name="mount"/>, the daemon's own group being
    /// <paramref name="ownPath"/> (from /proc/self/cgroup). Returns the driver, whatever subset of the limits the kernel
    /// can enforce there, or why none of it is usable. A failed set-up undoes what it enabled.
    /// </summary>
    public static (ICgroupDriver? Driver, string? Problem) TryCreate(string mount, string ownPath, string daemonKey, CgroupFiles? files = null, TimeSpan? timeout = null)
    {
        files ??= new CgroupFiles();
        mount = mount.TrimEnd('/');
        var relative = ownPath.Trim('/');
        var own = relative.Length == 0 ? mount : $"{mount}/{relative}";
        if (!files.DirectoryExists(own))
        {
            return (null, $"the daemon's own cgroup v2 group {own} (from /proc/self/cgroup) is not under the cgroup2 mount {mount}");
        }

        // The real root has no cgroup.type; the root of a cgroup namespace (a container's "/") has one, and the rule below applies to it.
        bool realRoot = !files.FileExists(Path.Combine(own, "cgroup.type"));
        var missing = new Dictionary<CgroupLimits, string>();
        var offered = ReadList(files, Path.Combine(own, "cgroup.controllers"));
        foreach (var (controller, limit) in Controllers.Where(c => !offered.Contains(c.Controller)))
        {
            missing[limit] = realRoot
                ? $"not on the cgroup v2 hierarchy at {mount} (its cgroup.controllers lists {Listing(offered)}): it is bound to cgroup v1 or not built into the kernel"
                : $"not delegated to the daemon's group {own} (its cgroup.controllers lists {Listing(offered)}): the group above has to enable it in its cgroup.subtree_control";
        }

        var wanted = Controllers.Where(c => offered.Contains(c.Controller)).ToList();

        // The no-internal-process rule: a group other than the root that holds processes (this daemon's, at least)
        // cannot enable controllers for its children. Beside it, in the group above, they are already enabled (that is
        // where its own come from), if that group is writable. Nothing is written into a group holding processes: even a
        // controller the kernel would let it enable (a threaded one, pids or cpu) would make it a thread root, and the
        // groups below it invalid domains that no process can join.
        var @base = own;
        var placement = "";
        var internalProcesses = !realRoot && ReadList(files, Path.Combine(own, "cgroup.procs")).Count > 0;
        var notYetEnabled = wanted.Where(c => !ReadList(files, Path.Combine(own, "cgroup.subtree_control")).Contains(c.Controller)).ToList();
        if (internalProcesses && notYetEnabled.Count > 0)
        {
            var above = Path.GetDirectoryName(own)!;
            var rule = $"the daemon's own group {own} holds processes, and cgroup v2 lets a group other than the root enable controllers for its children only when it holds none";
            var ruleShort = $"not enabled for the children of the daemon's own group {own}, which holds processes (cgroup v2's no-internal-process rule)";
            string? refused = own == mount ? "it is outside the cgroup2 mount" : null;
            try
            {
                if (refused is not null)
                {
                    throw new IOException(refused);
                }

                bool existed = files.DirectoryExists(Path.Combine(above, daemonKey));
                files.CreateDirectory(Path.Combine(above, daemonKey));
                if (!existed)
                {
                    files.RemoveDirectory(Path.Combine(above, daemonKey));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                refused ??= e.Message;
            }

            if (refused is null)
            {
                @base = above;
                placement = $"beside the daemon's own group, because {rule}";
            }
            else
            {
                foreach (var (controller, limit) in notYetEnabled)
                {
                    missing[limit] = $"{ruleShort}, and the group above it, {above}, is not writable ({refused}); start the daemon as root or in a group whose parent is delegated to its user";
                }

                wanted = wanted.Except(notYetEnabled).ToList();
            }
        }

        // Down from the base: each controller enabled where it is not yet (and undone if the set-up fails).
        var undo = new List<string>();
        var atBase = Enable(files, @base, wanted, missing, undo);
        var parent = Path.Combine(@base, daemonKey);
        bool parentExisted = files.DirectoryExists(parent);
        try
        {
            files.CreateDirectory(parent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Undo(files, @base, undo);
            return (null, $"cannot create a control group in {@base}: {e.Message} (cgroup v2 needs root or a group delegated to the daemon's user)");
        }

        if (files.FileExists(Path.Combine(parent, "cgroup.type")) && files.Read(Path.Combine(parent, "cgroup.type")).Contains("invalid", StringComparison.Ordinal))
        {
            if (!parentExisted)
            {
                TryRemove(files, parent);
            }

            Undo(files, @base, undo);
            return (null, $"{parent} is not a valid domain group (cgroup.type: {files.Read(Path.Combine(parent, "cgroup.type")).Trim()}): {@base} is part of a threaded subtree, so no process can join a group below it");
        }

        var enabled = Enable(files, parent, atBase.Where(c => ReadList(files, Path.Combine(parent, "cgroup.controllers")).Contains(c.Controller)).ToList(), missing, undo: null);
        foreach (var (controller, limit) in atBase.Except(enabled).Where(c => !missing.ContainsKey(c.Limit)))
        {
            missing[limit] = $"not offered in {parent} (its cgroup.controllers does not list it)";
        }

        var enforced = enabled.Aggregate(CgroupLimits.None, (all, c) => all | c.Limit);
        if (files.FileExists(Path.Combine(parent, "cgroup.freeze")))
        {
            enforced |= CgroupLimits.Freeze | CgroupLimits.Kill;
        }
        else
        {
            missing[CgroupLimits.Freeze] = "this kernel has no cgroup.freeze (it needs Linux 5.2 or later): a suspended workspace is stopped with SIGSTOP";
        }

        if (!files.FileExists(Path.Combine(parent, "cgroup.kill")) && !enforced.HasFlag(CgroupLimits.Kill))
        {
            missing[CgroupLimits.Kill] = "this kernel has neither cgroup.kill (Linux 5.14) nor cgroup.freeze (5.2): a terminal's leftovers are signalled one by one";
        }
        else
        {
            enforced |= CgroupLimits.Kill;
        }

        if (!parentExisted)
        {
            // Proven; made again (with its subtree_control) when the first process of a workspace starts.
            TryRemove(files, parent);
        }

        if ((enforced & (CgroupLimits.Memory | CgroupLimits.Processes | CgroupLimits.Cpu | CgroupLimits.Freeze)) == 0)
        {
            Undo(files, @base, undo);
            return (null, $"cgroup v2 at {mount} offers nothing Orchflow can use here: {Describe(missing)}");
        }

        return (new CgroupV2(files, parent, enabled.Select(c => c.Controller).ToList(), enforced, missing, placement, timeout ?? DefaultTimeout), null);
    }

    public IReadOnlyList<string> JoinFiles(string workspaceId) => [Path.Combine(Ensure(workspaceId), "cgroup.procs")];

    public void Apply(string workspaceId, long? memoryLimitBytes, int processLimit, int cpuShares)
    {
        var dir = Ensure(workspaceId);
        if (Enforced.HasFlag(CgroupLimits.Memory))
        {
            _files.Write(Path.Combine(dir, "memory.max"), memoryLimitBytes?.ToString(CultureInfo.InvariantCulture) ?? "max");
        }

        if (Enforced.HasFlag(CgroupLimits.Processes))
        {
            _files.Write(Path.Combine(dir, "pids.max"), processLimit.ToString(CultureInfo.InvariantCulture));
        }

        if (Enforced.HasFlag(CgroupLimits.Cpu))
        {
            _files.Write(Path.Combine(dir, "cpu.weight"), Weight(cpuShares).ToString(CultureInfo.InvariantCulture));
        }
    }

    public void ApplyTotal(long? memoryLimitBytes)
    {
        if (!Enforced.HasFlag(CgroupLimits.Memory) || (memoryLimitBytes is null && !_files.DirectoryExists(_parent)))
        {
            return;
        }

        EnsureParent();
        _files.Write(Path.Combine(_parent, "memory.max"), memoryLimitBytes?.ToString(CultureInfo.InvariantCulture) ?? "max");
    }

    public CgroupUsage? Usage(string workspaceId)
    {
        var dir = Path.Combine(_parent, workspaceId);
        if (!_files.DirectoryExists(dir))
        {
            return null;
        }

        bool memory = Enforced.HasFlag(CgroupLimits.Memory);
        var cpuUsec = _files.FileExists(Path.Combine(dir, "cpu.stat")) ? CgroupFiles.EventValue(_files.Read(Path.Combine(dir, "cpu.stat")), "usage_usec") ?? 0 : 0;
        return new CgroupUsage(
            memory ? ReadLong(Path.Combine(dir, "memory.current")) : null,
            Enforced.HasFlag(CgroupLimits.Processes) ? (int)ReadLong(Path.Combine(dir, "pids.current")) : Procs(dir).Count,
            cpuUsec * 1000,
            memory ? CgroupFiles.EventValue(_files.Read(Path.Combine(dir, "memory.events")), "oom_kill") ?? 0 : null);
    }

    public void Freeze(string workspaceId, bool frozen)
    {
        if (!Enforced.HasFlag(CgroupLimits.Freeze))
        {
            throw new InvalidOperationException($"cgroup v2 cannot freeze here: {NotEnforcedReason(CgroupLimits.Freeze)}");
        }

        var dir = Ensure(workspaceId);
        _files.Write(Path.Combine(dir, "cgroup.freeze"), frozen ? "1" : "0");
        if (!_files.WaitForEvent(Path.Combine(dir, "cgroup.events"), "frozen", frozen ? 1 : 0, _timeout))
        {
            throw new IOException($"The processes of workspace '{workspaceId}' did not all {(frozen ? "freeze" : "thaw")} within {_timeout.TotalSeconds} s (cgroup.events of {dir}).");
        }
    }

    public int KillAll(string workspaceId)
    {
        var dir = Path.Combine(_parent, workspaceId);
        if (!_files.DirectoryExists(dir))
        {
            return 0;
        }

        if (!_files.FileExists(Path.Combine(dir, "cgroup.kill")))
        {
            return KillWhere(workspaceId, pids => pids);
        }

        // The kernel kills the whole group at once, forks racing it included.
        var pids = Procs(dir);
        _files.Write(Path.Combine(dir, "cgroup.kill"), "1");
        return pids.Count;
    }

    public int KillWhere(string workspaceId, Func<IReadOnlyList<int>, IEnumerable<int>> select)
    {
        var dir = Path.Combine(_parent, workspaceId);
        if (!_files.DirectoryExists(dir))
        {
            return 0;
        }

        bool freeze = Enforced.HasFlag(CgroupLimits.Freeze);

        // A suspended workspace stays frozen: on v2 SIGKILL reaches a frozen process, so it need not be thawed to die.
        bool wasFrozen = freeze && _files.Read(Path.Combine(dir, "cgroup.freeze")).Trim() == "1";
        return CgroupKill.InRounds(
            () => Procs(dir),
            select,
            () =>
            {
                if (freeze)
                {
                    Freeze(workspaceId, true);
                }
            },
            () =>
            {
                if (freeze && !wasFrozen)
                {
                    Freeze(workspaceId, false);
                }
            });
    }

    public void Remove(string workspaceId)
    {
        var dir = Path.Combine(_parent, workspaceId);
        if (!_files.DirectoryExists(dir))
        {
            return;
        }

        // rmdir fails while a process is in the group: wait for the kernel to say it emptied (a killed process leaves it as it exits).
        try
        {
            if (_files.WaitForEvent(Path.Combine(dir, "cgroup.events"), "populated", 0, _timeout))
            {
                _files.RemoveDirectory(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public IReadOnlyList<string> Existing() =>
        _files.DirectoryExists(_parent)
            ? _files.Directories(_parent).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    public bool IsFrozen(string workspaceId)
    {
        var freeze = Path.Combine(_parent, workspaceId, "cgroup.freeze");
        return _files.FileExists(freeze) && _files.Read(freeze).Trim() == "1";
    }

    public void RemoveAll()
    {
        if (!_files.DirectoryExists(_parent))
        {
            return;
        }

        // The daemon is stopping and its terminals with it: whatever of a workspace is still in its group goes too.
        var workspaces = _files.Directories(_parent).Select(Path.GetFileName).OfType<string>().ToList();
        foreach (var id in workspaces)
        {
            try
            {
                KillAll(id);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
            }
        }

        foreach (var id in workspaces)
        {
            Remove(id);
        }

        TryRemove(_files, _parent);
    }

    private string Ensure(string workspaceId)
    {
        EnsureParent();
        var dir = Path.Combine(_parent, workspaceId);
        _files.CreateDirectory(dir);
        return dir;
    }

    private void EnsureParent()
    {
        lock (_gate)
        {
            if (_files.DirectoryExists(_parent))
            {
                return;
            }

            _files.CreateDirectory(_parent);
            if (_enabled.Count > 0)
            {
                // The same controllers the probe enabled here, for the workspace groups below.
                _files.Write(Path.Combine(_parent, "cgroup.subtree_control"), string.Join(' ', _enabled.Select(c => "+" + c)));
            }
        }
    }

    private List<int> Procs(string dir) =>
        _files.Read(Path.Combine(dir, "cgroup.procs")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList();

    private long ReadLong(string path) =>
        long.TryParse(_files.Read(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;

    /// <summary>Enables each controller in <paramref name="group"/>'s cgroup.subtree_control where it is not yet; returns those enabled there.</summary>
    private static List<(string Controller, CgroupLimits Limit)> Enable(CgroupFiles files, string group, List<(string Controller, CgroupLimits Limit)> wanted, Dictionary<CgroupLimits, string> missing, List<string>? undo)
    {
        var file = Path.Combine(group, "cgroup.subtree_control");
        var already = ReadList(files, file);
        var done = new List<(string, CgroupLimits)>();
        foreach (var (controller, limit) in wanted)
        {
            if (already.Contains(controller))
            {
                done.Add((controller, limit));
                continue;
            }

            try
            {
                files.Write(file, "+" + controller);
                undo?.Add(controller);
                done.Add((controller, limit));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                missing[limit] = CgroupFiles.Errno(e) switch
                {
                    CgroupFiles.EBUSY => $"not enabled for the children of {group}, which holds processes (cgroup v2's no-internal-process rule)",
                    CgroupFiles.EACCES => $"not enabled: {file} is not writable by this user, the group is not delegated to it (run the daemon as root, or in a group delegated to its user)",
                    CgroupFiles.ENOENT => $"not available in {group} (its cgroup.controllers does not list it)",
                    CgroupFiles.EOPNOTSUPP => $"not enabled for the children of {group}, a threaded group",
                    _ => $"not enabled: writing to {file} failed: {e.Message}",
                };
            }
        }

        return done;
    }

    private static void Undo(CgroupFiles files, string group, List<string> enabled)
    {
        foreach (var controller in enabled)
        {
            try
            {
                files.Write(Path.Combine(group, "cgroup.subtree_control"), "-" + controller);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Something else uses it by now; it stays enabled.
            }
        }
    }

    private static void TryRemove(CgroupFiles files, string dir)
    {
        try
        {
            files.RemoveDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Processes (or groups) are still in it.
        }
    }

    private static HashSet<string> ReadList(CgroupFiles files, string path)
    {
        try
        {
            return files.Read(path).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string Listing(HashSet<string> controllers) => controllers.Count == 0 ? "none" : string.Join(", ", controllers.Order(StringComparer.Ordinal));

    private static string Describe(string parent, CgroupLimits enforced, IReadOnlyDictionary<CgroupLimits, string> missing, string placement)
    {
        var text = $"cgroup v2 ({string.Join(", ", Names.Where(n => enforced.HasFlag(n.Limit)).Select(n => n.Name))}) in {parent}";
        if (placement.Length > 0)
        {
            text += $", {placement}";
        }

        if (missing.Count > 0)
        {
            text += "; not by the kernel: " + Describe(missing);
        }

        return text;
    }

    /// <summary>"memory, pids, cpu (why); freeze (why)": limits with the same reason together.</summary>
    private static string Describe(IReadOnlyDictionary<CgroupLimits, string> missing) =>
        string.Join("; ", Names.Where(n => missing.ContainsKey(n.Limit)).GroupBy(n => missing[n.Limit], StringComparer.Ordinal)
            .Select(g => $"{string.Join(", ", g.Select(n => n.Name))} ({g.Key})"));
}
