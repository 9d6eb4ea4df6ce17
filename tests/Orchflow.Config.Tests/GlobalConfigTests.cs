namespace Orchflow.Config.Tests;

[Trait("Tier", "unit")]
public sealed class GlobalConfigTests
{
    private const long MiB = 1024 * 1024;
    private const long GiB = 1024 * MiB;

    [Fact]
    public void SpecExampleParsesWithOnlyNotYetUsedWarnings()
    {
        var result = GlobalConfigLoader.Parse(SpecExamples.GlobalToml, "orchflow.toml");

        // Accepted, and each one this version does not act on says so (they become real with bridges and models).
        DiagnosticAssert.Matches(result.Diagnostics,
            "4:1: warning: orchestration.enable_cross_workspace: Accepted, not yet used by this version: bridges",
            "7:1: warning: orchestration.ruv_fann.namespace_isolation: Accepted, not yet used by this version: per-workspace models",
            "8:1: warning: orchestration.ruv_fann.shared_model_cache: Accepted, not yet used by this version: per-workspace models");
        var c = result.Value!;
        Assert.Equal(5, c.Orchestration.MaxWorkspaces);
        Assert.Equal(6, c.Orchestration.DefaultAgentLimit);
        Assert.True(c.Orchestration.EnableCrossWorkspace);
        Assert.Equal(new GlobalModelsConfig(true, true, 512 * MiB), c.Orchestration.Models);
        Assert.Equal(new GlobalResourcesConfig(16 * GiB, CpuAllocationStrategy.Fair, 12, Defaults.ProcessLimitPerWorkspace), c.Orchestration.Resources);
        Assert.Equal(GlobalConfig.Default.Terminals, c.Terminals);
        Assert.Equal(GlobalConfig.Default.Hibernation, c.Hibernation);
        Assert.Empty(c.AgentTypes);
    }

    [Fact]
    public void DefaultIsTheDocumentedDefaults()
    {
        var d = GlobalConfig.Default;
        Assert.Equal(20, d.Orchestration.MaxWorkspaces);
        Assert.Equal(6, d.Orchestration.DefaultAgentLimit);
        Assert.False(d.Orchestration.EnableCrossWorkspace);
        Assert.Equal(new GlobalModelsConfig(true, true, 512 * MiB), d.Orchestration.Models);
        Assert.Equal(new GlobalResourcesConfig(null, CpuAllocationStrategy.Fair, 12, 512), d.Orchestration.Resources);
        Assert.Equal(new TerminalsConfig(MiB, null), d.Terminals);
        Assert.Equal(new HibernationConfig(TimeSpan.FromMinutes(30)), d.Hibernation);
        Assert.Empty(d.AgentTypes);
    }

    [Fact]
    public void EverySettingResolves()
    {
        var result = GlobalConfigLoader.Parse("""
            [orchestration]
            max_workspaces = 40
            default_agent_limit = 3
            enable_cross_workspace = false

            [orchestration.models]
            namespace_isolation = false
            shared_model_cache = false
            memory_per_workspace = 268435456

            [orchestration.resources]
            total_memory_limit = "64 gib"
            cpu_allocation_strategy = "equal"
            terminal_limit_per_workspace = 20
            process_limit_per_workspace = 4096

            [terminals]
            scrollback_bytes = "256KB"
            default_shell = "/usr/bin/zsh"

            [agents.types.claude]
            command = "claude -p {task}"
            env = { ANTHROPIC_LOG = "warn" }
            needs_input_patterns = ['\? $', '\(y/n\)']
            done_patterns = ['^DONE']

            [agents.types.codex]
            command = "codex {task}"
            purpose = "Second opinion"

            [hibernation]
            idle_after = "off"
            """, "orchflow.toml");

        DiagnosticAssert.Matches(result.Diagnostics,
            "4:1: warning: orchestration.enable_cross_workspace: Accepted, not yet used",
            "7:1: warning: orchestration.models.namespace_isolation: Accepted, not yet used",
            "8:1: warning: orchestration.models.shared_model_cache: Accepted, not yet used");
        var c = result.Value!;
        Assert.Equal(40, c.Orchestration.MaxWorkspaces);
        Assert.Equal(3, c.Orchestration.DefaultAgentLimit);
        Assert.False(c.Orchestration.EnableCrossWorkspace);
        Assert.Equal(new GlobalModelsConfig(false, false, 256 * MiB), c.Orchestration.Models);
        Assert.Equal(new GlobalResourcesConfig(64 * GiB, CpuAllocationStrategy.Equal, 20, 4096), c.Orchestration.Resources);
        Assert.Equal(new TerminalsConfig(256 * 1024, "/usr/bin/zsh"), c.Terminals);
        Assert.Null(c.Hibernation.IdleAfter);
        Assert.Equal(["claude", "codex"], c.AgentTypes.Keys);
        var claude = c.AgentTypes["claude"];
        Assert.Equal("claude -p {task}", claude.Command);
        Assert.Equal("warn", claude.Env["ANTHROPIC_LOG"]);
        Assert.Null(claude.Purpose);
        Assert.Equal(["\\? $", "\\(y/n\\)"], claude.NeedsInputPatterns);
        Assert.Equal(["^DONE"], claude.DonePatterns);
        Assert.Equal("Second opinion", c.AgentTypes["codex"].Purpose);
        Assert.Empty(c.AgentTypes["codex"].Env);
    }

    [Theory]
    [InlineData("[orchestration.models]\nmemory_per_workspace = \"1GB\"\n")]
    [InlineData("[orchestration.ruv_fann]\nmemory_per_workspace = \"1GB\"\n")]
    [InlineData("orchestration.models.memory_per_workspace = \"1GB\"\n")]
    [InlineData("[orchestration]\nmodels = { memory_per_workspace = \"1GB\" }\n")]
    [InlineData("[orchestration.ruv_fann.x]\n[orchestration]\nruv_fann.memory_per_workspace = \"1GB\"\n")]
    public void TheSameSettingCanBeWrittenInEveryTomlForm(string toml)
    {
        var result = GlobalConfigLoader.Parse(toml, "orchflow.toml");
        Assert.Equal(GiB, result.Value?.Orchestration.Models.MemoryPerWorkspaceBytes);
        Assert.All(result.Diagnostics, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
    }

    [Fact]
    public void CommentsAndBlankFileAreFine()
    {
        var result = GlobalConfigLoader.Parse("# nothing configured yet\n\n", "orchflow.toml");
        Assert.Empty(result.Diagnostics);
        Assert.Equal(GlobalConfig.Default.Orchestration, result.Value!.Orchestration);
    }
}
