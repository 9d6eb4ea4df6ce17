using Orchflow.Server.Cli;

namespace Orchflow.Server.Tests;

/// <summary>The checked-in schemas/ must equal what the C# types export: the one source of truth for the contract.</summary>
[Trait("Tier", "unit")]
public sealed class SchemaDriftTests
{
    public static TheoryData<string> SchemaFiles => new(SchemaCommand.Render().Keys);

    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void Checked_in_schema_matches_the_csharp_types(string file)
    {
        var root = RepoRoot.Find() ?? throw new InvalidOperationException("repository root not found");
        var path = Path.Combine(root, "schemas", file);
        Assert.True(File.Exists(path), $"{path} is missing; run `bin/orchflow schema export`.");
        var expected = SchemaCommand.Render()[file];
        var actual = File.ReadAllText(path);
        Assert.True(expected == actual, $"{path} is out of date with the C# types; run `bin/orchflow schema export` and commit the result.");
    }

    [Fact]
    public void Every_method_constant_is_in_the_method_table_or_is_lifecycle()
    {
        var names = typeof(Protocol.Methods).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToHashSet();
        var table = Protocol.ProtocolSchema.MethodTable.Select(m => m.Name).ToHashSet();
        var missing = names.Except(table).Except(["initialized", "shutdown", "exit"]).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void The_daemon_and_the_extension_carry_one_version()
    {
        var root = RepoRoot.Find() ?? throw new InvalidOperationException("repository root not found");
        using var package = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "package.json")));
        var extension = package.RootElement.GetProperty("version").GetString();
        Assert.True(extension == Rpc.OrchflowServer.Version,
            $"package.json says {extension}, the daemon {Rpc.OrchflowServer.Version}; set <Version> in Directory.Build.props to package.json's version.");
    }
}
