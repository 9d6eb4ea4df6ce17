using System.ComponentModel;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Processes;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Agents;

/// <summary>A worktree made for an agent: where it is, its branch, and the agent's directory inside it.</summary>
/// <param name="RepositoryRoot">The top of the repository the workspace root belongs to.</param>
/// <param name="Cwd">The worktree's counterpart of the workspace root (the root may be a subfolder of its repository).</param>
public sealed record AgentWorktreeInfo(string Path, string Branch, string RepositoryRoot, string Cwd);

/// <summary>
/// Git worktrees for agents: <c>&lt;data&gt;/worktrees/&lt;workspace&gt;/&lt;agent-id&gt;</c> on branch <c>orchflow/&lt;agent-id&gt;</c>,
/// outside every workspace root so that agents working in parallel touch neither each other's files nor the root's.
/// Removing one keeps its branch (the agent's work).
/// </summary>
/// <remarks>
/// The repository is the workspace's, so nothing it configures may run here (<see cref="HermeticGit"/>): the
/// repository is found and its HEAD resolved by reading files (<see cref="GitRepository"/>); <c>git worktree add
/// --no-checkout</c> records the worktree and its branch with hooks, fsmonitor and the rest overridden; the files are
/// then checked out by <c>git read-tree -u</c> in a private git directory, where no filter, hook or config of the
/// repository exists. Directories of the repository that git writes through must not be symlinks leading out of it.
/// </remarks>
public static class Worktrees
{
    /// <summary>Adding a worktree checks out every file of the repository; a large one takes a while.</summary>
    public static readonly TimeSpan GitTimeout = TimeSpan.FromMinutes(2);

    /// <summary>What <c>git worktree add -b orchflow/…</c> creates or writes into, under the repository's common directory.</summary>
    private static readonly string[] WrittenThrough = ["refs", "refs/heads", "refs/heads/orchflow", "worktrees"];

    public static string PathFor(string dataDirectory, string workspaceId, string agentId) =>
        Path.Combine(dataDirectory, "worktrees", workspaceId, agentId);

    public static string BranchFor(string agentId) => "orchflow/" + agentId;

    public static async Task<AgentWorktreeInfo> CreateAsync(string workspaceRoot, string path, string branch, CancellationToken cancellationToken = default)
    {
        var (repository, problem) = GitRepository.Find(workspaceRoot, searchParents: true);
        if (repository is null)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed,
                $"{workspaceRoot} is not a git repository Orchflow can use ({problem}), so an agent cannot get its own worktree there.",
                "Run `git init` and commit once in the workspace root, or spawn the agent without a worktree.");
        }

        if (repository.ReadHead().Head is not { } head)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed,
                $"The repository at {workspaceRoot} has no commit yet; a worktree starts from one.",
                "Commit once (`git add -A && git commit -m init`), or spawn the agent without a worktree.");
        }

        if (repository.LinkLeavingRepository(WrittenThrough) is { } link)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed,
                $"{link}: Orchflow does not write through it to make an agent's worktree.",
                $"Make it a plain directory of the repository again (see `ls -la {repository.CommonDir}`), or spawn the agent without a worktree.");
        }

        var root = Native.TryRealPath(workspaceRoot) ?? workspaceRoot;
        var prefix = Path.GetRelativePath(repository.Top, root);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var add = await GitAsync(() => HermeticGit.RunOnRepositoryAsync(repository, ["worktree", "add", "--no-checkout", "-b", branch, path, head], GitTimeout, cancellationToken), "worktree add").ConfigureAwait(false);
        if (add.ExitCode != 0)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument,
                $"git worktree add failed for branch {branch} at {path}: {HermeticGit.FirstLine(add.StandardError)}",
                $"Check `git worktree list` and `git branch --list '{branch}'` in {workspaceRoot}.");
        }

        var checkout = GitRepository.Find(path, searchParents: false).Repository is { } worktree
            ? await GitAsync(() => HermeticGit.RunPrivateAsync(repository, head, path, Path.Combine(worktree.GitDir, "index"), ["read-tree", "--reset", "-u", head], GitTimeout, cancellationToken), "read-tree").ConfigureAwait(false)
            : new CommandResult(1, "", $"fatal: {path} is not the worktree git just made");
        if (checkout.ExitCode != 0)
        {
            await RemoveAsync(repository.Top, path).ConfigureAwait(false);
            try
            {
                await GitAsync(() => HermeticGit.RunOnRepositoryAsync(repository, ["branch", "-D", branch], GitTimeout, CancellationToken.None), "branch -D").ConfigureAwait(false);
            }
            catch (OrchflowException)
            {
            }

            throw new OrchflowException(ErrorCodes.InvalidArgument,
                $"Checking out {head} into {path} failed: {HermeticGit.FirstLine(checkout.StandardError)}",
                $"Check the repository with `git fsck` in {workspaceRoot}.");
        }

        var cwd = prefix == "." ? path : Path.Combine(path, prefix);
        Directory.CreateDirectory(cwd);
        return new AgentWorktreeInfo(path, branch, repository.Top, cwd);
    }

    /// <summary>Removes the worktree (its files and git's record of it); the branch stays. Never throws: the directory goes in any case.</summary>
    public static async Task RemoveAsync(string? repositoryRoot, string path)
    {
        var repository = repositoryRoot is not null && Directory.Exists(repositoryRoot) ? GitRepository.Find(repositoryRoot, searchParents: false).Repository : null;
        if (repository?.LinkLeavingRepository(["worktrees"]) is not null)
        {
            repository = null; // git would delete through it: only the directory goes
        }

        if (repository is not null)
        {
            try
            {
                await GitAsync(() => HermeticGit.RunOnRepositoryAsync(repository, ["worktree", "remove", "--force", "--force", path], GitTimeout, CancellationToken.None), "worktree remove").ConfigureAwait(false);
            }
            catch (OrchflowException)
            {
            }
        }

        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }

            if (repository is not null)
            {
                await GitAsync(() => HermeticGit.RunOnRepositoryAsync(repository, ["worktree", "prune"], GitTimeout, CancellationToken.None), "worktree prune").ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OrchflowException)
        {
        }
    }

    private static async Task<CommandResult> GitAsync(Func<Task<CommandResult>> run, string what)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Win32Exception)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed, "git is not installed (in a directory of the daemon's PATH that no workspace can write), so an agent cannot get its own worktree.",
                "Install git, or spawn the agent without a worktree.");
        }
        catch (TimeoutException e)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"git {what} did not finish: {e.Message}", "Check the repository with `git status`.");
        }
    }
}
