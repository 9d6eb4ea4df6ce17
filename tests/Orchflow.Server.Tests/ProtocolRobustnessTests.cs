using System.Globalization;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Cli;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Orchflow.Server.Tests;

/// <summary>
/// Bad input over the wire: the server answers with an error (or drops only that connection) and other clients are not
/// disturbed. The limits ([daemon] max_message_size and frame_timeout) are tested on the real daemon over its socket,
/// where its memory can be measured.
/// </summary>
[Trait("Tier", "e2e")]
public sealed class ProtocolRobustnessTests : IDisposable
{
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Unknown_method_is_MethodNotFound()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ex = await Assert.ThrowsAsync<RemoteMethodNotFoundException>(() => client.CallAsync<object>("orchflow/nothing/here", new { }));
        Assert.Equal(JsonRpcErrorCode.MethodNotFound, ex.ErrorCode);
        Assert.Contains("orchflow/nothing/here", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_and_wrong_typed_params_are_InvalidParams()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var missing = await client.FailAsync(Methods.WorkspaceCreate, new { });
        Assert.True((int)JsonRpcErrorCode.InvalidParams == missing.ErrorCode, missing.Message);
        Assert.Contains("'path'", missing.Message, StringComparison.Ordinal);
        var wrongType = await client.FailAsync(Methods.WorkspaceCreate, new { path = 42 });
        Assert.Equal((int)JsonRpcErrorCode.InvalidParams, wrongType.ErrorCode);
        var nullId = await client.FailAsync(Methods.WorkspaceShow, new { id = (string?)null });
        Assert.Equal((int)JsonRpcErrorCode.InvalidParams, nullId.ErrorCode);
        // The connection is still fine afterwards.
        await client.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
    }

    [Fact]
    public async Task Malformed_json_in_a_frame_is_answered_or_dropped_without_disturbing_others()
    {
        await using var server = new InMemoryServer(_home);
        var good = await server.ConnectAsync();
        var (a, b) = Nerdbank.Streams.FullDuplexStream.CreatePair();
        server.Server.Attach(a, a, "memory");
        var body = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":");
        await b.WriteAsync(Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"));
        await b.WriteAsync(body);
        await b.FlushAsync();
        var garbage = Encoding.ASCII.GetBytes("this is not a header\r\n\r\n\0\0\0");
        await b.WriteAsync(garbage);
        await b.FlushAsync();

        // The healthy client still gets answers.
        var list = await good.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.NotEmpty(list.Workspaces);
        var created = await good.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("after-garbage") });
        Assert.Equal("after-garbage", created.Id);
    }

    [Fact]
    public async Task Shutdown_then_requests_are_refused()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        await client.CallAsync<object?>(Methods.Shutdown, null);
        var ex = await client.FailAsync(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.Equal(ErrorCodes.ShuttingDown, ex.ErrorCode);
    }

    [Fact]
    public async Task Lifecycle_follows_the_order_messages_were_sent_even_when_pipelined()
    {
        // StreamJsonRpc runs handlers concurrently: a request sent right after initialize (without waiting for its answer)
        // was once refused as not initialized when initialize's handler had not run yet. Every request between initialize
        // and shutdown is served; the one after shutdown is refused.
        await using var server = new InMemoryServer(_home);
        for (int round = 0; round < 10; round++)
        {
            var (a, b) = Nerdbank.Streams.FullDuplexStream.CreatePair();
            server.Server.Attach(a, a, "memory");
            var frames = new StringBuilder();
            void Frame(string json) => frames.Append(CultureInfo.InvariantCulture, $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}");
            Frame("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":1,"clientInfo":{"name":"pipelined"}}}""");
            for (int id = 2; id <= 6; id++)
            {
                Frame($$"""{"jsonrpc":"2.0","id":{{id}},"method":"orchflow/workspace/list","params":{ } }""");
            }

            Frame("""{"jsonrpc":"2.0","id":7,"method":"shutdown"}""");
            Frame("""{"jsonrpc":"2.0","id":8,"method":"orchflow/workspace/list","params":{}}""");
            await b.WriteAsync(Encoding.UTF8.GetBytes(frames.ToString()));
            await b.FlushAsync();

            var answers = new Dictionary<int, System.Text.Json.JsonElement>();
            while (answers.Count < 8)
            {
                var message = await ReadFrameAsync(b);
                if (message.TryGetProperty("id", out var id))
                {
                    answers[id.GetInt32()] = message;
                }
            }

            for (int id = 1; id <= 7; id++)
            {
                Assert.True(answers[id].TryGetProperty("result", out _), $"round {round}, request {id}: {answers[id]}");
            }

            Assert.Equal(ErrorCodes.ShuttingDown, answers[8].GetProperty("error").GetProperty("code").GetInt32());
        }
    }

    private static async Task<System.Text.Json.JsonElement> ReadFrameAsync(Stream stream)
    {
        var header = new StringBuilder();
        var one = new byte[1];
        while (!header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.Equal(1, await stream.ReadAsync(one));
            header.Append((char)one[0]);
        }

        int length = int.Parse(header.ToString().Split("\r\n")[0]["Content-Length: ".Length..], CultureInfo.InvariantCulture);
        var body = new byte[length];
        await stream.ReadExactlyAsync(body);
        return System.Text.Json.JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Every_method_a_handler_serves_is_refused_before_initialize()
    {
        // Initialization is checked once, in the dispatch: a handler added later is covered without doing anything.
        // Only the lifecycle and terminal/ack (which answers nothing) may come first.
        string[] firstAllowed = [Methods.Initialize, Methods.Initialized, Methods.Exit, Methods.TerminalAck];
        var served = typeof(Rpc.OrchflowServer).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods().Select(m => (Handler: t, Name: m.GetCustomAttribute<JsonRpcMethodAttribute>()?.Name)))
            .Where(h => h.Name is not null)
            .ToList();
        Assert.Equal(firstAllowed.Order(), served.Select(h => h.Name!).Where(Rpc.ClientSession.IsUnchecked).Order());

        await using var server = new InMemoryServer(_home);
        var main = await server.ConnectAsync(initialize: false);
        var (a, b) = Nerdbank.Streams.FullDuplexStream.CreatePair();
        server.Server.Attach(a, a, "mcp", mcpOnly: true);
        using var mcp = new TestClient(b);
        var refused = new List<string>();
        foreach (var (handler, name) in served.Where(h => !firstAllowed.Contains(h.Name)))
        {
            // The params the method table gives it, with every required member set, so that they bind.
            var method = ProtocolSchema.MethodTable.SingleOrDefault(m => m.Name == name);
            Assert.True(method is not null || name == Methods.Shutdown, $"{name} is served but not in the method table");
            var client = handler == typeof(Mcp.McpHandlers) ? mcp : main;
            var failure = await client.FailAsync(name!, method is null ? null : Minimal(method.Params));
            Assert.True(failure.ErrorCode == ErrorCodes.NotInitialized, $"{name} before initialize: {failure.ErrorCode} {failure.Message}");
            refused.Add(name!);
        }

        // Every request of the table that a handler serves was tried.
        var requests = ProtocolSchema.MethodTable.Where(m => !m.IsNotification && m.Name != Methods.Initialize).Select(m => m.Name);
        Assert.Empty(requests.Intersect(served.Select(h => h.Name!)).Except(refused));
        Assert.Contains(Methods.WorkspaceList, refused);
        Assert.Contains(Methods.McpHello, refused);
    }

    /// <summary>An instance of a params type whose required members are set to the simplest value of their type.</summary>
    private static object Minimal(Type type)
    {
        var value = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties().Where(p => p.IsDefined(typeof(System.Runtime.CompilerServices.RequiredMemberAttribute), inherit: false)))
        {
            var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            property.SetValue(value, t == typeof(string) ? "x"
                : t == typeof(bool) ? false
                : t.IsEnum ? Enum.GetValues(t).GetValue(0)
                : t.IsPrimitive ? Convert.ChangeType(1, t, CultureInfo.InvariantCulture)
                : t.IsGenericType && t.GetGenericTypeDefinition() is var g && (g == typeof(IReadOnlyList<>) || g == typeof(List<>)) ? Activator.CreateInstance(typeof(List<>).MakeGenericType(t.GetGenericArguments()))
                : Minimal(t));
        }

        return value;
    }

    [Fact]
    public async Task Initialize_twice_is_refused()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ex = await client.FailAsync(Methods.Initialize, new InitializeParams());
        Assert.Equal(ErrorCodes.InvalidArgument, ex.ErrorCode);
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_refused_before_its_body_is_read_and_other_clients_are_served_throughout()
    {
        await using var d = new DaemonHome();
        int pid = await StartDaemonAsync(d);
        await using var good = await DaemonClient.ConnectAsync(d.Home.Paths, autoStart: false, "good");
        await good.InvokeAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());

        // The path a connection takes is warm (JIT, buffers); from here the kernel's peak of the daemon's RSS is measured.
        using (var warm = await ConnectAsync(d))
        {
            await SendAsync(warm, Frame("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"""));
            Assert.Contains("\"result\"", await ReadAnswerAsync(warm), StringComparison.Ordinal);
        }

        File.WriteAllText($"/proc/{pid}/clear_refs", "5"); // resets VmHWM to the current RSS
        long before = StatusKiB(pid, "VmHWM");

        var body = Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":41,"method":"{{{Methods.WorkspaceList}}}","params":{"pad":"{{{new string('x', 17 * 1024 * 1024)}}}"}}""");
        using var attacker = await ConnectAsync(d);
        var sending = SendAsync(attacker, [.. Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"), .. body]);
        var served = await good.InvokeAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.NotEmpty(served.Workspaces);
        var answer = await ReadUntilClosedAsync(attacker);
        await sending;

        Assert.Contains("\"id\":41", answer, StringComparison.Ordinal);
        Assert.Contains($"\"code\":{ErrorCodes.LimitReached}", answer, StringComparison.Ordinal);
        Assert.Contains("A message of 17 MiB is larger than the 16 MiB this daemon accepts ([daemon] max_message_size in", answer, StringComparison.Ordinal);
        long grew = StatusKiB(pid, "VmHWM") - before;
        Assert.True(grew * 1024 < body.Length / 2, $"the daemon's peak RSS grew by {grew} KiB for a refused body of {body.Length / 1024} KiB");

        // Orchflow's own client writes a request's id before its params, so its request gets the error, not a lost connection.
        await using (var big = await DaemonClient.ConnectAsync(d.Home.Paths, autoStart: false, "big"))
        {
            var refused = await Assert.ThrowsAsync<RemoteFailure>(() => big.InvokeAsync<MemoryImportResult>(Methods.MemoryImport,
                new MemoryImportParams { WorkspaceId = "default", Lines = new string('x', 17 * 1024 * 1024) }));
            Assert.True(refused.Code == ErrorCodes.LimitReached, $"{refused.Message}\n{File.ReadAllText(d.Home.Paths.LogFile)}");
            Assert.Contains("max_message_size", refused.Hint, StringComparison.Ordinal);
        }

        // The daemon goes on serving, and says why it closed the connection.
        Assert.NotEmpty((await good.InvokeAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams())).Workspaces);
        Assert.Contains($"closed: a message of {body.Length} bytes (Content-Length) is over the limit of {Defaults.MaxMessageSizeBytes}", File.ReadAllText(d.Home.Paths.LogFile), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_left_half_sent_is_closed_after_frame_timeout_while_an_idle_connection_stays_open()
    {
        await using var d = new DaemonHome();
        d.Home.WriteGlobalConfig("[daemon]\nframe_timeout = \"1s\"\nmax_message_size = \"64KB\"\n");
        await StartDaemonAsync(d);
        await using var good = await DaemonClient.ConnectAsync(d.Home.Paths, autoStart: false, "good");
        using var idle = await ConnectAsync(d);
        using var halfHeader = await ConnectAsync(d);
        using var halfBody = await ConnectAsync(d);
        await SendAsync(halfHeader, Encoding.ASCII.GetBytes("Content-Len"));
        await SendAsync(halfBody, Encoding.ASCII.GetBytes("Content-Length: 100\r\n\r\n{\"jsonrpc\""));

        Assert.Equal("", await ReadUntilClosedAsync(halfHeader));
        Assert.Equal("", await ReadUntilClosedAsync(halfBody));
        Assert.NotEmpty((await good.InvokeAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams())).Workspaces);

        // The idle connection outlived the deadline: only a started message has one. A message just under the configured
        // size is served; one just over it is refused.
        await SendAsync(idle, Frame("""{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"clientInfo":{"name":"NAME"}}}""".Replace("NAME", new string('i', 60 * 1024), StringComparison.Ordinal)));
        Assert.Contains("\"result\"", await ReadAnswerAsync(idle), StringComparison.Ordinal);
        await SendAsync(idle, Frame($$$"""{"jsonrpc":"2.0","id":3,"method":"{{{Methods.WorkspaceList}}}","params":{"pad":"{{{new string('x', 65 * 1024)}}}"}}"""));
        var refused = await ReadUntilClosedAsync(idle);
        Assert.Contains("\"id\":3", refused, StringComparison.Ordinal);
        Assert.Contains("larger than the 64 KiB this daemon accepts", refused, StringComparison.Ordinal);

        var log = File.ReadAllText(d.Home.Paths.LogFile);
        Assert.Equal(2, log.Split('\n').Count(l => l.Contains("closed: a message it started did not arrive whole within 1 s ([daemon] frame_timeout)", StringComparison.Ordinal)));

        // Connections are logged at debug level, which the daemon's log (info) leaves out.
        Assert.DoesNotContain(log.Split('\n'), l => l.Contains(" INFO ", StringComparison.Ordinal) && (l.EndsWith(" connected", StringComparison.Ordinal) || l.Contains(" disconnected: ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Headers_that_never_end_close_the_connection_without_waiting_for_the_deadline()
    {
        await using var server = new InMemoryServer(_home);
        var good = await server.ConnectAsync();
        var (a, b) = Nerdbank.Streams.FullDuplexStream.CreatePair();
        var session = server.Server.Attach(a, a, "memory");
        await b.WriteAsync(Encoding.ASCII.GetBytes("X-Padding: " + new string('p', Rpc.FramedMessageHandler.MaxHeaderBytes) + "\r\n"));
        await b.FlushAsync();
        await session.Completion.WaitAsync(TimeSpan.FromSeconds(20)); // the deadline is 30 s: this one is not it
        await good.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
    }

    [Theory]
    [InlineData("max_message_size = \"lots\"", 20, "'lots' is not a size")]
    [InlineData("max_message_size = \"1KB\"", 20, "1 KiB is below the minimum of 64 KiB")]
    [InlineData("max_message_size = \"2GB\"", 20, "2 GiB is above the maximum of 1 GiB")]
    [InlineData("frame_timeout = 30", 17, "expected a duration")]
    [InlineData("frame_timeout = \"0s\"", 17, "shorter than the minimum of 1s")]
    [InlineData("frame_timeout = \"2h\"", 17, "longer than the maximum of 1h")]
    public void Daemon_settings_are_checked_with_file_line_and_column(string line, int column, string message)
    {
        var result = GlobalConfigLoader.Parse($"[orchestration]\nmax_workspaces = 4\n\n[daemon]\n{line}\n", "orchflow.toml");
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal(("orchflow.toml", 5, column), (d.File, d.Line, d.Column));
        Assert.Contains(message, d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Daemon_settings_have_defaults_and_take_sizes_and_durations()
    {
        Assert.Equal(new DaemonConfig(16L * 1024 * 1024, TimeSpan.FromSeconds(30)), GlobalConfig.Default.Daemon);
        var result = GlobalConfigLoader.Parse("[daemon]\nmax_message_size = \"32MB\"\nframe_timeout = \"5s\"\n", "orchflow.toml");
        Assert.Empty(result.Diagnostics);
        Assert.Equal(new DaemonConfig(32L * 1024 * 1024, TimeSpan.FromSeconds(5)), result.Value!.Daemon);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"x","params":{}}""", "7")]
    [InlineData("""{"params":{"id":1,"deep":[{"id":2}]},"id":"abc","method":"x"}""", "abc")]
    [InlineData("""{"jsonrpc":"2.0","method":"x","params":{"pad":"xxxxxxxx""", null)]
    [InlineData("""{"jsonrpc":"2.0","method":"x","id":""", null)]
    [InlineData("""[{"id":1}]""", null)]
    public void The_id_of_a_refused_message_is_read_from_its_first_bytes(string prefix, string? id)
    {
        var found = Rpc.FramedMessageHandler.RequestIdIn(new System.Buffers.ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(prefix)));
        Assert.Equal(id, found.IsEmpty ? null : found.ToString());
    }

    private static async Task<int> StartDaemonAsync(DaemonHome d)
    {
        var started = await Orchflow.RunAsync(d.Home, "daemon", "start");
        Assert.True(started.ExitCode == 0, started.Stderr);
        return int.Parse(File.ReadAllText(d.Home.Paths.PidFile).Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task<Socket> ConnectAsync(DaemonHome d)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(d.Home.Paths.SocketPath));
        return socket;
    }

    private static byte[] Frame(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        return [.. Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"), .. body];
    }

    /// <summary>Sends, and takes the daemon closing the connection meanwhile as the end of sending (it refuses to read more).</summary>
    private static async Task SendAsync(Socket socket, byte[] data)
    {
        try
        {
            await socket.SendAsync(data);
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>One answer: its headers and the body they announce.</summary>
    private static async Task<string> ReadAnswerAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new List<byte>();
        var buffer = new byte[65536];
        while (true)
        {
            var text = Encoding.UTF8.GetString(received.ToArray());
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end > 0 && int.TryParse(text[..end].Split(':')[1].Trim(), CultureInfo.InvariantCulture, out var length) && received.Count >= end + 4 + length)
            {
                return text;
            }

            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            Assert.True(n > 0, $"the connection closed before its answer was whole: {text}");
            received.AddRange(buffer.AsSpan(0, n));
        }
    }

    /// <summary>Everything the daemon sends until it closes the connection; fails if it is still open after a minute.</summary>
    private static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new List<byte>();
        var buffer = new byte[65536];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the daemon kept the connection open for a minute; it sent: {Encoding.UTF8.GetString(received.ToArray())}");
        }
        catch (SocketException)
        {
            // Reset: closed too.
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }

    private static long StatusKiB(int pid, string field) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}
