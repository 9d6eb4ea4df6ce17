using Orchflow.Protocol;
using static Orchflow.Server.EnumText;

namespace Orchflow.Server.Security;

/// <summary>
/// Decides, from a workspace's security policy and what this machine offers, what is actually enforced, and says it
/// in words (<see cref="Report"/>). Pure: the same policy and backend always give the same report, so what clients are
/// shown is exactly what <see cref="IsolationService"/> applies at launch, which asks the same questions of the same
/// backend.
/// </summary>
public static class IsolationPlanner
{
    /// <summary>True when processes of a workspace with this tier run in a sandbox on this machine.</summary>
    public static bool Sandboxed(SecurityTier tier, IIsolationBackend? backend) => tier >= SecurityTier.Enhanced && backend is { Available: true };

    /// <summary>
    /// What the daemon itself runs on the workspace's files (git, for detection and agents' worktrees), at every tier:
    /// kept by the daemon, not by a sandbox (<see cref="Workspaces.HermeticGit"/>).
    /// </summary>
    private static IsolationFeature DaemonTools(bool filesystemKept) => new()
    {
        Name = "daemon_tools",
        Enforced = true,
        Detail = "git run by the daemon on this workspace's repository (detection, --redetect, agents' worktrees) runs nothing the repository configures: status and checkout run in a private git directory where the repository's config, hooks and attribute drivers do not exist, and the one command that writes the repository (worktree add, without checkout) runs with hooks, fsmonitor, submodules and transports overridden; no system or global git config; git from a directory of the daemon's own PATH outside the workspace and not writable by every user; a .git that leads to another repository is followed only when that one points back"
            + (filesystemKept ? "" : "; what the workspace's processes can write outside their root (below strict, the host's files with the daemon's rights, git's own directory included when the daemon's user owns it) is the filesystem promise, kept only at strict"),
    };

    public static WorkspaceIsolation Report(SecurityPolicy policy, IIsolationBackend? backend)
    {
        var requested = policy.Tier;
        bool sandbox = Sandboxed(requested, backend);
        string mechanism = sandbox ? backend!.Description : "";
        string why = backend?.Description ?? "no sandbox mechanism for this platform";
        var features = new List<IsolationFeature>
        {
            new() { Name = "environment", Enforced = true, Detail = "built from an allowlist of your variables, shared_env, this workspace's secrets and ORCHFLOW_*; nothing else of the daemon's environment" },
            new()
            {
                Name = "cwd",
                Enforced = true,
                Detail = sandbox && backend!.Mechanism == IsolationMechanism.Bubblewrap
                    ? "processes start in the workspace root or below it: the daemon checks the directory as it opens it (symlinks resolved); the sandbox then enters it again by path, so a symlink that the workspace's own processes swap in at that instant can only lead where the sandbox already lets them go"
                    : "processes start in the workspace root or below it: the directory is checked as opened (symlinks resolved) and entered through that very descriptor, so a symlink swapped in after the check cannot move them",
            },
        };
        features.Add(new()
        {
            Name = "secrets",
            Enforced = true,
            Detail = "set with `orchflow secret set` (kept with mode 0600 in Orchflow's data directory) or read from security.secrets_file; injected only into this workspace's processes, never into the daemon's environment or its logs, and shown to clients masked",
        });
        features.Add(DaemonTools(requested == SecurityTier.Strict && sandbox));
        var reasons = new List<string>();

        if (requested >= SecurityTier.Enhanced)
        {
            features.Add(new()
            {
                Name = "allowed_commands",
                Enforced = true,
                Detail = policy.AllowedCommands.Count == 0
                    ? "no list: any command may be launched"
                    : $"only {string.Join(", ", policy.AllowedCommands)}: checked before every launch of an agent or a --cmd terminal, each command of a command line, on the program that will actually run (after NAME=value, env, command, exec, nice, timeout, xargs and the like, looked up on the command's own PATH); a name allows only the program it names on the workspace's trusted PATH (without the workspace's root, /tmp and other places it can write); not checked: what is typed in an interactive shell, what a launched program runs itself, and a program replaced inside a directory of that PATH, which only the filesystem promise (strict) prevents",
            });
            features.Add(policy.RestrictedPaths.Count == 0
                ? new() { Name = "restricted_paths", Enforced = true, Detail = "none configured" }
                : sandbox
                    ? backend!.Promise("restricted_paths", policy)
                    : new() { Name = "restricted_paths", Enforced = false, Detail = $"NOT enforced, {why}: the workspace's processes can read {string.Join(", ", policy.RestrictedPaths)}" });
            features.Add(sandbox
                ? backend!.Promise("policy_file", policy)
                : new() { Name = "policy_file", Enforced = false, Detail = $"NOT enforced, {why}: the workspace's processes can edit .orchflow/workspace.json, and with it their own tier" });
        }
        else
        {
            if (policy.AllowedCommands.Count > 0)
            {
                features.Add(new() { Name = "allowed_commands", Enforced = false, Detail = "NOT enforced: allowed_commands applies from tier enhanced" });
            }

            if (policy.RestrictedPaths.Count > 0)
            {
                features.Add(new() { Name = "restricted_paths", Enforced = false, Detail = "NOT enforced: restricted_paths applies from tier enhanced" });
            }
        }

        if (requested == SecurityTier.Strict)
        {
            if (sandbox)
            {
                features.AddRange(new[] { "filesystem", "processes", "terminals", "network" }.Select(name => backend!.Promise(name, policy)));
            }
            else
            {
                features.Add(new() { Name = "filesystem", Enforced = false, Detail = $"NOT enforced, {why}: the workspace's processes can read and write other workspaces' files and Orchflow's data" });
                features.Add(new() { Name = "processes", Enforced = false, Detail = $"NOT enforced, {why}: the workspace's processes can see, signal and read (/proc/<pid>/environ, cwd, fd) other workspaces' processes" });
                features.Add(new() { Name = "terminals", Enforced = false, Detail = $"NOT enforced, {why}: the workspace's processes can open other workspaces' /dev/pts/N, read what is typed there and inject input" });
                features.Add(policy.Network == NetworkPolicy.Full
                    ? new() { Name = "network", Enforced = true, Detail = "full: the host's network (as requested)" }
                    : new() { Name = "network", Enforced = false, Detail = $"{Lower(policy.Network)} requested: NOT enforced, {why}" });
            }

            if (sandbox)
            {
                reasons.Add("The sandbox confines this workspace's processes; it protects this workspace from another one only if that one is strict too (an unsandboxed process of the same user can still open this workspace's terminals and read its processes' environment).");
                reasons.Add("Workspaces registered after a process of this workspace started are visible to it, read-only, until it restarts.");
                reasons.Add("The rest of the file system, your home directory included, is readable (not writable).");
            }
        }
        else
        {
            if (requested == SecurityTier.Enhanced)
            {
                // The sandbox of an enhanced workspace (if any) hides restricted paths and keeps .orchflow/ read-only,
                // nothing more; standard says the same in its "No operating-system sandbox" reason.
                features.Add(new() { Name = "filesystem", Enforced = false, Detail = "NOT enforced: hiding files applies at tier strict; the workspace's processes can read and write other workspaces' files (Orchflow's own directories are hidden: see daemon)" });
                features.Add(new() { Name = "processes", Enforced = false, Detail = "NOT enforced: process isolation applies at tier strict; a process that leaves its terminal's session can outlive the terminal, and other workspaces' processes can stay visible in /proc" });
                features.Add(new() { Name = "terminals", Enforced = false, Detail = "NOT enforced: a private /dev applies at tier strict; the workspace's processes can open other workspaces' /dev/pts/N" });
            }

            if (policy.Network != NetworkPolicy.Full)
            {
                features.Add(new() { Name = "network", Enforced = false, Detail = $"{Lower(policy.Network)} requested: NOT enforced, the network policy applies at tier strict" });
            }
        }

        features.Add(DaemonPromise(requested, sandbox, backend, why));
        features.AddRange(KernelPromises(requested, sandbox ? backend! : null, why, policy));

        var enforced = SecurityTier.Standard;
        if (requested >= SecurityTier.Enhanced && sandbox && features.All(f => f.Enforced || f.Name is "filesystem" or "processes" or "terminals" or "network" or "ipc" or "unix_sockets"))
        {
            enforced = SecurityTier.Enhanced;
        }

        if (requested == SecurityTier.Strict && sandbox && features.All(f => f.Enforced))
        {
            enforced = SecurityTier.Strict;
        }

        if (enforced == SecurityTier.Standard)
        {
            reasons.Insert(0, "No operating-system sandbox: processes of other workspaces can open this workspace's terminals and read its processes' environment in /proc, and this workspace's processes can do the same to others and read Orchflow's own files, stored secrets included (they run as the same user, so mode 0600 does not stop them).");
        }

        string summary = enforced == requested
            ? requested == SecurityTier.Standard
                ? "standard: enforced by the daemon (no operating-system sandbox)"
                : $"{Lower(requested)}: enforced by {mechanism}"
            : $"{Lower(requested)} requested: NOT enforced, {(sandbox ? $"{mechanism} does not keep {string.Join(", ", features.Where(f => !f.Enforced).Select(f => f.Name))}" : why)}; {Lower(enforced)} in force";
        if (enforced < requested)
        {
            reasons.Insert(0, $"{Lower(requested)} was requested but only {Lower(enforced)} is enforced: {string.Join("; ", features.Where(f => !f.Enforced).Select(f => $"{f.Name}: {f.Detail}"))}");
        }

        return new WorkspaceIsolation
        {
            RequestedTier = requested,
            EnforcedTier = enforced,
            Mechanism = sandbox ? backend!.Mechanism : IsolationMechanism.None,
            Summary = summary,
            Reasons = reasons,
            Features = features,
        };
    }

    /// <summary>
    /// The promise "daemon": the workspace's processes cannot reach Orchflow's daemon beyond what an agent's token allows.
    /// Its sockets (but the MCP socket), files, memory and diagnostics endpoints are all ways into every workspace at once:
    /// the main socket starts terminals anywhere, the data directory holds every secret and agent token, the daemon's
    /// memory holds all of them. Listed at every tier (at standard as not enforced), so that the escape suite checks it.
    /// </summary>
    private static IsolationFeature DaemonPromise(SecurityTier requested, bool sandbox, IIsolationBackend? backend, string why)
    {
        const string Name = "daemon";
        const string Diagnostics = "no Orchflow process has a .NET diagnostics socket or debugger pipe (each starts with DOTNET_EnableDiagnostics=0)";
        if (!sandbox)
        {
            var reason = requested == SecurityTier.Standard ? "tier standard has no operating-system sandbox" : why;
            return new()
            {
                Name = Name,
                Enforced = false,
                Detail = $"NOT enforced, {reason}: the workspace's processes run as you, so they can use Orchflow's socket like any CLI (and start terminals in other workspaces through it), read Orchflow's database, logs, secrets and other agents' MCP tokens, and read the daemon's memory, environment and descriptors in /proc; enforced: {Diagnostics}",
            };
        }

        if (backend!.Mechanism == IsolationMechanism.Landlock && SandboxedPeers.DaemonMarked)
        {
            return new()
            {
                Name = Name,
                Enforced = false,
                Detail = $"NOT enforced, the daemon itself runs with no_new_privs, so its socket cannot tell the processes of a Landlock sandbox (which carry the same mark, and no PID namespace of their own) from yours, and Landlock does not stop them connecting: they can start terminals in other workspaces through it; start the daemon without no_new_privs (for example outside a service with NoNewPrivileges) to keep it; enforced: Orchflow's own directories cannot be opened or listed, the daemon's /proc entries cannot be read, {Diagnostics}",
            };
        }

        return backend.Mechanism == IsolationMechanism.Landlock
            ? new()
            {
                Name = Name,
                Enforced = true,
                Detail = $"by {backend.Description}: Orchflow's own directories (database, logs, config, secrets, agents' MCP tokens, sockets) cannot be opened or listed, but for an agent's own MCP directory; names there can still be probed with stat; the cost: the directories on the way to them cannot be listed and take no new entries (your home directory when Orchflow's data is under it, and /tmp itself when Orchflow's run directory is there because XDG_RUNTIME_DIR is not set, so that programs cannot create files directly in /tmp); Landlock does not stop connecting to a Unix socket, so the main socket refuses sandboxed clients (they carry no_new_privs) and writes the refusal to this workspace's audit log, and the MCP socket serves only calls with an agent's token, which confines them to its own workspace; the daemon's memory, environment and descriptors in /proc cannot be read (Landlock's ptrace rule); {Diagnostics}",
            }
            : new()
            {
                Name = Name,
                Enforced = true,
                Detail = $"by {backend.Description}: Orchflow's own directories (database, logs, config, secrets, agents' MCP tokens, the main socket, other workspaces' network proxies) are hidden; an agent sees only its own MCP directory and the MCP socket, whose calls its token confines to its own workspace; the main socket also refuses sandboxed clients (no_new_privs, or a PID namespace other than the daemon's) and writes the refusal to this workspace's audit log; the daemon is outside the sandbox's PID namespace, so its /proc entries cannot be reached; {Diagnostics}",
            };
    }

    /// <summary>
    /// What keeps the workspace's processes off the kernel's own interfaces and shared kernel objects, at every tier (an
    /// attack on them must always meet a line of the report): the kernel's files (a daemon running as root gives its
    /// processes uid 0, which the kernel checks for /proc/sys and cgroup files, capabilities or not), its control
    /// groups (what its limits count), System V IPC and keyrings, and other workspaces' named Unix sockets. Without a
    /// sandbox none of them is kept; enhanced keeps the first two, strict all four where its backend can.
    /// </summary>
    private static IEnumerable<IsolationFeature> KernelPromises(SecurityTier requested, IIsolationBackend? sandbox, string why, SecurityPolicy policy)
    {
        if (sandbox is null)
        {
            string cause = requested == SecurityTier.Standard ? "no operating-system sandbox at tier standard" : why;
            yield return new()
            {
                Name = "kernel_interfaces",
                Enforced = false,
                Detail = $"NOT enforced, {cause}: the workspace's processes have the daemon's user and capabilities; when it runs as root they can change the host's kernel settings (/proc/sys: kernel.core_pattern runs a program of theirs as root), load modules, remount file systems and read the kernel log",
            };
            yield return new()
            {
                Name = "control_groups",
                Enforced = false,
                Detail = $"NOT enforced, {cause}: a process of the workspace can move itself out of its control groups (writing its pid into another group's cgroup.procs, as root or in a group delegated to the daemon's user), and what it starts then escapes memory_limit, process_limit and cpu",
            };
            yield return new()
            {
                Name = "ipc",
                Enforced = false,
                Detail = $"NOT enforced, {cause}: System V shared memory, semaphores and message queues, and the kernel keyrings of the daemon's user, are shared with other workspaces",
            };
            yield return new()
            {
                Name = "unix_sockets",
                Enforced = false,
                Detail = $"NOT enforced, {cause}: named Unix sockets in other workspaces' roots and in /tmp, and the host's abstract Unix sockets, can be connected to",
            };
            yield break;
        }

        yield return sandbox.Promise("kernel_interfaces", policy);
        yield return sandbox.Promise("control_groups", policy);
        if (requested == SecurityTier.Strict)
        {
            yield return sandbox.Promise("ipc", policy);
            yield return sandbox.Promise("unix_sockets", policy);
        }
        else
        {
            yield return new() { Name = "ipc", Enforced = false, Detail = "NOT enforced at tier enhanced: System V shared memory, semaphores and message queues are the host's (and, without a user namespace of its own, the kernel keyrings of the daemon's user); they are the workspace's own at tier strict" };
            yield return new() { Name = "unix_sockets", Enforced = false, Detail = "NOT enforced at tier enhanced: other workspaces' roots and /tmp are visible, so their named Unix sockets can be connected to; they are hidden at tier strict" };
        }
    }
}
