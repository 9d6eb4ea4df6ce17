using Orchflow.Protocol;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Reads git metadata of a workspace root. Branch, HEAD and remote come from the repository's files directly
/// (microseconds, no process, nothing the repository configures is run: <see cref="GitRepository"/>); only "dirty"
/// needs git itself, run by <see cref="HermeticGit"/> in a private git directory with a timeout, so the repository's
/// hooks, fsmonitor, filters and the rest of its config are never read, let alone run.
/// </summary>
public static class GitInspector
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(5);

    public static async Task<VcsInfo?> InspectAsync(string root, CancellationToken cancellationToken = default)
    {
        if (GitRepository.Find(root, searchParents: false).Repository is not { } repository)
        {
            return null;
        }

        var (branch, head) = repository.ReadHead();
        return new VcsInfo { Kind = "git", Branch = branch, Head = head, RemoteUrl = repository.RemoteUrl(), Dirty = await DirtyAsync(repository, head, cancellationToken).ConfigureAwait(false) };
    }

    /// <summary>
    /// True when <c>git status</c> shows a change: staged, unstaged or untracked. Submodules are not looked into (that
    /// would run git in each, with the submodule's own config). A file whose stat data changed since the index was
    /// written is compared by content without the repository's clean filter, so with such a filter it may show as
    /// changed. Clean when git is missing, hangs or fails.
    /// </summary>
    private static async Task<bool> DirtyAsync(GitRepository repository, string? head, CancellationToken cancellationToken)
    {
        try
        {
            var index = Path.Combine(repository.GitDir, "index");
            var status = await HermeticGit.RunPrivateAsync(repository, head ?? UnbornHead, repository.Top, index,
                ["status", "--porcelain", "--untracked-files=normal", "--ignore-submodules=all"], StatusTimeout, cancellationToken).ConfigureAwait(false);
            return status.ExitCode == 0 && status.StandardOutput.Length > 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException or IOException or UnauthorizedAccessException)
        {
            // git is not installed or hangs: report what the files say, clean by default.
            return false;
        }
    }

    /// <summary>On an unborn branch there is no commit: the private git directory's HEAD names an unborn branch too.</summary>
    private const string UnbornHead = "ref: refs/heads/main";
}
