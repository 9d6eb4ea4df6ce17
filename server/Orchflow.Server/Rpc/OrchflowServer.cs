using System.Collections.Concurrent;
using Orchflow.Protocol;
using Orchflow.Server.Agents;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Mcp;
using Orchflow.Server.Memory;
using Orchflow.Server.Limits;
using Orchflow.Server.Security;
using Orchflow.Server.Storage;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Rpc;

/// <summary>
/// The composition root: builds every capability's service once, in dependency order with every dependency passed to
/// its constructor (no service sets another's fields), and for each connection registers each capability's handlers,
/// in one readable list (<see cref="Attach"/>). Transport-agnostic: the daemon's socket,
/// stdio and in-memory test pipes all come through <see cref="Attach"/>.
/// </summary>
public sealed class OrchflowServer : IAsyncDisposable
{
    /// <summary>How often config files are checked for edits (one stat per file; cheap).</summary>
    public static readonly TimeSpan ConfigPollInterval = TimeSpan.FromSeconds(1);

    public static readonly string Version = typeof(OrchflowServer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private readonly ConcurrentDictionary<int, ClientSession> _sessions = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _poller;
    private readonly TimeProvider _time;
    private int _disposed;

    /// <param name="mcpSocketPath">The MCP socket agents are told about; null when there is none (stdio, tests).</param>
    /// <param name="mcpLaunch">How agents' CLIs start <c>orchflow mcp</c>; this program by default.</param>
    /// <param name="cgroups">The control groups driver; by default the one this machine offers (<see cref="CgroupProbe"/>).</param>
    public OrchflowServer(OrchflowPaths paths, Database database, Log log, string? socketPath, TimeProvider? time = null, string? defaultWorkspaceRoot = null,
        string? mcpSocketPath = null, McpLaunch? mcpLaunch = null, ICgroupDriver? cgroups = null)
    {
        _time = time ?? TimeProvider.System;
        Paths = paths;
        Log = log;
        Database = database;
        StartedAt = _time.GetUtcNow();

        // The dependency graph, in the order it is built: one line per service, each naming everything it uses. The
        // pieces above the workspace registry are what it shares with later services; each breaks a cycle the services
        // would otherwise have (the registry shows agents, hibernation and isolation; the terminals need the limits).
        Settings = new GlobalSettings(paths.ConfigFile, log);
        var audit = new AuditLog(paths.DataDirectory, _time);
        var cgroupDriver = cgroups ?? CgroupProbe.Detect(paths.DataDirectory, Environment.GetEnvironmentVariable(CgroupProbe.Variable));
        var limitMechanisms = new LimitMechanisms(cgroupDriver, Settings);
        var machine = new MachineIsolation(HostProbe.Current(), limitMechanisms);
        var agentTable = new AgentTable();
        var suspended = new SuspendedWorkspaces();
        var defaultRoot = defaultWorkspaceRoot ?? Environment.GetEnvironmentVariable("HOME") ?? "/";
        Workspaces = new WorkspaceService(new WorkspaceStore(database), Settings, machine, agentTable, suspended, audit, log, _time, defaultRoot);
        Isolation = new IsolationService(paths, Workspaces, machine, audit, log, _time);
        var groups = new WorkspaceGroups(limitMechanisms, suspended, agentTable, FocusedWorkspaces, audit, Settings, log, _time);
        var terminalStore = new TerminalStore(database, ex => log.Error("A terminal record could not be written", ex));
        Terminals = new TerminalService(Workspaces, Settings, Isolation, groups, terminalStore, paths, log);
        Resources = new ResourceMonitor(Workspaces, Terminals, agentTable, log, _time);
        Tokens = new AgentTokens(_time);
        var mcpSetup = new McpAgentSetup(Tokens, paths.DataDirectory, mcpSocketPath, mcpLaunch ?? McpLaunch.Self());
        Agents = new AgentService(agentTable, Workspaces, Terminals, Resources, mcpSetup, Settings, new AgentStore(database), paths, log, _time);
        Memory = new MemoryService(Workspaces, Terminals, paths, log, _time);
        Limits = new ResourceGovernor(Workspaces, Terminals, Agents, Resources, groups, suspended, audit, Settings, log, _time);

        Info = new DaemonInfo
        {
            Pid = Environment.ProcessId,
            Home = paths.DisplayHome,
            DataDirectory = paths.DataDirectory,
            ConfigFile = paths.ConfigFile,
            LogFile = paths.LogFile,
            Socket = socketPath,
            StartedAt = StartedAt,
        };

        Workspaces.Changed += OnWorkspaceChanged;
        Terminals.Changed += change => Broadcast(Methods.TerminalChanged, change);
        Agents.Changed += change => Broadcast(Methods.AgentChanged, change);
        Agents.EventAdded += e => Broadcast(Methods.AgentEvent, e);
        Resources.Changed += snapshot => Broadcast(Methods.ResourcesChanged, snapshot);
        Memory.Changed += change => Broadcast(Methods.MemoryChanged, change);
        Limits.Notice += notice => Broadcast(Methods.WorkspaceNotice, notice);
        audit.Added += entry => Broadcast(Methods.WorkspaceAudited, entry);
        Settings.Changed += () => Broadcast(Methods.ConfigChanged, new ConfigChangedNotification { Diagnostics = Settings.Diagnostics });
        _poller = Periodic.RunAsync(ConfigPollInterval, _time, RefreshConfigs, log, "Config refresh failed", _stopping.Token);
    }

    public OrchflowPaths Paths { get; }

    public Log Log { get; }

    public Database Database { get; }

    public GlobalSettings Settings { get; }

    public WorkspaceService Workspaces { get; }

    public TerminalService Terminals { get; }

    public IsolationService Isolation { get; }

    public ResourceGovernor Limits { get; }

    /// <summary>The resource figures of every running terminal, sampled once a second.</summary>
    public ResourceMonitor Resources { get; }

    public AgentService Agents { get; }

    public MemoryService Memory { get; }

    /// <summary>The MCP tokens of running agents.</summary>
    public AgentTokens Tokens { get; }

    public DaemonInfo Info { get; }

    public DateTimeOffset StartedAt { get; }

    public int ClientCount => _sessions.Count;

    /// <summary>What every connection's incoming messages are held to now (orchflow.toml <c>[daemon]</c>).</summary>
    public WireLimits WireLimits => new(Settings.Current.Daemon.MaxMessageSizeBytes, Settings.Current.Daemon.FrameTimeout, Settings.Path);

    /// <summary>Serves one client on a pair of streams until it disconnects or sends exit.</summary>
    /// <param name="onExit">What LSP's exit does; by default the connection closes (the daemon itself goes on).</param>
    /// <param name="mcpOnly">A connection on the MCP socket: only the lifecycle and orchflow/mcp/* are served.</param>
    /// <param name="refusal">Why this client may not be served (a sandboxed process): only the lifecycle is, and initialize fails saying why.</param>
    public ClientSession Attach(Stream sending, Stream receiving, string transport, Action<ClientSession>? onExit = null, bool mcpOnly = false, string? refusal = null)
    {
        var session = new ClientSession(this, transport) { McpOnly = mcpOnly || refusal is not null, Refusal = refusal, Peer = (receiving as System.Net.Sockets.NetworkStream)?.Socket };
        var rpc = OrchflowJsonRpc.Create(sending, receiving, Log, () => WireLimits, session.ToString, session.Admit);
        session.Rpc = rpc;

        // Every capability's handlers, one line each.
        rpc.AddLocalRpcTarget(new LifecycleHandlers(session, this));
        if (refusal is not null)
        {
            // Nothing but the lifecycle, whose initialize refuses.
        }
        else if (mcpOnly)
        {
            rpc.AddLocalRpcTarget(new McpHandlers(Tokens, Memory, Agents, Workspaces));
        }
        else
        {
            rpc.AddLocalRpcTarget(new WorkspaceHandlers(session, Workspaces));
            rpc.AddLocalRpcTarget(new TerminalHandlers(session, Terminals));
            rpc.AddLocalRpcTarget(new AgentHandlers(session, Agents));
            rpc.AddLocalRpcTarget(new MemoryHandlers(session, Memory));
            rpc.AddLocalRpcTarget(new SecurityHandlers(Isolation));
            rpc.AddLocalRpcTarget(new LimitsHandlers(session, Limits, Resources));
        }

        session.ExitRequested += onExit ?? (s => s.Rpc.Dispose());
        _sessions[session.Id] = session;
        rpc.Disconnected += (sender, e) =>
        {
            _sessions.TryRemove(session.Id, out _);
            Terminals.DetachClient(session);
            Log.Debug($"{session} disconnected: {e.Reason}" + (e.Description is { Length: > 0 } d ? $" ({d})" : ""));
        };
        rpc.StartListening();
        Log.Debug($"{session} connected");
        return session;
    }

    public StatusResult GetStatus(ClientSession session)
    {
        var list = Workspaces.List();
        return new StatusResult
        {
            Version = Version,
            Daemon = Info,
            UptimeSeconds = (_time.GetUtcNow() - StartedAt).TotalSeconds,
            Clients = _sessions.Count,
            WorkspaceCount = list.Count(w => !w.IsDefault),
            MaxWorkspaces = Settings.Current.Orchestration.MaxWorkspaces,
            ActiveWorkspaceId = session.ActiveWorkspaceId,
            DaemonMemoryBytes = ProcessMemory.ResidentBytes(),
            ConfigDiagnostics = Settings.Diagnostics,
            LostTerminals = Terminals.LostTerminals,
            StartNotices = Limits.StartNotices,
            WorkspacesWithConfigErrors = list.Where(w => w.Config.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)).Select(w => w.Id).ToList(),
            DamagedMemory = Memory.DamagedWorkspaces(),
            Isolation = Isolation.Host with { Cgroups = Limits.Cgroups.Version.ToString().ToLowerInvariant(), CgroupsDetail = Limits.Cgroups.Description },
        };
    }

    /// <summary>The workspaces some client has switched to.</summary>
    private IReadOnlyCollection<string> FocusedWorkspaces() => _sessions.Values.Select(s => s.ActiveWorkspaceId).OfType<string>().ToList();

    private void OnWorkspaceChanged(WorkspaceChangedNotification change)
    {
        if (change.Kind == WorkspaceChangeKind.Deleted)
        {
            Agents.RemoveWorkspace(change.Id);
            Tokens.RevokeWorkspace(change.Id);
            Terminals.RemoveWorkspace(change.Id);
            Memory.RemoveWorkspace(change.Id);
            Limits.RemoveWorkspace(change.Id);
            foreach (var s in _sessions.Values.Where(s => s.ActiveWorkspaceId == change.Id))
            {
                s.ActiveWorkspaceId = null;
            }
        }

        Broadcast(Methods.WorkspaceChanged, change);
    }

    private void Broadcast(string method, object payload)
    {
        foreach (var s in _sessions.Values.Where(s => s.Initialized && !s.McpOnly))
        {
            _ = s.NotifyAsync(method, payload);
        }
    }

    private void RefreshConfigs()
    {
        Settings.Refresh();
        Workspaces.RefreshChangedConfigs();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _poller.ConfigureAwait(false);
        await Limits.DisposeAsync().ConfigureAwait(false);
        await Resources.DisposeAsync().ConfigureAwait(false);
        await Agents.DisposeAsync().ConfigureAwait(false);
        await Memory.DisposeAsync().ConfigureAwait(false);
        Terminals.Dispose();
        foreach (var s in _sessions.Values)
        {
            s.Rpc.Dispose();
        }

        Limits.Cgroups.RemoveAll();
        _stopping.Dispose();
    }
}
