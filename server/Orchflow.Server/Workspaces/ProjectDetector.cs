using Orchflow.Protocol;

namespace Orchflow.Server.Workspaces;

/// <summary>Guesses a folder's project type from the marker files at its top level.</summary>
public static class ProjectDetector
{
    /// <summary>Marker file names (or, with a leading '*', extensions) and the type each one means.</summary>
    private static readonly (string Marker, ProjectType Type)[] Markers =
    [
        ("Cargo.toml", ProjectType.Rust),
        ("package.json", ProjectType.Node),
        ("pyproject.toml", ProjectType.Python),
        ("setup.py", ProjectType.Python),
        ("setup.cfg", ProjectType.Python),
        ("requirements.txt", ProjectType.Python),
        ("Pipfile", ProjectType.Python),
        ("*.sln", ProjectType.Dotnet),
        ("*.slnx", ProjectType.Dotnet),
        ("*.csproj", ProjectType.Dotnet),
        ("*.fsproj", ProjectType.Dotnet),
        ("global.json", ProjectType.Dotnet),
        ("go.mod", ProjectType.Go),
        ("pom.xml", ProjectType.Java),
        ("build.gradle", ProjectType.Java),
        ("build.gradle.kts", ProjectType.Java),
    ];

    public static ProjectType Detect(string root)
    {
        var found = new HashSet<ProjectType>();
        IEnumerable<string> names;
        try
        {
            names = Directory.EnumerateFiles(root).Select(Path.GetFileName).OfType<string>().ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ProjectType.Unknown;
        }

        foreach (var name in names)
        {
            foreach (var (marker, type) in Markers)
            {
                bool match = marker[0] == '*'
                    ? name.EndsWith(marker[1..], StringComparison.OrdinalIgnoreCase)
                    : string.Equals(name, marker, StringComparison.Ordinal);
                if (match)
                {
                    found.Add(type);
                }
            }
        }

        return found.Count switch
        {
            0 => ProjectType.Unknown,
            1 => found.First(),
            _ => ProjectType.Mixed,
        };
    }
}
