using System.Diagnostics;
using Nerdbank.Streams;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Rpc;
using Orchflow.Server.Storage;
using StreamJsonRpc;

namespace Orchflow.Server.Tests;

/// <summary>A fresh ORCHFLOW_HOME (short, so the socket path fits) and project folders, removed afterwards.</summary>
public sealed class TempHome : IDisposable
{
    public TempHome()
    {
        Root = Directory.CreateTempSubdirectory("of-").FullName;
        Home = Path.Combine(Root, "h");
        Projects = Path.Combine(Root, "p");
        Directory.CreateDirectory(Projects);
        Paths = OrchflowPaths.FromEnvironment(name => name == OrchflowPaths.HomeVariable ? Home : Environment.GetEnvironmentVariable(name));
    }

    public string Root { get; }

    public string Home { get; }

    public string Projects { get; }

    public OrchflowPaths Paths { get; }

    /// <summary>Makes a project folder with the given files (relative path → content).</summary>
    public string Project(string name, params (string Path, string Content)[] files)
    {
        var dir = Path.Combine(Projects, name);
        Directory.CreateDirectory(dir);
        foreach (var (rel, content) in files)
        {
            var full = Path.Combine(dir, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        return dir;
    }

    public void WriteGlobalConfig(string toml)
    {
        Directory.CreateDirectory(Paths.ConfigDirectory);
        File.WriteAllText(Paths.ConfigFile, toml);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// An in-memory server and clients joined by full-duplex pipes with the production framing
/// (Content-Length headers, the same formatter), so the tests exercise the real protocol without sockets.
/// </summary>
public sealed class InMemoryServer : IAsyncDisposable
{
    private readonly List<TestClient> _clients = [];

    public InMemoryServer(TempHome home, Database? database = null, TimeProvider? time = null)
    {
        Home = home;
        home.Paths.EnsureDirectories();
        Database = database ?? Database.InMemory();
        Server = new OrchflowServer(home.Paths, Database, Log.Null, socketPath: null, time, defaultWorkspaceRoot: Path.Combine(home.Root, "userhome"));
    }

    public TempHome Home { get; }

    public Database Database { get; }

    public OrchflowServer Server { get; }

    public async Task<TestClient> ConnectAsync(bool initialize = true)
    {
        var (a, b) = FullDuplexStream.CreatePair();
        Server.Attach(a, a, "memory");
        var client = new TestClient(b);
        _clients.Add(client);
        if (initialize)
        {
            await client.InitializeAsync();
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }

        await Server.DisposeAsync();
    }
}

public sealed class TestClient : IDisposable
{
    private readonly List<(string Method, string Json)> _notifications = [];
    private readonly SemaphoreSlim _notified = new(0);

    public TestClient(Stream stream)
    {
        Stream = stream;
        Rpc = Cli.OrchflowClientRpc.Create(stream);
        foreach (var method in new[] { Methods.WorkspaceChanged, Methods.ConfigChanged, Methods.TerminalChanged, Methods.TerminalOutput, Methods.MemoryChanged, Methods.WorkspaceNotice })
        {
            var handler = new Action<System.Text.Json.JsonElement>(p => Record(method, p));
            Rpc.AddLocalRpcMethod(handler.Method, handler.Target, new JsonRpcMethodAttribute(method) { UseSingleObjectParameterDeserialization = true });
        }
        Rpc.StartListening();
    }

    public Stream Stream { get; }

    public JsonRpc Rpc { get; }

    public Task<InitializeResult> InitializeAsync() =>
        CallAsync<InitializeResult>(Methods.Initialize, new InitializeParams { ProcessId = Environment.ProcessId, ClientInfo = new ClientInfo { Name = "test" } });

    public Task<T> CallAsync<T>(string method, object? parameters) => Rpc.InvokeWithParameterObjectAsync<T>(method, parameters);

    /// <summary>Calls a method expecting an error response; returns its code, message and data.</summary>
    public async Task<RpcFailure> FailAsync(string method, object? parameters)
    {
        var ex = await Assert.ThrowsAnyAsync<RemoteRpcException>(() => Rpc.InvokeWithParameterObjectAsync<object>(method, parameters));
        return ex switch
        {
            RemoteInvocationException ri => new RpcFailure(ri.ErrorCode, ri.Message, ri.ErrorData as ErrorData),
            RemoteMethodNotFoundException mnf => new RpcFailure((int)mnf.ErrorCode, mnf.Message, null),
            _ => throw new Xunit.Sdk.XunitException($"unexpected {ex.GetType().Name}: {ex.Message}"),
        };
    }

    /// <summary>Waits for a notification of <paramref name="method"/> whose JSON satisfies <paramref name="match"/>.</summary>
    public async Task<string> WaitForNotificationAsync(string method, Func<string, bool> match, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        while (true)
        {
            lock (_notifications)
            {
                var hit = _notifications.FirstOrDefault(n => n.Method == method && match(n.Json));
                if (hit.Json is not null)
                {
                    return hit.Json;
                }
            }

            var left = limit - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"No {method} notification matched within {limit.TotalSeconds} s.");
            }

            await _notified.WaitAsync(left);
        }
    }

    private void Record(string method, System.Text.Json.JsonElement p)
    {
        lock (_notifications)
        {
            _notifications.Add((method, p.GetRawText()));
        }

        _notified.Release();
    }

    public void Dispose() => Rpc.Dispose();
}

public sealed record RpcFailure(int ErrorCode, string Message, ErrorData? ErrorData);

public static class ErrorAssert
{
    public static ErrorData Data(RpcFailure ex) => Assert.IsType<ErrorData>(ex.ErrorData);

    public static void Code(int expected, RpcFailure ex, string? messageFragment = null)
    {
        Assert.Equal(expected, ex.ErrorCode);
        if (messageFragment is not null)
        {
            Assert.Contains(messageFragment, ex.Message, StringComparison.Ordinal);
        }
    }
}

public static class CliAssert
{
    /// <summary>
    /// Runs the CLI in-process with <paramref name="args"/> and checks a usage error: exit code 2, nothing on stdout,
    /// one line on stderr starting "orchflow: " and containing <paramref name="fragment"/>, and no daemon started.
    /// </summary>
    public static async Task UsageErrorAsync(string fragment, string[] args)
    {
        using var home = new TempHome();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.CliApp.RunAsync(args, new Cli.Output(stdout, stderr), home.Paths, home.Root);
        Assert.Equal(2, code);
        Assert.Equal("", stdout.ToString());
        var message = stderr.ToString();
        Assert.StartsWith("orchflow: ", message, StringComparison.Ordinal);
        Assert.Contains(fragment, message, StringComparison.Ordinal);
        Assert.Single(message.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(home.Paths.SocketPath), "a usage error must not start a daemon");
    }
}

/// <summary>What /proc says about a process.</summary>
public static class ProcFs
{
    /// <summary>The state letter of a process (R, S, T, D, Z...), or null when it is gone.</summary>
    public static char? State(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Alive: present and not a zombie (PID 1 here does not reap orphans).</summary>
    public static bool Alive(int pid) => State(pid) is { } s && s != 'Z' && s != 'X';
}
