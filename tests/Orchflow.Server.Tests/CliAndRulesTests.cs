using Orchflow.Protocol;
using Orchflow.Server.Cli;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Tests;

/// <summary>Tier 1: pure functions, data-driven.</summary>
[Trait("Tier", "unit")]
public sealed class CliAndRulesTests
{
    [Theory]
    [InlineData("Shop API", "shop-api")]
    [InlineData("  --Weird__Name!!  ", "weird-name")]
    [InlineData("ÄÖÜ", "workspace")]
    [InlineData("a/b/c", "a-b-c")]
    public void Slug(string input, string expected) => Assert.Equal(expected, PathRules.Slug(input));

    [Theory]
    [InlineData("/a/b", "/a", true)]
    [InlineData("/a", "/a", true)]
    [InlineData("/ab", "/a", false)]
    [InlineData("/a", "/a/b", false)]
    [InlineData("/x", "/", true)]
    public void IsSameOrInside(string path, string root, bool expected) => Assert.Equal(expected, PathRules.IsSameOrInside(path, root));

    [Theory]
    [InlineData(new[] { "Cargo.toml" }, ProjectType.Rust)]
    [InlineData(new[] { "package.json" }, ProjectType.Node)]
    [InlineData(new[] { "pyproject.toml", "requirements.txt" }, ProjectType.Python)]
    [InlineData(new[] { "App.csproj" }, ProjectType.Dotnet)]
    [InlineData(new[] { "go.mod" }, ProjectType.Go)]
    [InlineData(new[] { "pom.xml" }, ProjectType.Java)]
    [InlineData(new[] { "package.json", "go.mod" }, ProjectType.Mixed)]
    [InlineData(new[] { "README.md" }, ProjectType.Unknown)]
    public void Project_type_from_markers(string[] files, ProjectType expected)
    {
        using var home = new TempHome();
        var root = home.Project("p", files.Select(f => (f, "")).ToArray());
        Assert.Equal(expected, ProjectDetector.Detect(root));
    }

    [Fact]
    public void Command_line_parses_options_and_rejects_unknown_ones()
    {
        var cmd = new CommandLine(["workspace", "create", ".", "--name", "X", "--json", "--id=abc"], new HashSet<string> { "name", "id" });
        Assert.Equal(["workspace", "create", "."], cmd.Positionals);
        Assert.Equal("X", cmd.Option("name"));
        Assert.Equal("abc", cmd.Option("id"));
        Assert.True(cmd.Flag("json"));
        cmd.EnsureNoUnknown();

        var bad = new CommandLine(["workspace", "list", "--jsn"], new HashSet<string>());
        var ex = Assert.Throws<CliException>(() => bad.EnsureNoUnknown());
        Assert.Contains("--jsn", ex.Message, StringComparison.Ordinal);
        Assert.Throws<CliException>(() => new CommandLine(["--name"], new HashSet<string> { "name" }));
    }

    [Fact]
    public void Paths_follow_orchflow_home_then_xdg()
    {
        var withHome = Hosting.OrchflowPaths.FromEnvironment(n => n == "ORCHFLOW_HOME" ? "/tmp/oh" : null);
        Assert.Equal("/tmp/oh/config/orchflow.toml", withHome.ConfigFile);
        Assert.Equal("/tmp/oh/run/orchflow.sock", withHome.SocketPath);
        var xdg = Hosting.OrchflowPaths.FromEnvironment(n => n switch { "HOME" => "/home/u", "XDG_RUNTIME_DIR" => "/run/user/1000", _ => null });
        Assert.Equal("/home/u/.config/orchflow/orchflow.toml", xdg.ConfigFile);
        Assert.Equal("/home/u/.local/share/orchflow/orchflow.db", xdg.DatabaseFile);
        Assert.Equal("/run/user/1000/orchflow/orchflow.sock", xdg.SocketPath);
    }

    [Fact]
    public void Every_config_enum_value_has_a_wire_value_of_the_same_name()
    {
        foreach (var v in Enum.GetValues<SecurityTier>())
        {
            Assert.Equal(v.ToString(), WorkspaceMapper.SameName<SecurityTier>(v).ToString());
        }

        foreach (var v in Enum.GetValues<NetworkPolicy>())
        {
            Assert.Equal(v.ToString(), WorkspaceMapper.SameName<NetworkPolicy>(v).ToString());
        }

        foreach (var v in Enum.GetValues<Config.ProjectKind>())
        {
            Assert.Equal(v.ToString(), WorkspaceMapper.SameName<ProjectType>(v).ToString());
        }
    }
}
