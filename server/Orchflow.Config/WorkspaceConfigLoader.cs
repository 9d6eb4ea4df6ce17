using System.Text;
using System.Text.Json;

namespace Orchflow.Config;

/// <summary>Loads <c>.orchflow/workspace.json</c>. Never throws for bad input: every problem becomes a <see cref="ConfigDiagnostic"/>.</summary>
public static class WorkspaceConfigLoader
{
    public const string RelativePath = ".orchflow/workspace.json";

    /// <summary>Reads and parses the file. A missing file is an error here; callers that treat "no file" as "defaults" check existence first.</summary>
    public static ConfigResult<WorkspaceFileConfig> Load(string filePath)
    {
        ArgumentNullException.ThrowIfNull(filePath);
        var diagnostics = new List<ConfigDiagnostic>();
        switch (ConfigFileReader.TryRead(filePath, diagnostics, out var text))
        {
            case ConfigFileReader.Outcome.Missing:
                return new(null, [ConfigFileReader.Error(filePath, "file not found")]);
            case ConfigFileReader.Outcome.Failed:
                return new(null, diagnostics);
            default:
                return Parse(text, filePath);
        }
    }

    /// <summary>Parses workspace.json text (JSON with comments and trailing commas). <paramref name="fileName"/> is only used in diagnostics.</summary>
    public static ConfigResult<WorkspaceFileConfig> Parse(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var ctx = new ValidationContext(fileName, ConfigFormat.Json);
        var node = JsonTreeReader.Read(text, ctx);
        if (node is null)
        {
            return new(null, ctx.Diagnostics);
        }

        WorkspaceFields.Document.TryResolve(node, ctx, "", out var document);
        CheckRoot(document.Get(WorkspaceFields.Workspace), fileName, ctx);
        if (ctx.HasErrors)
        {
            return new(null, ctx.Diagnostics);
        }

        return new(WorkspaceFields.Build(document.Get(WorkspaceFields.Workspace)), ctx.Diagnostics);
    }

    /// <summary>
    /// A workspace's root is the folder that holds its <c>.orchflow/</c>: a <c>root</c> naming another folder would be
    /// ignored, so it is an error at its value. The same folder by another path (a symlink, a trailing slash) is fine.
    /// Only a file at <c>&lt;folder&gt;/.orchflow/workspace.json</c> has a folder to compare with.
    /// </summary>
    private static void CheckRoot(Section workspace, string fileName, ValidationContext ctx)
    {
        if (workspace.GetRefOrNull(WorkspaceFields.RootPath) is not { } root
            || !Path.IsPathRooted(fileName)
            || !fileName.Replace('\\', '/').EndsWith("/" + RelativePath, StringComparison.Ordinal))
        {
            return;
        }

        var folder = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(fileName)))!;
        if (SameFolder(root, folder))
        {
            return;
        }

        ctx.Error(workspace.ValuePosition(WorkspaceFields.RootPath), ValidationContext.Join(WorkspaceFields.Workspace.Key, WorkspaceFields.RootPath.Key),
            $"{ValidationContext.Quote(root)} is not the folder this file belongs to ({folder}); a workspace's root is the folder that holds its .orchflow/. " +
            "Remove 'root', or move the .orchflow folder into the project folder you meant");
    }

    private static bool SameFolder(string a, string b)
    {
        static string Trim(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (string.Equals(Trim(a), Trim(b), StringComparison.Ordinal))
        {
            return true;
        }

        try
        {
            return Directory.Exists(a) && Directory.Exists(b)
                && string.Equals(Resolve(a), Resolve(b), StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        static string Resolve(string path)
        {
            // Each component's link, from the root down: ResolveLinkTarget only follows the last one.
            var full = Trim(path);
            var resolved = Path.GetPathRoot(full)!;
            foreach (var part in full[resolved.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
            {
                var next = Path.Combine(resolved, part);
                resolved = new DirectoryInfo(next).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? next;
            }

            return Trim(resolved);
        }
    }

    /// <summary>
    /// A starting workspace.json for a new workspace: its identity plus the sections people most often edit,
    /// left empty so the global defaults keep applying until they are filled in. The <c>$schema</c> key gives
    /// editors completion and hover docs for the rest.
    /// </summary>
    /// <param name="id">The workspace id (a slug such as "proj-ecommerce").</param>
    /// <param name="projectType">One of the <c>type</c> values (any case): rust, node, python, dotnet, go, java, mixed, unknown.</param>
    /// <param name="schemaUrl">Where editors find the schema; defaults to <see cref="ConfigSchemas.WorkspaceSchemaUrl"/>.</param>
    /// <exception cref="ArgumentException">The id is not a valid slug, the name is empty, or the project type is unknown.</exception>
    public static string WorkspaceConfigTemplate(string id, string name, string projectType, string? schemaUrl = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(projectType);
        if (!Rules.Slug.IsMatch(id))
        {
            throw new ArgumentException($"'{id}' {Rules.Slug.Message}", nameof(id));
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The workspace name must not be empty.", nameof(name));
        }

        // Case-insensitive so a caller may pass ProjectKind.Rust.ToString(); the file always gets the lowercase name.
        var kind = WorkspaceFields.Type.Values.FirstOrDefault(v => string.Equals(v.Name, projectType, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException(
                $"'{projectType}' is not a project type; expected one of: {string.Join(", ", WorkspaceFields.Type.Values.Select(v => v.Name))}",
                nameof(projectType));

        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            IndentSize = 2,
            NewLine = "\n",
            Encoder = ConfigJson.Relaxed.Encoder,
        }))
        {
            w.WriteStartObject();
            w.WriteString(WorkspaceFields.Schema.Key, schemaUrl ?? ConfigSchemas.WorkspaceSchemaUrl);
            w.WriteStartObject(WorkspaceFields.Workspace.Key);
            w.WriteString(WorkspaceFields.Id.Key, id);
            w.WriteString(WorkspaceFields.Name.Key, name);
            w.WriteString(WorkspaceFields.Type.Key, kind.Name);
            w.WriteStartObject(WorkspaceFields.Namespace.Key);
            w.WriteString(WorkspaceFields.Prefix.Key, id);
            w.WriteEndObject();
            w.WriteStartObject(WorkspaceFields.Resources.Key);
            w.WriteEndObject();
            w.WriteStartObject(WorkspaceFields.Security.Key);
            w.WriteString(WorkspaceFields.Tier.Key, WorkspaceFields.Tier.NameOf(Defaults.Tier));
            w.WriteEndObject();
            w.WriteStartObject(WorkspaceFields.SharedEnv.Key);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
