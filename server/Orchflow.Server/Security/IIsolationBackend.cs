using Orchflow.Protocol;

namespace Orchflow.Server.Security;

/// <summary>How much of the machine a sandboxed process tree gets to see.</summary>
public enum SandboxLevel
{
    /// <summary>
    /// Tier enhanced: the machine as it is (same file system, devices, network), but in its own PID namespace (so no
    /// <c>/proc/&lt;pid&gt;/root</c> detour around hidden paths), without capabilities, with restricted_paths and
    /// Orchflow's own directories hidden (but what the daemon binds back: the shell history, an agent's MCP directory
    /// and the MCP socket) and the workspace's <c>.orchflow/</c> read-only.
    /// </summary>
    Confined,

    /// <summary>
    /// Tier strict: as <see cref="Confined"/>, plus the whole file system read-only except the workspace's own root, a
    /// private /tmp and /dev (its own terminal only), other workspaces' roots and Orchflow's own files hidden, and the
    /// network policy applied.
    /// </summary>
    Strict,
}

/// <summary>What a sandbox must do for one process tree; built by <see cref="IsolationPlanner"/>, rendered by a backend.</summary>
public sealed record SandboxSpec
{
    public required string WorkspaceId { get; init; }
    public required SandboxLevel Level { get; init; }

    /// <summary>The workspace root (canonical): writable.</summary>
    public required string Root { get; init; }

    /// <summary>Where the process starts (canonical, inside the root or a writable path).</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>Paths inside writable places that stay read-only (the workspace's own <c>.orchflow/</c>, which holds its policy).</summary>
    public IReadOnlyList<string> ReadOnly { get; init; } = [];

    /// <summary>Extra writable directories outside the root (the workspace's shell history directory, an agent's worktree).</summary>
    public IReadOnlyList<string> Writable { get; init; } = [];

    /// <summary>Directories made invisible (an empty, unreadable, read-only directory in their place): other roots, Orchflow's files.</summary>
    public IReadOnlyList<string> Hidden { get; init; } = [];

    /// <summary>restricted_paths that exist (canonical): directories hidden like <see cref="Hidden"/>, files replaced by an unreadable empty file.</summary>
    public IReadOnlyList<string> Restricted { get; init; } = [];

    /// <summary>Strict only: the workspace's own directory mounted at /tmp (shared by its terminals, invisible to other workspaces).</summary>
    public string? PrivateTmp { get; init; }

    /// <summary>Strict only: none, full, or allowlist (through <see cref="ProxySocket"/>; without it an allow-list is planned as none).</summary>
    public NetworkPolicy Network { get; init; } = NetworkPolicy.Full;

    /// <summary>Strict with an allow-list: the workspace's <see cref="NetworkProxy"/> socket, inside <see cref="PrivateTmp"/>.</summary>
    public string? ProxySocket { get; init; }

    /// <summary>An empty file with mode 000, mounted read-only over restricted files.</summary>
    public required string DeniedFile { get; init; }
}

/// <summary>
/// An operating-system mechanism that confines a process tree. Each renders a <see cref="SandboxSpec"/> as a launcher:
/// a program and arguments that, given the real program and its arguments after them, run it confined. The launcher is
/// what the PTY layer spawns, so it must keep the terminal as the controlling terminal (job control, Ctrl+C).
/// bubblewrap is the Linux backend, Landlock its fallback; macOS <c>sandbox-exec</c> and Windows job objects would be others.
/// </summary>
public interface IIsolationBackend
{
    IsolationMechanism Mechanism { get; }

    /// <summary>True when a trial sandbox ran on this machine.</summary>
    bool Available { get; }

    /// <summary>e.g. "bubblewrap 0.8.0"; when unavailable, "bubblewrap unavailable (why)".</summary>
    string Description { get; }

    /// <summary>The launcher's argv (absolute program first), ending where the real program's argv begins.</summary>
    IReadOnlyList<string> Launcher(SandboxSpec spec);

    /// <summary>
    /// How this backend keeps one promise of a sandboxed tier, in words, and whether it keeps it whole:
    /// <c>restricted_paths</c> and <c>policy_file</c> (enhanced and strict; restricted_paths only when some are
    /// configured), <c>kernel_interfaces</c> and <c>control_groups</c> (enhanced and strict), <c>filesystem</c>,
    /// <c>processes</c>, <c>terminals</c>, <c>network</c>, <c>ipc</c> and <c>unix_sockets</c> (strict).
    /// </summary>
    IsolationFeature Promise(string name, SecurityPolicy policy);
}
