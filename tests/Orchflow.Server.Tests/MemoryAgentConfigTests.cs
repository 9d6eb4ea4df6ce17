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
            await File.WriteAllTextAsync(script, "#!/bin/sh\n{ for a in \"$@\"; do printf '%s\\n' \"$a\"; done; printf 'GEMINI_SETTINGS=%s\\n' \"$GEMINI_CLI_SYSTEM_SETTINGS_PATH\"; } > \"$PWD/$(basename \"$0\").args.tmp\"\nmv \"$PWD/$(basename \"$0\").args.tmp\" \"$PWD/$(basename \"$0\").args\"\nexec sleep 600\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _server = new InMemoryServer(_home);
        _c = await _server.ConnectAsync();
        var config = new JsonObject { ["workspace"] = new JsonObject { ["shared_env"] = new JsonObject { ["PATH"] = $"{bin}:/usr/bin:/bin" } } };
        _ws = await _c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("agents", (".orchflow/workspace.json", config.ToJsonString())), Id = "agents" });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _home.Dispose();
    }

    /// <summary>Spawns the type and returns the argv (after the program) and the environment line its stand-in recorded.</summary>
    private async Task<(AgentInfo Agent, List<string> Args, string GeminiSettings, string Dir)> RunAsync(string type)
    {
        var agent = await _c.CallAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = _ws.Id, Type = type, Task = "fix the parser" });
        var file = Path.Combine(_ws.RootPath, type + ".args");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(file))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{type} did not start: {(await _c.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = agent.Id })).Message}");
            await Task.Delay(20);
        }

        var lines = (await File.ReadAllTextAsync(file)).TrimEnd('\n').Split('\n').ToList();
        var settings = lines[^1]["GEMINI_SETTINGS=".Length..];
        lines.RemoveAt(lines.Count - 1);
        return (agent, lines, settings, McpAgentSetup.DirectoryFor(_home.Paths.DataDirectory, _ws.Id, agent.Id));
    }

    private static JsonElement Server(string configFile) =>
        JsonDocument.Parse(File.ReadAllText(configFile)).RootElement.GetProperty("mcpServers").GetProperty("orchflow");

    [Fact]
    public async Task Claude_gets_an_mcp_config_file_that_starts_orchflow_mcp_with_its_token_file()
    {
        var (agent, args, _, dir) = await RunAsync("claude");
        Assert.Equal(["--mcp-config", Path.Combine(dir, "mcp.json"), "fix the parser"], args);
        var server = Server(args[1]);
        var serverArgs = server.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Equal(McpLaunch.Self().File, server.GetProperty("command").GetString());
        Assert.Equal("mcp", serverArgs[serverArgs.IndexOf("--token-file") - 1]);
        var token = await File.ReadAllTextAsync(serverArgs[serverArgs.IndexOf("--token-file") + 1]);
        Assert.Equal(_ws.Id, _server.Server.Tokens.Validate(token)?.WorkspaceId);
        Assert.Equal(agent.Id, _server.Server.Tokens.Validate(token)?.AgentId);
    }

    [Fact]
    public async Task Codex_gets_config_overrides_whose_toml_names_the_same_server()
    {
        var (_, args, _, dir) = await RunAsync("codex");
        Assert.Equal(5, args.Count);
        Assert.Equal(("-c", "-c", "fix the parser"), (args[0], args[2], args[4]));
        var expected = Server(Path.Combine(dir, "mcp.json"));
        var toml = Tomlyn.TomlSerializer.Deserialize<Tomlyn.Model.TomlTable>(args[1].Replace("mcp_servers.orchflow.command=", "command = ", StringComparison.Ordinal) + "\n"
            + args[3].Replace("mcp_servers.orchflow.args=", "args = ", StringComparison.Ordinal), (Tomlyn.TomlSerializerOptions?)null)!;
        Assert.Equal(expected.GetProperty("command").GetString(), toml["command"]);
        Assert.Equal(expected.GetProperty("args").EnumerateArray().Select(a => a.GetString()), ((Tomlyn.Model.TomlArray)toml["args"]).Cast<string>());
    }

    [Fact]
    public async Task Gemini_gets_a_system_settings_file_with_the_server_and_aider_nothing()
    {
        var (_, args, settings, dir) = await RunAsync("gemini");
        Assert.Equal(["-i", "fix the parser"], args);
        Assert.Equal(Path.Combine(dir, "gemini-settings.json"), settings);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Server(Path.Combine(dir, "mcp.json")).GetRawText()), JsonNode.Parse(Server(settings).GetRawText())));

        var (_, aiderArgs, aiderSettings, _) = await RunAsync("aider");
        Assert.Empty(aiderArgs);
        Assert.Equal("", aiderSettings);
    }
}
