namespace Orchflow.Server.Security;

/// <summary>
/// security.allowed_commands, checked before Orchflow launches anything: an agent's program, and every command of a
/// <c>--cmd</c> command line. What is checked is the program that will actually run, found the way the shell and
/// <c>execvp</c> will find it. The line is read by <see cref="ShellCommandLine"/>, followed command by command by
/// <see cref="CommandLineCheck"/>, and each program it starts is judged by <see cref="ProgramCheck"/>, which finds it
/// through <see cref="ProgramLookup"/> and unwraps wrappers with <see cref="WrapperOptions"/>.
/// </summary>
/// <remarks>
/// <para>
/// A command line is read the way a POSIX shell splits it into simple commands (quotes, backslashes, <c>;</c>
/// <c>&amp;</c> <c>|</c> <c>&amp;&amp;</c> <c>||</c>, newlines, redirections, leading <c>NAME=value</c> assignments);
/// anything whose commands cannot be known before it runs is refused rather than guessed: command and process
/// substitution, subshells and groups, control structures, brace expansion, and a program name that comes from a
/// variable or a glob.
/// </para>
/// <para>
/// The program is then followed through what an attacker would put in front of it:
/// <list type="bullet">
/// <item>Its own environment: <c>PATH=…</c> before it, or set earlier on the line (<c>PATH=…;</c>,
/// <c>export PATH=…</c>, <c>unset PATH</c>, after which bash searches the current directory); a change that cannot be
/// followed (<c>read PATH</c>, <c>printf -v PATH</c>, <c>${PATH:=…}</c>, <c>export -n</c>, an allowed
/// <c>declare</c>) makes every later lookup on the line unknowable, and refused. Variables that make any program load
/// code the line names (<c>LD_*</c>, <c>GCONV_PATH</c>, <c>BASH_ENV</c>, <c>ENV</c>) are refused outright.</item>
/// <item>Wrappers that run the program named in their arguments, parsed with their real option grammars:
/// <c>exec</c> (<c>-c</c>, <c>-l</c>, <c>-a NAME</c>: the name a multi-call binary dispatches on), <c>command</c>
/// (<c>-p</c>: the default PATH; <c>-v</c>/<c>-V</c> run nothing), <c>builtin</c>, <c>env</c> (<c>-i</c>,
/// <c>-u</c>, <c>-C</c>, <c>-S</c>/<c>--split-string</c> re-split and parsed again, <c>NAME=value</c>, long options
/// abbreviated as getopt allows), <c>nice</c>, <c>nohup</c>, <c>timeout</c>, <c>setsid</c>, <c>stdbuf</c>,
/// <c>ionice</c>, <c>xargs</c> (which runs <c>echo</c> by default, and refuses a program name its <c>-I</c>
/// substitutes into). A wrapper is unwrapped only when it is the one on the workspace's trusted PATH; it needs no
/// entry of its own, the program it runs does. An unknown option or a word that expands is refused.</item>
/// <item>Path lookup: an allowed name matches only the program it names on the workspace's trusted PATH (the PATH
/// without the places the workspace can write: <see cref="ProgramLookup"/>), reached under the name it is allowed as.
/// A same-named program elsewhere is refused, and so is any lookup that passes a directory the workspace can write
/// before reaching it (a program can be put there between the check and the launch). A program given by path in such
/// a place is refused unless an entry names that very path.</item>
/// </list>
/// </para>
/// <para>
/// Considered and left to the list itself: programs that run others but are programs in their own right (sh, bash,
/// sudo, su, chroot, unshare, nsenter, flock, taskset, chrt, prlimit, setpriv, strace, script, watch, busybox, find
/// -exec, make, git, interpreters). Each must be allowed by name, and what it runs is "what a launched program runs
/// itself", which the report says is not checked.
/// </para>
/// </remarks>
public static class CommandPolicy
{
    /// <summary>
    /// Null when every command of <paramref name="line"/> may run; otherwise why not, naming the command and the rule.
    /// </summary>
    /// <param name="resolve">
    /// Resolves a program name on the workspace's PATH, or a path (containing '/'), to a canonical absolute path, or
    /// null. Every directory of that PATH is taken as trusted; <see cref="CheckLine(string, IReadOnlyList{string}, ProgramLookup)"/>
    /// with a <see cref="ProgramLookup"/> judges them.
    /// </param>
    public static string? CheckLine(string line, IReadOnlyList<string> allowed, Func<string, string?> resolve) =>
        CheckLine(line, allowed, new ResolverLookup(resolve));

    /// <summary>Null when every command of <paramref name="line"/> may run; otherwise why not, naming the command, the program it would run and the rule.</summary>
    public static string? CheckLine(string line, IReadOnlyList<string> allowed, ProgramLookup lookup)
    {
        var (commands, problem) = ShellCommandLine.Commands(line);
        if (problem is not null)
        {
            return problem;
        }

        var check = new CommandLineCheck(new ProgramCheck(allowed, lookup));
        foreach (var command in commands)
        {
            if (check.Shell(command) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    /// <summary>Null when the program of <paramref name="argv"/> (started directly, as by execvp) may run; otherwise why not.</summary>
    public static string? CheckArgv(IReadOnlyList<string> argv, IReadOnlyList<string> allowed, ProgramLookup lookup) =>
        argv.Count == 0 ? "the command is empty" : new ProgramCheck(allowed, lookup).Argv(argv);

    /// <summary>
    /// A lookup through a resolver that knows only the workspace's PATH: its directories are all taken as trusted, and
    /// a PATH the command line sets is searched through it entry by entry (a relative entry is the workspace's).
    /// </summary>
    private sealed class ResolverLookup(Func<string, string?> resolve) : ProgramLookup
    {
        public override (string? File, string? Shadow) Find(string name, string? searchPath)
        {
            if (searchPath is null)
            {
                return (resolve(name), null);
            }

            foreach (var entry in searchPath.Split(':'))
            {
                var candidate = Path.Join(entry.Length == 0 ? "." : entry, name);
                if (!Path.IsPathRooted(candidate))
                {
                    return (resolve(candidate), $"{Writable(candidate)}");
                }

                if (resolve(candidate) is { } file)
                {
                    return (file, null);
                }
            }

            return (null, null);
        }

        public override string? Trusted(string name) => resolve(name);

        public override string? File(string path) => resolve(path);
    }
}
