namespace Orchflow.Config.Tests;

/// <summary>Invalid orchflow.toml inputs and exactly what is reported, and where.</summary>
[Trait("Tier", "unit")]
public sealed class GlobalDiagnosticsTests
{
    [Theory]
    // syntax (Tomlyn's diagnostics, positioned)
    [InlineData("[terminals]\nscrollback_bytes = \n", "2:20: error: invalid TOML:")]
    // wrong types
    [InlineData("[orchestration]\nmax_workspaces = \"five\"\n",
        "2:18: error: orchestration.max_workspaces: expected an integer from 1 to 256, got string \"five\"")]
    [InlineData("[orchestration]\nenable_cross_workspace = 1\n",
        "2:26: error: orchestration.enable_cross_workspace: expected true or false, got integer 1")]
    [InlineData("[hibernation]\nidle_after = 1979-05-27\n",
        "2:14: error: hibernation.idle_after: expected a duration such as \"30s\", \"15m\", \"2h\" or \"7d\", or \"off\", got datetime 1979-05-27")]
    [InlineData("orchestration = 5\n", "1:17: error: orchestration: expected a table, got integer 5")]
    [InlineData("[[agents]]\n", "1:3: error: agents: expected a table, got an array")]
    [InlineData("[orchestration]\ndefault_agent_limit = 2.5\n",
        "2:23: error: orchestration.default_agent_limit: expected an integer from 1 to 256, got float 2.5")]
    // out of range
    [InlineData("[orchestration.resources]\nterminal_limit_per_workspace = 0\n",
        "2:32: error: orchestration.resources.terminal_limit_per_workspace: expected an integer from 1 to 1000, got 0")]
    [InlineData("[hibernation]\nidle_after = \"10s\"\n", "2:14: error: hibernation.idle_after: '10s' is shorter than the minimum of 1m")]
    [InlineData("[terminals]\nscrollback_bytes = \"2GB\"\n", "2:20: error: terminals.scrollback_bytes: 2 GiB is above the maximum of 1 GiB")]
    // malformed values
    [InlineData("[terminals]\nscrollback_bytes = \"1XB\"\n",
        "2:20: error: terminals.scrollback_bytes: '1XB' is not a size; write e.g. \"512MB\" or \"4GB\"")]
    [InlineData("orchestration.resources.total_memory_limit = \"lots\"\n",
        "1:46: error: orchestration.resources.total_memory_limit: 'lots' is not a size")]
    [InlineData("[hibernation]\nidle_after = \"never\"\n",
        "2:14: error: hibernation.idle_after: 'never' is not a duration; write e.g. \"30s\", \"15m\", \"2h\" or \"7d\", or \"off\"")]
    // enums list the allowed values
    [InlineData("[orchestration.resources]\ncpu_allocation_strategy = \"fare\"\n",
        "2:27: error: orchestration.resources.cpu_allocation_strategy: \"fare\" is not one of: fair, equal, none; did you mean 'fair'?")]
    // unknown keys are warnings, with a suggestion when one is close
    [InlineData("[orchestration]\nmax_workspace = 3\n",
        "2:1: warning: orchestration: unknown key 'max_workspace'; did you mean 'max_workspaces'?")]
    [InlineData("[orchestraton]\n", "1:2: warning: unknown key 'orchestraton'; did you mean 'orchestration'?")]
    [InlineData("[orchestration.resources]\nmemory = 1\n",
        "2:1: warning: orchestration.resources: unknown key 'memory'; expected one of: total_memory_limit, cpu_allocation_strategy, terminal_limit_per_workspace, process_limit_per_workspace")]
    // duplicates (TOML forbids redefinition; Tomlyn reports it) and aliases
    [InlineData("[terminals]\ndefault_shell = \"/bin/sh\"\ndefault_shell = \"/bin/zsh\"\n",
        "3:1: error: invalid TOML: The key `terminals.default_shell` is already defined")]
    [InlineData("[orchestration.ruv_fann]\nshared_model_cache = true\n[orchestration.models]\n",
        "2:1: warning: orchestration.ruv_fann.shared_model_cache: Accepted, not yet used by this version",
        "3:16: error: orchestration: 'ruv_fann' and 'models' are the same setting; keep only one (preferably 'models')")]
    // environment names
    [InlineData("[agents.types.claude]\ncommand = \"claude\"\nenv = { ORCHFLOW_X = \"1\" }\n",
        "3:9: error: agents.types.claude.env: 'ORCHFLOW_X' is reserved: variables starting with ORCHFLOW_ are set by orchflow itself")]
    // paths
    [InlineData("[terminals]\ndefault_shell = \"bash\"\n", "2:17: error: terminals.default_shell: \"bash\" must be an absolute path")]
    // agent types
    [InlineData("[agents.types.x]\npurpose = \"p\"\n", "1:15: error: agents.types.x: missing required key 'command'")]
    [InlineData("[agents.types.x]\ncommand = \"x\"\nneeds_input_patterns = ['\\? $', '[']\n",
        "3:33: error: agents.types.x.needs_input_patterns[1]: \"[\" is not a valid regular expression")]
    // columns count characters, not UTF-8 bytes
    [InlineData("terminals = { \"é\" = 1, default_shell = 2 }\n",
        "1:15: warning: terminals: unknown key 'é'",
        "1:40: error: terminals.default_shell: expected a string, got integer 2")]
    public void Reports(string toml, params string[] expected) => Check(toml, expected);

    [Fact]
    public void ReportsEveryProblemNotJustTheFirst() => Check(
        """
        # orchflow.toml
        [orchestration]
        max_workspaces = 0
        default_agent_limit = "six"

        [orchestration.resources]
        total_memory_limit = "16 gigs"
        cpu_allocation_strategy = "fairest"

        [terminals]
        scrollback = "1MB"
        """,
        "3:18: error: orchestration.max_workspaces:",
        "4:23: error: orchestration.default_agent_limit:",
        "7:22: error: orchestration.resources.total_memory_limit:",
        "8:27: error: orchestration.resources.cpu_allocation_strategy:",
        "11:1: warning: terminals: unknown key 'scrollback'; did you mean 'scrollback_bytes'?");

    [Fact]
    public void SyntaxErrorsArePositionedAndStopValidation()
    {
        // Tomlyn recovers and reports follow-on errors too; the first is the one that matters.
        var result = GlobalConfigLoader.Parse("[orchestration\nmax_workspaces = \"five\"\n", "orchflow.toml");
        Assert.Null(result.Value);
        Assert.StartsWith("1:15: error: invalid TOML: Unexpected token", DiagnosticAssert.Format(result.Diagnostics[0]));
        Assert.DoesNotContain(result.Diagnostics, d => d.Message.Contains("max_workspaces: expected", StringComparison.Ordinal));
    }

    [Fact]
    public void DeepNestingIsAnErrorNotAStackOverflow()
    {
        var result = GlobalConfigLoader.Parse("a = " + new string('[', 100_000) + new string(']', 100_000) + "\n", "orchflow.toml");
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal("invalid TOML: The maximum depth of 64 has been exceeded.", d.Message);
    }

    [Fact]
    public void DiagnosticsNameTheFile()
    {
        var d = Assert.Single(GlobalConfigLoader.Parse("[terminals]\ndefault_shell = 1\n", "/home/u/.config/orchflow/orchflow.toml").Diagnostics);
        Assert.Equal("/home/u/.config/orchflow/orchflow.toml:2:17: error: terminals.default_shell: expected a string, got integer 1", d.ToString());
    }

    private static void Check(string toml, params string[] expected)
    {
        var result = GlobalConfigLoader.Parse(toml, "orchflow.toml");
        DiagnosticAssert.Matches(result.Diagnostics, expected);
        Assert.Equal(result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error), result.Value is null);
    }
}
