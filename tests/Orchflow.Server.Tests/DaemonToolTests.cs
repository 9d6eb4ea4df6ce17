using Orchflow.Protocol;
using Orchflow.Server.Agents;
using Orchflow.Server.Security;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Tests;

/// <summary>
/// git as the daemon runs it on a repository a workspace controls (detection on create and --redetect, agents'
/// worktrees): every way a repository can make git run a program is planted in a real repository, each planted program
/// appends to a marker file, and the marker must stay absent while detection still reports branch, HEAD, remote and
/// dirtiness and the worktree is made with its files.
/// </summary>
[Trait("Tier", "unit")]
public sealed class DaemonToolTests : IDisposable
{
    private readonly TempHome _home = new();

    /// <summary>What the planted programs write: evidence on the host that git ran one.</summary>
    private string Marker => Path.Combine(_home.Root, "ran");

    public void Dispose() => _home.Dispose();

    /// <summary>Every vector, by name; each is planted after the repository's commit, as a workspace's process would.</summary>
    public static TheoryData<string> Vectors => new()
    {
        "fsmonitor", "hooks", "hooksPath", "filter", "filter-process", "diff-and-merge-drivers", "include-fsmonitor",
        "includeIf-onbranch-filter", "alias", "pager", "editor-and-credential", "worktree-config",
    };

    [GitFact]
    public async Task A_clean_repository_is_reported_clean_with_its_branch_head_and_remote()
    {
        var (repo, head) = Repository();
        var vcs = await GitInspector.InspectAsync(repo);
        Assert.NotNull(vcs);
        Assert.Equal("main", vcs.Branch);
        Assert.Equal(head, vcs.Head);
        Assert.Equal("https://example.invalid/x.git", vcs.RemoteUrl);
        Assert.False(vcs.Dirty);

        File.WriteAllText(Path.Combine(repo, "untracked.md"), "new");
        Assert.True((await GitInspector.InspectAsync(repo))!.Dirty);
        File.Delete(Path.Combine(repo, "untracked.md"));
        Git(repo, "add", "-A");
        File.WriteAllText(Path.Combine(repo, "README.md"), "staged\n");
        Git(repo, "add", "README.md");
        Assert.True((await GitInspector.InspectAsync(repo))!.Dirty);
    }

    [GitTheory]
    [MemberData(nameof(Vectors))]
    public async Task Redetection_runs_nothing_the_repository_planted(string vector)
    {
        var (repo, head) = Repository();
        Plant(repo, vector);

        // Dirty, with new stat data: git must look at the file's content, where a clean filter or fsmonitor would run.
        File.WriteAllText(Path.Combine(repo, "a.txt"), "changed\n");
        File.WriteAllText(Path.Combine(repo, "new.txt"), "untracked\n");
        var vcs = await GitInspector.InspectAsync(repo);

        AssertNothingRan(vector);
        Assert.NotNull(vcs);
        Assert.Equal("main", vcs.Branch);
        Assert.Equal(head, vcs.Head);
        Assert.Equal("https://example.invalid/x.git", vcs.RemoteUrl);
        Assert.True(vcs.Dirty);
    }

    [GitTheory]
    [MemberData(nameof(Vectors))]
    public async Task A_worktree_is_made_and_removed_without_running_anything_the_repository_planted(string vector)
    {
        var (repo, head) = Repository();
        Plant(repo, vector);
        var path = Path.Combine(_home.Root, "worktrees", "w1");

        var info = await Worktrees.CreateAsync(repo, path, "orchflow/w1");

        AssertNothingRan(vector);
        Assert.Equal(path, info.Path);
        Assert.Equal(Hosting.Native.TryRealPath(repo), info.RepositoryRoot);
        Assert.Equal("stored\n", File.ReadAllText(Path.Combine(path, "a.txt"))); // the blob as committed: no smudge filter
        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(path, "README.md")));
        Assert.Equal(head, File.ReadAllText(Path.Combine(repo, ".git", "refs", "heads", "orchflow", "w1")).Trim());
        var vcs = await GitInspector.InspectAsync(path);
        Assert.Equal("orchflow/w1", vcs!.Branch);
        Assert.Equal(head, vcs.Head);
        Assert.False(vcs.Dirty, "the new worktree's index does not match its files");

        await Worktrees.RemoveAsync(info.RepositoryRoot, path);
        AssertNothingRan(vector);
        Assert.False(Directory.Exists(path));
        Assert.False(Directory.Exists(Path.Combine(repo, ".git", "worktrees", "w1")));
        Assert.True(File.Exists(Path.Combine(repo, ".git", "refs", "heads", "orchflow", "w1")), "the agent's branch is kept");
    }

    [GitFact]
    public void Git_is_never_taken_from_the_repository_or_a_directory_every_user_can_write()
    {
        // Outside /tmp (every user may write there, which would decide alone): next to the test assembly.
        var ground = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "daemon-tools-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        try
        {
            var repo = Path.Combine(ground, "repo");
            Directory.CreateDirectory(repo);
            Git(repo, "init", "-q");
            var open = Path.Combine(ground, "open");
            var shadowDirs = new[] { Path.Combine(repo, "bin"), Path.Combine(open, "bin"), Path.Combine(ground, "trusted") };
            foreach (var dir in shadowDirs)
            {
                Directory.CreateDirectory(dir);
                WriteProgram(Path.Combine(dir, "git"), "shadow-git");
            }

            File.SetUnixFileMode(open, (UnixFileMode)0x1FF); // 0777, like /tmp
            var repository = GitRepository.Find(repo, searchParents: false).Repository!;
            var daemonPath = string.Join(':', shadowDirs[0], ".", "", "bin", shadowDirs[1], "/usr/bin", shadowDirs[2]);

            Assert.Equal(Hosting.Native.TryRealPath("/usr/bin/git"), Hosting.Native.TryRealPath(HermeticGit.FindGit(daemonPath, repository)!));
            Assert.Equal(["/usr/bin", shadowDirs[2]], HermeticGit.TrustedDirectories(daemonPath, repository));
        }
        finally
        {
            Directory.Delete(ground, recursive: true);
        }
    }

    [GitFact]
    public async Task A_git_file_leading_to_another_repository_is_not_followed()
    {
        var (victim, _) = Repository("victim");
        var attacker = _home.Project("attacker", ("x.txt", "x"));
        File.WriteAllText(Path.Combine(attacker, ".git"), $"gitdir: {victim}/.git\n");

        Assert.Null(await GitInspector.InspectAsync(attacker));
        var refused = await Assert.ThrowsAsync<OrchflowException>(() => Worktrees.CreateAsync(attacker, Path.Combine(_home.Root, "wt"), "orchflow/x"));
        Assert.Equal(ErrorCodes.NotAllowed, refused.Code);
        Assert.Contains("does not name", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(victim, ".git", "refs", "heads", "orchflow")));
        Assert.False(Directory.Exists(Path.Combine(_home.Root, "wt")));

        // commondir planted in a repository's own .git: its objects, refs and config would be the victim's.
        var (second, _) = Repository("second");
        File.WriteAllText(Path.Combine(second, ".git", "commondir"), $"{victim}/.git\n");
        Assert.Null(await GitInspector.InspectAsync(second));
    }

    [GitFact]
    public async Task Symlinks_inside_the_repository_do_not_lead_the_daemon_into_another_one()
    {
        var (victim, _) = Repository("victim");
        var (repo, _) = Repository();
        Git(victim, "remote", "set-url", "origin", "https://victim:token@example.invalid/v.git");

        // HEAD's ref and the config as symlinks to the victim's: neither is read.
        var mainRef = Path.Combine(repo, ".git", "refs", "heads", "main");
        File.Delete(mainRef);
        File.CreateSymbolicLink(mainRef, Path.Combine(victim, ".git", "refs", "heads", "main"));
        var config = Path.Combine(repo, ".git", "config");
        File.Delete(config);
        File.CreateSymbolicLink(config, Path.Combine(victim, ".git", "config"));
        var vcs = await GitInspector.InspectAsync(repo);
        Assert.Null(vcs!.Head); // not the victim's
        Assert.Null(vcs.RemoteUrl);

        // A directory git writes through, leading into the victim's repository: no worktree, nothing written there.
        var (third, _) = Repository("third");
        Directory.CreateSymbolicLink(Path.Combine(third, ".git", "refs", "heads", "orchflow"), Path.Combine(victim, ".git", "refs", "heads"));
        var refused = await Assert.ThrowsAsync<OrchflowException>(() => Worktrees.CreateAsync(third, Path.Combine(_home.Root, "wt3"), "orchflow/x"));
        Assert.Contains("is a symlink", refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(victim, ".git", "refs", "heads", "x")));
    }

    [GitFact]
    public async Task A_FIFO_planted_as_HEAD_does_not_hang_detection()
    {
        var (repo, _) = Repository();
        var head = Path.Combine(repo, ".git", "HEAD");
        File.Delete(head);
        Assert.Equal(0, (await Processes.ProcessFactory.RunAsync("mkfifo", [head], repo, TimeSpan.FromSeconds(10))).ExitCode);
        var inspect = GitInspector.InspectAsync(repo);
        Assert.Same(inspect, await Task.WhenAny(inspect, Task.Delay(TimeSpan.FromSeconds(20))));
        Assert.Null((await inspect)!.Head);
    }

    [GitFact]
    public async Task A_linked_worktree_as_a_workspace_root_is_detected_and_gets_agent_worktrees()
    {
        var (repo, head) = Repository();
        var linked = Path.Combine(_home.Root, "linked");
        Git(repo, "worktree", "add", "-q", "-b", "feature", linked);
        var vcs = await GitInspector.InspectAsync(linked);
        Assert.Equal("feature", vcs!.Branch);
        Assert.Equal(head, vcs.Head);
        Assert.False(vcs.Dirty);

        var info = await Worktrees.CreateAsync(linked, Path.Combine(_home.Root, "agent-wt"), "orchflow/a1");
        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(info.Path, "README.md")));
        Assert.Equal(head, File.ReadAllText(Path.Combine(repo, ".git", "refs", "heads", "orchflow", "a1")).Trim());
    }

    [Fact]
    public void Every_report_names_the_daemon_tools_promise_as_kept_by_the_daemon()
    {
        foreach (var tier in Enum.GetValues<SecurityTier>())
        {
            var report = IsolationPlanner.Report(new SecurityPolicy { Tier = tier, AllowedCommands = [], RestrictedPaths = [], Network = NetworkPolicy.Full, AllowedHosts = [] }, backend: null);
            var tools = report.Features.Single(f => f.Name == "daemon_tools");
            Assert.True(tools.Enforced);
            Assert.Contains("runs nothing the repository configures", tools.Detail, StringComparison.Ordinal);
        }
    }

    // ---- The ground ----

    /// <summary>
    /// A repository with one commit, made the way a person makes one (their git, before anything is planted): a.txt
    /// stored as "stored", named by .gitattributes for filter, diff and merge drivers called "evil", and a remote.
    /// </summary>
    private (string Root, string Head) Repository(string name = "repo")
    {
        var root = _home.Project(name, ("a.txt", "stored\n"), ("README.md", "hello\n"), (".gitattributes", "*.txt filter=evil diff=evil merge=evil\n"));
        Git(root, "init", "-q", "-b", "main");
        Git(root, "add", "-A");
        Git(root, "commit", "-q", "-m", "init");
        Git(root, "remote", "add", "origin", "https://example.invalid/x.git");
        return (root, Git(root, "rev-parse", "HEAD").Trim());
    }

    /// <summary>Plants one vector, as a workspace's process would: config entries and files only, no git command that runs them.</summary>
    private void Plant(string repo, string vector)
    {
        var evil = Path.Combine(_home.Root, "evil");
        WriteProgram(evil, vector);
        var config = Path.Combine(repo, ".git", "config");
        void Config(string text) => File.AppendAllText(config, text);
        switch (vector)
        {
            case "fsmonitor":
                Config($"[core]\n\tfsmonitor = {evil}\n");
                break;
            case "hooks":
                foreach (var hook in HookNames)
                {
                    WriteProgram(Path.Combine(repo, ".git", "hooks", hook), vector + " " + hook);
                }

                break;
            case "hooksPath":
                foreach (var hook in HookNames)
                {
                    WriteProgram(Path.Combine(repo, "githooks", hook), vector + " " + hook);
                }

                Config("[core]\n\thooksPath = githooks\n");
                break;
            case "filter":
                Config($"[filter \"evil\"]\n\tclean = {evil} clean\n\tsmudge = {evil} smudge\n\trequired = true\n");
                break;
            case "filter-process":
                Config($"[filter \"evil\"]\n\tprocess = {evil} process\n\trequired = true\n");
                break;
            case "diff-and-merge-drivers":
                Config($"[diff]\n\texternal = {evil} external\n[diff \"evil\"]\n\ttextconv = {evil} textconv\n\tcommand = {evil} command\n[merge \"evil\"]\n\tdriver = {evil} merge\n");
                break;
            case "include-fsmonitor":
                File.WriteAllText(Path.Combine(repo, "included.config"), $"[core]\n\tfsmonitor = {evil}\n\thooksPath = {repo}/githooks\n[filter \"evil\"]\n\tsmudge = {evil} smudge\n\tclean = {evil} clean\n");
                foreach (var hook in HookNames)
                {
                    WriteProgram(Path.Combine(repo, "githooks", hook), vector + " " + hook);
                }

                Config("[include]\n\tpath = ../included.config\n");
                break;
            case "includeIf-onbranch-filter":
                File.WriteAllText(Path.Combine(repo, "onbranch.config"), $"[filter \"evil\"]\n\tsmudge = {evil} smudge\n\tclean = {evil} clean\n[core]\n\tfsmonitor = {evil}\n");
                Config("[includeIf \"onbranch:orchflow/**\"]\n\tpath = ../onbranch.config\n[includeIf \"onbranch:main\"]\n\tpath = ../onbranch.config\n");
                break;
            case "alias":
                Config($"[alias]\n\tstatus = !{evil} alias-status\n\tworktree = !{evil} alias-worktree\n\tread-tree = !{evil} alias-read-tree\n\tst = !{evil} alias-st\n");
                break;
            case "pager":
                Config($"[core]\n\tpager = {evil} pager\n[pager]\n\tstatus = {evil} pager-status\n\tworktree = {evil} pager-worktree\n");
                break;
            case "editor-and-credential":
                Config($"[core]\n\teditor = {evil} editor\n\tsshCommand = {evil} ssh\n\taskPass = {evil} askpass\n[credential]\n\thelper = !{evil} credential\n[sequence]\n\teditor = {evil} sequence\n[gpg]\n\tprogram = {evil} gpg\n[commit]\n\tgpgSign = true\n");
                break;
            case "worktree-config":
                Config("[extensions]\n\tworktreeConfig = true\n");
                File.WriteAllText(Path.Combine(repo, ".git", "config.worktree"), $"[core]\n\tfsmonitor = {evil}\n[filter \"evil\"]\n\tsmudge = {evil} smudge\n\tclean = {evil} clean\n");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(vector), vector, "no such vector");
        }
    }

    private static readonly string[] HookNames =
    [
        "post-checkout", "post-index-change", "reference-transaction", "pre-commit", "post-commit", "post-rewrite", "pre-auto-gc", "fsmonitor-watchman",
    ];

    /// <summary>A program that appends what it was run as to the marker, then passes its input through (a filter that works).</summary>
    private void WriteProgram(string path, string label)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"#!/bin/sh\necho \"{label}: $0 $*\" >> '{Marker}'\ncat\n");
        File.SetUnixFileMode(path, (UnixFileMode)0x1ED); // 0755
    }

    private void AssertNothingRan(string vector) =>
        Assert.False(File.Exists(Marker), $"{vector}: the daemon's git ran a program the repository planted:\n{(File.Exists(Marker) ? File.ReadAllText(Marker) : "")}");

    /// <summary>The test's own git, as the person runs it before anything is planted (no system or global config).</summary>
    private static string Git(string cwd, params string[] args)
    {
        var env = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin",
            ["HOME"] = cwd,
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_CONFIG_GLOBAL"] = "/dev/null",
            ["GIT_AUTHOR_NAME"] = "t",
            ["GIT_AUTHOR_EMAIL"] = "t@example.invalid",
            ["GIT_COMMITTER_NAME"] = "t",
            ["GIT_COMMITTER_EMAIL"] = "t@example.invalid",
        };
        var result = Processes.ProcessFactory.RunAsync("/usr/bin/git", args, cwd, TimeSpan.FromSeconds(30), default, env).GetAwaiter().GetResult();
        Assert.True(result.ExitCode == 0, $"git {string.Join(' ', args)}: {result.StandardError}");
        return result.StandardOutput;
    }

    private sealed class GitFactAttribute : FactAttribute
    {
        public GitFactAttribute()
        {
            if (!File.Exists("/usr/bin/git"))
            {
                Skip = "/usr/bin/git is not installed: the daemon's git is what these tests attack";
            }
        }
    }

    private sealed class GitTheoryAttribute : TheoryAttribute
    {
        public GitTheoryAttribute()
        {
            if (!File.Exists("/usr/bin/git"))
            {
                Skip = "/usr/bin/git is not installed: the daemon's git is what these tests attack";
            }
        }
    }
}
