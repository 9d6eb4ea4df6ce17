using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Security;

/// <summary>
/// Sandboxes with Landlock, where bubblewrap cannot run (user namespaces refused by the kernel or a container). The
/// launcher is Orchflow's own <c>orchflow-landlock</c> (native/orchflow-landlock.c): it adds the rules this class
/// plans, drops every capability, sets no_new_privs, restricts itself and becomes the real program, keeping the
/// terminal and job control. Landlock has no namespaces, so what it can promise differs from bubblewrap's, and
/// <see cref="Promise"/> says exactly how:
/// <list type="bullet">
/// <item>Files: an allow-list of hierarchies. A path that must stay hidden below a granted one is carved out by granting
/// its siblings instead (<see cref="LandlockRules"/>); directories on the way to it can then not be listed. Landlock
/// does not restrict looking names up, so a hidden file's existence can be probed with stat, never its content.</item>
/// <item>Other processes: Landlock's ptrace rule stops reading /proc/&lt;pid&gt;/environ, cwd, root, fd and memory of
/// processes outside the sandbox and tracing them; signals need ABI 6 (scoping). They stay listed in /proc.</item>
/// <item>Network "none" (and an allow-list, which needs bubblewrap's network namespace): the launcher's seccomp filter
/// refuses every socket family but Unix and netlink, and io_uring; from ABI 4 Landlock refuses TCP bind and connect too.</item>
/// <item>Orchflow's socket can be connected to (Landlock does not restrict connecting to a named socket): the daemon
/// refuses clients that carry the no_new_privs mark when sandboxes are Landlock ones (<see cref="SandboxedPeers"/>).
/// Any other named socket it can name stays reachable, up to ABI 7 at least (<c>unix_sockets</c> says so).</item>
/// <item>Kernel files: /proc and /sys are read-only at both levels (each process's own /proc files included: Landlock
/// cannot carve /proc/sys out of /proc without a rule per process directory); /proc/keys and the like cannot be
/// masked for the same reason. clone3 is refused (its CLONE_INTO_CGROUP ignores file rules), and at strict the keyring
/// calls, and System V IPC gets a namespace of its own (a daemon with CAP_SYS_ADMIN) or is refused.</item>
/// </list>
/// </summary>
public sealed class LandlockBackend : IIsolationBackend
{
    /// <summary>Devices a strict sandbox may open besides its own terminal.</summary>
    private static readonly string[] Devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"];

    private readonly HostIsolation _host;
    private readonly Func<string, IEnumerable<string>> _children;

    /// <param name="host">What the machine offers.</param>
    /// <param name="children">How to list a directory (tests give a fixed tree).</param>
    /// <param name="ipcNamespace">Whether the launcher can make an IPC namespace (it starts with the daemon's capabilities:
    /// CAP_SYS_ADMIN, so a daemon running as root); else System V IPC is refused. By default, what this process holds.</param>
    public LandlockBackend(HostIsolation host, Func<string, IEnumerable<string>>? children = null, bool? ipcNamespace = null)
    {
        _host = host;
        _children = children ?? ListChildren;
        IpcNamespace = ipcNamespace ?? HoldsCapability(SysAdmin);
    }

    /// <summary>True when strict sandboxes get a System V IPC namespace of their own; false when the IPC calls are refused instead.</summary>
    public bool IpcNamespace { get; }

    private const int SysAdmin = 21;

    public IsolationMechanism Mechanism => IsolationMechanism.Landlock;

    public bool Available => _host.LandlockAvailable && _host.LandlockLauncher is not null;

    public string Description => Available
        ? $"Landlock ABI {Abi}"
        : $"Landlock unavailable ({_host.LandlockProblem ?? "not probed"})";

    private int Abi => _host.LandlockAbi ?? 0;

    private bool SignalsScoped => Abi >= 6;

    /// <summary>Where Landlock has network rules, TCP is refused twice.</summary>
    private string NetworkAlso => Abi >= 4 ? $"; TCP bind and connect are also refused by {Description}" : "";

    /// <summary>
    /// The launcher's options that do not depend on paths or level: no network (a seccomp filter, plus TCP rules from ABI
    /// 4), scoping (ABI 6), and clone3 refused (so that no process leaves its control groups).
    /// </summary>
    public static IEnumerable<string> Options(int abi, bool networkNone)
    {
        if (networkNone)
        {
            yield return "--net-none";
        }

        if (abi >= 6)
        {
            yield return "--scope";
        }

        yield return "--no-clone3";
    }

    public IReadOnlyList<string> Launcher(SandboxSpec spec)
    {
        if (!Available)
        {
            throw new InvalidOperationException(Description);
        }

        var a = new List<string> { _host.LandlockLauncher! };
        foreach (var rule in LandlockRules.Plan(Layers(spec), _children))
        {
            a.AddRange([rule.Access == LandlockAccess.Write ? "--rw" : "--ro", rule.Path]);
        }

        if (spec.Level == SandboxLevel.Strict)
        {
            foreach (var device in Devices)
            {
                a.AddRange(["--dev", device]);
            }

            a.Add("--own-tty");
            if (spec.PrivateTmp is { } tmp)
            {
                a.AddRange(["--setenv", "TMPDIR", tmp]);
            }
        }

        a.AddRange(Options(Abi, spec.Level == SandboxLevel.Strict && spec.Network != NetworkPolicy.Full));
        if (spec.Level == SandboxLevel.Strict)
        {
            a.AddRange(["--no-keyring", IpcNamespace ? "--ipc-namespace" : "--no-sysv-ipc"]);
        }

        a.Add("--");
        return a;
    }

    /// <summary>Whether this process holds a capability in its effective set (/proc/self/status); the launcher starts with the same.</summary>
    private static bool HoldsCapability(int capability)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
            return line is not null
                && ulong.TryParse(line["CapEff:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var caps)
                && (caps & (1UL << capability)) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// What each place should allow, as bubblewrap's mounts would: the most specific path decides, and among equal paths
    /// the later entry. Strict: everything readable, /tmp and /dev closed, the root and the writable paths writable.
    /// Confined: everything writable, the policy directory read-only. Hidden and restricted paths closed at both.
    /// </summary>
    internal static IReadOnlyList<(string Path, LandlockAccess Access)> Layers(SandboxSpec spec)
    {
        var layers = new List<(string, LandlockAccess)>();
        if (spec.Level == SandboxLevel.Strict)
        {
            layers.Add(("/", LandlockAccess.Read));
            layers.Add((Native.TryRealPath("/tmp") ?? "/tmp", LandlockAccess.None));
            layers.Add(("/dev", LandlockAccess.None));
            layers.Add((spec.Root, LandlockAccess.Write));
            if (spec.PrivateTmp is { } tmp)
            {
                layers.Add((tmp, LandlockAccess.Write));
            }
        }
        else
        {
            layers.Add(("/", LandlockAccess.Write));
        }

        // The kernel's files: settings (/proc/sys), control groups (/sys/fs/cgroup) and the rest, read-only. /proc as a
        // whole, because carving /proc/sys out of a writable /proc takes a rule per process directory (and misses the
        // processes started later, this one's own included).
        layers.Add(("/proc", LandlockAccess.Read));
        layers.Add(("/sys", LandlockAccess.Read));
        layers.AddRange(spec.Hidden.Select(p => (p, LandlockAccess.None)));
        layers.AddRange(spec.Restricted.Select(p => (p, LandlockAccess.None)));
        layers.AddRange(spec.Writable.Select(p => (p, LandlockAccess.Write)));
        layers.AddRange(spec.ReadOnly.Select(p => (p, LandlockAccess.Read)));
        return layers;
    }

    public IsolationFeature Promise(string name, SecurityPolicy policy) => name switch
    {
        "restricted_paths" => new()
        {
            Name = name,
            Enforced = true,
            Detail = $"{string.Join(", ", policy.RestrictedPaths)}: cannot be opened, listed, written or executed by the workspace's processes ({Description}); their names can still be probed with stat, and directories on the way to them cannot be listed; a path that does not exist when a process starts is not protected",
        },
        "policy_file" => new()
        {
            Name = name,
            Enforced = true,
            Detail = $"the workspace's .orchflow/ directory is read-only to its processes ({Description}), so they cannot change their own tier; the cost of doing it with Landlock: they cannot create entries directly in the workspace root or in the directories above it (only in subdirectories), and in such a directory of more than {LandlockRules.MaxSiblingRules} entries the others are read-only",
        },
        "filesystem" => new()
        {
            Name = name,
            Enforced = true,
            Detail = $"by {Description}: the workspace root is writable and the rest of the file system read-only; other workspaces' roots and Orchflow's own files (database, logs, config) cannot be opened or listed, though names can be probed with stat; /tmp is closed except this workspace's own $TMPDIR; Orchflow's socket refuses sandboxed clients (the no_new_privs mark); directories on the way to a hidden path cannot be listed, / included",
        },
        "processes" => new()
        {
            Name = name,
            Enforced = false,
            Detail = "NOT enforced: Landlock has no PID namespace, so other workspaces' processes stay listed in /proc with their command lines, and what a terminal leaves running ends only with the workspace's control group"
                + (SignalsScoped
                    ? "; enforced: their environment, cwd, root, descriptors and memory cannot be read, they cannot be traced or signalled, and every capability is dropped"
                    : "; they can be signalled (Landlock before ABI 6 cannot scope signals); enforced: their environment, cwd, root, descriptors and memory cannot be read, they cannot be traced, and every capability is dropped"),
        },
        "terminals" => new()
        {
            Name = name,
            Enforced = true,
            Detail = $"by {Description}: of /dev only the workspace's own terminal, /dev/tty, null, zero, full, random and urandom can be opened; no other terminal (and no new one: programs that open a terminal of their own, such as tmux, fail)",
        },
        "network" => policy.Network switch
        {
            NetworkPolicy.Full => new() { Name = name, Enforced = true, Detail = "full: the host's network (as requested)" },
            NetworkPolicy.None when !SignalsScoped => new()
            {
                Name = name,
                Enforced = false,
                Detail = $"none requested: NOT enforced whole: no network socket can be made (a seccomp filter refuses every socket family but Unix and netlink, and io_uring){NetworkAlso}, but {Description} cannot scope abstract Unix sockets (ABI 6 can), so the host's stay reachable",
            },
            NetworkPolicy.None => new() { Name = name, Enforced = true, Detail = $"none: no network socket can be made (a seccomp filter refuses every socket family but Unix and netlink, and io_uring){NetworkAlso}; abstract Unix sockets outside the sandbox cannot be reached (scoped by {Description}); named Unix sockets: see unix_sockets" },
            _ => new()
            {
                Name = name,
                Enforced = true,
                Detail = $"allowlist requested ({string.Join(", ", policy.AllowedHosts)}): enforced as none, because Landlock cannot tell hosts apart and the allow-list relay needs bubblewrap's network namespace; no host is reachable{NetworkAlso}",
            },
        },
        "kernel_interfaces" => new()
        {
            Name = name,
            Enforced = true,
            Detail = $"/proc and /sys are read-only to the workspace's processes ({Description}): kernel settings (/proc/sys) and control groups (/sys/fs/cgroup) included, and each process's own /proc files too (Landlock cannot carve /proc/sys out of /proc); every capability is dropped, so no module can be loaded, no kernel log read, nothing mounted. Not masked: /proc/keys, /proc/timer_list and the like stay readable (masking a file of /proc takes a rule per process directory)"
                + (policy.Tier == SecurityTier.Strict
                    ? "; of /dev only the terminal and the harmless devices can be opened"
                    : "; at tier enhanced the host's devices stay reachable: a device node the daemon's user may open (a virtual console, when it runs as root) can be opened"),
        },
        "control_groups" => new()
        {
            Name = name,
            Enforced = true,
            Detail = $"the workspace's processes cannot leave its control groups (and so its limits): /sys/fs/cgroup is read-only ({Description}) and clone3 is refused (its CLONE_INTO_CGROUP would start a child in any cgroup v2 group whose directory it can open, which file rules do not stop; programs fall back to clone)",
        },
        "ipc" => new()
        {
            Name = name,
            Enforced = true,
            Detail = (IpcNamespace
                    ? "own System V IPC namespace (shared memory, semaphores, message queues; the launcher makes it with the daemon's CAP_SYS_ADMIN): other workspaces' segments cannot be seen or attached"
                    : "the System V IPC calls (shmget, shmat, shmctl, msgget, msgsnd, msgrcv, msgctl, semget, semop, semtimedop, semctl) are refused by a seccomp filter, since without CAP_SYS_ADMIN the launcher cannot make an IPC namespace: other workspaces' segments cannot be attached, and programs that need System V IPC fail")
                + $"; POSIX message queues cannot be opened ({Description} denies their file system); the kernel's keyrings are out of reach (keyctl, add_key and request_key are refused: the user keyrings of the daemon's uid, and the session keyring, would otherwise be shared); key names stay listed in /proc/keys",
        },
        "unix_sockets" => new()
        {
            Name = name,
            Enforced = false,
            Detail = $"NOT enforced: {Description} does not govern connecting to a named Unix socket (no Landlock ABI up to 7 does), so a socket in another workspace's root, in /tmp or anywhere it can name is reachable, although the file rules keep those directories from being listed; under bubblewrap they are not mounted at all",
        },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a sandbox promise"),
    };

    /// <summary>A directory's entries, read lazily (a crowded one is not read to the end); none when it cannot be read.</summary>
    private static IEnumerable<string> ListChildren(string directory)
    {
        IEnumerator<string>? entries = null;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(directory).GetEnumerator();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        if (entries is null)
        {
            yield break;
        }

        using (entries)
        {
            while (true)
            {
                bool more;
                try
                {
                    more = entries.MoveNext();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    more = false;
                }

                if (!more)
                {
                    yield break;
                }

                yield return entries.Current;
            }
        }
    }
}

public enum LandlockAccess
{
    None,
    Read,
    Write,
}

/// <summary>
/// Turns "this place allows that" into Landlock rules. A Landlock rule grants its rights to the whole hierarchy under a
/// path, and rights only add up, so a place that must allow less than its parent cannot be carved out of a rule on the
/// parent: the parent gets no rule, and each of its children gets the parent's access, except the ones on the way to
/// the narrower place, which are planned the same way; the parent itself gets only what every place below it allows.
/// The cost: a directory on the way to a narrower place cannot get new entries (a workspace root whose .orchflow/ is
/// read-only cannot get new files directly in it, only in its subdirectories), and in a directory of more than
/// <see cref="MaxSiblingRules"/> entries that its own rule lets be read, the other entries stay read-only (each would
/// be a rule of its own). Pure, given how to list a directory.
/// </summary>
public static class LandlockRules
{
    public readonly record struct Rule(string Path, LandlockAccess Access);

    /// <summary>Beyond this many entries, a directory whose own rule lets its entries be read grants them nothing more one by one.</summary>
    public const int MaxSiblingRules = 256;

    public static IReadOnlyList<Rule> Plan(IReadOnlyList<(string Path, LandlockAccess Access)> layers, Func<string, IEnumerable<string>> children)
    {
        // The most specific path decides; for the same path, the later layer.
        var decided = new Dictionary<string, LandlockAccess>(StringComparer.Ordinal);
        foreach (var (path, access) in layers)
        {
            decided[Trim(path)] = access;
        }

        if (!decided.ContainsKey("/"))
        {
            decided["/"] = LandlockAccess.None;
        }

        var rules = new List<Rule>();
        Visit("/", LandlockAccess.None);
        return rules;

        LandlockAccess Desired(string path)
        {
            for (var p = path; ; p = Parent(p))
            {
                if (decided.TryGetValue(p, out var access))
                {
                    return access;
                }
            }
        }

        // Invariant: `inherited` (what rules above already grant here) is at most what any place at or below wants.
        void Visit(string dir, LandlockAccess inherited)
        {
            var want = Desired(dir);
            var below = decided.Keys.Where(p => IsStrictlyInside(p, dir)).ToList();
            if (below.All(p => decided[p] >= want))
            {
                if (want > inherited)
                {
                    rules.Add(new Rule(dir, want));
                }

                // Places below that want more get their own rules (on top of this one).
                foreach (var top in below.Where(p => !below.Any(o => o != p && IsStrictlyInside(p, o))))
                {
                    Visit(top, want > inherited ? want : inherited);
                }

                return;
            }

            // The directory itself gets what every place below it allows (listing the workspace root whose .orchflow/
            // is read-only, say), so that only the rest has to be granted child by child.
            var floor = below.Select(p => decided[p]).Append(want).Min();
            if (floor > inherited)
            {
                rules.Add(new Rule(dir, floor));
                inherited = floor;
            }

            // The children listed, and those on the way to each narrower place (listed or not: one created later, or
            // a listing that failed, must not lose a place that wants more; the launcher skips what does not exist).
            var onTheWay = below.Select(p => NextStep(dir, p)).Distinct(StringComparer.Ordinal).ToList();
            // Each sibling is a rule of its own, and rules cost the launcher time (a directory of thousands, such as a
            // busy /tmp, costs tens of milliseconds per spawn). Where the directory's own rule already lets siblings
            // be read, a crowded directory's siblings keep just that: readable, not writable (and it is not even
            // listed to the end).
            var listed = children(dir).Select(Trim).Take(MaxSiblingRules + 1).ToList();
            bool grantSiblings = listed.Count <= MaxSiblingRules || floor == LandlockAccess.None;
            if (listed.Count > MaxSiblingRules && grantSiblings)
            {
                listed = children(dir).Select(Trim).ToList();
            }

            foreach (var child in (grantSiblings ? listed : []).Concat(onTheWay).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                if (below.Any(p => p == child || IsStrictlyInside(p, child)))
                {
                    Visit(child, inherited);
                }
                else if (want > inherited)
                {
                    rules.Add(new Rule(child, want));
                }
            }

        }
    }

    /// <summary>The child of <paramref name="dir"/> on the way to <paramref name="path"/> (strictly inside it).</summary>
    private static string NextStep(string dir, string path)
    {
        int start = dir == "/" ? 1 : dir.Length + 1;
        int slash = path.IndexOf('/', start);
        return slash < 0 ? path : path[..slash];
    }

    private static string Trim(string path) => path.Length > 1 ? path.TrimEnd('/') : path;

    private static string Parent(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    private static bool IsStrictlyInside(string path, string dir) =>
        path != dir && path.StartsWith(dir == "/" ? "/" : dir + "/", StringComparison.Ordinal);
}
