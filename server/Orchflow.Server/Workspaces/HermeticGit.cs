using Orchflow.Server.Processes;
using Orchflow.Server.Security;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// git as the daemon runs it on a repository a workspace controls: executing nothing the repository configures.
/// </summary>
/// <remarks>
/// <para>
/// The daemon runs git outside every sandbox, with its own rights, on files the workspace's processes wrote. A
/// repository can make git run programs in many ways: hooks (<c>.git/hooks</c>, <c>core.hooksPath</c>),
/// <c>core.fsmonitor</c>, filter drivers (<c>filter.X.clean/smudge/process</c>), diff and merge drivers
/// (<c>diff.X.command/textconv</c>, <c>diff.external</c>, <c>merge.X.driver</c>), aliases, pagers, editors, credential
/// and ssh helpers, <c>include.path</c>/<c>includeIf</c> pulling any of these from another file, and submodules with
/// configs of their own. A list of <c>-c</c> overrides cannot cover them all: a driver is named by <c>.gitattributes</c>
/// with a name only the repository knows, and an <c>includeIf "onbranch:…"</c> can add one that applies only in the
/// worktree being created.
/// </para>
/// <para>
/// So the repository's configuration is kept away from git instead. Every command that reads the work tree (status,
/// checkout) runs in a <em>private git directory</em> the daemon makes for the run: its own config (only what git
/// needs: the repository format), no hooks, no refs, <c>HEAD</c> set to the commit the daemon resolved itself from the
/// repository's files; it borrows the repository's objects and index through <c>GIT_OBJECT_DIRECTORY</c> and
/// <c>GIT_INDEX_FILE</c>, which are data, never programs. The repository's config file is then never read, whatever it
/// includes, and a driver named by <c>.gitattributes</c> names nothing. The one command that must write the repository
/// itself (<c>git worktree add --no-checkout</c>, which records the worktree and its branch; the checkout follows in a
/// private git directory) reads its config, and runs with everything in it that could execute overridden on the
/// command line, which git ranks above every config file: hooks point at <c>/dev/null</c>, fsmonitor is off,
/// submodules are not recursed into, no transport is allowed; it does no checkout, so no filter, and no diff or merge.
/// </para>
/// <para>
/// Around every run: no system or global config (<c>GIT_CONFIG_NOSYSTEM</c>, <c>GIT_CONFIG_GLOBAL=/dev/null</c>,
/// <c>GIT_ATTR_NOSYSTEM</c>, <c>HOME</c> an empty private directory), so a filter of the user's (git-lfs) is not run on
/// the workspace's behalf either; <c>GIT_DIR</c>, <c>GIT_COMMON_DIR</c> and <c>GIT_WORK_TREE</c> given explicitly from
/// the validated <see cref="GitRepository"/>, so neither repository discovery nor <c>core.worktree</c> can move git
/// elsewhere; git itself found on the daemon's own PATH in a directory no workspace can write (never the workspace's
/// PATH, never the current directory), and run with that PATH only; <c>GIT_PAGER=cat</c> and <c>GIT_EDITOR=:</c>
/// (git starts neither), no terminal prompt, no replace refs. Running git inside the workspace's own sandbox instead
/// was the alternative; it would need the sandbox at every tier, and standard has none.
/// </para>
/// <para>
/// What this does not cover: at tiers below strict a workspace's processes can write the host's files (the private
/// directory, the git binary's directory if the daemon's user owns it); that is the filesystem promise, kept at strict.
/// The files git checks out for an agent are the commits' blobs as stored: smudge filters (git-lfs included) are not
/// applied, so an LFS file is its pointer until the agent runs <c>git lfs pull</c> itself, inside its sandbox.
/// </para>
/// </remarks>
public static class HermeticGit
{
    /// <summary>Settings that could start a program in a command that reads the repository's config, each turned off.</summary>
    private static readonly string[] Overrides =
    [
        "core.hooksPath=/dev/null",
        "core.fsmonitor=false",
        "core.untrackedCache=false",
        "core.logAllRefUpdates=false", // no reflog written under the repository's logs/
        "core.attributesFile=/dev/null",
        "core.pager=cat",
        "core.editor=:",
        "core.askPass=",
        "credential.helper=",
        "submodule.recurse=false",
        "submodule.propagateBranches=false",
        "protocol.allow=never",
        "gc.auto=0",
        "maintenance.auto=false",
    ];

    /// <summary>
    /// Runs <c>git ARGS</c> on the repository itself (its config is read, with <see cref="Overrides"/> on top). Only for
    /// commands that neither check out nor diff: worktree bookkeeping.
    /// </summary>
    public static async Task<CommandResult> RunOnRepositoryAsync(GitRepository repository, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var home = Directory.CreateTempSubdirectory("orchflow-git-");
        try
        {
            var env = Environment(home.FullName, repository);
            env["GIT_DIR"] = repository.GitDir;
            env["GIT_COMMON_DIR"] = repository.CommonDir;
            env["GIT_WORK_TREE"] = repository.Top;
            return await RunAsync(repository, env, args, repository.Top, timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            TryDelete(home.FullName);
        }
    }

    /// <summary>
    /// Runs <c>git ARGS</c> in a private git directory whose <c>HEAD</c> is <paramref name="head"/> (a commit id, or
    /// <c>ref: …</c> for an unborn branch), on
    /// <paramref name="workTree"/> with <paramref name="indexFile"/>, borrowing the repository's objects: the
    /// repository's config, hooks and refs are never read.
    /// </summary>
    public static async Task<CommandResult> RunPrivateAsync(GitRepository repository, string head, string workTree, string indexFile, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // 0700, and only ever the daemon's: at strict a workspace sees neither the host's /tmp nor this directory.
        var home = Directory.CreateTempSubdirectory("orchflow-git-");
        try
        {
            var gitDir = Path.Combine(home.FullName, "git");
            Directory.CreateDirectory(Path.Combine(gitDir, "refs"));
            Directory.CreateDirectory(Path.Combine(gitDir, "objects"));
            var format = repository.ObjectFormat();
            await File.WriteAllTextAsync(Path.Combine(gitDir, "config"),
                format is null
                    ? "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
                    : $"[core]\n\trepositoryformatversion = 1\n\tbare = false\n[extensions]\n\tobjectformat = {format}\n",
                cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(gitDir, "HEAD"), head + "\n", cancellationToken).ConfigureAwait(false);

            // A split index keeps its shared part next to the repository's index, where git looks for it in GIT_DIR.
            var indexDir = Path.GetDirectoryName(indexFile)!;
            foreach (var shared in Directory.Exists(indexDir) ? Directory.EnumerateFiles(indexDir, "sharedindex.*") : [])
            {
                File.CreateSymbolicLink(Path.Combine(gitDir, Path.GetFileName(shared)), shared);
            }

            var env = Environment(home.FullName, repository);
            env["GIT_DIR"] = gitDir;
            env["GIT_WORK_TREE"] = workTree;
            env["GIT_INDEX_FILE"] = indexFile;
            env["GIT_OBJECT_DIRECTORY"] = Path.Combine(repository.CommonDir, "objects");
            env["GIT_OPTIONAL_LOCKS"] = "0";
            var exclude = Path.Combine(repository.CommonDir, "info", "exclude");
            var all = new List<string>();
            if (File.Exists(exclude) && new FileInfo(exclude).LinkTarget is null)
            {
                all.AddRange(["-c", "core.excludesFile=" + exclude]); // patterns only: the repository's own ignores
            }

            all.AddRange(args);
            return await RunAsync(repository, env, all, workTree, timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            TryDelete(home.FullName);
        }
    }

    private static async Task<CommandResult> RunAsync(GitRepository repository, Dictionary<string, string> env, IReadOnlyList<string> args, string cwd, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var git = FindGit(DaemonPath, repository) ?? throw new System.ComponentModel.Win32Exception(2, "git was not found in a directory of the daemon's PATH that no workspace can write");
        var argv = new List<string> { "--no-pager" };
        foreach (var o in Overrides)
        {
            argv.AddRange(["-c", o]);
        }

        argv.AddRange(args);
        return await ProcessFactory.RunAsync(git, argv, cwd, timeout, cancellationToken, env).ConfigureAwait(false);
    }

    /// <summary>The whole environment of a git run: nothing of the daemon's or the workspace's but a trusted PATH.</summary>
    private static Dictionary<string, string> Environment(string home, GitRepository repository) => new(StringComparer.Ordinal)
    {
        ["PATH"] = string.Join(':', TrustedDirectories(DaemonPath, repository)),
        ["HOME"] = home,
        ["XDG_CONFIG_HOME"] = home,
        ["GIT_CONFIG_NOSYSTEM"] = "1",
        ["GIT_CONFIG_SYSTEM"] = "/dev/null",
        ["GIT_CONFIG_GLOBAL"] = "/dev/null",
        ["GIT_ATTR_NOSYSTEM"] = "1",
        ["GIT_NO_REPLACE_OBJECTS"] = "1",
        ["GIT_PAGER"] = "cat",
        ["GIT_EDITOR"] = ":",
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["GIT_PROTOCOL_FROM_USER"] = "0",
    };

    /// <summary>
    /// The directories of the daemon's PATH a workspace cannot write: absolute, outside the repository, and with no
    /// directory on the way that every user may write (/tmp). The .NET runtime would also look in the daemon's own
    /// directory and its current directory before PATH; git is always started by the absolute path found here.
    /// </summary>
    internal static IEnumerable<string> TrustedDirectories(string daemonPath, GitRepository repository)
    {
        var untrusted = new[] { repository.Top, repository.GitDir, repository.CommonDir };
        return daemonPath
            .Split(':')
            .Where(d => ProgramLookup.WritableReason(d, untrusted) is null)
            .Distinct(StringComparer.Ordinal);
    }

    /// <summary>The git the daemon runs on this repository: the first on the trusted part of <paramref name="daemonPath"/>.</summary>
    internal static string? FindGit(string daemonPath, GitRepository repository) =>
        TrustedDirectories(daemonPath, repository)
            .Select(d => Path.Combine(d, "git"))
            .FirstOrDefault(p => File.Exists(p) && (File.GetUnixFileMode(p) & UnixFileMode.UserExecute) != 0 && ProgramLookup.WritableReason(Hosting.Native.TryRealPath(p) ?? p, [repository.Top]) is null);

    private static string DaemonPath => System.Environment.GetEnvironmentVariable("PATH") ?? ProgramLookup.DefaultPath;

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>For messages: the first line of git's output that says what failed.</summary>
    public static string FirstLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.FirstOrDefault(l => l.StartsWith("fatal", StringComparison.Ordinal)) ?? lines.FirstOrDefault() ?? "(no message)";
    }
}
