using Orchflow.Config;
using Orchflow.Server.Rpc;

namespace Orchflow.Server.Cli;

/// <summary>
/// <c>orchflow schema export [--out DIR] [--check]</c>: writes the JSON Schemas generated from the C# types
/// (the wire protocol and both config formats) into <c>schemas/</c>, or with --check fails when they differ.
/// </summary>
internal static class SchemaCommand
{
    public static IReadOnlyDictionary<string, string> Render() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["protocol.schema.json"] = ClientLimits.ExportProtocolSchema(),
        ["workspace.schema.json"] = ConfigSchemas.WorkspaceSchemaJson(),
        ["orchflow-toml.schema.json"] = ConfigSchemas.GlobalSchemaJson(),
    };

    public static int Run(CommandLine cmd, Output output)
    {
        var outDir = cmd.Option("out") ?? Path.Combine(RepoRoot.Find() ?? throw new CliException("Cannot find the repository root; pass --out DIR."), "schemas");
        bool check = cmd.Flag("check");
        cmd.EnsureNoUnknown();
        var stale = new List<string>();
        foreach (var (name, text) in Render())
        {
            var path = Path.Combine(outDir, name);
            var existing = File.Exists(path) ? File.ReadAllText(path) : null;
            if (existing == text)
            {
                continue;
            }

            if (check)
            {
                stale.Add(path);
            }
            else
            {
                Directory.CreateDirectory(outDir);
                File.WriteAllText(path, text);
                output.Line($"wrote {path}");
            }
        }

        if (check && stale.Count > 0)
        {
            throw new CliException($"Schemas are out of date: {string.Join(", ", stale)}. Run `bin/orchflow schema export` and commit the result.");
        }

        return 0;
    }
}
