namespace Orchflow.Config;

/// <summary>Loads the global <c>orchflow.toml</c>. Never throws for bad input: every problem becomes a <see cref="ConfigDiagnostic"/>.</summary>
public static class GlobalConfigLoader
{
    public const string FileName = "orchflow.toml";

    /// <summary>Reads and parses the file. A missing file is not an error: everything is optional, so it means <see cref="GlobalConfig.Default"/>.</summary>
    public static ConfigResult<GlobalConfig> Load(string filePath)
    {
        ArgumentNullException.ThrowIfNull(filePath);
        var diagnostics = new List<ConfigDiagnostic>();
        return ConfigFileReader.TryRead(filePath, diagnostics, out var text) switch
        {
            ConfigFileReader.Outcome.Missing => new(GlobalConfig.Default, []),
            ConfigFileReader.Outcome.Failed => new(null, diagnostics),
            _ => Parse(text, filePath),
        };
    }

    /// <summary>Parses orchflow.toml text (TOML 1.1). <paramref name="fileName"/> is only used in diagnostics.</summary>
    public static ConfigResult<GlobalConfig> Parse(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var ctx = new ValidationContext(fileName, ConfigFormat.Toml);
        var node = TomlTreeReader.Read(text, fileName, ctx);
        if (node is null)
        {
            return new(null, ctx.Diagnostics);
        }

        GlobalFields.Document.TryResolve(node, ctx, "", out var document);
        return ctx.HasErrors ? new(null, ctx.Diagnostics) : new(GlobalFields.Build(document), ctx.Diagnostics);
    }
}
