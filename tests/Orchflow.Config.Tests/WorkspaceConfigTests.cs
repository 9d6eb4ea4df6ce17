using Orchflow.Protocol;

namespace Orchflow.Config.Tests;

[Trait("Tier", "unit")]
public sealed class WorkspaceConfigTests
{
    private const long MiB = 1024 * 1024;
    private const long GiB = 1024 * MiB;

    [Fact]
    public void SpecExampleParsesWithOnlyNotYetUsedWarnings()
    {
        var result = WorkspaceConfigLoader.Parse(SpecExamples.WorkspaceJson, "workspace.json");

        DiagnosticAssert.Matches(result.Diagnostics,
            "9:7: warning: workspace.namespace.isolation: Accepted, not yet used by this version: bridges",
            "17:7: warning: workspace.ruv_fann.models: Accepted, not yet used by this version: per-workspace models",
            "19:7: warning: workspace.ruv_fann.training_enabled: Accepted, not yet used by this version: per-workspace models");
        Assert.True(result.Ok);
        var ws = result.Value!;
        Assert.Equal("proj-ecommerce", ws.Id);
        Assert.Equal("E-commerce Platform", ws.Name);
        Assert.Equal("/home/user/projects/shop", ws.Root);
        Assert.Equal(ProjectKind.Rust, ws.ProjectType);
        Assert.Equal(new NamespaceConfig("shop", IsolationLevel.Strict), ws.Namespace);
        Assert.Equal(new WorkspaceResources(8, 4 * GiB, 1024, null, null), ws.Resources);
        Assert.Equal(["code_completion", "error_detection"], ws.Models.Models);
        Assert.Equal(512 * MiB, ws.Models.MemorySizeBytes);
        Assert.True(ws.Models.TrainingEnabled);
        Assert.Equal(SecurityTier.Enhanced, ws.Security.Tier);
        Assert.Equal(["cargo", "npm", "git"], ws.Security.AllowedCommands);
        Assert.Equal(["/etc", "/sys"], ws.Security.RestrictedPaths);
        Assert.Equal(NetworkPolicy.Full, ws.Security.Network);
        Assert.Empty(ws.Security.AllowedHosts);
        Assert.Empty(ws.SharedEnv);
        Assert.Empty(ws.AgentTypes);
    }

    [Fact]
    public void EverySettingResolves()
    {
        var result = WorkspaceConfigLoader.Parse("""
            {
              "$schema": "https://orchflow.dev/schemas/workspace.schema.json",
              "workspace": {
                "id": "proj-ecommerce",
                "type": "mixed",
                "namespace": { "isolation": "none" },
                "resources": { "max_agents": 2, "memory_limit": "1.5GiB", "cpu_shares": 512, "terminal_limit": 3, "process_limit": 100 },
                "models": { "models": ["code_completion"], "memory_size": 268435456 },
                "security": { "tier": "strict", "network": "allowlist", "allowed_hosts": ["github.com", "*.npmjs.org", "10.0.0.1:8080"],
                              "allowed_commands": ["cargo", "/usr/bin/git"] },
                "shared_env": { "RUST_LOG": "debug", "EMPTY": "" },
                "memory": { "capacity_entries": 500, "when_full": "refuse", "persistence": "memory", "default_ttl": "1d12h" },
                "agents": { "types": {
                  "mytool": { "command": "mytool --prompt {task}", "env": { "K": "V" }, "purpose": "Agent",
                              "needs_input_patterns": ["\\? $"], "done_patterns": ["^DONE"] }
                } }
              }
            }
            """, "workspace.json");

        DiagnosticAssert.Matches(result.Diagnostics,
            "6:20: warning: workspace.namespace.isolation: Accepted, not yet used",
            "8:17: warning: workspace.models.models: Accepted, not yet used");
        var ws = result.Value!;
        Assert.Equal(ProjectKind.Mixed, ws.ProjectType);
        Assert.Equal(new NamespaceConfig(null, IsolationLevel.None), ws.Namespace);
        Assert.Equal(new WorkspaceResources(2, 1536 * MiB, 512, 3, 100), ws.Resources);
        Assert.Equal(256 * MiB, ws.Models.MemorySizeBytes);
        Assert.False(ws.Models.TrainingEnabled);
        Assert.Equal(SecurityTier.Strict, ws.Security.Tier);
        Assert.Equal(NetworkPolicy.Allowlist, ws.Security.Network);
        Assert.Equal(["github.com", "*.npmjs.org", "10.0.0.1:8080"], ws.Security.AllowedHosts);
        Assert.Equal(["cargo", "/usr/bin/git"], ws.Security.AllowedCommands);
        Assert.Equal(new Dictionary<string, string> { ["RUST_LOG"] = "debug", ["EMPTY"] = "" }, ws.SharedEnv);
        Assert.Equal(new MemoryConfig(500, WhenFull.Refuse, Persistence.Memory, TimeSpan.FromHours(36)), ws.Memory);
        var agent = Assert.Single(ws.AgentTypes).Value;
        Assert.Equal("mytool", agent.Name);
        Assert.Equal("mytool --prompt {task}", agent.Command);
        Assert.Equal("V", agent.Env["K"]);
        Assert.Equal("Agent", agent.Purpose);
        Assert.Equal(["\\? $"], agent.NeedsInputPatterns);
        Assert.Equal(["^DONE"], agent.DonePatterns);
    }

    [Fact]
    public void AbsentSettingsAreNullWhereTheGlobalConfigDecidesAndDefaultsElsewhere()
    {
        var ws = WorkspaceConfigLoader.Parse("""{"workspace": {}}""", "workspace.json").Value!;

        Assert.Null(ws.Id);
        Assert.Null(ws.Name);
        Assert.Null(ws.Root);
        Assert.Null(ws.ProjectType);
        Assert.Equal(new NamespaceConfig(null, Defaults.Isolation), ws.Namespace);
        Assert.Equal(new WorkspaceResources(null, null, null, null, null), ws.Resources);
        Assert.Empty(ws.Models.Models);
        Assert.Null(ws.Models.MemorySizeBytes);
        Assert.Equal(Defaults.TrainingEnabled, ws.Models.TrainingEnabled);
        Assert.Equal(Defaults.Tier, ws.Security.Tier);
        Assert.Equal(Defaults.Network, ws.Security.Network);
        Assert.Empty(ws.Security.AllowedCommands);
        Assert.Empty(ws.Security.RestrictedPaths);
        Assert.Equal(new MemoryConfig(Defaults.MemoryCapacityEntries, Defaults.MemoryWhenFull, Defaults.MemoryPersistence, null), ws.Memory);
        Assert.Empty(ws.SharedEnv);
        Assert.Empty(ws.AgentTypes);
    }

    [Fact]
    public void ModelsAndRuvFannAreTheSameSetting()
    {
        var viaModels = WorkspaceConfigLoader.Parse("""{"workspace": {"models": {"memory_size": "1GB"}}}""", "w.json").Value!;
        var viaRuvFann = WorkspaceConfigLoader.Parse("""{"workspace": {"ruv_fann": {"memory_size": "1GB"}}}""", "w.json").Value!;
        Assert.Equal(GiB, viaModels.Models.MemorySizeBytes);
        Assert.Equal(GiB, viaRuvFann.Models.MemorySizeBytes);
    }

    [Fact]
    public void AcceptsCommentsTrailingCommasBomAndIntegralFloats()
    {
        var result = WorkspaceConfigLoader.Parse("\uFEFF" + """
            /* block */
            {
              "workspace": { // line
                "resources": { "max_agents": 4.0, },
              },
            }
            """, "w.json");
        Assert.Empty(result.Diagnostics);
        Assert.Equal(4, result.Value!.Resources.MaxAgents);
    }

    [Fact]
    public void TemplateParsesCleanlyAndLeavesLimitsToTheGlobalConfig()
    {
        var text = WorkspaceConfigLoader.WorkspaceConfigTemplate("proj-ecommerce", "E-commerce \"Platform\" ☕", "rust");

        Assert.EndsWith("}\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", text, StringComparison.Ordinal);
        Assert.Contains("\n  \"workspace\": {\n    \"id\": \"proj-ecommerce\",", text, StringComparison.Ordinal);
        Assert.Contains($"\"$schema\": \"{ConfigSchemas.WorkspaceSchemaUrl}\"", text, StringComparison.Ordinal);
        var result = WorkspaceConfigLoader.Parse(text, "workspace.json");
        Assert.Empty(result.Diagnostics);
        var ws = result.Value!;
        Assert.Equal("proj-ecommerce", ws.Id);
        Assert.Equal("E-commerce \"Platform\" ☕", ws.Name);
        Assert.Equal(ProjectKind.Rust, ws.ProjectType);
        Assert.Equal("proj-ecommerce", ws.Namespace.Prefix);
        Assert.Equal(new WorkspaceResources(null, null, null, null, null), ws.Resources);
    }

    [Fact]
    public void TemplateCanPointAtALocalSchema()
    {
        var text = WorkspaceConfigLoader.WorkspaceConfigTemplate("a", "A", nameof(ProjectKind.Dotnet), "../schemas/workspace.schema.json");
        Assert.Contains("\"$schema\": \"../schemas/workspace.schema.json\"", text, StringComparison.Ordinal);
        Assert.Contains("\"type\": \"dotnet\"", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Not A Slug", "x", "rust", "id")]
    [InlineData("ok", " ", "rust", "name")]
    [InlineData("ok", "x", "ruby", "projectType")]
    public void TemplateRejectsBadArguments(string id, string name, string type, string parameter) =>
        Assert.Equal(parameter, Assert.Throws<ArgumentException>(() => WorkspaceConfigLoader.WorkspaceConfigTemplate(id, name, type)).ParamName);
}
