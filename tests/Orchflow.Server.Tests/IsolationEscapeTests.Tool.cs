using Orchflow.Protocol;
using Orchflow.Server.Cli;

namespace Orchflow.Server.Tests;

/// <summary>
/// The tools boundary: programs the daemon runs on B's files (git, for detection and agents' worktrees) and the
/// check of what B may launch (allowed_commands). B plants from inside its own terminals; the daemon is then asked to
/// do its part, and the host decides by a marker file the planted program would write (and, for git, by whether that
/// program ran outside B's sandbox: its mount namespace is the host's).
/// </summary>
public sealed partial class IsolationEscapeTests
{
    private static readonly Attack[] ToolAttacks =
    [
        new("git-planted-redetect", "daemon_tools", Custom: lab => GitPlantedAsync(lab, spawnWorktree: false)),
        new("git-planted-worktree", "daemon_tools", Custom: lab => GitPlantedAsync(lab, spawnWorktree: true)),
        new("git-commondir-to-A", "daemon_tools", Custom: GitCommonDirAsync),
        new("path-prefix", "allowed_commands", Custom: lab => FakeProgramAsync(lab, "path-prefix", dir => $"PATH={dir} cat /dev/null")),
        new("env-path", "allowed_commands", Custom: lab => FakeProgramAsync(lab, "env-path", dir => $"env PATH={dir} cat /dev/null")),
        new("env-split-string", "allowed_commands", Custom: lab => FakeProgramAsync(lab, "env-split", dir => $"env -S 'PATH={dir} cat' /dev/null")),
        new("export-path", "allowed_commands", Custom: lab => FakeProgramAsync(lab, "export-path", dir => $"export PATH={dir}; cat /dev/null")),
        new("unset-path-cwd", "allowed_commands", Custom: lab => FakeProgramAsync(lab, "unset-path", _ => "unset PATH; cat /dev/null", inDirectory: true)),
        new("nice-env-path", "allowed_commands", Custom: lab => FakeProgramAsync(lab, "nice-env", dir => $"nice -n 1 timeout 20 env -i PATH={dir} cat /dev/null")),
        new("symlink-named-cat", "allowed_commands", Custom: SymlinkNamedCatAsync),
        new("plant-on-system-path", "filesystem", """
            for d in ${PATH//:/ }; do
              case $d in /usr/bin|/bin) break ;; /*) ;; *) continue ;; esac
              [ -d "$d" ] || continue
              f="$d/orchflow-probe-$MARK"
              if ( printf '#!/bin/sh\n' > "$f" ) 2>/dev/null; then
                escaped "created $f, ahead of /usr/bin on PATH: a program named like an allowed command there passes as the allowed one, and one named git there is what the daemon runs"
              fi
            done
            blocked "no directory of PATH before /usr/bin can be written"
            """,
            HostEvidence: lab => Task.FromResult(SystemPathProbes(lab).Count > 0),
            Cleanup: lab =>
            {
                foreach (var probe in SystemPathProbes(lab))
                {
                    File.Delete(probe);
                }
            }),

        // Last: where B can rewrite its own policy file, its PATH holds B's directory until the restored file is read again.
        new("git-shadow-on-path", "daemon_tools", Custom: GitShadowAsync, Cleanup: lab => File.WriteAllText(lab.BConfigPath, lab.BConfig())),
    ];

    /// <summary>
    /// B puts a program named git in a directory of its own and in its root, and (where its policy file is writable)
    /// puts that directory first on its workspace's PATH through shared_env; then the daemon redetects B and makes an
    /// agent worktree, each of which runs git.
    /// </summary>
    private static async Task<Outcome> GitShadowAsync(IsolationLab lab)
    {
        var marker = ToolMarker(lab, "git-shadow");
        var dir = Path.Combine(lab.Work, "bin-git");
        var config = System.Text.Json.Nodes.JsonNode.Parse(lab.BConfig())!;
        config["workspace"]!["shared_env"] = new System.Text.Json.Nodes.JsonObject { ["PATH"] = $"{dir}:{Environment.GetEnvironmentVariable("PATH")}" };
        try
        {
            HostGit(lab.B, "init", "-q", "-b", "main");
            HostGit(lab.B, "add", "-A");
            HostGit(lab.B, "commit", "-q", "-m", "the person's project");
            var planted = await RunInBAsync(lab, "git-shadow", $$"""
                mkdir -p '{{dir}}' && printf '#!/bin/sh\n{ echo "ran as: $0 $*"; echo "mnt: $(readlink /proc/self/ns/mnt)"; } >> %s\nexec /usr/bin/git "$@"\n' '{{marker}}' > '{{dir}}/git' && chmod +x '{{dir}}/git' || { echo NOT-PLANTED; exit 0; }
                cp '{{dir}}/git' "$B/git" 2>/dev/null
                cat > "$B/.orchflow/workspace.json" 2>/dev/null <<'JSON' && echo "PATH-SET" || echo "PATH-NOT-SET"
                {{config.ToJsonString()}}
                JSON
                echo PLANTED
                """);
            if (planted.Contains("NOT-PLANTED", StringComparison.Ordinal))
            {
                return new Outcome(false, $"B could not write {dir}/git: {planted.Trim()}");
            }

            var pathSet = planted.Contains("PATH-SET", StringComparison.Ordinal);
            var ws = await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "b", Redetect = true });
            string spawned;
            try
            {
                var agent = await lab.Client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "b", Type = "command", Task = "true", Worktree = true });
                await lab.Client.InvokeAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = agent.Id });
                spawned = $"a worktree agent was spawned at {agent.Worktree!.Path}";
            }
            catch (RemoteFailure e)
            {
                spawned = $"spawn --worktree refused: {e.Message}";
            }

            var what = $"B's PATH {(pathSet ? "starts with" : "could not be given")} {dir}; redetect saw branch {ws.Metadata.Vcs?.Branch ?? "none"}; {spawned}";
            if (!File.Exists(marker))
            {
                return new Outcome(false, $"{what}; B's git never ran");
            }

            var ran = File.ReadAllText(marker);
            bool outside = ran.Contains("mnt: " + HostMountNamespace(), StringComparison.Ordinal);
            return new Outcome(outside, $"{what}; B's git ran {(outside ? "outside B's sandbox" : "inside a sandbox")}: {ran.ReplaceLineEndings(" | ").Trim()}");
        }
        finally
        {
            DeleteTree(Path.Combine(lab.B, ".git"));
            File.Delete(Path.Combine(lab.B, "git"));
        }
    }

    /// <summary>What B's planted programs write: where they ran (mount namespace) and as what.</summary>
    private static string ToolMarker(IsolationLab lab, string name) => Path.Combine(lab.Work, $"marker-{name}-{lab.Mark}");

    /// <summary>
    /// B's root is a git repository with a commit (the person's project). From inside B, its processes plant in .git
    /// every way of making git run a program: core.fsmonitor, core.hooksPath and hooks (post-checkout,
    /// post-index-change, reference-transaction), a filter driver with clean, smudge and process named by
    /// info/attributes, diff.external, and an include.path to a file setting fsmonitor again. Then the daemon redetects
    /// B, or spawns an agent of B with its own worktree.
    /// </summary>
    private static async Task<Outcome> GitPlantedAsync(IsolationLab lab, bool spawnWorktree)
    {
        var name = spawnWorktree ? "git-worktree" : "git-redetect";
        var marker = ToolMarker(lab, name);
        try
        {
            HostGit(lab.B, "init", "-q", "-b", "main");
            HostGit(lab.B, "add", "-A");
            HostGit(lab.B, "commit", "-q", "-m", "the person's project");

            var planted = await RunInBAsync(lab, name, $$"""
                g="$B/.git"; p="$B/work/planted-{{name}}-$MARK"; m='{{marker}}'
                printf '#!/bin/sh\n{ echo "ran as: $0 $*"; echo "mnt: $(readlink /proc/self/ns/mnt)"; echo "cgroup: $(head -1 /proc/self/cgroup)"; } >> %s\ncat\n' "$m" > "$p" && chmod +x "$p" || { echo "NOT-PLANTED program"; exit 0; }
                printf '[core]\n\tfsmonitor = %s\n' "$p" > "$B/work/included-{{name}}-$MARK" || { echo "NOT-PLANTED include"; exit 0; }
                printf '[core]\n\tfsmonitor = %s\n\thooksPath = %s/hooks\n[filter "evil"]\n\tclean = %s clean\n\tsmudge = %s smudge\n\tprocess = %s process\n[diff]\n\texternal = %s\n[include]\n\tpath = %s\n' \
                  "$p" "$g" "$p" "$p" "$p" "$p" "$B/work/included-{{name}}-$MARK" >> "$g/config" || { echo "NOT-PLANTED config"; exit 0; }
                for h in post-checkout post-index-change reference-transaction; do cp "$p" "$g/hooks/$h" || { echo "NOT-PLANTED hook"; exit 0; }; done
                echo '* filter=evil diff=evil' > "$g/info/attributes" || { echo "NOT-PLANTED attributes"; exit 0; }
                echo "changed by B" >> "$B/work/dirty-{{name}}-$MARK"
                echo PLANTED
                """);
            if (!planted.Contains("PLANTED", StringComparison.Ordinal) || planted.Contains("NOT-PLANTED", StringComparison.Ordinal))
            {
                return new Outcome(false, $"B could not plant in its own .git: {planted.Trim()}");
            }

            string what;
            if (spawnWorktree)
            {
                var agent = await lab.Client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "b", Type = "command", Task = "true", Worktree = true });
                var files = Directory.Exists(agent.Worktree!.Path) ? Directory.GetFileSystemEntries(agent.Worktree.Path).Length : 0;
                await lab.Client.InvokeAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = agent.Id });
                what = $"spawn --worktree made {agent.Worktree.Path} ({files} entries)";
            }
            else
            {
                var ws = await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "b", Redetect = true });
                what = $"redetect saw branch {ws.Metadata.Vcs?.Branch ?? "none"}, dirty {ws.Metadata.Vcs?.Dirty}";
            }

            if (!File.Exists(marker))
            {
                return new Outcome(false, $"{what}; none of the planted programs ran");
            }

            var ran = File.ReadAllText(marker);
            bool outside = ran.Contains("mnt: " + HostMountNamespace(), StringComparison.Ordinal);
            return new Outcome(outside, $"{what}; a planted program ran {(outside ? "outside B's sandbox, in the host's mount namespace" : "inside a sandbox")}: {ran.ReplaceLineEndings(" | ").Trim()}");
        }
        catch (RemoteFailure e)
        {
            return new Outcome(File.Exists(marker), $"the daemon refused ({e.Message}); marker {(File.Exists(marker) ? "written" : "absent")}");
        }
        finally
        {
            DeleteTree(Path.Combine(lab.B, ".git"));
        }
    }

    /// <summary>
    /// A's root is a repository holding A's secret. B writes a <c>commondir</c> into its own .git naming A's: git would
    /// then take objects, refs and config from A's repository, and check A's files out into B's agent's worktree.
    /// </summary>
    private static async Task<Outcome> GitCommonDirAsync(IsolationLab lab)
    {
        try
        {
            foreach (var root in new[] { lab.A, lab.B })
            {
                HostGit(root, "init", "-q", "-b", "main");
                HostGit(root, "add", "-A");
                HostGit(root, "commit", "-q", "-m", "the person's project");
            }

            var planted = await RunInBAsync(lab, "commondir", """
                echo "$A/.git" > "$B/.git/commondir" && echo PLANTED || echo NOT-PLANTED
                """);
            if (planted.Contains("NOT-PLANTED", StringComparison.Ordinal))
            {
                return new Outcome(false, $"B could not write its own .git/commondir: {planted.Trim()}");
            }

            try
            {
                var agent = await lab.Client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "b", Type = "command", Task = "true", Worktree = true });
                var secret = Path.Combine(agent.Worktree!.Path, "secret.txt");
                bool leaked = File.Exists(secret) && File.ReadAllText(secret).Contains(lab.FileSecret, StringComparison.Ordinal);
                await lab.Client.InvokeAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = agent.Id });
                return new Outcome(leaked, leaked ? $"A's secret.txt was checked out into B's agent worktree {agent.Worktree.Path}" : $"a worktree was made at {agent.Worktree.Path}, without A's files");
            }
            catch (RemoteFailure e)
            {
                return new Outcome(false, e.Message);
            }
        }
        finally
        {
            DeleteTree(Path.Combine(lab.A, ".git"));
            DeleteTree(Path.Combine(lab.B, ".git"));
        }
    }

    /// <summary>
    /// B writes a program named cat (which writes the marker) into a directory of its own, then asks for a command line
    /// that makes the shell find it there instead of the allowed cat.
    /// </summary>
    /// <param name="inDirectory">The command runs in that directory (PATH unset: bash searches the current directory).</param>
    private static async Task<Outcome> FakeProgramAsync(IsolationLab lab, string name, Func<string, string> command, bool inDirectory = false)
    {
        var dir = Path.Combine(lab.Work, $"bin-{name}");
        var marker = ToolMarker(lab, name);
        var planted = await RunInBAsync(lab, name, $$"""
            mkdir -p '{{dir}}' && printf '#!/bin/sh\necho "the cat of B ran as $0" > %s\n' '{{marker}}' > '{{dir}}/cat' && chmod +x '{{dir}}/cat' && echo PLANTED || echo NOT-PLANTED
            """);
        if (planted.Contains("NOT-PLANTED", StringComparison.Ordinal))
        {
            return new Outcome(false, $"B could not write {dir}/cat: {planted.Trim()}");
        }

        return await LaunchJudgedAsync(lab, command(dir), marker, inDirectory ? dir : null);
    }

    /// <summary>A symlink named cat in B's directory, pointing at perl, found through a PATH that starts there.</summary>
    private static async Task<Outcome> SymlinkNamedCatAsync(IsolationLab lab)
    {
        var dir = Path.Combine(lab.Work, "links");
        var marker = ToolMarker(lab, "symlink");
        var planted = await RunInBAsync(lab, "symlink", $"""
            mkdir -p '{dir}' && ln -sf "$(command -v perl)" '{dir}/cat' && echo PLANTED || echo NOT-PLANTED
            """);
        if (planted.Contains("NOT-PLANTED", StringComparison.Ordinal))
        {
            return new Outcome(false, $"B could not make {dir}/cat: {planted.Trim()}");
        }

        return await LaunchJudgedAsync(lab, $"PATH={dir} cat -e 'open(my $f, \">\", \"{marker}\") and print $f \"perl ran as cat\\n\"'", marker, null);
    }

    /// <summary>Asks the daemon for a --cmd terminal in B; escaping is the marker the fake program writes on the host.</summary>
    private static async Task<Outcome> LaunchJudgedAsync(IsolationLab lab, string command, string marker, string? cwd)
    {
        try
        {
            var t = await lab.CreateAsync("b", command, cwd);
            await lab.WaitForExitAsync(t);
            var shown = await lab.ReadAsync(t.Id);
            await lab.KillAsync(t.Id);
            return File.Exists(marker)
                ? new Outcome(true, $"`{command}` was launched and ran B's program: {File.ReadAllText(marker).Trim()}")
                : new Outcome(false, $"`{command}` was launched but B's program did not run: {shown.ReplaceLineEndings(" ").Trim()}");
        }
        catch (RemoteFailure e) when (e.Code == ErrorCodes.NotAllowed)
        {
            return new Outcome(File.Exists(marker), e.Message);
        }
    }

    /// <summary>Runs a planting script in a terminal of B (the attacker's own hands) and returns what it printed.</summary>
    private static async Task<string> RunInBAsync(IsolationLab lab, string name, string body)
    {
        var script = lab.WriteScript("plant-" + name, body);
        var terminal = await lab.CreateAsync("b", $"bash {script}", lab.Work);
        await lab.WaitForExitAsync(terminal);
        var text = await lab.ReadAsync(terminal.Id);
        await lab.KillAsync(terminal.Id);
        return text;
    }

    /// <summary>Probe files B managed to create in the host's PATH directories before /usr/bin.</summary>
    private static List<string> SystemPathProbes(IsolationLab lab) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':')
            .Where(Path.IsPathRooted)
            .Select(d => Path.Combine(d, "orchflow-probe-" + lab.Mark))
            .Where(File.Exists)
            .ToList();

    /// <summary>git as the person runs it on the host, before B plants anything (no system or global config).</summary>
    private static void HostGit(string cwd, params string[] args)
    {
        var env = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin",
            ["HOME"] = cwd,
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_CONFIG_GLOBAL"] = "/dev/null",
            ["GIT_AUTHOR_NAME"] = "person",
            ["GIT_AUTHOR_EMAIL"] = "person@example.invalid",
            ["GIT_COMMITTER_NAME"] = "person",
            ["GIT_COMMITTER_EMAIL"] = "person@example.invalid",
        };
        var result = Processes.ProcessFactory.RunAsync("/usr/bin/git", args, cwd, TimeSpan.FromSeconds(30), default, env).GetAwaiter().GetResult();
        Assert.True(result.ExitCode == 0, $"git {string.Join(' ', args)} in {cwd}: {result.StandardError}");
    }

    private static void DeleteTree(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
