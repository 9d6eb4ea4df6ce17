using Orchflow.Protocol;

namespace Orchflow.Server.Security;

/// <summary>
/// Sandboxes with bubblewrap. Design notes, each measured on this machine (see ARCHITECTURE.md and docs/benchmarks.md):
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
/// </list>
/// </summary>
public sealed class BubblewrapBackend : IIsolationBackend
{
    private readonly HostIsolation _host;

    public BubblewrapBackend(HostIsolation host)
    {
        _host = host;
    }

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
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a sandbox promise"),
    };

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

        var a = new List<string> { _host.BubblewrapPath! };
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
            a.AddRange(["--unshare-user", "--unshare-pid"]);
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
            a.AddRange(["--dev-bind", "/", "/", "--proc", "/proc"]);
        }

        // A hidden directory is an empty tmpfs. Orchflow's own directories are 0111, so that the few paths bound
        // inside them (an agent's MCP directory and socket, the shell history) can be reached by name while nothing
        // can be listed; restricted_paths are 0000.
        var hidden = new List<string>();
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
