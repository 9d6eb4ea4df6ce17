using System.Text.Json.Nodes;

namespace Orchflow.Config.Tests;

[Trait("Tier", "unit")]
public sealed class SchemaTests
{
    public static TheoryData<string> SchemaFiles => new() { "workspace.schema.json", "orchflow-toml.schema.json" };

    private static string Render(string file) => file == "workspace.schema.json"
        ? ConfigSchemas.WorkspaceSchemaJson()
        : ConfigSchemas.GlobalSchemaJson();

    /// <summary>
    /// The checked-in schemas must be exactly what the field tables render. Set ORCHFLOW_UPDATE_SCHEMAS=1 to
    /// rewrite them instead (until `bin/orchflow schema export` does it).
    /// </summary>
    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void CheckedInSchemaIsUpToDate(string file)
    {
        var path = Path.Combine(RepoRoot(), "schemas", file);
        var rendered = Render(file);
        if (Environment.GetEnvironmentVariable("ORCHFLOW_UPDATE_SCHEMAS") == "1")
        {
            File.WriteAllText(path, rendered);
            return;
        }

        var existing = File.Exists(path) ? File.ReadAllText(path) : null;
        Assert.True(existing == rendered,
            $"schemas/{file} is out of date with server/Orchflow.Config. Run `bin/orchflow schema export` " +
            "(or ORCHFLOW_UPDATE_SCHEMAS=1 dotnet test tests/Orchflow.Config.Tests) and commit the result.");
    }

    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void RenderingIsStableDraft07WithTwoSpaceIndentAndTrailingNewline(string file)
    {
        var text = Render(file);
        Assert.Equal(text, Render(file));
        Assert.EndsWith("}\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", text, StringComparison.Ordinal);
        Assert.StartsWith("{\n  \"$schema\": \"http://json-schema.org/draft-07/schema#\",\n  \"$id\": ", text, StringComparison.Ordinal);
    }

    /// <summary>Descriptions are the hover docs; closed objects make editors flag typos.</summary>
    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void EveryPropertyIsDocumentedAndEveryObjectIsClosed(string file)
    {
        var root = JsonNode.Parse(Render(file))!.AsObject();
        var problems = new List<string>();
        Walk(root, "", problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void WorkspaceSchemaCarriesTheParsersRulesAndDefaults()
    {
        var schema = JsonNode.Parse(ConfigSchemas.WorkspaceSchemaJson())!;
        var ws = schema["properties"]!["workspace"]!["properties"]!;
        var maxAgents = ws["resources"]!["properties"]!["max_agents"]!;
        Assert.Equal(1, (int)maxAgents["minimum"]!);
        Assert.Equal(256, (int)maxAgents["maximum"]!);
        Assert.Equal(Defaults.DefaultAgentLimit, (int)maxAgents["default"]!);
        Assert.Equal(["standard", "enhanced", "strict"], ws["security"]!["properties"]!["tier"]!["enum"]!.AsArray().Select(v => (string)v!));
        Assert.Equal("standard", (string)ws["security"]!["properties"]!["tier"]!["default"]!);
        Assert.Contains("1024-based", (string)ws["resources"]!["properties"]!["memory_limit"]!["description"]!, StringComparison.Ordinal);
        Assert.NotNull(ws["ruv_fann"]);
        Assert.Equal(["models", "ruv_fann"], ws.Parent!["not"]!["required"]!.AsArray().Select(v => (string)v!));
        Assert.Equal(["workspace"], schema["required"]!.AsArray().Select(v => (string)v!));
    }

    [Fact]
    public void GlobalSchemaDefaultsAreTheDefaults()
    {
        var schema = JsonNode.Parse(ConfigSchemas.GlobalSchemaJson())!;
        var orchestration = schema["properties"]!["orchestration"]!["properties"]!;
        Assert.Equal(Defaults.MaxWorkspaces, (int)orchestration["max_workspaces"]!["default"]!);
        Assert.Equal("512 MiB", (string)orchestration["models"]!["properties"]!["memory_per_workspace"]!["default"]!);
        Assert.Equal("30m", (string)schema["properties"]!["hibernation"]!["properties"]!["idle_after"]!["default"]!);
        Assert.Equal("1 MiB", (string)schema["properties"]!["terminals"]!["properties"]!["scrollback_bytes"]!["default"]!);
    }

    private static void Walk(JsonObject schema, string path, List<string> problems)
    {
        if (schema["properties"] is JsonObject properties)
        {
            if (schema["additionalProperties"] is not JsonValue closed || closed.GetValue<bool>())
            {
                problems.Add($"{path}: object without additionalProperties: false");
            }

            foreach (var (key, value) in properties)
            {
                var child = value!.AsObject();
                var childPath = path.Length == 0 ? key : $"{path}.{key}";
                if (child["description"] is not JsonValue d || d.GetValue<string>().Length < 10)
                {
                    problems.Add($"{childPath}: no description");
                }

                Walk(child, childPath, problems);
            }
        }

        if (schema["additionalProperties"] is JsonObject entry)
        {
            Walk(entry, path + ".*", problems);
        }

        if (schema["items"] is JsonObject item)
        {
            Walk(item, path + "[]", problems);
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orchflow.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (Orchflow.sln) above " + AppContext.BaseDirectory);
    }
}
