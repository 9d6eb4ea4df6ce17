using System.Text.Json;
using System.Text.Json.Nodes;
using Orchflow.Protocol;
using Orchflow.Server.Mcp;

namespace Orchflow.Server.Tests;

/// <summary>
/// The built-in agent types start with Orchflow's MCP server configured. Stand-ins named claude, codex, gemini and aider
/// on the workspace's PATH record the argv and environment they were started with; the test checks each against the
/// configuration Orchflow wrote for the run (the real CLIs are not installed here).
/// </summary>
[Collection(AgentTestsCollection.Name)]
[Trait("Tier", "rpc")]
public sealed class MemoryAgentConfigTests : IAsyncLifetime
{
    private readonly TempHome _home = new();
    private InMemoryServer _server = null!;
    private TestClient _c = null!;
    private WorkspaceInfo _ws = null!;

    public async Task InitializeAsync()
    {
        var bin = Path.Combine(_home.Root, "fakebin");
        Directory.CreateDirectory(bin);
        foreach (var name in new[] { "claude", "codex", "gemini", "aider" })
        {
            var script = Path.Combine(bin, name);
            // --version answers at once, as the real CLIs do: the spawn's version check (AgentVersions) runs it first and
            // would otherwise wait out its 60 s timeout on a stand-in that sleeps.
            await File.WriteAllTextAsync(script, "#!/bin/sh\n[ \"$1\" = --version ] && { echo '99.0.0 (stand-in)'; exit 0; }\n{ for a in \"$@\"; do printf '%s\\n' \"$a\"; done; printf 'GEMINI_HOME=%s\\n' \"$GEMINI_CLI_HOME\"; } > \"$PWD/$(basename \"$0\").args.tmp\"\nmv \"$PWD/$(basename \"$0\").args.tmp\" \"$PWD/$(basename \"$0\").args\"\nexec sleep 600\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _server = new InMemoryServer(_home);
        _c = await _server.ConnectAsync();
        var config = new JsonObject { ["workspace"] = new JsonObject { ["shared_env"] = new JsonObject
        {
            ["PATH"] = $"{bin}:/usr/bin:/bin",
            // A batch run is refused without credentials; these stand-in keys let the stand-in CLIs start.
            ["ANTHROPIC_API_KEY"] = "test-key",
            ["OPENAI_API_KEY"] = "test-key",
            ["GEMINI_API_KEY"] = "test-key",
        } } };
        _ws = await _c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("agents", (".orchflow/workspace.json", config.ToJsonString())), Id = "agents" });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _home.Dispose();
    }

    /// <summary>Spawns the type and returns the argv (after the program) and the environment line its stand-in recorded.</summary>
    private async Task<(AgentInfo Agent, List<string> Args, string GeminiHome, string Dir)> RunAsync(string type, AgentMode? mode = null)
    {
        File.Delete(Path.Combine(_ws.RootPath, type + ".args"));
        var agent = await _c.CallAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = _ws.Id, Type = type, Task = "fix the parser", Mode = mode });
        var file = Path.Combine(_ws.RootPath, type + ".args");
        await Poll.UntilAsync(
            () => Task.FromResult(File.Exists(file)),
            started => started,
            async _ => $"{type} did not start: {(await _c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = agent.Id })).Message}",
            TimeSpan.FromSeconds(30),
            intervalMs: 20);

        var lines = (await File.ReadAllTextAsync(file)).TrimEnd('\n').Split('\n').ToList();
        var settings = lines[^1]["GEMINI_HOME=".Length..];
        lines.RemoveAt(lines.Count - 1);
        return (agent, lines, settings, McpAgentSetup.DirectoryFor(_home.Paths.DataDirectory, _ws.Id, agent.Id));
    }

    private static JsonElement Server(string configFile) =>
        JsonDocument.Parse(File.ReadAllText(configFile)).RootElement.GetProperty("mcpServers").GetProperty("orchflow");

    [Fact]
    public async Task Claude_gets_an_mcp_config_file_that_starts_orchflow_mcp_with_its_token_file()
    {
        var (agent, args, _, dir) = await RunAsync("claude");
        // Interactively the task is not in the argv: it is typed at Claude's first prompt once it has connected.
        Assert.Equal(["--mcp-config", Path.Combine(dir, "mcp.json"), "--allowedTools", "mcp__orchflow"], args);
        var server = Server(args[1]);
        var serverArgs = server.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Equal(McpLaunch.Self().File, server.GetProperty("command").GetString());
        Assert.Equal("mcp", serverArgs[serverArgs.IndexOf("--token-file") - 1]);
        var token = await File.ReadAllTextAsync(serverArgs[serverArgs.IndexOf("--token-file") + 1]);
        Assert.Equal(_ws.Id, _server.Server.Tokens.Validate(token)?.WorkspaceId);
        Assert.Equal(agent.Id, _server.Server.Tokens.Validate(token)?.AgentId);
    }

    [Fact]
    public async Task Batch_mode_runs_each_vendors_non_interactive_command_with_the_same_mcp_setup()
    {
        var (_, claude, _, dir) = await RunAsync("claude", AgentMode.Batch);
        Assert.Equal(["--mcp-config", Path.Combine(dir, "mcp.json"), "--allowedTools", "mcp__orchflow", "-p", "--", "fix the parser"], claude);
        var (_, codex, _, _) = await RunAsync("codex", AgentMode.Batch);
        Assert.Equal(["exec", "--skip-git-repo-check", "--", "fix the parser"], codex.Skip(8));
        var (_, gemini, home, _) = await RunAsync("gemini", AgentMode.Batch);
        Assert.Equal(["-p", "fix the parser"], gemini);
        Assert.NotEqual("", home);
        var e = await _c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = _ws.Id, Type = "aider", Task = "x", Mode = AgentMode.Batch });
        Assert.Contains("has no batch mode", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Codex_gets_config_overrides_whose_toml_names_the_same_server()
    {
        var (_, args, _, dir) = await RunAsync("codex");
        Assert.Equal(10, args.Count);
        Assert.Equal(("-c", "-c", "-c", "-c", "--", "fix the parser"), (args[0], args[2], args[4], args[6], args[8], args[9]));
        // Its tools need no approval (codex exec refuses calls that do), and Codex waits for it before the first turn.
        Assert.Equal(("mcp_servers.orchflow.default_tools_approval_mode=\"approve\"", "mcp_servers.orchflow.required=true"), (args[5], args[7]));
        var expected = Server(Path.Combine(dir, "mcp.json"));
        var toml = Tomlyn.TomlSerializer.Deserialize<Tomlyn.Model.TomlTable>(args[1].Replace("mcp_servers.orchflow.command=", "command = ", StringComparison.Ordinal) + "\n"
            + args[3].Replace("mcp_servers.orchflow.args=", "args = ", StringComparison.Ordinal), (Tomlyn.TomlSerializerOptions?)null)!;
        Assert.Equal(expected.GetProperty("command").GetString(), toml["command"]);
        Assert.Equal(expected.GetProperty("args").EnumerateArray().Select(a => a.GetString()), ((Tomlyn.Model.TomlArray)toml["args"]).Cast<string>());
    }

    [Fact]
    public async Task Gemini_gets_a_home_of_its_own_whose_settings_add_the_trusted_server_and_aider_nothing()
    {
        var (_, args, home, dir) = await RunAsync("gemini");
        Assert.Equal(["-i", "fix the parser"], args);
        Assert.Equal(Path.Combine(dir, "gemini-home"), home);
        var settings = Path.Combine(home, ".gemini", "settings.json");
        var server = JsonNode.Parse(Server(settings).GetRawText())!.AsObject();
        Assert.True(server["trust"]!.GetValue<bool>());
        server.Remove("trust");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Server(Path.Combine(dir, "mcp.json")).GetRawText()), server));

        var (_, aiderArgs, aiderSettings, _) = await RunAsync("aider");
        Assert.Empty(aiderArgs);
        Assert.Equal("", aiderSettings);
    }
}
