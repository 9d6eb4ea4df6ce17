using System.Collections.Concurrent;
using System.Globalization;
using Orchflow.Protocol;
using Orchflow.Pty;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Processes;
using Orchflow.Server.Rpc;
using Orchflow.Server.Security;
using Orchflow.Server.Storage;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Terminals;

/// <summary>
/// Every terminal of every workspace, keyed by id, with one guard for unknown ids (<see cref="Get"/>).
/// Terminals belong to exactly one workspace, start in its root (or a directory inside it) with a built
/// environment, survive client disconnects, and end with the daemon. Records are persisted so that the next
/// daemon can report the terminals that were lost.
/// </summary>
public sealed class TerminalService : IDisposable
{
    private readonly ConcurrentDictionary<string, Terminal> _terminals = new(StringComparer.Ordinal);
    private readonly WorkspaceService _workspaces;
    private readonly GlobalSettings _settings;
    private readonly IsolationService _isolation;
    private readonly ILaunchLimits _limits;
    private readonly TerminalStore _store;
    private readonly OrchflowPaths _paths;
    private readonly Log _log;
    private readonly Func<string, string?> _userEnvironment;
    private readonly object _createGate = new();
    private volatile bool _stopping;

    /// <param name="isolation">The security capability: checks every launch and gives its sandbox.</param>
    /// <param name="limits">The limits capability's side of a launch: the control groups a process joins, refused while suspended.</param>
    public TerminalService(WorkspaceService workspaces, GlobalSettings settings, IsolationService isolation, ILaunchLimits limits, TerminalStore store, OrchflowPaths paths, Log log,
        Func<string, string?>? userEnvironment = null)
    {
        _workspaces = workspaces;
        _settings = settings;
        _isolation = isolation;
        _limits = limits;
        _store = store;
        _paths = paths;
        _log = log;
        _userEnvironment = userEnvironment ?? Environment.GetEnvironmentVariable;

        // Terminals of the previous daemon: those still marked running were lost with it. Older losses are forgotten.
        var lost = new List<TerminalInfo>();
        foreach (var r in store.All())
        {
            if (r.Status == "lost")
            {
                store.Delete(r.Id);
                continue;
            }

            if (r.Status == "running")
            {
                r.Status = "lost";
                r.EndedAt ??= DateTime.UtcNow;
                store.Upsert(r);
                var info = ToInfo(r);
                lost.Add(info);
                _terminals[r.Id] = new Terminal(info, 1, _ => { });
            }
            else
            {
                store.Delete(r.Id);
            }
        }

        LostTerminals = lost;
        if (lost.Count > 0)
        {
            _log.Warn($"{lost.Count} terminal(s) were lost when the previous daemon stopped: {string.Join(", ", lost.Select(t => t.Id))}");
        }
    }

    /// <summary>Raised on every change, outside any lock.</summary>
    public event Action<TerminalChangedNotification>? Changed;

    public IReadOnlyList<TerminalInfo> LostTerminals { get; }

    /// <summary>
    /// A client is about to use a terminal of a workspace (create, input, attach): its workspace id and what it does.
    /// Raised on the caller's thread before the use, so that a suspended workspace wakes up first and an idle one counts
    /// as in use again (the limits capability listens).
    /// </summary>
    public event Action<string, string>? Used;

    public IReadOnlyList<TerminalInfo> List(string? workspaceRef)
    {
        string? wsId = workspaceRef is null ? null : _workspaces.Show(workspaceRef).Id;
        return _terminals.Values
            .Where(t => wsId is null || t.WorkspaceId == wsId)
            .Select(t => t.Info)
            .OrderBy(t => t.WorkspaceId, StringComparer.Ordinal)
            .ThenBy(t => t.CreatedAt)
            .ToList();
    }

    /// <summary>How many reads and writes the terminal has seen (output chunks and input); a change means it was in use.</summary>
    public long IoCount(string terminalId) => _terminals.TryGetValue(terminalId, out var t) ? t.IoCount : 0;

    public int RunningCount(string workspaceId) => _terminals.Values.Count(t => t.WorkspaceId == workspaceId && t.IsRunning);

    /// <summary>The single guard for terminal ids: an unknown id is a clear NotFound.</summary>
    public Terminal Get(string id) =>
        _terminals.TryGetValue(id ?? "", out var t)
            ? t
            : throw OrchflowException.NotFound("terminal", id ?? "", "Run `orchflow terminal list` to see the ids.");

    /// <param name="agent">For an agent's terminal: its argv, environment, cwd and observer; <paramref name="p"/> then gives only the workspace, name, purpose and size.</param>
    public TerminalInfo Create(TerminalCreateParams p, ClientSession? attachTo, AgentLaunch? agent = null)
    {
        var ws = _workspaces.Show(p.WorkspaceId ?? WorkspaceService.DefaultId);
        var cwd = agent?.Cwd ?? ResolveCwd(ws, p.Cwd);
        IReadOnlyList<string> command = agent is not null
            ? agent.Command
            : p.Command is { } line
                ? (string.IsNullOrWhiteSpace(line)
                    ? throw new OrchflowException(ErrorCodes.InvalidArgument, "The command is empty.", "Omit it for an interactive shell, or pass a command line.")
                    : [Shell(), "-c", line])
                : [Shell()];
        int columns = Clamp(p.Columns ?? 80, "columns");
        int rows = Clamp(p.Rows ?? 24, "rows");
        var purpose = p.Purpose ?? TerminalPurpose.Shell;
        Used?.Invoke(ws.Id, agent is null ? "creating a terminal" : $"starting agent {agent.AgentId}");

        Terminal terminal;
        lock (_createGate)
        {
            int limit = ws.Metadata.ResourceLimits.TerminalLimit;
            int running = RunningCount(ws.Id);
            if (running >= limit)
            {
                _isolation.Audit.Add(ws.Id, Protocol.AuditKind.Refused, $"Refused a new terminal: {running} already run, the workspace's terminal_limit.", "resources.terminal_limit");
                throw new OrchflowException(ErrorCodes.LimitReached,
                    $"Workspace '{ws.Id}' already runs {running} terminals, its limit (terminal_limit).",
                    $"Kill one with `orchflow terminal kill ID`, or raise terminal_limit in {ws.Config.Path ?? "the workspace's .orchflow/workspace.json"} (or terminal_limit_per_workspace in orchflow.toml).");
            }

            var id = NextId(ws.Namespace);
            var name = string.IsNullOrWhiteSpace(p.Name) ? $"{purpose.ToString().ToLowerInvariant()} {id[(id.LastIndexOf('-') + 1)..]}" : p.Name.Trim();
            var info = new TerminalInfo
            {
                Id = id,
                WorkspaceId = ws.Id,
                Namespace = ws.Namespace,
                Name = name,
                Purpose = purpose,
                AgentId = agent?.AgentId,
                Command = command,
                Cwd = cwd,
                Status = TerminalStatus.Running,
                Columns = columns,
                Rows = rows,
                CreatedAt = DateTimeOffset.UtcNow,
                AttachedClients = 0,
            };
            terminal = new Terminal(info, ScrollbackChars(), OnExited) { Observer = agent?.Observer };
            _terminals[id] = terminal;
        }

        var env = EnvironmentFor(ws, terminal.Id, agent?.AgentId, agent?.Env, agent?.Variables);
        Security.Sandbox? sandbox;
        IReadOnlyList<string>? cgroups;
        try
        {
            cgroups = _limits.PrepareLaunch(ws);
            sandbox = _isolation.PrepareLaunch(ws, Launch(command, agent is null && p.Command is null, cwd, agent?.AgentId ?? terminal.Id) with { Visible = agent?.SandboxReadOnly ?? [] }, env);
        }
        catch
        {
            _terminals.TryRemove(terminal.Id, out _);
            throw;
        }

        // The directory is entered through the descriptor that was checked: a symlink swapped in meanwhile cannot move it.
        var confine = PathRules.IsSameOrInside(cwd, ws.RootPath) ? ws.RootPath : cwd;
        var options = new PtySpawnOptions(command[0], command.Skip(1).ToList(), cwd, env, (ushort)columns, (ushort)rows) { ConfineWorkingDirectoryTo = confine };
        var result = ProcessFactory.StartPty(options, sandbox, cgroups);
        if (result is PtySpawnResult.Failure failure)
        {
            _terminals.TryRemove(terminal.Id, out _);
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The terminal could not start: {failure.Message}", "Check the shell (default_shell in orchflow.toml, or $SHELL) and the command.");
        }
        var process = ((PtySpawnResult.Success)result).Process;
        if (attachTo is not null)
        {
            terminal.Attach(attachTo);
        }

        // Publish "created" before reading starts: a fast child's "exited" must never reach a client first.
        // The record is queued before the reader starts, so it is written before any "exited" record.
        var created = terminal.Bind(process);
        _store.Upsert(ToRecord(created));
        Publish(TerminalChangeKind.Created, terminal);
        terminal.Start();
        _log.Info($"Terminal {terminal.Id} started in {ws.Id} (pid {process.Pid}): {string.Join(' ', command)}");
        HeapTrace.Write(_log, $"terminal {terminal.Id}");
        return created;
    }

    /// <summary>
    /// What the security layer checks: a shell running <c>-c LINE</c> (a --cmd terminal, a command agent) is checked
    /// command by command; an interactive shell is not a command Orchflow launches; anything else by its program.
    /// </summary>
    internal Security.LaunchRequest Launch(IReadOnlyList<string> argv, bool interactive, string cwd, string subject)
    {
        string? line = argv.Count == 3 && argv[1] == "-c" && IsShell(argv[0]) ? argv[2] : null;
        return new Security.LaunchRequest(argv, line, interactive, cwd, subject);
    }

    /// <summary>Checks an agent's argv against allowed_commands before it is queued, so a refusal is an error of the spawn request.</summary>
    internal void CheckLaunch(WorkspaceInfo ws, IReadOnlyList<string> argv, string cwd, IReadOnlyDictionary<string, string>? extraEnv, string subject) =>
        _isolation.CheckCommand(ws, Launch(argv, interactive: false, cwd, subject), EnvironmentFor(ws, subject, null, extraEnv));

    private bool IsShell(string program)
    {
        try
        {
            return program == Shell() || Path.GetFileName(program) is "sh" or "bash" or "dash" or "zsh" or "ksh" or "fish";
        }
        catch (OrchflowException)
        {
            return false;
        }
    }

    public void Input(string id, string data)
    {
        var t = Get(id);
        if (!t.IsRunning || t.Process is null)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed, $"Terminal '{id}' is not running ({t.Info.Status.ToString().ToLowerInvariant()}).", "Create a new terminal.");
        }

        Used?.Invoke(t.WorkspaceId, "terminal input");
        t.Write(data);
        t.Observer?.OnInput(data);
    }

    public TerminalInfo Resize(string id, int columns, int rows)
    {
        var t = Get(id);
        int c = Clamp(columns, "columns"), r = Clamp(rows, "rows");
        if (t.IsRunning)
        {
            t.Process?.Resize((ushort)c, (ushort)r);
        }

        t.Screen.Resize(c, r);

        t.Update(i => i with { Columns = c, Rows = r });
        return t.Info;
    }

    public TerminalInfo Rename(string id, string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "A terminal name cannot be empty.", "Pass a name such as \"API server\".");
        }

        var t = Get(id);
        t.Update(i => i with { Name = name.Trim() });
        _store.Upsert(ToRecord(t.Info));
        Publish(TerminalChangeKind.Updated, t);
        return t.Info;
    }

    /// <summary>Ends the terminal's whole process tree but keeps the terminal, killed, with its scrollback (a limit stopped it: the user can read why).</summary>
    public TerminalInfo Terminate(string id)
    {
        var t = Get(id);
        EndProcessTree(t);
        return t.Info;
    }

    /// <summary>A running terminal is marked killed and its whole process tree ends; what of its session is left in the workspace's control group is killed too.</summary>
    private void EndProcessTree(Terminal t)
    {
        if (!t.IsRunning)
        {
            return;
        }

        t.MarkKilled();
        t.Process?.KillTree();
        if (t.Process is { } killed)
        {
            _limits.KillLeftovers(t.WorkspaceId, killed.Pid);
        }
    }

    /// <summary>Ends the terminal's whole process tree, then removes it.</summary>
    public TerminalInfo Kill(string id)
    {
        var t = Get(id);
        EndProcessTree(t);
        t.DetachAll();
        t.Process?.Dispose();
        _terminals.TryRemove(id, out _);
        _store.Delete(id);
        _log.Info($"Terminal {id} killed and removed");
        var info = t.Info;
        Changed?.Invoke(new TerminalChangedNotification { Kind = TerminalChangeKind.Removed, Id = id, WorkspaceId = t.WorkspaceId });
        return info;
    }

    public TerminalAttachResult Attach(string id, ClientSession session)
    {
        var terminal = Get(id);
        Used?.Invoke(terminal.WorkspaceId, $"attaching {id}");
        var result = terminal.Attach(session);
        return result;
    }

    public void Detach(string id, ClientSession session) => Get(id).Detach(session.Id);

    public void Acknowledge(string id, ClientSession session, long seq)
    {
        if (_terminals.TryGetValue(id, out var t))
        {
            t.Acknowledge(session.Id, seq);
        }
    }

    public string Read(string id, int? tail, bool screen = false)
    {
        if (tail is < 1)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "--tail must be at least 1.");
        }

        if (!screen)
        {
            return PlainText.From(Get(id).ScrollbackText(), tail);
        }

        var text = Get(id).Screen.Snapshot().Text;
        if (tail is { } n)
        {
            var lines = text.Split('\n');
            int count = lines.Length - 1;
            if (n < count)
            {
                text = string.Join('\n', lines[(count - n)..]);
            }
        }

        return text;
    }

    /// <summary>A client went away: its attachments end (the terminals go on).</summary>
    public void DetachClient(ClientSession session)
    {
        foreach (var t in _terminals.Values)
        {
            t.Detach(session.Id);
        }
    }

    /// <summary>Removes every terminal of a deleted workspace, ending the running ones.</summary>
    public void RemoveWorkspace(string workspaceId)
    {
        foreach (var t in _terminals.Values.Where(t => t.WorkspaceId == workspaceId).ToList())
        {
            Kill(t.Id);
        }
    }

    private void OnExited(Terminal t)
    {
        if (_stopping)
        {
            return;
        }

        _store.Upsert(ToRecord(t.Info));
        _log.Info($"Terminal {t.Id} ended: {t.Info.Status.ToString().ToLowerInvariant()}, code {t.Info.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-"}, signal {t.Info.Signal?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
        if (_terminals.ContainsKey(t.Id))
        {
            Publish(TerminalChangeKind.Exited, t);
        }
    }

    private void Publish(TerminalChangeKind kind, Terminal t) =>
        Changed?.Invoke(new TerminalChangedNotification { Kind = kind, Id = t.Id, WorkspaceId = t.WorkspaceId, Terminal = t.Info });

    private static string ResolveCwd(WorkspaceInfo ws, string? requested)
    {
        if (requested is null)
        {
            return ws.RootPath;
        }

        var full = Path.IsPathRooted(requested) ? requested : Path.Combine(ws.RootPath, requested);
        var canonical = PathRules.CanonicalDirectory(full);
        if (!PathRules.IsSameOrInside(canonical, ws.RootPath))
        {
            throw new OrchflowException(ErrorCodes.InvalidPath,
                $"{canonical} is outside workspace '{ws.Id}' ({ws.RootPath}); a terminal's directory must stay inside its workspace.",
                "Pass a directory inside the workspace root, or omit it for the root.");
        }

        return canonical;
    }

    /// <summary>
    /// The environment a terminal of <paramref name="ws"/> gets: the allowlist, shared_env, then an agent type's env,
    /// then the workspace's secrets, then ORCHFLOW_* (agents also get ORCHFLOW_AGENT_ID). Agents use it to find their CLI on the same PATH.
    /// </summary>
    /// <param name="agentVariables">ORCHFLOW_* variables of an agent's run (its MCP token), set last so nothing overrides them.</param>
    internal Dictionary<string, string> EnvironmentFor(WorkspaceInfo ws, string terminalId, string? agentId = null, IReadOnlyDictionary<string, string>? extraEnv = null, IReadOnlyDictionary<string, string>? agentVariables = null)
    {
        IReadOnlyDictionary<string, string> shared = ws.SharedEnv;
        var secrets = _isolation.SecretEnvironment(ws);
        if (extraEnv is { Count: > 0 } || secrets is { Count: > 0 })
        {
            // The workspace's secrets come last: only its own processes get them, and a type's env cannot shadow them.
            var merged = new Dictionary<string, string>(ws.SharedEnv, StringComparer.Ordinal);
            foreach (var (key, value) in (extraEnv ?? new Dictionary<string, string>()).Concat(secrets ?? new Dictionary<string, string>()))
            {
                merged[key] = value;
            }

            shared = merged;
        }

        var variables = OrchflowVariables(ws, terminalId);
        if (agentId is not null)
        {
            variables["ORCHFLOW_AGENT_ID"] = agentId;
        }

        foreach (var (key, value) in agentVariables ?? new Dictionary<string, string>())
        {
            variables[key] = value;
        }

        return TerminalEnvironment.Build(_userEnvironment, shared, variables);
    }

    private Dictionary<string, string> OrchflowVariables(WorkspaceInfo ws, string terminalId)
    {
        var historyDir = Path.Combine(_paths.DataDirectory, "workspaces", ws.Id);
        Directory.CreateDirectory(historyDir);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ORCHFLOW_WORKSPACE"] = ws.Id,
            ["ORCHFLOW_WORKSPACE_NAME"] = ws.Name,
            ["ORCHFLOW_WORKSPACE_ROOT"] = ws.RootPath,
            ["ORCHFLOW_NAMESPACE"] = ws.Namespace,
            ["ORCHFLOW_TERMINAL_ID"] = terminalId,

            // Each workspace keeps its own shell history, outside every workspace root.
            ["HISTFILE"] = Path.Combine(historyDir, "shell_history"),
        };
    }

    /// <summary>The shell for new terminals: default_shell in orchflow.toml, else the user's $SHELL, else /bin/bash.</summary>
    internal string Shell()
    {
        var shell = _settings.Current.Terminals.DefaultShell ?? _userEnvironment("SHELL");
        if (string.IsNullOrWhiteSpace(shell))
        {
            shell = "/bin/bash";
        }

        if (!File.Exists(shell))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The shell {shell} does not exist.", "Set default_shell under [terminals] in orchflow.toml.");
        }

        return shell;
    }

    private int ScrollbackChars() => (int)Math.Clamp(_settings.Current.Terminals.ScrollbackBytes, 1024, int.MaxValue / 2);

    private string NextId(string ns)
    {
        int max = 0;
        foreach (var id in _terminals.Keys)
        {
            if (id.StartsWith(ns + "-t", StringComparison.Ordinal) && int.TryParse(id.AsSpan(ns.Length + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                max = Math.Max(max, n);
            }
        }

        return $"{ns}-t{max + 1}";
    }

    private static int Clamp(int value, string what) =>
        value is >= 1 and <= 1000 ? value : throw new OrchflowException(ErrorCodes.InvalidArgument, $"{what} must be from 1 to 1000, got {value}.");

    private static TerminalRecord ToRecord(TerminalInfo i) => new()
    {
        Id = i.Id,
        WorkspaceId = i.WorkspaceId,
        Namespace = i.Namespace,
        Name = i.Name,
        Purpose = i.Purpose.ToString().ToLowerInvariant(),
        AgentId = i.AgentId,
        Command = i.Command.ToList(),
        Cwd = i.Cwd,
        Status = i.Status.ToString().ToLowerInvariant(),
        ExitCode = i.ExitCode,
        Signal = i.Signal,
        Columns = i.Columns,
        Rows = i.Rows,
        CreatedAt = i.CreatedAt.UtcDateTime,
        EndedAt = i.EndedAt?.UtcDateTime,
    };

    private static TerminalInfo ToInfo(TerminalRecord r) => new()
    {
        Id = r.Id,
        WorkspaceId = r.WorkspaceId,
        Namespace = r.Namespace,
        Name = r.Name,
        Purpose = Enum.TryParse<TerminalPurpose>(r.Purpose, true, out var p) ? p : TerminalPurpose.Shell,
        AgentId = r.AgentId,
        Command = r.Command,
        Cwd = r.Cwd,
        Status = Enum.TryParse<TerminalStatus>(r.Status, true, out var s) ? s : TerminalStatus.Lost,
        ExitCode = r.ExitCode,
        Signal = r.Signal,
        Columns = r.Columns,
        Rows = r.Rows,
        CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc)),
        EndedAt = r.EndedAt is { } e ? new DateTimeOffset(DateTime.SpecifyKind(e, DateTimeKind.Utc)) : null,
        AttachedClients = 0,
    };

    /// <summary>
    /// The daemon is stopping: every running terminal's tree ends now. Their records stay marked running, so the
    /// next daemon reports them as lost (their sessions and scrollback are gone).
    /// </summary>
    public void Dispose()
    {
        _stopping = true;
        foreach (var t in _terminals.Values)
        {
            t.DetachAll();
            t.Process?.Dispose();
        }
    }
}

/// <summary>
/// How an agent's terminal starts, unlike a user's: its own argv with no shell in between (so a task cannot inject
/// commands), its type's extra environment, a working directory the agents capability has checked (the workspace root
/// or the agent's worktree outside it), and an observer of its output and input.
/// </summary>
public sealed record AgentLaunch(
    string AgentId,
    IReadOnlyList<string> Command,
    string Cwd,
    IReadOnlyDictionary<string, string> Env,
    ITerminalObserver Observer)
{
    /// <summary>Orchflow's own variables for this run (ORCHFLOW_MCP_TOKEN and the like); they override everything else.</summary>
    public IReadOnlyDictionary<string, string>? Variables { get; init; }

    /// <summary>Paths of Orchflow's own its sandbox must show read-only (see <see cref="Agents.AgentRunSetup.SandboxReadOnly"/>).</summary>
    public IReadOnlyList<string> SandboxReadOnly { get; init; } = [];
}
