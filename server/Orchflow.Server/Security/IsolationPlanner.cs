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
        var reasons = new List<string>();

        if (requested >= SecurityTier.Enhanced)
        {
            features.Add(new()
            {
                Name = "allowed_commands",
                Enforced = true,
                Detail = policy.AllowedCommands.Count == 0
                    ? "no list: any command may be launched"
                    : $"only {string.Join(", ", policy.AllowedCommands)}: checked before every launch of an agent or a --cmd terminal, each command of a command line; not checked: what is typed in an interactive shell and what a launched program runs itself",
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
        else if (policy.Network != NetworkPolicy.Full)
        {
            features.Add(new() { Name = "network", Enforced = false, Detail = $"{Lower(policy.Network)} requested: NOT enforced, the network policy applies at tier strict" });
        }

        features.Add(DaemonPromise(requested, sandbox, backend, why));

        var enforced = SecurityTier.Standard;
        if (requested >= SecurityTier.Enhanced && sandbox && features.All(f => f.Enforced || f.Name is "filesystem" or "processes" or "terminals" or "network"))
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
}
