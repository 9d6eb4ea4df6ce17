using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nerdbank.Streams;
using Orchflow.Protocol;
using Orchflow.Server.Cli;
using StreamJsonRpc;

namespace Orchflow.Server.Tests;

/// <summary>
/// The ground for the escape attempts: a real daemon (started by the real CLI, over its real socket) serving two
/// workspaces in temp dirs: A, the victim (tier standard, a secret file, a secret in its environment, two terminals
/// running), and B, the attacker, at the tier under test, with network "none", allowed_commands [bash, cat] and a
/// restricted path outside both roots. Attacks are commands run in B's terminals. The daemon runs as root or as an
/// unprivileged user (<see cref="LabUser"/>), who then owns the temp home, A, B and everything the lab writes there.
/// </summary>
public sealed class IsolationLab : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly object _gate = new();
    private readonly Dictionary<string, TerminalInfo> _ended = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _changed = new(0);
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _payloads = [];
    private readonly SemaphoreSlim _received = new(0);
    private int _connections;
    private System.Diagnostics.Process? _relay;

    private IsolationLab(string tier, string sandbox, bool allowlist, LabUser user)
    {
        Tier = tier;
        Sandbox = sandbox;
        Allowlist = allowlist;
        User = user;
        _listener.Start(); // B's allow-list names its port
        Mark = Guid.NewGuid().ToString("N")[..12];
        FileSecret = "A-FILE-SECRET-" + Mark;
        EnvSecret = "A-ENV-SECRET-" + Mark;
        DaemonSecret = "A-DAEMON-SECRET-" + Mark;
        A = Home.Project("A", (".orchflow/workspace.json", Json(new JsonObject
        {
            ["id"] = "a",
            ["security"] = new JsonObject { ["tier"] = "standard" },
            ["shared_env"] = new JsonObject { ["A_TOKEN"] = EnvSecret },
        })), ("secret.txt", FileSecret + "\n"), ("rename-me.txt", FileSecret + "\n"));
        Restricted = Home.Project("restricted", ("secret.txt", "R-SECRET-" + Mark + "\n"));
        B = Home.Project("B", (".orchflow/workspace.json", BConfig()));
        Directory.CreateDirectory(Path.Combine(B, "attacks"));
        Directory.CreateDirectory(Path.Combine(B, "work"));
        Directory.CreateDirectory(Path.Combine(Home.Root, "userhome")); // the daemon's HOME (Orchflow.StartInfo), made before it is handed over
    }

    public TempHome Home { get; } = new();

    public string Tier { get; }

    /// <summary>Who runs the daemon, and so every workspace process.</summary>
    public LabUser User { get; }

    /// <summary>The sandbox the daemon may use: "bubblewrap" (as installed), "landlock" (bubblewrap made unavailable) or "none" (both).</summary>
    public string Sandbox { get; }

    /// <summary>Where attack scripts run: a directory inside B (B's root itself gets no new entries under Landlock, whose .orchflow/ is read-only).</summary>
    public string Work => Path.Combine(B, "work");

    /// <summary>A random token in every secret and marker of this run.</summary>
    public string Mark { get; }

    public string FileSecret { get; }

    public string EnvSecret { get; }

    /// <summary>A secret of A set through the daemon (orchflow secret set).</summary>
    public string DaemonSecret { get; }

    public string A { get; }

    public string B { get; }

    public string Restricted { get; }

    public DaemonClient Client { get; private set; } = null!;

    public WorkspaceInfo WorkspaceB { get; private set; } = null!;

    /// <summary>A's terminal that echoes every line it reads ("got:LINE"): input injected into it shows.</summary>
    public TerminalInfo Echoer { get; private set; } = null!;

    /// <summary>A's terminal whose process never reads: whoever else reads its terminal gets what is typed there.</summary>
    public TerminalInfo Sleeper { get; private set; } = null!;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted by the test's listener on the host's 127.0.0.1.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The port of the test's UDP socket on the host's 127.0.0.1.</summary>
    public int UdpPort => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    /// <summary>
    /// Whether the test's UDP socket has received a datagram containing <paramref name="text"/>, decided without a
    /// waiting period: a datagram sent to the host's socket is queued in it before its sender's write returns, so once a
    /// marker the test sends afterwards has been received, everything sent before it has been too.
    /// </summary>
    public async Task<bool> DatagramReceivedAsync(string text)
    {
        var marker = "AFTER-" + Guid.NewGuid().ToString("N");
        using (var sender = new UdpClient())
        {
            await sender.SendAsync(System.Text.Encoding.UTF8.GetBytes(marker), new IPEndPoint(IPAddress.Loopback, UdpPort));
        }

        using var cts = new CancellationTokenSource(Deadline);
        while (true)
        {
            lock (_payloads)
            {
                if (_payloads.Contains(marker))
                {
                    return _payloads.Any(p => p.Contains(text, StringComparison.Ordinal));
                }
            }

            try
            {
                await _received.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"The test's own datagram to 127.0.0.1:{UdpPort} did not arrive within {Deadline.TotalSeconds} s.");
            }
        }
    }

    public string BConfigPath => Path.Combine(B, ".orchflow", "workspace.json");

    /// <summary>B's network is an allow-list naming only the test's listener (127.0.0.1:<see cref="Port"/>), instead of none.</summary>
    public bool Allowlist { get; }

    public string BConfig()
    {
        var config = new JsonObject
        {
            ["id"] = "b",
            ["security"] = new JsonObject
            {
                ["tier"] = Tier,
                ["network"] = Allowlist ? "allowlist" : "none",
                ["allowed_commands"] = new JsonArray("bash", "cat"),
                ["restricted_paths"] = new JsonArray(Restricted),
            },
        };
        if (Allowlist)
        {
            config["security"]!["allowed_hosts"] = new JsonArray($"127.0.0.1:{Port}");
        }

        return Json(config);
    }

    /// <param name="user">Who runs the daemon; root (this process) when null.</param>
    public static async Task<IsolationLab> StartAsync(string tier, string sandbox, bool allowlist = false, LabUser? user = null)
    {
        var lab = new IsolationLab(tier, sandbox, allowlist, user ?? LabUser.Root);
        try
        {
            await lab.InitAsync();
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    private async Task InitAsync()
    {
        _ = AcceptLoopAsync();
        _ = ReceiveLoopAsync();
        var env = Sandbox switch
        {
            "bubblewrap" => null,
            "landlock" => new Dictionary<string, string> { [Security.HostProbe.BubblewrapVariable] = "/nonexistent/bwrap" },
            "none" => new Dictionary<string, string> { [Security.HostProbe.BubblewrapVariable] = "/nonexistent/bwrap", [Security.HostProbe.LandlockVariable] = "off" },
            _ => throw new ArgumentOutOfRangeException(nameof(Sandbox), Sandbox, "bubblewrap, landlock or none"),
        };
        User.Own(Home.Root);
        var started = await Orchflow.RunAsAsync(User, Home, null, env, "daemon", "start");
        Assert.True(started.ExitCode == 0, started.Stderr);
        void Register(JsonRpc rpc)
        {
            var handler = new Action<JsonElement>(OnTerminalChanged);
            rpc.AddLocalRpcMethod(handler.Method, handler.Target, new JsonRpcMethodAttribute(Methods.TerminalChanged) { UseSingleObjectParameterDeserialization = true });
        }

        if (User.IsRoot)
        {
            Client = await DaemonClient.ConnectAsync(Home.Paths, autoStart: false, "isolation-lab", Register);
        }
        else
        {
            // The daemon's user connects, as that user's own clients do; this process reads and writes through the relay.
            _relay = User.StartRelay(Home.Paths.SocketPath);
            var relayErrors = _relay.StandardError.ReadToEndAsync();
            try
            {
                Client = await DaemonClient.ConnectAsync(FullDuplexStream.Splice(_relay.StandardOutput.BaseStream, _relay.StandardInput.BaseStream), "isolation-lab", Register);
            }
            catch (RemoteFailure e)
            {
                throw new InvalidOperationException($"No connection through {User}'s relay: {e.Message} {(_relay.HasExited ? await relayErrors : "")}", e);
            }
        }

        await Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = A });
        WorkspaceB = await Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = B });
        await Client.InvokeAsync<SecretInfo>(Methods.SecretSet, new SecretSetParams { WorkspaceId = "a", Name = "A_DAEMON_SECRET", Value = DaemonSecret });
        Echoer = await CreateAsync("a", "while read -r l; do echo \"got:$l\"; done");
        Sleeper = await CreateAsync("a", "sleep 100000");
    }

    public Task<TerminalInfo> CreateAsync(string workspace, string command, string? cwd = null) =>
        Client.InvokeAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = workspace, Command = command, Cwd = cwd });

    public Task<string> ReadAsync(string id) =>
        Client.InvokeAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = id }).ContinueWith(t => t.Result.Text, TaskScheduler.Default);

    public Task TypeAsync(string id, string text) =>
        Client.InvokeAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = id, Data = text });

    public async Task KillAsync(string id)
    {
        try
        {
            await Client.InvokeAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = id });
        }
        catch (RemoteFailure)
        {
        }
    }

    /// <summary>
    /// Waits for the terminal's exit notification (event-driven; the deadline only bounds a hang). Ids are reused once a
    /// terminal is removed, so the notification must be of this very terminal (same creation time).
    /// </summary>
    public async Task<TerminalInfo> WaitForExitAsync(TerminalInfo terminal)
    {
        var id = terminal.Id;
        using var cts = new CancellationTokenSource(Deadline);
        while (true)
        {
            lock (_gate)
            {
                if (_ended.TryGetValue(id, out var info) && info.CreatedAt == terminal.CreatedAt)
                {
                    return info;
                }
            }

            try
            {
                await _changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Terminal {id} did not exit within {Deadline.TotalSeconds} s; it shows:\n{await ReadAsync(id)}");
            }
        }
    }

    /// <summary>Waits until the terminal's scrollback contains <paramref name="marker"/> (re-read every 50 ms).</summary>
    public Task<string> WaitForTextAsync(string id, string marker) =>
        Poll.UntilAsync(() => ReadAsync(id), text => text.Contains(marker, StringComparison.Ordinal), text => $"Terminal {id} never showed '{marker}'; it shows:\n{text}", Deadline);

    /// <summary>Writes an attack script into B's root, with the lab's facts as shell variables and two verdict functions.</summary>
    public string WriteScript(string name, string body)
    {
        var prelude = string.Join('\n',
            $"A='{A}'; B='{B}'; R='{Restricted}'; MARK='{Mark}'",
            $"FILE_SECRET='{FileSecret}'; ENV_SECRET='{EnvSecret}'; DAEMON_SECRET='{DaemonSecret}'",
            $"ECHOER_PID={Echoer.Pid}; SLEEPER_PID={Sleeper.Pid}",
            $"DATA='{Home.Paths.DataDirectory}'; SOCK='{Home.Paths.SocketPath}'; PORT={Port}; UDP_PORT={UdpPort}",
            "escaped() { echo \"RESULT: ESCAPED $*\"; exit 0; }",
            "blocked() { echo \"RESULT: BLOCKED $*\"; exit 0; }",
            "",
            "");
        var path = Path.Combine(B, "attacks", name + ".sh");
        File.WriteAllText(path, prelude + body.ReplaceLineEndings("\n") + "\n");
        User.Own(path);
        return path;
    }

    /// <summary>Gives what the test wrote into the lab (a restored file) to the daemon's user, like the rest of the lab.</summary>
    public void Own(string path) => User.Own(path);

    private void OnTerminalChanged(JsonElement payload)
    {
        var change = payload.Deserialize<TerminalChangedNotification>(ProtocolJson.Options);
        if (change?.Terminal is { } t && change.Kind is TerminalChangeKind.Exited)
        {
            lock (_gate)
            {
                _ended[t.Id] = t;
            }

            _changed.Release();
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var datagram = await _udp.ReceiveAsync(_stop.Token);
                lock (_payloads)
                {
                    _payloads.Add(System.Text.Encoding.UTF8.GetString(datagram.Buffer));
                }

                _received.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static string Json(JsonObject workspace) => new JsonObject { ["workspace"] = workspace }.ToJsonString();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _udp.Dispose();
        if (Client is not null)
        {
            await Client.DisposeAsync();
        }

        if (_relay is not null)
        {
            // Its standard input is closed with the client: it ends by itself.
            if (!_relay.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _relay.Kill();
            }

            _relay.Dispose();
        }

        await Orchflow.RunAsAsync(User, Home, null, null, "daemon", "stop");
        Home.Dispose();
        _stop.Dispose();
    }

    // ---- For the attacks on the daemon (IsolationEscapeTests.Daemon.cs) ----

    private Task<int>? _mcpServerOfA;
    private Task<string?>? _proxySocketOfC;

    /// <summary>The daemon's pid, from its pid file.</summary>
    public int DaemonPid => int.Parse(File.ReadAllText(Home.Paths.PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The pid of an <c>orchflow mcp</c> process of an agent of A, started once: a command agent that starts the MCP server
    /// its MCP config names, as an agent CLI does (so it holds the agent's token, in its environment and its memory).
    /// </summary>
    public Task<int> McpServerOfAAsync() => _mcpServerOfA ??= StartMcpServerOfAAsync();

    private async Task<int> StartMcpServerOfAAsync()
    {
        var script = Path.Combine(Home.Root, "start-mcp.sh");
        File.WriteAllText(script, """
            exec perl -MJSON::PP -e 'open(my $f, "<", $ENV{ORCHFLOW_MCP_CONFIG}) or die "config: $!\n"; my $c = decode_json(do { local $/; <$f> })->{mcpServers}{orchflow}; exec($c->{command}, @{$c->{args}}) or die "exec: $!\n"'

            """);
        var agent = await Client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "a", Type = "command", Task = $"bash {script}", Name = "mcp-of-a" });
        await WaitForTextAsync(agent.TerminalId!, "orchflow mcp: agent");
        return await Poll.UntilAsync(
            () => Task.FromResult(McpProcessOf(agent.Id)),
            pid => pid != 0,
            async _ => $"The orchflow mcp process of agent {agent.Id} was not found; its terminal shows:\n{await ReadAsync(agent.TerminalId!)}",
            Deadline);

        static int McpProcessOf(string agentId)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                    if (cmdline.Contains("mcp") && cmdline.Any(a => a.Contains($"/agents/a/{agentId}.mcp/", StringComparison.Ordinal)) && int.TryParse(Path.GetFileName(dir), out var pid))
                    {
                        return pid;
                    }
                }
                catch (IOException)
                {
                }
            }

            return 0;
        }
    }

    /// <summary>
    /// The network proxy socket of a third workspace, C (strict, allow-list naming the test's listener), made by starting a
    /// terminal in it; null where no proxy exists (it needs bubblewrap and the relay). Made once.
    /// </summary>
    public Task<string?> ProxySocketOfCAsync() => _proxySocketOfC ??= StartProxyOfCAsync();

    private async Task<string?> StartProxyOfCAsync()
    {
        var c = Home.Project("C", (".orchflow/workspace.json", Json(new JsonObject
        {
            ["id"] = "c",
            ["security"] = new JsonObject { ["tier"] = "strict", ["network"] = "allowlist", ["allowed_hosts"] = new JsonArray($"127.0.0.1:{Port}") },
        })));
        await Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = c });
        await CreateAsync("c", "sleep 100000");
        var socket = Path.Combine(Home.Paths.DataDirectory, "sandbox", "c", "tmp", Security.NetworkProxy.SocketName);
        return File.Exists(socket) ? socket : null;
    }

    /// <summary>Whether the memory of <paramref name="workspace"/> holds <paramref name="key"/> (asked of the daemon as a person would).</summary>
    public async Task<bool> MemoryHasAsync(string workspace, string key) =>
        (await Client.InvokeAsync<MemoryGetResult>(Methods.MemoryGet, new MemoryKeyParams { WorkspaceId = workspace, Key = key })).Entry is not null;

    /// <summary>How many terminals <paramref name="workspace"/> has, running or not.</summary>
    public async Task<int> TerminalCountAsync(string workspace) =>
        (await Client.InvokeAsync<TerminalListResult>(Methods.TerminalList, new TerminalListParams { WorkspaceId = workspace })).Terminals.Count;
}
