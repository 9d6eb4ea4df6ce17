using System.Diagnostics;
using System.Text.Json;
using Orchflow.Protocol;
using Orchflow.Server.Mcp;

namespace Orchflow.Server.Tests;

/// <summary>`orchflow memory …` and `orchflow mcp` as people and agent CLIs run them: the real CLI against the real daemon.</summary>
[Trait("Tier", "e2e")]
public sealed class MemoryCliTests
{
    private static T Json<T>(CliRun run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        return JsonSerializer.Deserialize<T>(run.Stdout, ProtocolJson.Options)!;
    }

    [Fact]
    public async Task Memory_commands_round_trip_through_the_daemon()
    {
        await using var d = new DaemonHome();
        var project = d.Home.Project("shop");
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", project, "--id", "shop")).ExitCode);

        var set = Json<MemorySetResult>(await Orchflow.RunAsync(d.Home, "memory", "set", "api/users", "GET /users pages by 50", "--workspace", "shop", "--tags", "api,done", "--ttl", "7d", "--json"));
        Assert.Equal(["api", "done"], set.Entry.Tags);
        Assert.Equal(set.Entry.UpdatedAt.AddDays(7), set.Entry.ExpiresAt);
        Assert.Equal("orchflow-cli", set.Entry.Provenance.Tool);
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "memory", "set", "db/config", "{\"pool\": 5}", "--workspace", "shop", "--json-value")).ExitCode);

        var get = await Orchflow.RunAsync(d.Home, "memory", "get", "api/users", "--workspace", "shop");
        Assert.Equal((0, "GET /users pages by 50\n"), (get.ExitCode, get.Stdout));
        var missing = await Orchflow.RunAsync(d.Home, "memory", "get", "nope", "--workspace", "shop");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No entry 'nope'", missing.Stderr, StringComparison.Ordinal);

        var search = Json<MemorySearchResult>(await Orchflow.RunAsync(d.Home, "memory", "search", "--workspace", "shop", "--text", "PAGES", "--json"));
        Assert.Equal(["api/users"], search.Entries.Select(e => e.Key));
        var table = await Orchflow.RunAsync(d.Home, "memory", "list", "--workspace", "shop");
        Assert.Contains("KEY", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("db/config", table.Stdout, StringComparison.Ordinal);

        var stats = await Orchflow.RunAsync(d.Home, "memory", "stats");
        Assert.Contains("shop", stats.Stdout, StringComparison.Ordinal);
        Assert.Contains("2/10000", stats.Stdout, StringComparison.Ordinal);

        var export = await Orchflow.RunAsync(d.Home, "memory", "export", "--workspace", "shop");
        Assert.Equal(2, export.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var file = Path.Combine(d.Home.Root, "backup.jsonl");
        await File.WriteAllTextAsync(file, export.Stdout);
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "memory", "rm", "api/users", "--workspace", "shop")).ExitCode);
        Assert.Equal(1, (await Orchflow.RunAsync(d.Home, "memory", "get", "api/users", "--workspace", "shop")).ExitCode);

        // A relative path is the caller's, made absolute by the CLI.
        var imported = Json<MemoryImportResult>(await Orchflow.RunInAsync(d.Home, d.Home.Root, "memory", "import", "backup.jsonl", "--workspace", "shop", "--replace", "--json"));
        Assert.Equal(2, imported.Imported);
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "memory", "get", "api/users", "--workspace", "shop")).ExitCode);
    }

    [Fact]
    public async Task Usage_errors_say_what_to_do()
    {
        await using var d = new DaemonHome();
        // Without --workspace, outside every registered root and with no workspace switched to: default's memory.
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "memory", "set", "k", "in default", "--workspace", "default")).ExitCode);
        var noWorkspace = await Orchflow.RunAsync(d.Home, "memory", "get", "k");
        Assert.True(noWorkspace.ExitCode == 0, noWorkspace.Stderr);
        Assert.Equal("in default", noWorkspace.Stdout.Trim());

        var badTtl = await Orchflow.RunAsync(d.Home, "memory", "set", "k", "v", "--workspace", "default", "--ttl", "5 minutes");
        Assert.Equal(2, badTtl.ExitCode);
        Assert.Contains("not a duration", badTtl.Stderr, StringComparison.Ordinal);

        var badKey = await Orchflow.RunAsync(d.Home, "memory", "set", "", "v", "--workspace", "default");
        Assert.Equal(1, badKey.ExitCode);
        Assert.Contains("The key is empty", badKey.Stderr, StringComparison.Ordinal);

        var verb = await Orchflow.RunAsync(d.Home, "memory", "frob");
        Assert.Equal(2, verb.ExitCode);
        Assert.Contains("set, get, rm, search, list, stats, export or import", verb.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_without_a_token_refuses_to_start_and_says_how()
    {
        using var home = new TempHome();
        var run = await Orchflow.RunAsync(home, "mcp");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains("ORCHFLOW_MCP_TOKEN", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("--token-file", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_speaks_the_protocol_on_stdout_and_reports_a_bad_token_per_call()
    {
        await using var d = new DaemonHome();
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "daemon", "start")).ExitCode);
        var psi = Orchflow.StartInfo(d.Home, ["mcp", "--socket", d.Home.Paths.McpSocketPath]);
        psi.Environment["ORCHFLOW_MCP_TOKEN"] = "ofmcp_forged";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();

        async Task<JsonElement> Call(int id, string method, object? @params)
        {
            var line = JsonSerializer.Serialize(new { jsonrpc = "2.0", id, method, @params });
            await p.StandardInput.WriteLineAsync(line);
            await p.StandardInput.FlushAsync();
            var response = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(response);
            return JsonDocument.Parse(response).RootElement;
        }

        var init = await Call(1, "initialize", new { protocolVersion = "2025-06-18", capabilities = new { }, clientInfo = new { name = "raw-test", version = "1" } });
        Assert.Equal("orchflow", init.GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString());
        await p.StandardInput.WriteLineAsync("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        var tools = await Call(2, "tools/list", new { });
        Assert.Equal(
            ["memory_delete", "memory_get", "memory_search", "memory_store", "report_status", "workspace_info"],
            tools.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        var call = (await Call(3, "tools/call", new { name = "memory_get", arguments = new { key = "k" } })).GetProperty("result");
        Assert.True(call.GetProperty("isError").GetBoolean());
        Assert.Contains("not valid", call.GetProperty("content")[0].GetProperty("text").GetString(), StringComparison.Ordinal);

        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var said = await stderr;
        Assert.Contains("not valid", said, StringComparison.Ordinal);

        // Its tools/list was answered although telling the daemon failed; the failure is on stderr only.
        Assert.Contains("orchflow mcp: could not tell Orchflow that the tools were listed: The MCP token is not valid", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_tells_the_daemon_once_when_its_client_first_lists_the_tools()
    {
        await using var d = new DaemonHome();
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", d.Home.Project("ready"), "--id", "ready")).ExitCode);
        var agent = Json<AgentInfo>(await Orchflow.RunAsync(d.Home, "agent", "spawn", "--workspace", "ready", "--type", "command", "exec sleep 600", "--json"));
        Assert.Null(agent.McpConnectedAt);

        // Started from the MCP configuration Orchflow wrote for the agent, exactly as an agent CLI starts it.
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(McpAgentSetup.DirectoryFor(d.Home.Paths.DataDirectory, "ready", agent.Id), "mcp.json")));
        var server = config.RootElement.GetProperty("mcpServers").GetProperty("orchflow");
        var psi = new ProcessStartInfo(server.GetProperty("command").GetString()!) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in server.GetProperty("args").EnumerateArray())
        {
            psi.ArgumentList.Add(arg.GetString()!);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();

        async Task<JsonElement> Call(int id, string method, object? @params)
        {
            await p.StandardInput.WriteLineAsync(JsonSerializer.Serialize(new { jsonrpc = "2.0", id, method, @params }));
            await p.StandardInput.FlushAsync();
            var response = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(response);
            return JsonDocument.Parse(response).RootElement;
        }

        async Task<AgentInfo> Show() => Json<AgentInfo>(await Orchflow.RunAsync(d.Home, "agent", "show", agent.Id, "--json"));

        await Call(1, "initialize", new { protocolVersion = "2025-06-18", capabilities = new { }, clientInfo = new { name = "raw-test", version = "1" } });
        await p.StandardInput.WriteLineAsync("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        Assert.Null((await Show()).McpConnectedAt);

        var tools = await Call(2, "tools/list", new { });
        Assert.Equal(6, tools.GetProperty("result").GetProperty("tools").GetArrayLength());
        var sw = Stopwatch.StartNew();
        var shown = await Show();
        while (shown.McpConnectedAt is null)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"the daemon never recorded the connection; orchflow mcp said: {(p.HasExited ? await stderr : "(still running)")}");
            await Task.Delay(50);
            shown = await Show();
        }

        Assert.True(shown.McpConnectedAt >= shown.StartedAt);
        await Call(3, "tools/list", new { });
        var events = Json<AgentEventsResult>(await Orchflow.RunAsync(d.Home, "agent", "events", "--workspace", "ready", "--json")).Events;
        var connected = Assert.Single(events, e => e.AgentId == agent.Id && e.Kind == AgentEventKind.McpConnected);
        Assert.StartsWith($"{agent.Id}: raw-test connected to Orchflow's MCP server (", connected.Message, StringComparison.Ordinal);
        Assert.Equal("raw-test", connected.By);
        Assert.Equal(shown.McpConnectedAt, (await Show()).McpConnectedAt);

        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("could not tell Orchflow", await stderr, StringComparison.Ordinal);
    }
}
