using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Orchflow.Protocol;

namespace Orchflow.Server.Tests;

/// <summary>Tier 3: the real daemon process over its real socket, driven by the real CLI.</summary>
[Trait("Tier", "e2e")]
public sealed class DaemonEndToEndTests
{
    private static T Parse<T>(CliRun run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        return JsonSerializer.Deserialize<T>(run.Stdout, ProtocolJson.Options)!;
    }

    [Fact]
    public async Task Cli_manages_workspaces_through_one_shared_daemon()
    {
        await using var d = new DaemonHome();
        var shop = d.Home.Project("shop", ("package.json", "{}"));
        var cli = d.Home.Project("cli", ("Cargo.toml", "[package]"));

        // A relative path is resolved against the caller's directory, not the daemon's.
        var created = Parse<WorkspaceInfo>(await Orchflow.RunInAsync(d.Home, shop, "workspace", "create", ".", "--json"));
        Assert.Equal("shop", created.Id);
        Assert.Equal(ProjectType.Node, created.Metadata.ProjectType);
        var second = Parse<WorkspaceInfo>(await Orchflow.RunAsync(d.Home, "workspace", "create", cli, "--name", "CLI Tool", "--json"));
        Assert.Equal("cli-tool", second.Id);

        var list = Parse<WorkspaceListResult>(await Orchflow.RunAsync(d.Home, "workspace", "list", "--json"));
        Assert.Equal(["cli-tool", "default", "shop"], list.Workspaces.Select(w => w.Id).Order());

        var table = await Orchflow.RunAsync(d.Home, "workspace", "list");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("NAMESPACE", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("CLI Tool", table.Stdout, StringComparison.Ordinal);

        var switched = await Orchflow.RunAsync(d.Home, "workspace", "switch", "shop");
        Assert.Equal(0, switched.ExitCode);
        Assert.Contains("Switched to 'shop'", switched.Stdout, StringComparison.Ordinal);

        var show = await Orchflow.RunAsync(d.Home, "workspace", "show", "CLI Tool");
        Assert.Contains("root:", show.Stdout, StringComparison.Ordinal);
        Assert.Contains(cli, show.Stdout, StringComparison.Ordinal);

        var status = Parse<StatusResult>(await Orchflow.RunAsync(d.Home, "status", "--json"));
        Assert.Equal(2, status.WorkspaceCount);
        Assert.True(status.DaemonMemoryBytes > 1_000_000);

        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "rm", "cli-tool")).ExitCode);
        Assert.True(File.Exists(Path.Combine(cli, "Cargo.toml")));
    }

    [Fact]
    public async Task Failures_exit_non_zero_with_a_one_line_reason()
    {
        await using var d = new DaemonHome();
        var missing = await Orchflow.RunAsync(d.Home, "workspace", "create", Path.Combine(d.Home.Root, "nope"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("", missing.Stdout);
        var line = Assert.Single(missing.Stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("orchflow: ", line, StringComparison.Ordinal);
        Assert.Contains("does not exist", line, StringComparison.Ordinal);

        var unknown = await Orchflow.RunAsync(d.Home, "workspace", "show", "ghost");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("No workspace 'ghost'", unknown.Stderr, StringComparison.Ordinal);

        var usage = await Orchflow.RunAsync(d.Home, "workspace", "list", "--jsn");
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("Unknown option --jsn", usage.Stderr, StringComparison.Ordinal);

        var noun = await Orchflow.RunAsync(d.Home, "frobnicate");
        Assert.Equal(2, noun.ExitCode);
    }

    [Fact]
    public async Task Concurrent_clients_start_exactly_one_daemon()
    {
        await using var d = new DaemonHome();
        var runs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Orchflow.RunAsync(d.Home, "daemon", "ensure", "--json")));
        var results = runs.Select(r =>
        {
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var doc = JsonDocument.Parse(r.Stdout);
            return (Pid: doc.RootElement.GetProperty("pid").GetInt32(), Started: doc.RootElement.GetProperty("started").GetBoolean());
        }).ToList();
        Assert.Single(results.Select(r => r.Pid).Distinct());
        Assert.Equal(1, results.Count(r => r.Started));
    }

    [Fact]
    public async Task Socket_is_private_and_the_daemon_survives_garbage()
    {
        await using var d = new DaemonHome();
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "daemon", "start")).ExitCode);
        var paths = d.Home.Paths;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(paths.RuntimeDirectory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(paths.SocketPath));

        foreach (var payload in new[] { "garbage without headers\r\n\r\n", "Content-Length: 5\r\n\r\n{{{{{", "Content-Length: 99999999999\r\n\r\n", "Content-Length: 20\r\n\r\n{\"jsonrpc\":\"2.0\",\"i" })
        {
            using var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await raw.ConnectAsync(new UnixDomainSocketEndPoint(paths.SocketPath));
            await raw.SendAsync(Encoding.ASCII.GetBytes(payload));
            raw.Shutdown(SocketShutdown.Send);
        }

        var list = await Orchflow.RunAsync(d.Home, "workspace", "list", "--json");
        Assert.Equal(0, list.ExitCode);
    }

    [Fact]
    public async Task A_daemon_restart_loses_nothing_and_an_invalid_global_config_is_reported_with_positions()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("kept");
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", root)).ExitCode);
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "daemon", "stop")).ExitCode);
        d.Home.WriteGlobalConfig("[orchestration]\nmax_workspaces = \"ten\"\n");

        var status = Parse<StatusResult>(await Orchflow.RunAsync(d.Home, "status", "--json"));
        var diag = Assert.Single(status.ConfigDiagnostics, x => x.Severity == DiagnosticSeverity.Error);
        Assert.Equal(2, diag.Line);
        Assert.Equal(18, diag.Column);
        Assert.EndsWith("orchflow.toml", diag.File, StringComparison.Ordinal);

        var list = Parse<WorkspaceListResult>(await Orchflow.RunAsync(d.Home, "workspace", "list", "--json"));
        Assert.Contains(list.Workspaces, w => w.Id == "kept" && w.RootPath == root);
    }

    [Fact]
    public async Task Serve_stdio_speaks_only_protocol_on_stdout()
    {
        using var home = new TempHome();
        using var p = Process.Start(Orchflow.StartInfo(home, ["serve", "--stdio"]))!;
        var stdin = p.StandardInput.BaseStream;
        async Task Send(string json)
        {
            var body = Encoding.UTF8.GetBytes(json);
            await stdin.WriteAsync(Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"));
            await stdin.WriteAsync(body);
            await stdin.FlushAsync();
        }

        await Send("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":1,"clientInfo":{"name":"raw"}}}""");
        await Send("""{"jsonrpc":"2.0","method":"initialized","params":{}}""");
        await Send("""{"jsonrpc":"2.0","id":2,"method":"orchflow/workspace/list","params":{}}""");
        await Send("""{"jsonrpc":"2.0","id":3,"method":"shutdown"}""");
        await Send("""{"jsonrpc":"2.0","method":"exit"}""");
        var output = await p.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        Assert.Equal(0, p.ExitCode);

        // Every byte of stdout belongs to a Content-Length frame.
        var messages = new List<JsonElement>();
        int pos = 0;
        while (pos < output.Length)
        {
            Assert.StartsWith("Content-Length: ", output[pos..], StringComparison.Ordinal);
            int headerEnd = output.IndexOf("\r\n\r\n", pos, StringComparison.Ordinal);
            int length = int.Parse(output[(pos + 16)..output.IndexOf("\r\n", pos, StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            var body = output.Substring(headerEnd + 4, length);
            messages.Add(JsonDocument.Parse(body).RootElement.Clone());
            pos = headerEnd + 4 + length;
        }

        Assert.Contains(messages, m => m.TryGetProperty("id", out var id) && id.GetInt32() == 1 && m.GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString() == "orchflow");
        Assert.Contains(messages, m => m.TryGetProperty("id", out var id) && id.GetInt32() == 2 && m.GetProperty("result").GetProperty("workspaces").GetArrayLength() == 1);
    }

    [Fact]
    public async Task Stopping_the_daemon_ends_its_terminals_without_orphans_and_the_next_one_reports_them_lost()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("orphans");
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", root)).ExitCode);
        var marker = $"orchflow-orphan-{Guid.NewGuid():N}";
        await using (var client = await Cli.DaemonClient.ConnectAsync(d.Home.Paths, autoStart: false))
        {
            await client.InvokeAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams
            {
                WorkspaceId = "orphans",
                Command = $"sleep 300 & nohup sh -c 'exec -a {marker} sleep 301' >/dev/null 2>&1 & echo up; wait",
            });
        }

        await Poll.WithinAsync(() => Marked(marker).Count > 0, TimeSpan.FromSeconds(15), intervalMs: 20);
        Assert.NotEmpty(Marked(marker));
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "daemon", "stop")).ExitCode);
        await Poll.WithinAsync(() => Marked(marker).Count == 0, TimeSpan.FromSeconds(15), intervalMs: 20);
        Assert.Empty(Marked(marker));
        var status = Parse<StatusResult>(await Orchflow.RunAsync(d.Home, "status", "--json"));
        Assert.Contains(status.LostTerminals, t => t.WorkspaceId == "orphans" && t.Status == TerminalStatus.Lost);
    }

    /// <summary>Live (non-zombie) processes whose command line contains <paramref name="marker"/>.</summary>
    private static List<int> Marked(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (cmdline.Contains(marker, StringComparison.Ordinal) && stat[(stat.LastIndexOf(')') + 2)] != 'Z')
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return found;
    }
}
