using System.Text.Json.Nodes;

namespace Orchflow.Config;

/// <summary>
/// JSON Schemas (draft-07, which VS Code supports best) of both config files, rendered from the same field
/// tables the loaders validate with. <c>bin/orchflow schema export</c> writes them to <c>schemas/</c>; a test
/// fails when the checked-in copies drift.
/// </summary>
public static class ConfigSchemas
{
    /// <summary>Where the workspace schema is published; the <c>$schema</c> of new workspace.json files.</summary>
    public const string WorkspaceSchemaUrl = "https://orchflow.dev/schemas/workspace.schema.json";

    /// <summary>Where the orchflow.toml schema is published (for TOML editors: <c>#:schema</c> directive).</summary>
    public const string GlobalSchemaUrl = "https://orchflow.dev/schemas/orchflow-toml.schema.json";

    public static string WorkspaceSchemaJson() => Render(
        WorkspaceFields.Document,
        WorkspaceSchemaUrl,
        "Orchflow workspace file (.orchflow/workspace.json)",
        "Per-project orchflow settings. Comments and trailing commas are allowed. Unknown keys are reported as warnings.");

    public static string GlobalSchemaJson() => Render(
        GlobalFields.Document,
        GlobalSchemaUrl,
        "Orchflow global config (orchflow.toml)",
        "Settings for all workspaces, in TOML. Every key is optional; absent keys take the documented defaults. Unknown keys are reported as warnings.");

    private static string Render(ObjectField document, string id, string title, string description)
    {
        var body = document.ToSchema();
        var root = new JsonObject
        {
            ["$schema"] = "http://json-schema.org/draft-07/schema#",
            ["$id"] = id,
            ["title"] = title,
            ["description"] = $"{description} Generated from server/Orchflow.Config by `bin/orchflow schema export`. Do not edit.",
        };
        foreach (var (key, value) in body.ToList())
        {
            if (key != "description")
            {
                body.Remove(key);
                root[key] = value;
            }
        }

        return root.ToJsonString(ConfigJson.Relaxed) + "\n";
    }
}
