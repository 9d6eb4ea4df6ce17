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

/// <summary>
/// What the kernel can do for a workspace through its control group. A driver may offer only some (cgroup v2 with a
/// controller not enabled or not delegated to the daemon's group); the daemon's watchdog holds the limits it does not.
/// </summary>
[Flags]
public enum CgroupLimits
{
    None = 0,

    /// <summary>memory_limit (v1 memory.limit_in_bytes, v2 memory.max) and total_memory_limit.</summary>
    Memory = 1,

    /// <summary>process_limit (pids.max).</summary>
    Processes = 2,

    /// <summary>CPU weights (v1 cpu.shares, v2 cpu.weight).</summary>
    Cpu = 4,

    /// <summary>Suspending a workspace at once (v1 freezer, v2 cgroup.freeze).</summary>
    Freeze = 8,

    /// <summary>Killing every process of the workspace, or the ones picked, daemonized ones included (v2 cgroup.kill, or freeze and SIGKILL).</summary>
    Kill = 16,

    All = Memory | Processes | Cpu | Freeze | Kill,
}

/// <summary>
/// A workspace's figures as its control group counts them (every process it ever started, daemonized ones included).
/// Memory and OOM kills are null when the memory controller is not the driver's (<see cref="CgroupLimits.Memory"/>).
/// </summary>
public sealed record CgroupUsage(long? MemoryBytes, int Processes, long CpuNanoseconds, long? OomKills);

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

    /// <summary>True when workspace processes join groups of this driver (<see cref="JoinFiles"/> is not empty).</summary>
    bool Usable { get; }

    /// <summary>What the kernel enforces through these groups; the governor's watchdog (or SIGSTOP) takes the rest.</summary>
    CgroupLimits Enforced { get; }

    /// <summary>Why the kernel does not enforce <paramref name="limit"/> here (one flag), or null when it does.</summary>
    string? NotEnforcedReason(CgroupLimits limit);

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

    /// <summary>The workspaces that have a group of this daemon's home now: at start, those a daemon that did not stop cleanly left behind.</summary>
    IReadOnlyList<string> Existing();

    /// <summary>Whether the workspace's group is frozen (false when it has none).</summary>
    bool IsFrozen(string workspaceId);

    /// <summary>At the daemon's end: kills what is left in this daemon's groups and removes them (best effort: zombies not yet reaped keep a group).</summary>
    void RemoveAll();
}

/// <summary>
/// No usable control groups: the daemon's watchdog enforces limits on measured figures. Its group operations do
/// nothing; a driver that only reports (a test's) derives from it and overrides what it says about itself.
/// </summary>
public class NoCgroups(string why) : ICgroupDriver
{
    public virtual CgroupVersion Version => CgroupVersion.None;

    public virtual string Description => why;

    public virtual bool Usable => false;

    public virtual CgroupLimits Enforced => CgroupLimits.None;

    public virtual string? NotEnforcedReason(CgroupLimits limit) => why;

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

    public IReadOnlyList<string> Existing() => [];

    public bool IsFrozen(string workspaceId) => false;

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

    public CgroupLimits Enforced => CgroupLimits.All;

    public string? NotEnforcedReason(CgroupLimits limit) => null;

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

        // A frozen process dies of SIGKILL only once thawed: each round ends thawed.
        return CgroupKill.InRounds(
            () => ReadLines(procs).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList(),
            select,
            () => Freeze(workspaceId, true),
            () => Freeze(workspaceId, false));
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

    public IReadOnlyList<string> Existing() =>
        _parents.Values.Distinct(StringComparer.Ordinal).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories).Select(Path.GetFileName).OfType<string>()
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    public bool IsFrozen(string workspaceId)
    {
        var state = Path.Combine(_parents["freezer"], workspaceId, "freezer.state");
        return File.Exists(state) && File.ReadAllText(state).Trim() != "THAWED";
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

/// <summary>Killing the processes of a group that a selection picks, for every driver.</summary>
internal static class CgroupKill
{
    /// <summary>
    /// Kills in rounds until the selection finds none (at most 20, 10 ms apart): a fork bomb's children appear between
    /// a listing and the kills. <paramref name="beforeRound"/> and <paramref name="afterRound"/> freeze and thaw around
    /// each listing, so nothing forks while it is read. Returns how many were killed.
    /// </summary>
    public static int InRounds(Func<IReadOnlyList<int>> processes, Func<IReadOnlyList<int>, IEnumerable<int>> select, Action beforeRound, Action afterRound)
    {
        int killed = 0;
        for (int round = 0; round < 20; round++)
        {
            beforeRound();
            var victims = select(processes()).ToList();
            foreach (var pid in victims)
            {
                if (Hosting.Native.Kill(pid, 9) == 0)
                {
                    killed++;
                }
            }

            afterRound();
            if (victims.Count == 0)
            {
                break;
            }

            Thread.Sleep(10);
        }

        return killed;
    }
}

/// <summary>A cgroup file system mount: its path, version and (v1) controllers.</summary>
public sealed record CgroupMount(string Path, CgroupVersion Version, IReadOnlyList<string> Controllers);

/// <summary>Finds which control groups this machine has and whether this daemon may use them. Measured, never assumed.</summary>
public static class CgroupProbe
{
    /// <summary>
    /// Unset (or "auto"): detect. "off": the daemon's watchdog only (for machines whose control groups misbehave, and to
    /// measure the watchdog). "v1" or "v2": that version only; when it cannot be used, the watchdog, with the reason.
    /// </summary>
    public const string Variable = "ORCHFLOW_CGROUPS";

    /// <summary>
    /// cgroup v1 where v1 controllers are mounted (hybrid machines, as this one: their v2 mount has no controllers Orchflow
    /// uses); cgroup v2 on a pure v2 machine (or when v1 cannot be used and a v2 mount exists); else the watchdog.
    /// </summary>
    public static ICgroupDriver Detect(string dataDirectory, string? setting = null)
    {
        var mode = (setting ?? "").Trim().ToLowerInvariant();
        if (mode == "off")
        {
            return new NoCgroups($"control groups turned off by {Variable}=off");
        }

        if (mode is not ("" or "auto" or "v1" or "v2"))
        {
            return new NoCgroups($"{Variable}={setting} is not one of auto, off, v1, v2 (unset it to detect the control groups)");
        }

        try
        {
            return Detect(File.ReadAllLines("/proc/self/mounts"), File.ReadAllLines("/proc/self/cgroup"), DaemonKey(dataDirectory), mode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new NoCgroups($"control groups could not be inspected: {e.Message}");
        }
    }

    internal static ICgroupDriver Detect(IEnumerable<string> procSelfMounts, IReadOnlyList<string> procSelfCgroup, string key, string mode, CgroupFiles? files = null)
    {
        var mounts = Mounts(procSelfMounts);
        var v2 = mounts.FirstOrDefault(m => m.Version == CgroupVersion.V2);
        bool hasV1 = mounts.Any(m => m.Version == CgroupVersion.V1);
        string? v1Problem = null;
        if (mode == "v1" || (mode is "" or "auto" && hasV1))
        {
            var (driver, problem) = CgroupV1.TryCreate(mounts, OwnPaths(procSelfCgroup), key);
            if (driver is not null)
            {
                return driver;
            }

            v1Problem = problem;
            if (mode == "v1")
            {
                return new NoCgroups($"{Variable}=v1, but {problem}");
            }
        }

        string? v2Problem;
        if (v2 is null)
        {
            v2Problem = "no cgroup2 file system is mounted";
        }
        else if (OwnV2Path(procSelfCgroup) is not { } own)
        {
            v2Problem = "/proc/self/cgroup has no cgroup v2 line (0::)";
        }
        else
        {
            var (driver, problem) = CgroupV2.TryCreate(v2.Path, own, key, files);
            if (driver is not null)
            {
                return driver;
            }

            v2Problem = problem;
        }

        return new NoCgroups(mode == "v2"
            ? $"{Variable}=v2, but {v2Problem}"
            : string.Join("; ", new[] { v1Problem, hasV1 ? null : "no cgroup v1 controller is mounted", v2Problem }.OfType<string>()));
    }

    /// <summary>The daemon's own cgroup v2 group: the path of the "0::" line of /proc/self/cgroup, or null.</summary>
    internal static string? OwnV2Path(IEnumerable<string> lines) =>
        lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..].Trim();

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
}
