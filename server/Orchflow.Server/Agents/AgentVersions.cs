using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Orchflow.Protocol;
using Orchflow.Server.Processes;

namespace Orchflow.Server.Agents;

/// <summary>
/// The version check of a built-in agent CLI before a spawn, once per binary (keyed by its path, size and modification
/// time, so an upgrade is seen at once), compared with the type's minimum: the version of the npm package the binary
/// belongs to (its package.json, found by following the bin link; instant), else <c>CLI --version</c> (a Node CLI can
/// take seconds to print it on a loaded machine). A CLI older than that
/// would reject the flags Orchflow passes (or ignore its settings) after it started, with an error that names neither.
/// </summary>
public static partial class AgentVersions
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly ConcurrentDictionary<(string Path, long Size, DateTime Modified), Version?> Seen = new();

    /// <summary>The first x.y.z in a <c>--version</c> output ("2.1.337 (Claude Code)", "codex-cli 0.171.0", "0.61.0").</summary>
    public static Version? Parse(string output)
    {
        var m = VersionPattern().Match(output);
        return m.Success
            ? new Version(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture))
            : null;
    }

    /// <summary>Throws a clear error when the CLI at <paramref name="resolvedPath"/> is older than the type's minimum; a CLI that prints no version passes.</summary>
    public static async Task CheckAsync(AgentType type, string resolvedPath, CancellationToken cancellationToken)
    {
        if (type.MinimumVersion is not { } minimum)
        {
            return;
        }

        var info = new FileInfo(resolvedPath);
        var key = (info.FullName, info.Exists ? info.Length : -1, info.Exists ? info.LastWriteTimeUtc : default);
        if (!Seen.TryGetValue(key, out var version))
        {
            version = PackageVersion(resolvedPath, type.InstallCommand);
            if (version is null)
            {
                try
                {
                    var result = await ProcessFactory.RunAsync(resolvedPath, ["--version"], Path.GetDirectoryName(resolvedPath) ?? "/", Timeout, cancellationToken).ConfigureAwait(false);
                    version = result.ExitCode == 0 ? Parse(result.StandardOutput + "\n" + result.StandardError) : null;
                }
                catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception)
                {
                    // It did not answer in time (or could not run): the spawn goes on, and the CLI says itself what it does not accept.
                    return;
                }
            }

            Seen[key] = version;
        }

        if (version is not null && version < minimum)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument,
                $"{type.DisplayName} {version} ({resolvedPath}) is older than {minimum}, the oldest version whose flags and settings Orchflow's built-in '{type.Name}' type is tested with.",
                (type.InstallCommand is { } cmd ? $"Update it with `{cmd}@latest`" : "Update it")
                + $", or set [agents.types.{type.Name}] command in orchflow.toml to run this version with flags of your own.");
        }
    }

    /// <summary>The version in the package.json of the npm package (named in <paramref name="installCommand"/>) that holds the real file of <paramref name="bin"/>.</summary>
    internal static Version? PackageVersion(string bin, string? installCommand)
    {
        var name = installCommand?.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(w => w.StartsWith('@') || !w.StartsWith('-'));
        if (name is null || !installCommand!.StartsWith("npm ", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            var real = new FileInfo(bin).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? bin;
            for (var dir = Path.GetDirectoryName(real); dir is not null; dir = Path.GetDirectoryName(dir))
            {
                var file = Path.Combine(dir, "package.json");
                if (!File.Exists(file))
                {
                    continue;
                }

                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
                if (doc.RootElement.TryGetProperty("name", out var n) && n.GetString() == name
                    && doc.RootElement.TryGetProperty("version", out var v) && v.GetString() is { } text)
                {
                    return Parse(text);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            // Not an npm install we can read: --version decides.
        }

        return null;
    }

    [GeneratedRegex(@"(\d+)\.(\d+)\.(\d+)")]
    private static partial Regex VersionPattern();
}
