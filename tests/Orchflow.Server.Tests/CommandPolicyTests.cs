using Orchflow.Server.Security;

namespace Orchflow.Server.Tests;

/// <summary>
/// security.allowed_commands against an attacker who names an allowed program and runs another: on real files, with
/// the workspace's programs in its root and in /tmp, and the system's in /usr/bin. Allowed: cat and bash, on the
/// workspace's PATH /usr/bin:/bin. "$W" in a line is the workspace root, whose bin/ holds the workspace's own cat, env,
/// echo and perl-named programs.
/// </summary>
[Trait("Tier", "unit")]
public sealed class CommandPolicyTests : IDisposable
{
    private static readonly string[] Allowed = ["cat", "bash"];

    private readonly TempHome _home = new();
    private readonly string _root;
    private readonly string _open;

    public CommandPolicyTests()
    {
        _root = Hosting.Native.TryRealPath(_home.Project("ws"))!;
        _open = Path.Combine(Path.GetTempPath(), "of-open-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var dir in new[] { Path.Combine(_root, "bin"), Path.Combine(_open, "bin") })
        {
            foreach (var name in new[] { "cat", "env", "echo", "nice", "sh" })
            {
                Program(Path.Combine(dir, name));
            }
        }

        File.SetUnixFileMode(_open, (UnixFileMode)0x1FF); // 0777, no sticky bit: every user may replace what is in it
        File.CreateSymbolicLink(Path.Combine(_root, "cat"), "/usr/bin/cat"); // named cat, the real one, in the root
        File.CreateSymbolicLink(Path.Combine(_root, "bin", "perl-as-cat"), "/usr/bin/perl");
        Directory.CreateDirectory(Path.Combine(_root, "links"));
        File.CreateSymbolicLink(Path.Combine(_root, "links", "cat"), "/usr/bin/perl"); // a symlink named like an allowed command
    }

    public void Dispose()
    {
        _home.Dispose();
        Directory.Delete(_open, recursive: true);
    }

    private static void Program(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\necho workspace-program\n");
        File.SetUnixFileMode(path, (UnixFileMode)0x1ED);
    }

    private ProgramLookup Lookup(string path = "/usr/bin:/bin") => new(path, _root, [_root]);

    private void Check(string line, string? refusalFragment, string path = "/usr/bin:/bin")
    {
        line = line.Replace("$W", _root, StringComparison.Ordinal).Replace("$O", _open, StringComparison.Ordinal);
        var refusal = CommandPolicy.CheckLine(line, Allowed, Lookup(path));
        if (refusalFragment is null)
        {
            Assert.True(refusal is null, $"`{line}` was refused: {refusal}");
        }
        else
        {
            Assert.True(refusal is not null, $"`{line}` was allowed");
            Assert.Contains(refusalFragment.Replace("$W", _root, StringComparison.Ordinal).Replace("$O", _open, StringComparison.Ordinal), refusal, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_sticky_directory_every_user_may_write_is_passed_safely_only_through_an_entry_of_ours()
    {
        // As /tmp: mode 1777. Others may add entries there but not rename or remove ours, so a checkout under /tmp is
        // not taken for a place every user can write; the sticky directory itself, or a name nobody owns yet, is.
        var sticky = Path.Combine(Path.GetTempPath(), "of-sticky-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(sticky, "ours", "bin"));
        File.SetUnixFileMode(sticky, (UnixFileMode)0x3FF);
        try
        {
            Assert.Null(ProgramLookup.WritableReason(Path.Combine(sticky, "ours", "bin"), []));
            Assert.Equal($"{sticky} can be written by every user", ProgramLookup.WritableReason(sticky, []));
            Assert.Equal($"{sticky} can be written by every user", ProgramLookup.WritableReason(Path.Combine(sticky, "missing", "bin"), []));
        }
        finally
        {
            Directory.Delete(sticky, recursive: true);
        }
    }

    [Theory]
    [InlineData("cat x")]
    [InlineData("/usr/bin/cat x")]
    [InlineData("/bin/cat x")] // /bin is /usr/bin here, or a copy of the same trusted cat
    [InlineData("PATH=/usr/bin cat x")]
    [InlineData("PATH=/usr/bin:/bin; cat x")]
    [InlineData("export PATH=/usr/bin; cat x")]
    [InlineData("RUST_LOG=$LEVEL cat x")]
    [InlineData("env cat x")]
    [InlineData("env -i cat x")] // execvp's default PATH: /bin:/usr/bin
    [InlineData("env -u PATH cat x")]
    [InlineData("env --unset=PATH FOO=1 cat x")]
    [InlineData("env PATH=/usr/bin cat x")]
    [InlineData("env -- cat x")]
    [InlineData("env -S 'cat -n' x")]
    [InlineData("env -iS'PATH=/usr/bin cat' x")]
    [InlineData("env --split-string='FOO=\"a b\" cat' x")]
    [InlineData("env --ignore-env cat x")] // an unambiguous abbreviation, as getopt_long takes it
    [InlineData("env -C / cat x")]
    [InlineData("env")]
    [InlineData("command cat x")]
    [InlineData("command -p cat x")]
    [InlineData("command -v perl")] // describes, runs nothing
    [InlineData("exec cat x")]
    [InlineData("exec -a cat cat x")]
    [InlineData("exec 3>out")]
    [InlineData("builtin echo hi")]
    [InlineData("nice cat x")]
    [InlineData("nice -n 5 cat x")]
    [InlineData("nice -5 cat x")]
    [InlineData("nice --adjustment=3 cat x")]
    [InlineData("nohup cat x")]
    [InlineData("timeout 5 cat x")]
    [InlineData("timeout -s KILL -k 2 5 cat x")]
    [InlineData("timeout --signal=TERM --preserve 5 cat x")]
    [InlineData("setsid -f cat x")]
    [InlineData("stdbuf -oL cat x")]
    [InlineData("stdbuf --output=0 -e 0 cat x")]
    [InlineData("ionice -c 3 cat x")]
    [InlineData("xargs cat")]
    [InlineData("xargs -0 -n 1 -P 2 cat")]
    [InlineData("xargs")] // runs the system's echo
    [InlineData("nice nohup timeout 3 env stdbuf -o0 cat x")]
    [InlineData("env echo hi")] // the system's echo, a builtin's name
    [InlineData("echo hi; printf x; true")]
    [InlineData("cd /tmp && cat x")]
    [InlineData("unset FOO; cat x")]
    public void Allowed_programs(string line) => Check(line, null);

    [Theory]
    // Its own PATH, in front of it or set earlier on the line.
    [InlineData("PATH=$W/bin cat x", "'cat' cannot be vouched for by security.allowed_commands (cat, bash): on PATH=$W/bin, the PATH entry $W/bin comes first")]
    [InlineData("PATH=$W/bin cat x", "it would run $W/bin/cat")]
    [InlineData("PATH=$O/bin:/usr/bin cat x", "can be written by every user")]
    [InlineData("PATH=$W/nothing-here:/usr/bin cat x", "$W/nothing-here")] // empty today, filled between check and launch
    [InlineData("PATH=bin:/usr/bin cat x", "is relative")]
    [InlineData("PATH= cat x", "the current directory")]
    [InlineData("PATH=$W/bin; cat x", "on PATH=$W/bin")]
    [InlineData("true || PATH=$W/bin; cat x", "on PATH=$W/bin")]
    [InlineData("export PATH=$W/bin; cat x", "on PATH=$W/bin")]
    [InlineData("PATH=$W/bin exec cat x", "on PATH=$W/bin")]
    [InlineData("unset PATH; cat x", "PATH unset: the shell searches the current directory")]
    [InlineData("PATH=$W/bin command cat x", "on PATH=$W/bin")]
    [InlineData("PATH=$HOME/bin cat x", "cannot be followed")]
    [InlineData("read PATH; cat x", "cannot be followed")]
    [InlineData("printf -v PATH %s $W/bin; cat x", "cannot be followed")]
    [InlineData(": ${PATH:=$W/bin}; cat x", "cannot be followed")]
    [InlineData("export -n PATH; cat x", "cannot be followed")]
    // env and the other wrappers.
    [InlineData("env PATH=$W/bin cat x", "on PATH=$W/bin")]
    [InlineData("env -i PATH=$W/bin cat x", "on PATH=$W/bin")]
    [InlineData("env -S 'PATH=$W/bin cat' x", "on PATH=$W/bin")]
    [InlineData("env -iS'PATH=$W/bin cat'", "on PATH=$W/bin")]
    [InlineData("env --split-string='-i PATH=$W/bin cat' x", "on PATH=$W/bin")]
    [InlineData("env -u PATH -S'PATH=$W/bin' cat x", "on PATH=$W/bin")]
    [InlineData("nice -n 1 env PATH=$W/bin cat x", "on PATH=$W/bin")]
    [InlineData("timeout -k 1 5 env PATH=$W/bin cat x", "on PATH=$W/bin")]
    [InlineData("nohup setsid stdbuf -o0 ionice -c3 env PATH=$W/bin cat", "on PATH=$W/bin")]
    [InlineData("PATH=$W/bin xargs", "'xargs' cannot be vouched for")]
    [InlineData("xargs env PATH=$W/bin cat", "on PATH=$W/bin")]
    [InlineData("PATH=$W/bin:/usr/bin env cat x", "'env' cannot be vouched for")] // the workspace's own env
    [InlineData("env perl -e 1", "'perl' is not in security.allowed_commands (cat, bash); it would run")]
    [InlineData("nice perl", "'perl' is not in")]
    [InlineData("timeout 1 perl", "'perl' is not in")]
    [InlineData("xargs perl", "'perl' is not in")]
    [InlineData("command perl", "'perl' is not in")]
    [InlineData("command -p perl", "'perl' is not in")]
    [InlineData("exec perl", "'perl' is not in")]
    [InlineData("builtin eval cat", "'eval' is not in")]
    [InlineData("exec -a sh cat", "under the name 'sh'")]
    [InlineData("env -S 'cat ${X}'", "env -S with a variable expansion")]
    [InlineData("env --i cat", "an ambiguous option (--i)")]
    [InlineData("env -Z cat", "an option its program does not have")]
    [InlineData("nice --frobnicate cat", "an option its program does not have")]
    [InlineData("timeout $T cat", "expanded when it runs")]
    [InlineData("env $FLAGS cat", "expanded when it runs")]
    [InlineData("xargs -I{} {} x", "xargs substitutes its input into")]
    [InlineData("xargs -i {}", "xargs substitutes its input into")]
    [InlineData("{perl,-e,1}", "expanded when it runs")]
    // Programs by path, and names that are not the program they name.
    [InlineData("$W/bin/cat x", "'$W/bin/cat' ($W/bin/cat) is in a place the workspace can write")]
    [InlineData("./cat x", "is in a place the workspace can write")] // a symlink to the real cat, in the root: it can be re-pointed
    [InlineData("$W/links/cat x", "is in a place the workspace can write")]
    [InlineData("PATH=$W/links cat x", "it would run /usr/bin/perl")]
    [InlineData("$O/bin/cat x", "can be written by every user")]
    [InlineData("/usr/bin/perl -e 1", "'perl' is not in")]
    [InlineData("cd /tmp; ./cat x", "after the line changes directory")]
    [InlineData("env -C /tmp ./cat x", "after the line changes directory")]
    // Variables that load code.
    [InlineData("LD_PRELOAD=$W/x.so cat", "sets LD_PRELOAD")]
    [InlineData("env LD_LIBRARY_PATH=$W cat", "env sets LD_LIBRARY_PATH")]
    [InlineData("export LD_AUDIT=$W/x.so; cat", "exports LD_AUDIT")]
    [InlineData("BASH_ENV=$W/x bash -c true", "sets BASH_ENV")]
    public void Refused_programs(string line, string fragment) => Check(line, fragment);

    [Fact]
    public void A_workspace_PATH_that_puts_the_root_first_allows_nothing_there()
    {
        Check("cat x", "the PATH entry $W/bin comes first", path: $"{_root}/bin:/usr/bin");
        Check("cat x", null, path: $"/usr/bin:{_root}/bin");
        Check("cat x", "is relative", path: "node_modules/.bin:/usr/bin");
    }

    [Fact]
    public void A_trusted_directory_holding_a_symlink_into_the_root_is_not_trusted_for_it()
    {
        // Outside /tmp: next to the test assembly, a directory no workspace can write, with cat leading into the root.
        var trusted = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "policy-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        try
        {
            File.CreateSymbolicLink(Path.Combine(trusted, "cat"), Path.Combine(_root, "bin", "cat"));
            Check("cat x", $"{trusted}/cat leads to $W/bin/cat", path: $"{trusted}:/usr/bin");
            Assert.Equal(Hosting.Native.TryRealPath("/usr/bin/cat"), Lookup($"{trusted}:/usr/bin").Trusted("cat"));
        }
        finally
        {
            Directory.Delete(trusted, recursive: true);
        }
    }

    [Fact]
    public void Xargs_runs_echo_from_the_PATH_it_is_given()
    {
        // A directory no workspace can write, holding the system's xargs and no echo: echo is then looked up further on.
        var trusted = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "policy-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        try
        {
            File.CreateSymbolicLink(Path.Combine(trusted, "xargs"), Hosting.Native.TryRealPath("/usr/bin/xargs")!);
            Check($"env PATH={trusted}:$W/bin xargs", "'echo' cannot be vouched for");
            Check($"env PATH={trusted}:/usr/bin xargs", null);
        }
        finally
        {
            Directory.Delete(trusted, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { "nice", "-n", "2", "cat" }, null)]
    [InlineData(new[] { "/usr/bin/cat" }, null)]
    [InlineData(new[] { "env", "PATH=$W/bin", "cat" }, "on PATH=$W/bin")]
    [InlineData(new[] { "env", "-i", "cat" }, null)]
    [InlineData(new[] { "$W/bin/cat" }, "is in a place the workspace can write")]
    [InlineData(new[] { "perl" }, "'perl' is not in")]
    [InlineData(new[] { "echo", "hi" }, null)] // run as a file: the system's echo
    public void Agent_commands_are_checked_on_the_program_they_run(string[] argv, string? fragment)
    {
        var refusal = CommandPolicy.CheckArgv([.. argv.Select(a => a.Replace("$W", _root, StringComparison.Ordinal))], Allowed, Lookup());
        if (fragment is null)
        {
            Assert.True(refusal is null, refusal);
        }
        else
        {
            Assert.Contains(fragment.Replace("$W", _root, StringComparison.Ordinal), refusal, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("a b", new[] { "a", "b" })]
    [InlineData("'a b' \"c d\"", new[] { "a b", "c d" })]
    [InlineData("a\\_b", new[] { "a", "b" })]
    [InlineData("a # comment", new[] { "a" })]
    [InlineData("a \\c b", new[] { "a" })]
    [InlineData("\"a\\_b\"", new[] { "a b" })]
    public void Env_split_strings_are_split_as_env_splits_them(string text, string[] expected)
    {
        var (words, problem) = ShellCommandLine.SplitString(text);
        Assert.Null(problem);
        Assert.Equal(expected, words);
    }
}
