namespace Orchflow.Config.Tests;

/// <summary>Invalid workspace.json inputs and exactly what is reported, and where.</summary>
[Trait("Tier", "unit")]
public sealed class WorkspaceDiagnosticsTests
{
    [Theory]
    // syntax
    [InlineData("""{"workspace": {"id": }}""", "1:22: error: invalid JSON: '}' is an invalid start of a value")]
    [InlineData("", "1:1: error: invalid JSON: the file is empty")]
    [InlineData("{\n  \"workspace\": {}\n}\n}", "4:1: error: invalid JSON:")]
    // structure
    [InlineData("{}", "1:1: error: missing required key 'workspace'")]
    [InlineData("[]", "1:1: error: expected an object, got an array")]
    [InlineData("""{"workspace": []}""", "1:15: error: workspace: expected an object, got an array")]
    [InlineData("""{"workspace": {"security": "strict"}}""", "1:28: error: workspace.security: expected an object, got string \"strict\"")]
    // wrong types
    [InlineData("""
        {
          "workspace": {
            "resources": { "max_agents": "eight" }
          }
        }
        """, "3:34: error: workspace.resources.max_agents: expected an integer from 1 to 256, got string \"eight\"")]
    [InlineData("""{"workspace": {"models": {"training_enabled": "yes"}}}""",
        "1:47: error: workspace.models.training_enabled: expected true or false, got string \"yes\"")]
    [InlineData("""{"workspace": {"security": {"allowed_commands": "cargo"}}}""",
        "1:49: error: workspace.security.allowed_commands: expected an array of strings, got string \"cargo\"")]
    [InlineData("""{"workspace": {"name": null}}""", "1:24: error: workspace.name: expected a string, got null")]
    [InlineData("""{"workspace": {"resources": {"max_agents": 2.5}}}""", "1:44: error: workspace.resources.max_agents: expected an integer from 1 to 256, got number 2.5")]
    // out of range
    [InlineData("""{"workspace": {"resources": {"cpu_shares": 1}}}""", "1:44: error: workspace.resources.cpu_shares: expected an integer from 2 to 262144, got 1")]
    [InlineData("""{"workspace": {"resources": {"max_agents": 300}}}""", "1:44: error: workspace.resources.max_agents: expected an integer from 1 to 256, got 300")]
    [InlineData("""{"workspace": {"resources": {"memory_limit": "4KB"}}}""", "1:46: error: workspace.resources.memory_limit: 4 KiB is below the minimum of 1 MiB")]
    // malformed values
    [InlineData("""{"workspace": {"resources": {"memory_limit": "4XB"}}}""",
        "1:46: error: workspace.resources.memory_limit: '4XB' is not a size; write e.g. \"512MB\" or \"4GB\"")]
    [InlineData("""{"workspace": {"memory": {"default_ttl": "7 days"}}}""",
        "1:42: error: workspace.memory.default_ttl: '7 days' is not a duration; write e.g. \"30s\", \"15m\", \"2h\" or \"7d\"")]
    [InlineData("""{"workspace": {"id": "Proj_1"}}""", "1:22: error: workspace.id: \"Proj_1\" is not a valid id")]
    [InlineData("""{"workspace": {"root": "projects/shop"}}""", "1:24: error: workspace.root: \"projects/shop\" must be an absolute path")]
    [InlineData("""{"workspace": {"security": {"allowed_commands": ["cargo", "bin/tool"]}}}""",
        "1:59: error: workspace.security.allowed_commands[1]: \"bin/tool\" must be a command name without '/'")]
    // enums list the allowed values
    [InlineData("""{"workspace": {"security": {"tier": "paranoid"}}}""",
        "1:37: error: workspace.security.tier: \"paranoid\" is not one of: standard, enhanced, strict")]
    [InlineData("""{"workspace": {"security": {"tier": "strct"}}}""",
        "1:37: error: workspace.security.tier: \"strct\" is not one of: standard, enhanced, strict; did you mean 'strict'?")]
    [InlineData("""{"workspace": {"type": "ruby"}}""",
        "1:24: error: workspace.type: \"ruby\" is not one of: rust, node, python, dotnet, go, java, mixed, unknown")]
    // unknown keys are warnings, with a suggestion when one is close
    [InlineData("""{"workspace": {"resources": {"max_agent": 4}}}""",
        "1:30: warning: workspace.resources: unknown key 'max_agent'; did you mean 'max_agents'?")]
    [InlineData("""{"workspace": {}, "colour": 1}""", "1:19: warning: unknown key 'colour'; expected one of: $schema, workspace")]
    [InlineData("""{"workspace": {"ruv_fan": {}}}""", "1:16: warning: workspace: unknown key 'ruv_fan'; did you mean 'ruv_fann'?")]
    // duplicates and aliases
    [InlineData("{\"workspace\": {\n  \"id\": \"a\",\n  \"id\": \"b\"\n}}",
        "3:3: error: workspace: duplicate key 'id' (first defined at line 2, column 3)")]
    [InlineData("{\"workspace\": {\n  \"ruv_fann\": {},\n  \"models\": {}\n}}",
        "3:3: error: workspace: 'ruv_fann' and 'models' are the same setting; keep only one (preferably 'models')")]
    // environment names
    [InlineData("""{"workspace": {"shared_env": {"ORCHFLOW_TOKEN": "x"}}}""",
        "1:31: error: workspace.shared_env: 'ORCHFLOW_TOKEN' is reserved: variables starting with ORCHFLOW_ are set by orchflow itself")]
    [InlineData("""{"workspace": {"shared_env": {"1PATH": "x"}}}""",
        "1:31: error: workspace.shared_env: '1PATH' is not a valid environment variable name")]
    // paths
    [InlineData("""{"workspace": {"security": {"restricted_paths": ["/etc", "etc"]}}}""",
        "1:58: error: workspace.security.restricted_paths[1]: \"etc\" must be an absolute path")]
    // settings that contradict each other
    [InlineData("""{"workspace": {"security": {"allowed_hosts": ["github.com"]}}}""",
        "1:29: warning: workspace.security: allowed_hosts has no effect unless network is \"allowlist\" (it is \"full\")")]
    [InlineData("""{"workspace": {"security": {"network": "allowlist"}}}""",
        "1:40: warning: workspace.security: network \"allowlist\" without allowed_hosts blocks all network access")]
    [InlineData("""{"workspace": {"security": {"network": "allowlist", "allowed_hosts": ["github.com", "bad host"]}}}""",
        "1:85: error: workspace.security.allowed_hosts[1]: \"bad host\" is not a host name")]
    // agent types
    [InlineData("""{"workspace": {"agents": {"types": {"claude": {"purpose": "x"}}}}}""",
        "1:47: error: workspace.agents.types.claude: missing required key 'command'")]
    [InlineData("""{"workspace": {"agents": {"types": {"claude": {"command": "claude", "done_patterns": ["(oops"]}}}}}""",
        "1:87: error: workspace.agents.types.claude.done_patterns[0]: \"(oops\" is not a valid regular expression")]
    [InlineData("""{"workspace": {"agents": {"types": {"my agent": {"command": "x"}}}}}""",
        "1:37: error: workspace.agents.types: 'my agent' is not a valid agent type name")]
    // columns count characters, not UTF-8 bytes
    [InlineData("""{"workspace": {"name": "Café ☕", "id": "Bad"}}""", "1:40: error: workspace.id: \"Bad\" is not a valid id")]
    public void Reports(string json, params string[] expected) => Check(json, expected);

    [Fact]
    public void ReportsEveryProblemNotJustTheFirst() => Check(
        """
        {
          // comments and trailing commas are fine
          "workspace": {
            "id": "Bad Id",
            "resources": { "max_agents": 0, "memory_limit": "lots", },
            "security": { "tier": "enhancd", "restricted_paths": ["tmp"] },
            "shared_env": { "ORCHFLOW_X": "1" },
            "wat": true,
          },
        }
        """,
        "4:11: error: workspace.id:",
        "5:34: error: workspace.resources.max_agents:",
        "5:53: error: workspace.resources.memory_limit: 'lots' is not a size",
        "6:27: error: workspace.security.tier: \"enhancd\" is not one of: standard, enhanced, strict; did you mean 'enhanced'?",
        "6:59: error: workspace.security.restricted_paths[0]:",
        "7:21: error: workspace.shared_env: 'ORCHFLOW_X' is reserved",
        "8:5: warning: workspace: unknown key 'wat'");

    [Fact]
    public void WarningsAloneStillYieldAValue()
    {
        var result = WorkspaceConfigLoader.Parse("""{"workspace": {"id": "ok", "max_agents": 3}}""", "w.json");
        Assert.True(result.Ok);
        Assert.Equal("ok", result.Value!.Id);
        DiagnosticAssert.Matches(result.Diagnostics, "1:28: warning: workspace: unknown key 'max_agents'; expected one of:");
    }

    [Fact]
    public void ErrorsYieldNoValue()
    {
        var result = WorkspaceConfigLoader.Parse("""{"workspace": {"resources": {"max_agents": 0}}}""", "w.json");
        Assert.False(result.Ok);
        Assert.Null(result.Value);
    }

    [Fact]
    public void DeepNestingIsAnErrorNotAStackOverflow()
    {
        var result = WorkspaceConfigLoader.Parse("{\"workspace\": " + new string('[', 100_000) + new string(']', 100_000) + "}", "w.json");
        var d = Assert.Single(result.Diagnostics);
        Assert.Contains("maximum configured depth", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DiagnosticsNameTheFile()
    {
        var d = Assert.Single(WorkspaceConfigLoader.Parse("""{"workspace": {"id": 5}}""", "/p/.orchflow/workspace.json").Diagnostics);
        Assert.Equal("/p/.orchflow/workspace.json:1:22: error: workspace.id: expected a string, got number 5", d.ToString());
    }

    private static void Check(string json, params string[] expected)
    {
        var result = WorkspaceConfigLoader.Parse(json, "workspace.json");
        DiagnosticAssert.Matches(result.Diagnostics, expected);
        Assert.Equal(result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error), result.Value is null);
    }
}
