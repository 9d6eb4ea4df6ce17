using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Workspaces;

/// <summary>Path checks shared by every capability that takes a path from a client.</summary>
public static class PathRules
{
    /// <summary>
    /// The canonical form of a directory a client named: absolute, normalized, every symlink resolved
    /// (so that a link cannot smuggle one workspace's root inside another's). Throws a user-facing error otherwise.
    /// </summary>
    public static string CanonicalDirectory(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new OrchflowException(ErrorCodes.InvalidPath, "No path given.", "Pass the folder of the project, for example `orchflow workspace create ~/projects/shop`.");
        }

        if (!Path.IsPathRooted(path))
        {
            throw new OrchflowException(ErrorCodes.InvalidPath, $"'{path}' is not an absolute path.", "Clients send absolute paths; the daemon never resolves against its own directory.");
        }

        var full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            throw new OrchflowException(ErrorCodes.InvalidPath, $"{full} is a file, not a directory.", "Pass the project's folder.");
        }

        if (!Directory.Exists(full))
        {
            throw new OrchflowException(ErrorCodes.InvalidPath, $"{full} does not exist.", "Check the path, or create the folder first.");
        }

        var real = Native.TryRealPath(full) ?? full;
        return real.Length > 1 ? real.TrimEnd('/') : real;
    }

    public static bool IsSameOrInside(string path, string root) =>
        string.Equals(path, root, StringComparison.Ordinal)
        || (path.StartsWith(root, StringComparison.Ordinal) && (root == "/" || path[root.Length] == '/'));

    /// <summary>A lowercase slug of letters, digits and '-', 1 to 63 characters, usable as an id or namespace.</summary>
    public static string Slug(string text)
    {
        var chars = new System.Text.StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            {
                chars.Append(c);
            }
            else if (chars.Length > 0 && chars[^1] != '-')
            {
                chars.Append('-');
            }
        }

        var slug = chars.ToString().Trim('-');
        if (slug.Length > 63)
        {
            slug = slug[..63].TrimEnd('-');
        }

        return slug.Length == 0 ? "workspace" : slug;
    }

    public static bool IsSlug(string text) => text.Length is > 0 and <= 63 && text == Slug(text);
}
