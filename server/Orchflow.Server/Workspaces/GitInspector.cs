using Orchflow.Protocol;
using Orchflow.Server.Processes;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Reads git metadata of a workspace root. Branch, HEAD and remote come from the repository files directly
/// (microseconds, no process); only "dirty" needs git itself, run through the process factory with a timeout.
/// </summary>
public static class GitInspector
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(5);

    public static async Task<VcsInfo?> InspectAsync(string root, CancellationToken cancellationToken = default)
    {
        var gitDir = FindGitDir(root);
        if (gitDir is null)
        {
            return null;
        }

        string? branch = null, head = null;
        var headFile = Path.Combine(gitDir, "HEAD");
        if (File.Exists(headFile))
        {
            var text = (await File.ReadAllTextAsync(headFile, cancellationToken).ConfigureAwait(false)).Trim();
            if (text.StartsWith("ref: ", StringComparison.Ordinal))
            {
                var reference = text[5..];
                branch = reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..] : reference;
                head = ResolveRef(gitDir, reference);
            }
            else
            {
                head = text;
            }
        }

        var remote = ReadRemoteUrl(gitDir);
        bool dirty = false;
        try
        {
            var status = await ProcessFactory.RunAsync("git", ["status", "--porcelain", "--untracked-files=normal"], root, StatusTimeout, cancellationToken).ConfigureAwait(false);
            dirty = status.ExitCode == 0 && status.StandardOutput.Length > 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException)
        {
            // git is not installed or hangs: report what the files say, clean by default.
        }

        return new VcsInfo { Kind = "git", Branch = branch, Head = head, RemoteUrl = remote, Dirty = dirty };
    }

    /// <summary>The git directory of a root: <c>.git</c> as a directory, or the target of a <c>.git</c> file (worktrees, submodules).</summary>
    private static string? FindGitDir(string root)
    {
        var dotGit = Path.Combine(root, ".git");
        if (Directory.Exists(dotGit))
        {
            return dotGit;
        }

        if (File.Exists(dotGit))
        {
            var line = File.ReadLines(dotGit).FirstOrDefault() ?? "";
            if (line.StartsWith("gitdir: ", StringComparison.Ordinal))
            {
                var target = line[8..].Trim();
                return Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(root, target));
            }
        }

        return null;
    }

    private static string? ResolveRef(string gitDir, string reference)
    {
        var common = CommonDir(gitDir);
        foreach (var dir in new[] { gitDir, common })
        {
            var file = Path.Combine(dir, reference);
            if (File.Exists(file))
            {
                return File.ReadAllText(file).Trim();
            }
        }

        var packed = Path.Combine(common, "packed-refs");
        if (File.Exists(packed))
        {
            foreach (var line in File.ReadLines(packed))
            {
                if (line.EndsWith(" " + reference, StringComparison.Ordinal))
                {
                    return line[..line.IndexOf(' ', StringComparison.Ordinal)];
                }
            }
        }

        return null; // An unborn branch: no commit yet.
    }

    private static string CommonDir(string gitDir)
    {
        var file = Path.Combine(gitDir, "commondir");
        return File.Exists(file) ? Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(file).Trim())) : gitDir;
    }

    /// <summary>The URL of <c>origin</c>, else of the first remote, from the repository's config file.</summary>
    private static string? ReadRemoteUrl(string gitDir)
    {
        var config = Path.Combine(CommonDir(gitDir), "config");
        if (!File.Exists(config))
        {
            return null;
        }

        string? section = null, first = null;
        foreach (var raw in File.ReadLines(config))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                section = line;
                continue;
            }

            if (section is not null && section.StartsWith("[remote \"", StringComparison.Ordinal) && line.StartsWith("url", StringComparison.Ordinal))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    continue;
                }

                var url = line[(eq + 1)..].Trim();
                if (section == "[remote \"origin\"]")
                {
                    return url;
                }

                first ??= url;
            }
        }

        return first;
    }
}
