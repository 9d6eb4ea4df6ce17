using Orchflow.Protocol;

namespace Orchflow.Server.Security;

/// <summary>
/// Sandboxes with bubblewrap. Design notes, each measured on this machine (see docs/isolation.md and docs/benchmarks.md):
/// <list type="bullet">
/// <item>bwrap is the program the PTY layer spawns (the session leader, owning the terminal); the real program follows
/// <c>--</c>. No <c>--new-session</c>: it would cost job control (Ctrl+C, Ctrl+Z, <c>fg</c>). That flag exists against
/// TIOCSTI, which pushes input into the caller's terminal; here the terminal's only readers are inside the same sandbox
/// (the daemon holds the master side and never reads the slave), so injected input can only reach the workspace's own
/// processes. What protects other workspaces' terminals is the private /dev: <c>--dev</c> mounts a fresh devpts in
/// which no other terminal exists, and the sandbox's own terminal appears only as /dev/console and /dev/tty.</item>
/// <item>Running as root, bwrap keeps every capability unless told otherwise, and a capable process could unmount what
/// hides other roots: <c>--cap-drop ALL</c> always. <c>--unshare-user</c> plus <c>--disable-userns</c>: no capabilities
/// can be regained in a nested user namespace.</item>
/// <item>A private PID namespace at every level: without one, <c>/proc/&lt;pid&gt;/root</c> of any process outside
/// reaches the unhidden file system. When the first process ends, the namespace's init ends and the kernel kills
/// every process left in it, daemonized ones included; <c>--die-with-parent</c> ends the sandbox with the daemon.</item>
/// <item>Hidden directories get an empty tmpfs with mode 000, remounted read-only after any mount inside it.</item>
/// <item>The kernel's own files are read-only or masked at every level, as Docker does (<see cref="ReadOnlyKernelPaths"/>,
/// <see cref="MaskedKernelFiles"/>, <see cref="MaskedKernelDirectories"/>; /sys whole, each control group mount
/// included, measured). A user namespace does not make them safe: bubblewrap maps the sandbox's uid to the caller's own,
/// so a daemon running as root gives its sandboxes host uid 0 (with <c>--uid 1000</c> too: uid_map "1000 0 1"), and the
/// kernel checks /proc/sys and cgroup files by that uid, not by capability (measured: kernel.core_pattern of the host
/// written from <c>--unshare-user --cap-drop ALL</c>). A dropped uid would leave the root-owned workspace unwritable.</item>
/// <item>bwrap is started through Orchflow's filter (<c>orchflow-landlock --filter-only</c>, <see cref="KernelFilter"/>),
/// which refuses clone3 (its CLONE_INTO_CGROUP moves a child into any cgroup v2 group whose directory it can open,
/// read-only mount or not) and, at strict, the keyring calls; bwrap and everything it starts inherit it.</item>
/// </list>
/// </summary>
public sealed class BubblewrapBackend : IIsolationBackend
{
    /// <summary>Kernel interfaces bound read-only over themselves where the host has them (Docker's read-only paths).</summary>
    public static readonly string[] ReadOnlyKernelPaths = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"];

    /// <summary>Kernel files replaced by an unreadable empty file where the host has them (Docker's masked paths).</summary>
    public static readonly string[] MaskedKernelFiles = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats", "/proc/timer_stats"];

    /// <summary>Kernel directories replaced by an empty read-only one where the host has them (Docker's masked paths).</summary>
    public static readonly string[] MaskedKernelDirectories = ["/proc/acpi", "/proc/scsi", "/proc/asound", "/sys/firmware", "/sys/devices/virtual/powercap"];

    private readonly HostIsolation _host;
    private readonly Func<string, bool> _exists;

    /// <summary>With the filter built next to the daemon, when it is there.</summary>
    public BubblewrapBackend(HostIsolation host)
        : this(host, BuiltKernelFilter())
    {
    }

    /// <param name="host">What the machine offers.</param>
    /// <param name="kernelFilter">Orchflow's filter program (orchflow-landlock, built next to the daemon); null when it was not built.</param>
    /// <param name="exists">Whether a kernel path exists on this machine (tests give a fixed answer).</param>
    public BubblewrapBackend(HostIsolation host, string? kernelFilter, Func<string, bool>? exists = null)
    {
        _host = host;
        KernelFilter = kernelFilter;
        _exists = exists ?? Path.Exists;
    }

    /// <summary>The filter bwrap is started through, or null when it was not built (then the report says what that costs).</summary>
    public string? KernelFilter { get; }

    /// <summary>The filter program built next to the daemon, when it is there and a trial of it ran (once per process).</summary>
    public static string? BuiltKernelFilter() => BuiltFilter.Value;

    private static readonly Lazy<string?> BuiltFilter = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, HostProbe.LandlockLauncherName);
        if (!File.Exists(path))
        {
            return null;
        }

        // A kernel without seccomp filters would fail every launch; then the filter counts as not built, and the report says so.
        var trueProgram = new[] { "/bin/true", "/usr/bin/true" }.FirstOrDefault(File.Exists) ?? "/bin/sh";
        try
        {
            var trial = Processes.ProcessFactory.RunAsync(path, ["--filter-only", "--no-clone3", "--no-keyring", "--", trueProgram], "/", TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            return trial.ExitCode == 0 ? path : null;
        }
        catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return null;
        }
    });

    public IsolationMechanism Mechanism => IsolationMechanism.Bubblewrap;

    public bool Available => _host.BubblewrapAvailable && _host.BubblewrapPath is not null;

    public string Description => Available
        ? $"bubblewrap {_host.BubblewrapVersion}"
        : $"bubblewrap unavailable ({_host.BubblewrapProblem ?? "not probed"})";

    public IsolationFeature Promise(string name, SecurityPolicy policy) => name switch
    {
        "restricted_paths" => new()
        {
            Name = name,
            Enforced = true,
            Detail = $"{string.Join(", ", policy.RestrictedPaths)}: hidden from the workspace's processes by {Description} (an empty unreadable directory, or an unreadable empty file); a path that does not exist when a process starts is not protected",
        },
        "policy_file" => new() { Name = name, Enforced = true, Detail = "the workspace's .orchflow/ directory is read-only to its processes, so they cannot change their own tier" },
        "filesystem" => new()
        {
            Name = name,
            Enforced = true,
            Detail = "the workspace root is writable and the rest of the file system read-only; other workspaces' roots and Orchflow's own files (database, socket, logs, config) are hidden; /tmp is the workspace's own",
        },
        "processes" => new() { Name = name, Enforced = true, Detail = "own PID namespace and no capabilities: other workspaces' processes cannot be seen, signalled, traced or read through /proc; everything left running ends with the terminal" },
        "terminals" => new() { Name = name, Enforced = true, Detail = "private /dev with its own devpts: no other terminal can be opened; the workspace's own terminal is /dev/console" },
        "network" => policy.Network switch
        {
            NetworkPolicy.Full => new() { Name = name, Enforced = true, Detail = "full: the host's network (as requested)" },
            NetworkPolicy.None => new() { Name = name, Enforced = true, Detail = "none: own network namespace with only a loopback interface" },
            _ when _host.NetworkRelay is null => new()
            {
                Name = name,
                Enforced = true,
                Detail = $"allowlist requested ({string.Join(", ", policy.AllowedHosts)}): enforced as none, because Orchflow's network relay (orchflow-netproxy) was not built here; no host is reachable",
            },
            _ => new()
            {
                Name = name,
                Enforced = true,
                Detail = $"allowlist: only {(policy.AllowedHosts.Count == 0 ? "no host" : string.Join(", ", policy.AllowedHosts))}, through Orchflow's proxy (HTTP_PROXY and HTTPS_PROXY point at 127.0.0.1:{NetworkProxy.SandboxPort}, the sandbox's only way out: its network namespace has just a loopback interface); each CONNECT or http:// request is checked against allowed_hosts, and refusals are answered 403 and audited; programs that ignore the proxy variables reach nothing; no DNS or UDP; a name that resolves to a loopback or link-local address is refused unless that address is listed",
            },
        },
        "kernel_interfaces" => new()
        {
            Name = name,
            Enforced = true,
            Detail = "kernel settings and control files are read-only to the workspace's processes ("
                + string.Join(", ", ReadOnlyKernelPaths) + ", and /sys whole, every control group mount included) and "
                + string.Join(", ", MaskedKernelFiles) + " and the like are masked; every capability is dropped, so no module can be loaded, no kernel log read, nothing mounted or remounted. "
                + "Their uid stays the daemon's (bubblewrap maps it to the caller's own: root when the daemon runs as root), which is why these files are made read-only rather than left to their permissions"
                + (policy.Tier == SecurityTier.Strict
                    ? "; /dev is the sandbox's own"
                    : "; at tier enhanced the host's devices stay reachable: a device node the daemon's user may open (a virtual console, when it runs as root) can be opened"),
        },
        "control_groups" => KernelFilter is null
            ? new()
            {
                Name = name,
                Enforced = false,
                Detail = $"NOT enforced whole: /sys/fs/cgroup is read-only and the sandbox has its own cgroup namespace, but Orchflow's filter ({HostProbe.LandlockLauncherName}) was not built here, so on cgroup v2 a process can start a child in another group with clone3(CLONE_INTO_CGROUP), which a read-only mount does not stop",
            }
            : new()
            {
                Name = name,
                Enforced = true,
                Detail = "the workspace's processes cannot leave its control groups (and so its limits): /sys/fs/cgroup is read-only, the sandbox has its own cgroup namespace, and clone3 is refused by Orchflow's filter (its CLONE_INTO_CGROUP would start a child in any cgroup v2 group whose directory it can open, read-only mount or not; programs fall back to clone)",
            },
        "ipc" => KernelFilter is null
            ? new()
            {
                Name = name,
                Enforced = false,
                Detail = $"NOT enforced whole: own System V IPC namespace (shared memory, semaphores, message queues, POSIX message queues) and user namespace (own user keyrings), but Orchflow's filter ({HostProbe.LandlockLauncherName}) was not built here, so a session keyring the daemon inherited stays shared with every workspace",
            }
            : new()
            {
                Name = name,
                Enforced = true,
                Detail = "own System V IPC namespace (shared memory, semaphores, message queues, POSIX message queues): other workspaces' segments cannot be seen or attached; the kernel's keyrings are out of reach (keyctl, add_key and request_key are refused by Orchflow's filter: a session keyring the daemon inherited would otherwise be shared)",
            },
        "unix_sockets" => new()
        {
            Name = name,
            Enforced = true,
            Detail = "other workspaces' roots and Orchflow's directories are not mounted in the sandbox and /tmp is its own, so a named Unix socket there cannot be connected to"
                + (policy.Network == NetworkPolicy.Full
                    ? "; abstract Unix sockets belong to the network, which is the host's (network full): the host's are reachable"
                    : "; abstract Unix sockets belong to the sandbox's own network namespace: the host's cannot be reached"),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a sandbox promise"),
    };

    /// <summary>
    /// The kernel's files, right after the sandbox's /proc (and, at enhanced, the read-only /sys): read-only over
    /// themselves, or masked (an unreadable empty file, an empty directory remounted read-only with the hidden ones).
    /// bwrap covers some of /proc itself, but only where the directory is writable by mode, which /proc/sys is not.
    /// </summary>
    private void KernelFiles(List<string> a, SandboxSpec spec, List<string> readOnlyLater)
    {
        foreach (var path in ReadOnlyKernelPaths.Where(_exists))
        {
            a.AddRange(["--ro-bind", path, path]);
        }

        foreach (var file in MaskedKernelFiles.Where(_exists))
        {
            a.AddRange(["--ro-bind", spec.DeniedFile, file]);
        }

        foreach (var dir in MaskedKernelDirectories.Where(_exists))
        {
            a.AddRange(["--perms", "0555", "--tmpfs", dir]);
            readOnlyLater.Add(dir);
        }
    }

    /// <summary>Where the relay program is bound inside the sandbox (its own /tmp: the daemon's directory may be hidden there).</summary>
    private const string RelayInSandbox = "/tmp/.orchflow-netproxy";

    private bool Relayed(SandboxSpec spec) =>
        spec.Level == SandboxLevel.Strict && spec.Network == NetworkPolicy.Allowlist && spec.ProxySocket is not null && spec.PrivateTmp is not null && _host.NetworkRelay is not null;

    public IReadOnlyList<string> Launcher(SandboxSpec spec)
    {
        if (!Available)
        {
            throw new InvalidOperationException(Description);
        }

        var a = new List<string>();
        if (KernelFilter is not null)
        {
            a.AddRange([KernelFilter, "--filter-only", "--no-clone3"]);
            if (spec.Level == SandboxLevel.Strict)
            {
                a.Add("--no-keyring");
            }

            a.Add("--");
        }

        a.Add(_host.BubblewrapPath!);
        if (spec.Level == SandboxLevel.Strict)
        {
            a.AddRange(["--unshare-all", "--unshare-user"]);
            if (spec.Network == NetworkPolicy.Full)
            {
                a.Add("--share-net");
            }

            a.AddRange(["--hostname", spec.WorkspaceId]);
        }
        else
        {
            a.AddRange(["--unshare-user", "--unshare-pid", "--unshare-cgroup-try"]);
        }

        a.AddRange(["--disable-userns", "--cap-drop", "ALL", "--die-with-parent"]);

        if (spec.Level == SandboxLevel.Strict)
        {
            a.AddRange(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
            if (spec.PrivateTmp is { } tmp)
            {
                a.AddRange(["--bind", tmp, "/tmp"]);
            }

            if (Relayed(spec))
            {
                a.AddRange(["--ro-bind", _host.NetworkRelay!, RelayInSandbox]);
            }

            a.AddRange(["--bind", spec.Root, spec.Root]);
        }
        else
        {
            a.AddRange(["--dev-bind", "/", "/", "--proc", "/proc", "--ro-bind", "/sys", "/sys"]);
        }

        var hidden = new List<string>();
        KernelFiles(a, spec, hidden);

        // A hidden directory is an empty tmpfs. Orchflow's own directories are 0111, so that the few paths bound
        // inside them (an agent's MCP directory and socket, the shell history) can be reached by name while nothing
        // can be listed; restricted_paths are 0000.
        foreach (var dir in spec.Hidden)
        {
            a.AddRange(["--perms", "0111", "--tmpfs", dir]);
            hidden.Add(dir);
        }

        foreach (var dir in spec.Restricted.Where(Directory.Exists))
        {
            a.AddRange(["--perms", "0000", "--tmpfs", dir]);
            hidden.Add(dir);
        }

        foreach (var file in spec.Restricted.Where(p => !Directory.Exists(p)))
        {
            a.AddRange(["--ro-bind", spec.DeniedFile, file]);
        }

        foreach (var dir in spec.Writable)
        {
            a.AddRange(["--bind", dir, dir]);
        }

        foreach (var path in spec.ReadOnly)
        {
            a.AddRange(["--ro-bind", path, path]);
        }

        // Last, so that the mounts made inside hidden directories above could still create their mount points.
        foreach (var dir in hidden)
        {
            a.AddRange(["--remount-ro", dir]);
        }

        a.AddRange(["--chdir", spec.WorkingDirectory, "--"]);
        if (Relayed(spec))
        {
            // The relay becomes the real program (same pid, same terminal) once it listens on the sandbox's loopback.
            a.AddRange([RelayInSandbox, NetworkProxy.SandboxPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "/tmp/" + NetworkProxy.SocketName, "--"]);
        }

        return a;
    }
}
