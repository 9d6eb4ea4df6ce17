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
        else
        {
            if (requested == SecurityTier.Enhanced)
            {
                // The sandbox of an enhanced workspace (if any) hides restricted paths and keeps .orchflow/ read-only,
                // nothing more; standard says the same in its "No operating-system sandbox" reason.
                features.Add(new() { Name = "filesystem", Enforced = false, Detail = "NOT enforced: hiding files applies at tier strict; the workspace's processes can read and write other workspaces' files and Orchflow's data, stored secrets included" });
                features.Add(new() { Name = "processes", Enforced = false, Detail = "NOT enforced: process isolation applies at tier strict; a process that leaves its terminal's session can outlive the terminal, and other workspaces' processes can stay visible in /proc" });
                features.Add(new() { Name = "terminals", Enforced = false, Detail = "NOT enforced: a private /dev applies at tier strict; the workspace's processes can open other workspaces' /dev/pts/N" });
            }

            if (policy.Network != NetworkPolicy.Full)
            {
                features.Add(new() { Name = "network", Enforced = false, Detail = $"{Lower(policy.Network)} requested: NOT enforced, the network policy applies at tier strict" });
            }
        }

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
}
