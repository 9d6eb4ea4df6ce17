using System.ComponentModel;
using Orchflow.Protocol;
using Orchflow.Server.Processes;

namespace Orchflow.Server.Agents;

/// <summary>A worktree made for an agent: where it is, its branch, and the agent's directory inside it.</summary>
/// <param name="RepositoryRoot">The top of the repository the workspace root belongs to.</param>
/// <param name="Cwd">The worktree's counterpart of the workspace root (the root may be a subfolder of its repository).</param>
public sealed record AgentWorktreeInfo(string Path, string Branch, string RepositoryRoot, string Cwd);

/// <summary>
/// Git worktrees for agents: <c>&lt;data&gt;/worktrees/&lt;workspace&gt;/&lt;agent-id&gt;</c> on branch <c>orchflow/&lt;agent-id&gt;</c>,
/// made with <c>git worktree add</c> through the process factory, outside every workspace root so that agents working in
/// parallel touch neither each other's files nor the root's. Removing one keeps its branch (the agent's work).
/// </summary>
public static class Worktrees
{
    /// <summary>Adding a worktree checks out every file of the repository; a large one takes a while.</summary>
    public static readonly TimeSpan GitTimeout = TimeSpan.FromMinutes(2);

    public static string PathFor(string dataDirectory, string workspaceId, string agentId) =>
        Path.Combine(dataDirectory, "worktrees", workspaceId, agentId);

    public static string BranchFor(string agentId) => "orchflow/" + agentId;

    public static async Task<AgentWorktreeInfo> CreateAsync(string workspaceRoot, string path, string branch, CancellationToken cancellationToken = default)
    {
        var top = await GitAsync(workspaceRoot, ["rev-parse", "--show-toplevel"], cancellationToken).ConfigureAwait(false);
        if (top.ExitCode != 0)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed,
                $"{workspaceRoot} is not a git repository, so an agent cannot get its own worktree there.",
                "Run `git init` and commit once in the workspace root, or spawn the agent without a worktree.");
        }

        var head = await GitAsync(workspaceRoot, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cancellationToken).ConfigureAwait(false);
        if (head.ExitCode != 0)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed,
                $"The repository at {workspaceRoot} has no commit yet; a worktree starts from one.",
                "Commit once (`git add -A && git commit -m init`), or spawn the agent without a worktree.");
        }

        var prefix = (await GitAsync(workspaceRoot, ["rev-parse", "--show-prefix"], cancellationToken).ConfigureAwait(false)).StandardOutput.Trim();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var add = await GitAsync(workspaceRoot, ["worktree", "add", "-b", branch, path, "HEAD"], cancellationToken).ConfigureAwait(false);
        if (add.ExitCode != 0)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument,
                $"git worktree add failed for branch {branch} at {path}: {FirstLine(add.StandardError)}",
                $"Check `git worktree list` and `git branch --list '{branch}'` in {workspaceRoot}.");
        }

        var repositoryRoot = top.StandardOutput.Trim();
        var cwd = prefix.Length == 0 ? path : Path.Combine(path, prefix.TrimEnd('/'));
        Directory.CreateDirectory(cwd);
        return new AgentWorktreeInfo(path, branch, repositoryRoot, cwd);
    }

    /// <summary>Removes the worktree (its files and git's record of it); the branch stays. Never throws: the directory goes in any case.</summary>
    public static async Task RemoveAsync(string? repositoryRoot, string path)
    {
        if (repositoryRoot is not null && Directory.Exists(repositoryRoot))
        {
            try
            {
                await GitAsync(repositoryRoot, ["worktree", "remove", "--force", "--force", path], CancellationToken.None).ConfigureAwait(false);
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

            if (repositoryRoot is not null && Directory.Exists(repositoryRoot))
            {
                await GitAsync(repositoryRoot, ["worktree", "prune"], CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OrchflowException)
        {
        }
    }

    private static async Task<CommandResult> GitAsync(string cwd, string[] args, CancellationToken cancellationToken)
    {
        try
        {
            return await ProcessFactory.RunAsync("git", args, cwd, GitTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Win32Exception)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed, "git is not installed, so an agent cannot get its own worktree.",
                "Install git, or spawn the agent without a worktree.");
        }
        catch (TimeoutException e)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"git {args[0]} did not finish: {e.Message}", "Check the repository with `git status`.");
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(l => l.StartsWith("fatal", StringComparison.Ordinal))
            ?? text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return line ?? "(no message)";
    }
}
