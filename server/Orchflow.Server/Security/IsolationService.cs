using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Workspaces;
using static Orchflow.Server.EnumText;

namespace Orchflow.Server.Security;

/// <summary>What Orchflow is about to start in a workspace, as the security layer sees it.</summary>
/// <param name="Argv">The program and its arguments.</param>
/// <param name="CommandLine">For a <c>--cmd</c> terminal or a command agent: the line the shell runs (each of its commands is checked).</param>
/// <param name="Interactive">An interactive shell: what is typed in it is not a command Orchflow launches.</param>
/// <param name="Subject">The terminal or agent, for the audit log.</param>
public sealed record LaunchRequest(IReadOnlyList<string> Argv, string? CommandLine, bool Interactive, string Cwd, string Subject)
{
    /// <summary>Paths of Orchflow's own this launch must see read-only inside a strict sandbox (an agent's MCP directory and socket).</summary>
    public IReadOnlyList<string> Visible { get; init; } = [];
}

/// <summary>A sandbox to start a process tree in: the backend and what it must do.</summary>
public sealed record Sandbox(IIsolationBackend Backend, SandboxSpec Spec);

/// <summary>
/// The security capability: the checks and sandbox of every launch (<see cref="PrepareLaunch"/>), secrets, the network
/// proxy and the audit log, on the backend <see cref="MachineIsolation"/> chose for this machine.
/// Architecture invariant: the report a client sees (<see cref="MachineIsolation.Report"/>) and the sandbox a process
/// gets come from the same <see cref="IsolationPlanner"/> questions on the same backend, so Orchflow never claims what
/// it does not apply.
/// </summary>
public sealed class IsolationService
{
    private readonly OrchflowPaths _paths;
    private readonly Log _log;
    private readonly WorkspaceService _workspaces;
    private readonly MachineIsolation _machine;
    private readonly Dictionary<string, SecurityPolicy> _policies = new(StringComparer.Ordinal);

    public IsolationService(OrchflowPaths paths, WorkspaceService workspaces, MachineIsolation machine, AuditLog audit, Log log, TimeProvider time)
    {
        _paths = paths;
        _log = log;
        _workspaces = workspaces;
        _machine = machine;
        Audit = audit;
        Secrets = new SecretStore(paths.DataDirectory, time);
        Proxy = new NetworkProxy(PolicyOf, Audit, log);
        foreach (var ws in workspaces.List())
        {
            _policies[ws.Id] = ws.Security;
        }

        workspaces.Changed += OnWorkspaceChanged;
        _log.Info(Backend.Available
            ? $"Isolation: {Backend.Description} ({(Backend.Mechanism == IsolationMechanism.Bubblewrap ? Host.BubblewrapPath : Host.LandlockLauncher)}); Landlock ABI {Host.LandlockAbi?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unavailable"}"
            : $"Isolation: {Backend.Description}; enhanced and strict workspaces will report that they are not enforced");
    }

    public HostIsolation Host => _machine.Host;

    public IIsolationBackend Backend => _machine.Backend;

    public AuditLog Audit { get; }

    public SecretStore Secrets { get; }

    /// <summary>The network allow-lists of strict workspaces (one proxy socket each, made at their first launch).</summary>
    public NetworkProxy Proxy { get; }

    private SecurityPolicy? PolicyOf(string workspaceId)
    {
        lock (_policies)
        {
            return _policies.GetValueOrDefault(workspaceId);
        }
    }

    public SecretInfo SetSecret(string workspaceRef, string name, string value)
    {
        var ws = _workspaces.Show(workspaceRef);
        var info = Secrets.Set(ws.Id, name, value);
        Audit.Add(ws.Id, AuditKind.Secret, $"Secret {name} set ({info.Masked}); processes started from now on get it.", "secrets", name);
        _log.Info($"Secret {name} of workspace {ws.Id} set");
        return info;
    }

    public SecretRemoveResult RemoveSecret(string workspaceRef, string name)
    {
        var ws = _workspaces.Show(workspaceRef);
        if (!Secrets.Remove(ws.Id, name))
        {
            throw OrchflowException.NotFound("secret", name, $"Run `orchflow secret list --workspace {ws.Id}` to see the names.");
        }

        Audit.Add(ws.Id, AuditKind.Secret, $"Secret {name} removed; processes already running keep their copy.", "secrets", name);
        _log.Info($"Secret {name} of workspace {ws.Id} removed");
        return new SecretRemoveResult { WorkspaceId = ws.Id, Name = name };
    }

    public SecretListResult ListSecrets(string workspaceRef)
    {
        var ws = _workspaces.Show(workspaceRef);
        return Secrets.List(ws, ws.Security.SecretsFile);
    }

    /// <summary>The secrets a process of this workspace gets in its environment.</summary>
    public IReadOnlyDictionary<string, string> SecretEnvironment(WorkspaceInfo ws) => Secrets.EnvironmentFor(ws, ws.Security.SecretsFile);

    /// <summary>
    /// Checks a launch against the workspace's policy and returns the sandbox to start it in (null: none at this tier
    /// or on this machine). A refusal is audited and thrown as NotAllowed naming the rule; a launch with less isolation
    /// than requested is audited as not enforced.
    /// </summary>
    public Sandbox? PrepareLaunch(WorkspaceInfo ws, LaunchRequest launch, IReadOnlyDictionary<string, string> environment)
    {
        CheckRoot(ws, launch.Subject);
        CheckCommand(ws, launch, environment);
        var report = ws.Isolation;
        if (report.EnforcedTier < report.RequestedTier)
        {
            Audit.Add(ws.Id, AuditKind.NotEnforced, $"Started {launch.Subject} with {Lower(report.EnforcedTier)} isolation; {report.Summary}.", "security.tier", launch.Subject);
        }

        if (!IsolationPlanner.Sandboxed(ws.Security.Tier, Backend))
        {
            return null;
        }

        return new Sandbox(Backend, Spec(ws, launch.Cwd, launch.Visible));
    }

    /// <summary>security.allowed_commands for one launch: returns when allowed; audits and throws NotAllowed, naming the rule, when not.</summary>
    public void CheckCommand(WorkspaceInfo ws, LaunchRequest launch, IReadOnlyDictionary<string, string> environment)
    {
        CheckRoot(ws, launch.Subject); // an agent's spawn is checked here before it is queued (and before git runs for its worktree)
        var policy = ws.Security;
        if (policy.Tier >= SecurityTier.Enhanced && policy.AllowedCommands.Count > 0 && !launch.Interactive)
        {
            // What the workspace's processes can write: its root, the launch's directory (an agent's worktree), and
            // Orchflow's data directory (a strict sandbox's private /tmp, history and worktrees live there).
            var lookup = new ProgramLookup(environment.GetValueOrDefault("PATH"), launch.Cwd, [ws.RootPath, launch.Cwd, _paths.DataDirectory]);
            var refusal = launch.CommandLine is { } line
                ? CommandPolicy.CheckLine(line, policy.AllowedCommands, lookup)
                : CommandPolicy.CheckArgv(launch.Argv, policy.AllowedCommands, lookup);
            if (refusal is not null)
            {
                var what = launch.CommandLine ?? string.Join(' ', launch.Argv);
                Audit.Add(ws.Id, AuditKind.Refused, $"Refused to launch `{Short(what)}`: {refusal}.", "security.allowed_commands", launch.Subject);
                throw new OrchflowException(ErrorCodes.NotAllowed,
                    $"Workspace '{ws.Id}' (tier {Lower(policy.Tier)}) refused `{Short(what)}`: {refusal}.",
                    $"Add the command to security.allowed_commands in {ws.Config.Path ?? Path.Combine(ws.RootPath, ".orchflow", "workspace.json")}, or run one that is allowed.");
            }
        }
    }

    /// <summary>The sandbox of one launch: what is writable, read-only and hidden, from the workspace's policy and every registered root.</summary>
    public SandboxSpec Spec(WorkspaceInfo ws, string cwd, IReadOnlyList<string>? visible = null)
    {
        var root = ws.RootPath;
        var sandboxDir = Path.Combine(_paths.DataDirectory, "sandbox");
        var denied = Path.Combine(sandboxDir, "denied");
        Directory.CreateDirectory(sandboxDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (!File.Exists(denied))
        {
            using (File.Create(denied))
            {
            }
        }

        File.SetUnixFileMode(denied, UnixFileMode.None);

        var policyDir = Path.Combine(root, ".orchflow");
        var readOnly = Directory.Exists(policyDir) ? new List<string> { policyDir } : [];
        var restricted = new List<string>();
        foreach (var p in ws.Security.RestrictedPaths)
        {
            if (Native.TryRealPath(p) is { } real && !PathRules.IsSameOrInside(root, real))
            {
                restricted.Add(real);
            }
        }

        // Orchflow's own directories are hidden at both tiers: they hold every workspace's secrets, agents' tokens, the
        // database and the sockets (the main socket, the MCP socket, other workspaces' network proxies). Only what the
        // daemon binds back by name is reachable: the shell history directory, an agent's worktree, and for an agent its
        // own MCP directory and the MCP socket, whose calls its token confines to this workspace.
        bool strict = ws.Security.Tier == SecurityTier.Strict;
        var writable = new List<string>();
        var history = Path.Combine(_paths.DataDirectory, "workspaces", ws.Id);
        Directory.CreateDirectory(history);
        writable.Add(history);
        if (!PathRules.IsSameOrInside(cwd, root))
        {
            writable.Add(cwd);
        }

        var hidden = HiddenDirectories(ws, root, strict);
        var own = new[] { _paths.Home, _paths.ConfigDirectory, _paths.DataDirectory, _paths.RuntimeDirectory, _paths.LogDirectory }
            .OfType<string>().Select(Native.TryRealPath).OfType<string>().ToList();
        readOnly.AddRange((visible ?? []).Where(p => Path.Exists(p) && own.Any(o => PathRules.IsSameOrInside(p, o))));
        var confined = new SandboxSpec
        {
            WorkspaceId = ws.Id,
            Level = SandboxLevel.Confined,
            Root = root,
            WorkingDirectory = cwd,
            ReadOnly = readOnly,
            Writable = writable,
            Hidden = hidden,
            Restricted = restricted,
            DeniedFile = denied,
        };
        if (!strict)
        {
            return confined;
        }

        var privateTmp = Path.Combine(sandboxDir, ws.Id, "tmp");
        Directory.CreateDirectory(privateTmp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // An allow-list needs the relay inside bubblewrap's network namespace; anywhere else it is planned as none.
        var network = ws.Security.Network switch
        {
            NetworkPolicy.Full => NetworkPolicy.Full,
            NetworkPolicy.Allowlist when Backend.Mechanism == IsolationMechanism.Bubblewrap && Host.NetworkRelay is not null => NetworkPolicy.Allowlist,
            _ => NetworkPolicy.None,
        };
        return confined with
        {
            Level = SandboxLevel.Strict,
            PrivateTmp = privateTmp,
            Network = network,
            ProxySocket = network == NetworkPolicy.Allowlist ? Proxy.Ensure(ws.Id, privateTmp) : null,
        };
    }

    /// <summary>
    /// What a sandbox of this workspace must not see. Both tiers: Orchflow's config, data, run and log directories.
    /// Strict also: ORCHFLOW_HOME as a whole and other workspaces' roots. Never a directory holding the workspace's own
    /// root, and at strict nothing in /tmp (the sandbox's /tmp is its own already); outermost directories only.
    /// </summary>
    private List<string> HiddenDirectories(WorkspaceInfo ws, string root, bool strict)
    {
        var candidates = new List<string>();
        if (strict && _paths.Home is { } home)
        {
            candidates.Add(home);
        }

        candidates.AddRange([_paths.ConfigDirectory, _paths.DataDirectory, _paths.RuntimeDirectory, _paths.LogDirectory]);
        if (strict)
        {
            candidates.AddRange(_workspaces.List().Where(w => !w.IsDefault && w.Id != ws.Id).Select(w => w.RootPath));
        }

        var hidden = candidates
            .Select(p => Native.TryRealPath(p))
            .OfType<string>()
            .Where(p => Directory.Exists(p)
                && !PathRules.IsSameOrInside(root, p)
                && !(strict && PathRules.IsSameOrInside(p, "/tmp")))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return hidden.Where(p => !hidden.Any(o => o != p && PathRules.IsSameOrInside(p, o))).OrderBy(p => p.Length).ToList();
    }

    /// <summary>
    /// Refuses (and audits) a launch in a workspace whose root is not the registered folder: the folder there now is
    /// not this workspace, and its files are not what the policy was set for. Looked at now, not at the last poll.
    /// </summary>
    public void CheckRoot(WorkspaceInfo ws, string subject)
    {
        if (_workspaces.VerifyRoot(ws.Id) is { } problem)
        {
            Audit.Add(ws.Id, AuditKind.Refused, $"Refused to launch {subject}: {problem.Message}.", WorkspaceService.RootRule, subject);
            throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{ws.Id}' refused to launch {subject}: {problem.Message}.",
                problem.Kind == RootProblemKind.Replaced
                    ? $"Put the registered folder back at {ws.RootPath}, or (as a person, outside Orchflow's terminals) adopt the new one with `orchflow workspace update {ws.Id} --accept-root`."
                    : $"Put the workspace's folder back at {ws.RootPath}.");
        }
    }

    /// <summary>Lets every client read a workspace's audit log.</summary>
    public WorkspaceAuditResult ReadAudit(string reference, int? limit)
    {
        var ws = _workspaces.Show(reference);
        return new WorkspaceAuditResult { Entries = Audit.Read(ws.Id, limit), Path = Audit.PathFor(ws.Id) };
    }

    /// <summary>
    /// Audits every change of a workspace's security policy in force (a weaker one the file asks for is audited by the
    /// registry when it is held, confirmed or rejected); a deleted workspace's sandbox directory goes (its audit log stays).
    /// </summary>
    private void OnWorkspaceChanged(WorkspaceChangedNotification change)
    {
        if (change.Kind == WorkspaceChangeKind.Deleted)
        {
            lock (_policies)
            {
                _policies.Remove(change.Id);
            }

            Audit.Add(change.Id, AuditKind.PolicyChanged, $"Workspace '{change.Id}' was deleted.");
            Proxy.Remove(change.Id);
            RemoveSandboxDirectory(change.Id);
            return;
        }

        if (change.Workspace is not { } ws)
        {
            return;
        }

        SecurityPolicy? before;
        lock (_policies)
        {
            _policies.TryGetValue(ws.Id, out before);
            _policies[ws.Id] = ws.Security;
        }

        if (before is not null && !PolicyChange.Same(before, ws.Security))
        {
            var lowered = ws.Security.Tier < before.Tier ? " (tier lowered)" : "";
            Audit.Add(ws.Id, AuditKind.PolicyChanged,
                $"Security policy changed{lowered}: {PolicyChange.Describe(before)} → {PolicyChange.Describe(ws.Security)}. Now: {ws.Isolation.Summary}. Processes already running keep the isolation they started with.",
                "security");
        }
    }

    private void RemoveSandboxDirectory(string workspaceId)
    {
        try
        {
            var dir = Path.Combine(_paths.DataDirectory, "sandbox", workspaceId);
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warn($"Could not remove the sandbox directory of {workspaceId}: {e.Message}");
        }
    }

    private static string Short(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 120 ? line : line[..119] + "…";
    }
}
