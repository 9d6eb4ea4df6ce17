using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Orchflow.Server.Limits;

public enum CgroupVersion
{
    None,
    V1,
    V2,
}

/// <summary>A workspace's figures as its control group counts them (every process it ever started, daemonized ones included).</summary>
public sealed record CgroupUsage(long MemoryBytes, int Processes, long CpuNanoseconds, long OomKills);

/// <summary>
/// Control groups for workspaces: one group per workspace under a parent of this daemon's (so that two daemons with
/// different homes never share a group), nested inside the daemon's own group in each hierarchy (so that limits set on
/// the daemon still hold). Each process joins its workspace's group before it runs anything (<see cref="JoinFiles"/>).
/// </summary>
public interface ICgroupDriver
{
    CgroupVersion Version { get; }

    /// <summary>e.g. "cgroup v1 (memory, pids, cpu, cpuacct, freezer)", or why none is usable.</summary>
    string Description { get; }

    bool Usable { get; }

    /// <summary>The files a process writes its pid into to join the workspace's groups (creating them on first use).</summary>
    IReadOnlyList<string> JoinFiles(string workspaceId);

    /// <summary>Sets the workspace's limits: memory in bytes (null: none), processes, CPU weight in cpu.shares units (1024 normal).</summary>
    void Apply(string workspaceId, long? memoryLimitBytes, int processLimit, int cpuShares);

    /// <summary>Sets the limit of all workspaces together (total_memory_limit), on the daemon's parent group.</summary>
    void ApplyTotal(long? memoryLimitBytes);

    /// <summary>The workspace's figures, or null when it has no group yet.</summary>
    CgroupUsage? Usage(string workspaceId);

    /// <summary>Freezes (or thaws) every process of the workspace at once; returns when the kernel reports it done.</summary>
    void Freeze(string workspaceId, bool frozen);

    /// <summary>Kills every process of the workspace, a fork bomb included (frozen first, so none can fork meanwhile). Returns how many.</summary>
    int KillAll(string workspaceId);

    /// <summary>As <see cref="KillAll"/>, for the processes of the workspace that <paramref name="select"/> picks (given the frozen group's pids).</summary>
    int KillWhere(string workspaceId, Func<IReadOnlyList<int>, IEnumerable<int>> select);

    void Remove(string workspaceId);

    /// <summary>At the daemon's end: kills what is left in this daemon's groups and removes them (best effort: zombies not yet reaped keep a group).</summary>
    void RemoveAll();
}

/// <summary>No usable control groups: the daemon's watchdog enforces limits on measured figures.</summary>
public sealed class NoCgroups(string why) : ICgroupDriver
{
    public CgroupVersion Version => CgroupVersion.None;

    public string Description => why;

    public bool Usable => false;

    public IReadOnlyList<string> JoinFiles(string workspaceId) => [];

    public void Apply(string workspaceId, long? memoryLimitBytes, int processLimit, int cpuShares)
    {
    }

    public void ApplyTotal(long? memoryLimitBytes)
    {
    }

    public CgroupUsage? Usage(string workspaceId) => null;

    public void Freeze(string workspaceId, bool frozen)
    {
    }

    public int KillAll(string workspaceId) => 0;

    public int KillWhere(string workspaceId, Func<IReadOnlyList<int>, IEnumerable<int>> select) => 0;

    public void Remove(string workspaceId)
    {
    }

    public void RemoveAll()
    {
    }
}

/// <summary>
/// cgroup v1, as on this machine: one hierarchy per controller (memory, pids, cpu, cpuacct, freezer). Writable as root
/// (measured: memory.limit_in_bytes OOM-kills inside the group, pids.max makes fork fail, cpu.shares weighs CPU).
/// </summary>
public sealed class CgroupV1 : ICgroupDriver
{
    public static readonly string[] Controllers = ["memory", "pids", "cpu", "cpuacct", "freezer"];

    /// <summary>How long to wait for a freeze to settle (FREEZING → FROZEN); a group that takes longer is reported, not waited for forever.</summary>
    private static readonly TimeSpan FreezeTimeout = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyDictionary<string, string> _parents;

    private CgroupV1(IReadOnlyDictionary<string, string> parents)
    {
        _parents = parents;
    }

    public CgroupVersion Version => CgroupVersion.V1;

    public string Description => $"cgroup v1 ({string.Join(", ", Controllers)})";

    public bool Usable => true;

    /// <summary>The driver when every controller is mounted and a group can be made under the daemon's own; else why not.</summary>
    public static (ICgroupDriver? Driver, string? Problem) TryCreate(IReadOnlyList<CgroupMount> mounts, IReadOnlyDictionary<string, string> ownPaths, string daemonKey)
    {
        var parents = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var controller in Controllers)
        {
            var mount = mounts.FirstOrDefault(m => m.Version == CgroupVersion.V1 && m.Controllers.Contains(controller));
            if (mount is null)
            {
                return (null, $"cgroup v1 controller {controller} is not mounted");
            }

            var own = ownPaths.GetValueOrDefault(string.Join(',', mount.Controllers.Order(StringComparer.Ordinal)))
                ?? ownPaths.FirstOrDefault(p => p.Key.Split(',').Contains(controller)).Value ?? "/";
            var parent = Path.Combine(mount.Path + own, daemonKey);
            try
            {
                // Proves that groups can be made here; the daemon's own are made when its first process starts.
                bool existed = Directory.Exists(parent);
                Directory.CreateDirectory(parent);
                if (!existed)
                {
                    Directory.Delete(parent);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"cannot create a control group in {mount.Path + own}: {e.Message} (cgroups need root or a delegated hierarchy)");
            }

            parents[controller] = parent;
        }

        return (new CgroupV1(parents), null);
    }

    public IReadOnlyList<string> JoinFiles(string workspaceId) =>
        Controllers.Select(c => Path.Combine(Ensure(c, workspaceId), "cgroup.procs")).Distinct(StringComparer.Ordinal).ToList();

    public void Apply(string workspaceId, long? memoryLimitBytes, int processLimit, int cpuShares)
    {
        Write(Path.Combine(Ensure("memory", workspaceId), "memory.limit_in_bytes"), memoryLimitBytes?.ToString(CultureInfo.InvariantCulture) ?? "-1");
        Write(Path.Combine(Ensure("pids", workspaceId), "pids.max"), processLimit.ToString(CultureInfo.InvariantCulture));
        Write(Path.Combine(Ensure("cpu", workspaceId), "cpu.shares"), Math.Clamp(cpuShares, 2, 262_144).ToString(CultureInfo.InvariantCulture));
    }

    public void ApplyTotal(long? memoryLimitBytes)
    {
        if (memoryLimitBytes is null && !Directory.Exists(_parents["memory"]))
        {
            return; // nothing to undo in a group that does not exist yet
        }

        Directory.CreateDirectory(_parents["memory"]);
        TryWrite(Path.Combine(_parents["memory"], "memory.use_hierarchy"), "1");
        Write(Path.Combine(_parents["memory"], "memory.limit_in_bytes"), memoryLimitBytes?.ToString(CultureInfo.InvariantCulture) ?? "-1");
    }

    public CgroupUsage? Usage(string workspaceId)
    {
        var memory = Path.Combine(_parents["memory"], workspaceId);
        if (!Directory.Exists(memory))
        {
            return null;
        }

        long oomKills = 0;
        foreach (var line in ReadLines(Path.Combine(memory, "memory.oom_control")))
        {
            if (line.StartsWith("oom_kill ", StringComparison.Ordinal))
            {
                oomKills = long.Parse(line["oom_kill ".Length..], CultureInfo.InvariantCulture);
            }
        }

        return new CgroupUsage(
            ReadLong(Path.Combine(memory, "memory.usage_in_bytes")),
            (int)ReadLong(Path.Combine(_parents["pids"], workspaceId, "pids.current")),
            ReadLong(Path.Combine(_parents["cpuacct"], workspaceId, "cpuacct.usage")),
            oomKills);
    }

    public void Freeze(string workspaceId, bool frozen)
    {
        var state = Path.Combine(Ensure("freezer", workspaceId), "freezer.state");
        Write(state, frozen ? "FROZEN" : "THAWED");
        var deadline = DateTime.UtcNow + FreezeTimeout;
        while (frozen && File.ReadAllText(state).Trim() != "FROZEN")
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new IOException($"The processes of workspace '{workspaceId}' did not all freeze within {FreezeTimeout.TotalSeconds} s.");
            }

            Thread.Sleep(5);
            Write(state, "FROZEN");
        }
    }

    public int KillAll(string workspaceId) => KillWhere(workspaceId, pids => pids);

    public int KillWhere(string workspaceId, Func<IReadOnlyList<int>, IEnumerable<int>> select)
    {
        var procs = Path.Combine(_parents["freezer"], workspaceId, "cgroup.procs");
        if (!File.Exists(procs))
        {
            return 0;
        }

        int killed = 0;
        for (int round = 0; round < 20; round++)
        {
            Freeze(workspaceId, true);
            var victims = select(ReadLines(procs).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList()).ToList();
            foreach (var pid in victims)
            {
                if (Hosting.Native.Kill(pid, 9) == 0)
                {
                    killed++;
                }
            }

            // A frozen process dies of SIGKILL only once thawed.
            Freeze(workspaceId, false);
            if (victims.Count == 0)
            {
                break;
            }

            Thread.Sleep(10);
        }

        return killed;
    }

    public void Remove(string workspaceId)
    {
        foreach (var controller in Controllers)
        {
            var dir = Path.Combine(_parents[controller], workspaceId);
            try
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir); // rmdir: the kernel refuses while processes remain
                }
            }
            catch (IOException)
            {
            }
        }
    }

    public void RemoveAll()
    {
        if (!Directory.Exists(_parents["freezer"]))
        {
            return;
        }

        // The daemon is stopping and its terminals with it: whatever of a workspace is still in its group goes too.
        foreach (var dir in Directory.EnumerateDirectories(_parents["freezer"]))
        {
            try
            {
                KillAll(Path.GetFileName(dir));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        foreach (var parent in _parents.Values.Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            try
            {
                foreach (var dir in Directory.EnumerateDirectories(parent))
                {
                    TryRemoveDirectory(dir);
                }

                TryRemoveDirectory(parent);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        static void TryRemoveDirectory(string dir)
        {
            try
            {
                Directory.Delete(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Processes (or not yet reaped zombies) are still in it.
            }
        }
    }

    private string Ensure(string controller, string workspaceId)
    {
        var parent = _parents[controller];
        if (!Directory.Exists(parent))
        {
            Directory.CreateDirectory(parent);
            if (controller == "memory")
            {
                // Charge children to the parent too, so that total_memory_limit covers every workspace.
                TryWrite(Path.Combine(parent, "memory.use_hierarchy"), "1");
            }
        }

        var dir = Path.Combine(parent, workspaceId);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void Write(string path, string value) => File.WriteAllText(path, value);

    private static void TryWrite(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
        }
        catch (IOException)
        {
            // use_hierarchy cannot change once the group has children; it is already what it will stay.
        }
    }

    private static long ReadLong(string path) =>
        long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static IEnumerable<string> ReadLines(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0);
}

/// <summary>A cgroup file system mount: its path, version and (v1) controllers.</summary>
public sealed record CgroupMount(string Path, CgroupVersion Version, IReadOnlyList<string> Controllers);

/// <summary>Finds which control groups this machine has and whether this daemon may use them. Measured, never assumed.</summary>
public static class CgroupProbe
{
    /// <summary>"off" makes the daemon enforce limits with its watchdog only (for machines whose control groups misbehave, and to measure the watchdog).</summary>
    public const string Variable = "ORCHFLOW_CGROUPS";

    public static ICgroupDriver Detect(string dataDirectory, string? setting = null)
    {
        if (string.Equals(setting, "off", StringComparison.OrdinalIgnoreCase))
        {
            return new NoCgroups($"control groups turned off by {Variable}=off");
        }

        try
        {
            var mounts = Mounts(File.ReadAllLines("/proc/self/mounts"));
            var own = OwnPaths(File.ReadAllLines("/proc/self/cgroup"));
            var key = DaemonKey(dataDirectory);
            var v2 = mounts.FirstOrDefault(m => m.Version == CgroupVersion.V2);
            bool v2HasControllers = v2 is not null && ReadControllers(v2.Path).Contains("memory");
            if (v2HasControllers)
            {
                return new NoCgroups($"cgroup v2 with controllers at {v2!.Path}: Orchflow drives only cgroup v1 so far; the daemon's watchdog enforces the limits");
            }

            var (driver, problem) = CgroupV1.TryCreate(mounts, own, key);
            return driver ?? new NoCgroups(problem ?? "no usable control groups");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new NoCgroups($"control groups could not be inspected: {e.Message}");
        }
    }

    /// <summary>A name for this daemon's parent group, stable for its data directory and unique among homes.</summary>
    public static string DaemonKey(string dataDirectory) =>
        "orchflow-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataDirectory)))[..12];

    internal static IReadOnlyList<CgroupMount> Mounts(IEnumerable<string> lines)
    {
        var mounts = new List<CgroupMount>();
        foreach (var line in lines)
        {
            var f = line.Split(' ');
            if (f.Length < 4)
            {
                continue;
            }

            if (f[2] == "cgroup2")
            {
                mounts.Add(new CgroupMount(f[1], CgroupVersion.V2, []));
            }
            else if (f[2] == "cgroup")
            {
                var controllers = f[3].Split(',').Where(o => CgroupV1.Controllers.Contains(o)).ToList();
                if (controllers.Count > 0)
                {
                    mounts.Add(new CgroupMount(f[1], CgroupVersion.V1, controllers));
                }
            }
        }

        return mounts;
    }

    /// <summary>/proc/self/cgroup: "ID:controllers:path" per hierarchy; the key is the sorted controller list.</summary>
    internal static IReadOnlyDictionary<string, string> OwnPaths(IEnumerable<string> lines)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && parts[1].Length > 0)
            {
                paths[string.Join(',', parts[1].Split(',').Order(StringComparer.Ordinal))] = parts[2] == "/" ? "" : parts[2];
            }
        }

        return paths;
    }

    private static HashSet<string> ReadControllers(string path)
    {
        try
        {
            return File.ReadAllText(Path.Combine(path, "cgroup.controllers")).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
