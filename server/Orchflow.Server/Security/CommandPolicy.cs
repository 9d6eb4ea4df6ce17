using System.Text;

namespace Orchflow.Server.Security;

/// <summary>
/// security.allowed_commands, checked before Orchflow launches anything: an agent's program, and every command of a
/// <c>--cmd</c> command line. What is checked is the program that will actually run, found the way the shell and
/// <c>execvp</c> will find it.
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
    /// <summary>Builtins that run nothing else; any other builtin (eval, source, command, exec's target…) must be allowed by name.</summary>
    private static readonly HashSet<string> InertBuiltins = new(StringComparer.Ordinal)
    {
        "cd", "echo", "printf", "true", "false", ":", "export", "set", "unset", "test", "[", "pwd", "exit", "read", "wait", "shift", "umask",
    };

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "select", "function", "{", "}", "!", "[[", "]]", "time", "coproc",
    };

    /// <summary>bash builtins that change the shell's own state in ways not followed here; allowed by name, they make later lookups unknowable.</summary>
    private static readonly HashSet<string> StatefulBuiltins = new(StringComparer.Ordinal)
    {
        "declare", "typeset", "local", "readonly", "mapfile", "readarray", "getopts", "let", "eval", "source", ".", "hash", "alias", "enable", "shopt", "pushd", "popd", "trap",
    };

    /// <summary>Programs that run the program their arguments name, unwrapped when they are the ones on the trusted PATH.</summary>
    private static readonly HashSet<string> Wrappers = new(StringComparer.Ordinal) { "env", "nice", "nohup", "timeout", "setsid", "stdbuf", "xargs", "ionice" };

    /// <summary>Variables that make a dynamically linked program, or a shell, load code the command line chooses.</summary>
    private static bool LoadsCode(string name) =>
        name.StartsWith("LD_", StringComparison.Ordinal) || name is "GCONV_PATH" or "BASH_ENV" or "ENV";

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
        var (commands, problem) = Commands(line);
        if (problem is not null)
        {
            return problem;
        }

        var check = new Check(allowed, lookup);
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
        argv.Count == 0 ? "the command is empty" : new Check(allowed, lookup).Argv(argv);

    /// <summary>A word of the command line: its text after quote removal, and whether the shell expands it when it runs.</summary>
    internal readonly record struct Word(string Text, bool Dynamic);

    /// <summary>A simple command: its leading assignments and its words (redirections removed).</summary>
    internal sealed record SimpleCommand(IReadOnlyList<Word> Assignments, IReadOnlyList<Word> Words);

    /// <summary>Where a lookup searches: the workspace's PATH, a given value, PATH unset, or a value that cannot be known before the line runs.</summary>
    private readonly record struct SearchPath(PathKind Kind, string Value = "")
    {
        public static readonly SearchPath Workspace = new(PathKind.Workspace);
        public static readonly SearchPath Unset = new(PathKind.Unset);
        public static readonly SearchPath Unknown = new(PathKind.Unknown);
    }

    private enum PathKind
    {
        Workspace,
        Value,
        Unset,
        Unknown,
    }

    /// <summary>The check of one command line: the shell's state as far as it matters (possible PATHs, whether the directory is still the launch's).</summary>
    private sealed class Check(IReadOnlyList<string> allowed, ProgramLookup lookup)
    {
        /// <summary>Every value PATH may have at this point of the line (a change may or may not have run: &amp;&amp;, ||).</summary>
        private readonly List<SearchPath> _paths = [SearchPath.Workspace];
        private bool _cwdKnown = true;

        private string List => string.Join(", ", allowed);

        public string? Argv(IReadOnlyList<string> argv) =>
            Exec([.. argv.Select(a => new Word(a, false))], 0, [SearchPath.Workspace], [SearchPath.Workspace], null, _cwdKnown, shell: false);

        public string? Shell(SimpleCommand command)
        {
            var paths = _paths.ToList();
            SearchPath? assigned = null;
            foreach (var a in command.Assignments)
            {
                var name = a.Text[..a.Text.IndexOf('=', StringComparison.Ordinal)];
                if (LoadsCode(name))
                {
                    return $"the command line sets {name}, which makes a program load code the line chooses; security.allowed_commands ({List}) cannot vouch for what runs then";
                }

                if (name == "PATH")
                {
                    assigned = a.Dynamic ? SearchPath.Unknown : new SearchPath(PathKind.Value, a.Text[5..]);
                    paths = [assigned.Value];
                }
            }

            foreach (var w in command.Words.Concat(command.Assignments))
            {
                if (w.Dynamic && SetsPathByExpansion(w.Text))
                {
                    _paths.Add(SearchPath.Unknown);
                }
            }

            if (command.Words.Count == 0)
            {
                // Assignments alone are shell variables for the rest of the line.
                if (assigned is { } p)
                {
                    _paths.Add(p);
                }

                return null;
            }

            return ShellWords(command.Words, 0, paths, assigned);
        }

        /// <summary>A command as the shell runs it: a builtin, a wrapper builtin (exec, command, builtin) or a program looked up on PATH.</summary>
        private string? ShellWords(IReadOnlyList<Word> words, int i, List<SearchPath> paths, SearchPath? assigned)
        {
            var first = words[i];
            if (!first.Dynamic && Keywords.Contains(first.Text))
            {
                return Unknowable($"'{first.Text}' (a control structure)");
            }

            if (first.Dynamic)
            {
                return Unknowable($"a program name that is expanded when it runs ({first.Text})");
            }

            switch (first.Text)
            {
                case "exec":
                    {
                        // A special builtin: assignments before it stay. It always runs a file, never a builtin.
                        Persist(assigned);
                        var (next, options, problem) = Options.Parse(words, i + 1, Options.Exec);
                        if (problem is not null)
                        {
                            return Unknowable(problem);
                        }

                        if (next >= words.Count)
                        {
                            return null; // only redirections
                        }

                        var argv0 = options.LastOrDefault(o => o.Name == "a").Argument;
                        var env = options.Any(o => o.Name == "c") ? [SearchPath.Unset] : paths;
                        return Exec(words, next, paths, env, argv0, _cwdKnown, shell: true);
                    }

                case "command":
                    {
                        var (next, options, problem) = Options.Parse(words, i + 1, Options.Command);
                        if (problem is not null)
                        {
                            return Unknowable(problem);
                        }

                        if (next >= words.Count || options.Any(o => o.Name is "v" or "V"))
                        {
                            return null; // describes a command, runs nothing
                        }

                        var lookupPaths = options.Any(o => o.Name == "p") ? [new SearchPath(PathKind.Value, ProgramLookup.DefaultPath)] : paths;
                        return IsShellLevel(words[next])
                            ? ShellWords(words, next, [.. paths, .. lookupPaths], assigned)
                            : Exec(words, next, lookupPaths, paths, null, _cwdKnown, shell: true);
                    }

                case "builtin":
                    {
                        if (i + 1 >= words.Count)
                        {
                            return null;
                        }

                        var b = words[i + 1];
                        if (b.Dynamic)
                        {
                            return Unknowable($"a builtin name that is expanded when it runs ({b.Text})");
                        }

                        if (IsShellLevel(b))
                        {
                            return ShellWords(words, i + 1, paths, assigned);
                        }

                        // Runs a builtin or nothing, never a file: the name alone decides.
                        if (allowed.Contains(b.Text))
                        {
                            Unfollowable(b.Text);
                            return null;
                        }

                        return NotAllowed(b.Text, null);
                    }
            }

            if (InertBuiltins.Contains(first.Text))
            {
                Persist(assigned); // export, unset, set, ':' … are special builtins
                return Inert(first.Text, words.Skip(i + 1).ToList());
            }

            var refusal = Exec(words, i, paths, paths, null, _cwdKnown, shell: true);
            if (refusal is null && StatefulBuiltins.Contains(first.Text))
            {
                Unfollowable(first.Text);
            }

            return refusal;
        }

        private static bool IsShellLevel(Word w) => !w.Dynamic && (InertBuiltins.Contains(w.Text) || w.Text is "exec" or "command" or "builtin");

        private void Persist(SearchPath? assigned)
        {
            if (assigned is { } p)
            {
                _paths.Add(p);
            }
        }

        /// <summary>An allowed builtin that changes the shell in ways not followed: later lookups on the line cannot be vouched for.</summary>
        private void Unfollowable(string name)
        {
            if (StatefulBuiltins.Contains(name))
            {
                _paths.Add(SearchPath.Unknown);
                _cwdKnown = false;
            }
        }

        /// <summary>Builtins that run nothing, followed where they change PATH or the directory.</summary>
        private string? Inert(string name, List<Word> args)
        {
            switch (name)
            {
                case "cd":
                    _cwdKnown = false;
                    break;
                case "unset":
                    if (args.Any(a => a.Dynamic))
                    {
                        _paths.Add(SearchPath.Unknown);
                    }
                    else if (!args.Any(a => a.Text == "-f") && args.Any(a => a.Text == "PATH"))
                    {
                        _paths.Add(SearchPath.Unset);
                    }

                    break;
                case "export":
                    bool unexport = args.Any(a => !a.Dynamic && a.Text.StartsWith('-') && a.Text.Contains('n', StringComparison.Ordinal));
                    foreach (var a in args.Where(a => !a.Text.StartsWith('-')))
                    {
                        int eq = a.Text.IndexOf('=', StringComparison.Ordinal);
                        var variable = eq < 0 ? a.Text : a.Text[..eq];
                        if (eq > 0 && LoadsCode(variable))
                        {
                            return $"the command line exports {variable}, which makes a program load code the line chooses; security.allowed_commands ({List}) cannot vouch for what runs then";
                        }

                        if (a.Dynamic || (variable == "PATH" && unexport))
                        {
                            _paths.Add(SearchPath.Unknown);
                        }
                        else if (variable == "PATH" && eq > 0)
                        {
                            _paths.Add(new SearchPath(PathKind.Value, a.Text[(eq + 1)..]));
                        }
                    }

                    break;
                case "read":
                    // read NAME… assigns variables from its input: PATH among them cannot be followed.
                    if (args.Any(a => a.Dynamic || a.Text == "PATH"))
                    {
                        _paths.Add(SearchPath.Unknown);
                    }

                    break;
                case "printf" when args.Count > 0 && args[0].Text.StartsWith("-v", StringComparison.Ordinal):
                    // printf -v NAME assigns its output to NAME.
                    var target = args[0].Text.Length > 2 ? args[0] : args.ElementAtOrDefault(1);
                    if (args[0].Dynamic || target.Dynamic || target.Text is null || target.Text.EndsWith("PATH", StringComparison.Ordinal))
                    {
                        _paths.Add(SearchPath.Unknown);
                    }

                    break;
            }

            return null;
        }

        /// <summary>
        /// A program started as a file: by the shell (<paramref name="shell"/>: bash searches the current directory when
        /// PATH is unset) or by execvp (a wrapper, an agent's argv: the default PATH when unset). Wrappers are followed.
        /// </summary>
        /// <param name="lookupPaths">Where the program itself is looked up.</param>
        /// <param name="envPaths">PATH in the environment it gets: where a program it wraps is looked up.</param>
        /// <param name="argv0">The name it is given (exec -a), when not its own.</param>
        private string? Exec(IReadOnlyList<Word> words, int i, List<SearchPath> lookupPaths, List<SearchPath> envPaths, string? argv0, bool cwdKnown, bool shell)
        {
            var word = words[i];
            if (word.Dynamic)
            {
                return Unknowable($"a program name that is expanded when it runs ({word.Text})");
            }

            var program = word.Text;
            if (program.Length == 0)
            {
                return "the command line runs a program with an empty name";
            }

            var name = Path.GetFileName(program);
            var invoked = argv0 is null ? name : Path.GetFileName(argv0);
            var files = new List<string?>();
            if (program.Contains('/'))
            {
                if (!Path.IsPathRooted(program) && !cwdKnown)
                {
                    return Unknowable($"a relative program path ({program}) after the line changes directory");
                }

                files.Add(lookup.File(program));
            }
            else
            {
                foreach (var p in lookupPaths.Distinct())
                {
                    if (p.Kind == PathKind.Unknown)
                    {
                        return Unknowable($"PATH set in a way that cannot be followed before '{program}'");
                    }

                    var (file, shadow) = p.Kind switch
                    {
                        PathKind.Workspace => lookup.Find(program, null),
                        PathKind.Value => lookup.Find(program, p.Value),
                        _ => lookup.Find(program, shell ? "" : ProgramLookup.DefaultPath),
                    };

                    if (shadow is not null)
                    {
                        var where = p.Kind switch
                        {
                            PathKind.Value => $"PATH={p.Value}",
                            PathKind.Unset => shell ? "PATH unset: the shell searches the current directory" : "PATH unset",
                            _ => "the workspace's PATH",
                        };
                        return $"'{program}' cannot be vouched for by security.allowed_commands ({List}): on {where}, {shadow}" + (file is null ? "" : $"; it would run {file}");
                    }

                    files.Add(file);
                }
            }

            if (Wrappers.Contains(name) && invoked == name && files.All(f => f is not null && f == lookup.Trusted(name)))
            {
                return Wrapper(name, words, i + 1, envPaths, cwdKnown);
            }

            foreach (var file in files.Distinct())
            {
                if (Allowed(program, name, invoked, file) is { } refusal)
                {
                    return refusal;
                }
            }

            return null;
        }

        /// <summary>Null when <paramref name="file"/>, reached as <paramref name="program"/> under the name <paramref name="invoked"/>, is what an entry allows.</summary>
        private string? Allowed(string program, string name, string invoked, string? file)
        {
            // An entry that is a path allows that very file, wherever it is (the person named it).
            foreach (var entry in allowed.Where(e => e.Contains('/')))
            {
                if (file is not null && lookup.File(entry) == file && Path.GetFileName(entry) == invoked)
                {
                    return null;
                }
            }

            if (program.Contains('/'))
            {
                if (file is null)
                {
                    return $"'{program}' is not an executable file, and not in security.allowed_commands ({List})";
                }

                var dir = Path.GetDirectoryName(program) is { Length: > 0 } d ? d : ".";
                if ((lookup.Writable(dir) ?? lookup.Writable(file)) is { } why)
                {
                    return $"'{program}' ({file}) is in a place the workspace can write ({why}), so it is not what security.allowed_commands ({List}) allows";
                }
            }

            bool implicitName = InertBuiltins.Contains(name) || Wrappers.Contains(name);
            bool listed = allowed.Contains(name);
            if (!listed && !implicitName)
            {
                return NotAllowed(name, file);
            }

            if (invoked != name)
            {
                return $"'{program}' is started under the name '{invoked}', which a multi-call program may act on; security.allowed_commands ({List}) allows '{name}' only under its own name";
            }

            if (file is null)
            {
                return null; // found nowhere: nothing runs
            }

            var trusted = lookup.Trusted(name);
            return file == trusted
                ? null
                : $"'{program}' would run {file}, not the {name} that security.allowed_commands ({List}) allows ({trusted ?? "none"} on the workspace's trusted PATH)";
        }

        private string NotAllowed(string name, string? file) =>
            $"'{name}' is not in security.allowed_commands ({List})" + (file is null ? "" : $"; it would run {file}");

        /// <summary>The program a wrapper runs, with the environment and directory the wrapper gives it.</summary>
        private string? Wrapper(string name, IReadOnlyList<Word> words, int start, List<SearchPath> envPaths, bool cwdKnown)
        {
            var rest = words.Skip(start).ToList();
            string? replace = null;
            int next;
            switch (name)
            {
                case "env":
                    return Env(rest, envPaths, cwdKnown);
                case "nice":
                    next = 0;
                    while (next < rest.Count && !rest[next].Dynamic && IsNiceAdjustment(rest[next].Text))
                    {
                        next++;
                    }

                    if (next < rest.Count && rest[next].Dynamic)
                    {
                        return Unknowable($"a word that is expanded when it runs among the options of nice ({rest[next].Text})");
                    }

                    var (niceNext, _, niceProblem) = Options.Parse(rest, next, Options.Nice);
                    if (niceProblem is not null)
                    {
                        return Unknowable(niceProblem);
                    }

                    next = niceNext;
                    break;
                case "timeout":
                    {
                        var (n, options, problem) = Options.Parse(rest, 0, Options.Timeout);
                        if (problem is not null)
                        {
                            return Unknowable(problem);
                        }

                        if (options.Any(o => o.Name is "help" or "version"))
                        {
                            return null;
                        }

                        if (n < rest.Count && rest[n].Dynamic)
                        {
                            return Unknowable($"a duration that is expanded when it runs ({rest[n].Text})");
                        }

                        next = n + 1; // the duration
                        break;
                    }

                case "xargs":
                    {
                        var (n, options, problem) = Options.Parse(rest, 0, Options.Xargs);
                        if (problem is not null)
                        {
                            return Unknowable(problem);
                        }

                        foreach (var (option, argument) in options)
                        {
                            if (option == "I")
                            {
                                replace = argument;
                            }
                            else if (option is "i" or "replace")
                            {
                                replace = string.IsNullOrEmpty(argument) ? "{}" : argument;
                            }
                        }

                        if (options.Any(o => o.Name is "help" or "version" or "show-limits"))
                        {
                            return null;
                        }

                        next = n;
                        if (next >= rest.Count)
                        {
                            // xargs runs echo, found on PATH like any program.
                            return Exec([new Word("echo", false)], 0, envPaths, envPaths, null, cwdKnown, shell: false);
                        }

                        break;
                    }

                default:
                    {
                        var (n, options, problem) = Options.Parse(rest, 0, Options.For(name));
                        if (problem is not null)
                        {
                            return Unknowable(problem);
                        }

                        // --help and --version run nothing; ionice -p/-P/-u acts on running processes, and runs nothing.
                        if (options.Any(o => o.Name is "help" or "version" or "h" or "V" or "p" or "P" or "u" or "pid" or "pgid" or "uid"))
                        {
                            return null;
                        }

                        next = n;
                        break;
                    }
            }

            if (next >= rest.Count)
            {
                return null; // nothing to run (the wrapper prints or fails)
            }

            if (replace is { Length: > 0 } && rest[next].Text.Contains(replace, StringComparison.Ordinal))
            {
                return Unknowable($"a program name that xargs substitutes its input into ({rest[next].Text})");
            }

            return Exec(rest, next, envPaths, envPaths, null, cwdKnown, shell: false);
        }

        /// <summary>env: its options (-S splices a re-split string and parsing goes on), its NAME=value words, then the program.</summary>
        private string? Env(List<Word> rest, List<SearchPath> envPaths, bool cwdKnown)
        {
            int next = 0;
            while (next < rest.Count)
            {
                if (rest[next] is { Dynamic: false, Text: "--" })
                {
                    next++;
                    break;
                }

                if (rest[next] is { Dynamic: false, Text: "-" })
                {
                    envPaths = [SearchPath.Unset]; // the obsolete spelling of -i
                    next++;
                    continue;
                }

                var (n, options, problem) = Options.Parse(rest, next, Options.Env, stopAfterOne: true);
                if (problem is not null)
                {
                    return Unknowable(problem);
                }

                if (n == next)
                {
                    break; // not an option
                }

                next = n;
                foreach (var (option, argument) in options)
                {
                    switch (option)
                    {
                        case "i" or "ignore-environment":
                            envPaths = [SearchPath.Unset];
                            break;
                        case "u" or "unset" when argument == "PATH":
                            envPaths = [SearchPath.Unset];
                            break;
                        case "C" or "chdir":
                            cwdKnown = false;
                            break;
                        case "0" or "null" or "help" or "version":
                            return null; // env -0 refuses a command; --help and --version run nothing
                        case "S" or "split-string":
                            var (split, splitProblem) = SplitString(argument ?? "");
                            if (splitProblem is not null)
                            {
                                return Unknowable(splitProblem);
                            }

                            rest.InsertRange(next, split.Select(s => new Word(s, false)));
                            break;
                    }
                }
            }

            while (next < rest.Count && rest[next].Text.Contains('=', StringComparison.Ordinal))
            {
                var w = rest[next];
                var variable = w.Text[..w.Text.IndexOf('=', StringComparison.Ordinal)];
                if (LoadsCode(variable))
                {
                    return $"env sets {variable}, which makes a program load code the line chooses; security.allowed_commands ({List}) cannot vouch for what runs then";
                }

                if (variable == "PATH")
                {
                    envPaths = [w.Dynamic ? SearchPath.Unknown : new SearchPath(PathKind.Value, w.Text[5..])];
                }
                else if (w.Dynamic && SetsPathByExpansion(w.Text))
                {
                    envPaths = [SearchPath.Unknown];
                }

                next++;
            }

            return next >= rest.Count ? null : Exec(rest, next, envPaths, envPaths, null, cwdKnown, shell: false);
        }

        private static bool IsNiceAdjustment(string text) =>
            text.Length >= 2 && text[0] == '-' && (char.IsAsciiDigit(text[1]) || (text.Length >= 3 && text[1] is '-' or '+' && char.IsAsciiDigit(text[2])));

        private string Unknowable(string what) =>
            $"the command line uses {what}, so the commands it runs cannot be checked against security.allowed_commands ({List}) before it starts";
    }

    /// <summary>${PATH:=…} and ${PATH=…} assign PATH as they expand.</summary>
    private static bool SetsPathByExpansion(string text) =>
        text.Contains("${PATH:=", StringComparison.Ordinal) || text.Contains("${PATH=", StringComparison.Ordinal);

    /// <summary>
    /// GNU env's -S: the string split into words as env does (whitespace, quotes, backslash escapes, # comments). A
    /// variable expansion (<c>${NAME}</c>) or an escape env does not know is refused rather than guessed.
    /// </summary>
    internal static (List<string> Words, string? Problem) SplitString(string s)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            if (c == '#' && !inWord)
            {
                break;
            }

            if (c == '$')
            {
                return ([], "env -S with a variable expansion");
            }

            if (c is '\'' or '"')
            {
                inWord = true;
                int end = i + 1;
                while (end < s.Length && s[end] != c)
                {
                    if (s[end] == '\\' && end + 1 < s.Length)
                    {
                        if (Escape(s[end + 1], c == '"') is not { } e)
                        {
                            return ([], $"env -S with the escape \\{s[end + 1]}");
                        }

                        word.Append(e);
                        end += 2;
                        continue;
                    }

                    if (c == '"' && s[end] == '$')
                    {
                        return ([], "env -S with a variable expansion");
                    }

                    word.Append(s[end]);
                    end++;
                }

                if (end >= s.Length)
                {
                    return ([], "env -S with an unclosed quote");
                }

                i = end;
                continue;
            }

            if (c == '\\' && i + 1 < s.Length)
            {
                char n = s[++i];
                if (n == 'c')
                {
                    break; // \c ends the string
                }

                if (n == '_')
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                    continue;
                }

                if (Escape(n, true) is not { } e)
                {
                    return ([], $"env -S with the escape \\{n}");
                }

                word.Append(e);
                inWord = true;
                continue;
            }

            word.Append(c);
            inWord = true;
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return (words, null);

        static string? Escape(char c, bool doubleQuoted) => c switch
        {
            '\\' or '\'' or '"' or '#' or '$' or ' ' => c.ToString(),
            '_' when doubleQuoted => " ",
            'n' => "\n",
            't' => "\t",
            'r' => "\r",
            'f' => "\f",
            'v' => "\v",
            _ => null,
        };
    }

    /// <summary>Option grammars of the wrappers, as their getopt_long strings define them (all stop at the first operand: '+').</summary>
    private static class Options
    {
        /// <param name="WithArgument">Short options that take an argument (attached or the next word).</param>
        /// <param name="OptionalArgument">Short options whose argument, if any, is attached.</param>
        /// <param name="Long">Long options and whether each takes an argument: true required, false none, null optional (only with '=').</param>
        public sealed record Grammar(string WithArgument, string Flags, string OptionalArgument, IReadOnlyDictionary<string, bool?> Long);

        public static readonly Grammar Exec = new("a", "cl", "", new Dictionary<string, bool?>());
        public static readonly Grammar Command = new("", "pvV", "", new Dictionary<string, bool?>());

        public static readonly Grammar Env = new("uCS", "iv0", "", new Dictionary<string, bool?>
        {
            ["ignore-environment"] = false,
            ["null"] = false,
            ["unset"] = true,
            ["chdir"] = true,
            ["split-string"] = true,
            ["debug"] = false,
            ["help"] = false,
            ["version"] = false,
            ["default-signal"] = null,
            ["ignore-signal"] = null,
            ["block-signal"] = null,
            ["list-signal-handling"] = false,
        });

        public static readonly Grammar Nice = new("n", "", "", new Dictionary<string, bool?> { ["adjustment"] = true, ["help"] = false, ["version"] = false });

        public static readonly Grammar Timeout = new("ks", "fpv", "", new Dictionary<string, bool?>
        {
            ["foreground"] = false,
            ["kill-after"] = true,
            ["preserve-status"] = false,
            ["signal"] = true,
            ["verbose"] = false,
            ["help"] = false,
            ["version"] = false,
        });

        public static readonly Grammar Xargs = new("aEILnPsd", "0oprtx", "eil", new Dictionary<string, bool?>
        {
            ["arg-file"] = true,
            ["delimiter"] = true,
            ["eof"] = null,
            ["replace"] = null,
            ["max-lines"] = null,
            ["max-args"] = true,
            ["max-procs"] = true,
            ["max-chars"] = true,
            ["process-slot-var"] = true,
            ["null"] = false,
            ["open-tty"] = false,
            ["interactive"] = false,
            ["no-run-if-empty"] = false,
            ["verbose"] = false,
            ["exit"] = false,
            ["show-limits"] = false,
            ["help"] = false,
            ["version"] = false,
        });

        private static readonly Grammar Nohup = new("", "", "", new Dictionary<string, bool?> { ["help"] = false, ["version"] = false });

        private static readonly Grammar Setsid = new("", "cfwhV", "", new Dictionary<string, bool?>
        {
            ["ctty"] = false,
            ["fork"] = false,
            ["wait"] = false,
            ["help"] = false,
            ["version"] = false,
        });

        private static readonly Grammar Stdbuf = new("ioe", "", "", new Dictionary<string, bool?>
        {
            ["input"] = true,
            ["output"] = true,
            ["error"] = true,
            ["help"] = false,
            ["version"] = false,
        });

        private static readonly Grammar Ionice = new("cnpPu", "thV", "", new Dictionary<string, bool?>
        {
            ["class"] = true,
            ["classdata"] = true,
            ["pid"] = true,
            ["pgid"] = true,
            ["uid"] = true,
            ["ignore"] = false,
            ["help"] = false,
            ["version"] = false,
        });

        public static Grammar For(string wrapper) => wrapper switch
        {
            "nohup" => Nohup,
            "setsid" => Setsid,
            "stdbuf" => Stdbuf,
            "ionice" => Ionice,
            _ => throw new ArgumentOutOfRangeException(nameof(wrapper), wrapper, "no grammar"),
        };

        /// <summary>
        /// The options from <paramref name="start"/> (or just the one word there), as getopt_long with a leading '+'
        /// reads them: up to the first operand or "--". Returns the index of the first word after them.
        /// </summary>
        public static (int Next, List<(string Name, string? Argument)> Options, string? Problem) Parse(IReadOnlyList<Word> words, int start, Grammar grammar, bool stopAfterOne = false)
        {
            var found = new List<(string, string?)>();
            int j = start;
            while (j < words.Count)
            {
                var w = words[j];
                var t = w.Text;
                if (w.Dynamic && t.StartsWith('-'))
                {
                    return (j, found, $"an option that is expanded when it runs ({t})");
                }

                if (w.Dynamic || t == "-" || !t.StartsWith('-'))
                {
                    break;
                }

                if (t == "--")
                {
                    j++;
                    break;
                }

                if (t.StartsWith("--", StringComparison.Ordinal))
                {
                    int eq = t.IndexOf('=', StringComparison.Ordinal);
                    var given = eq < 0 ? t[2..] : t[2..eq];
                    var matches = grammar.Long.Keys.Where(k => k.StartsWith(given, StringComparison.Ordinal)).ToList();
                    var name = matches.Contains(given) ? given : matches.Count == 1 ? matches[0] : null;
                    if (name is null)
                    {
                        return (j, found, matches.Count == 0 ? $"an option its program does not have ({t})" : $"an ambiguous option ({t})");
                    }

                    string? argument = eq < 0 ? null : t[(eq + 1)..];
                    switch (grammar.Long[name])
                    {
                        case true when argument is null:
                            if (j + 1 >= words.Count || words[j + 1].Dynamic)
                            {
                                return (j, found, $"an option argument that is missing or expanded when it runs ({t})");
                            }

                            argument = words[++j].Text;
                            break;
                        case false when argument is not null:
                            return (j, found, $"an option that takes no argument given one ({t})");
                    }

                    found.Add((name, argument));
                    j++;
                }
                else
                {
                    for (int k = 1; k < t.Length; k++)
                    {
                        char c = t[k];
                        if (grammar.WithArgument.Contains(c, StringComparison.Ordinal))
                        {
                            string argument;
                            if (k + 1 < t.Length)
                            {
                                argument = t[(k + 1)..];
                            }
                            else if (j + 1 < words.Count && !words[j + 1].Dynamic)
                            {
                                argument = words[++j].Text;
                            }
                            else
                            {
                                return (j, found, $"an option argument that is missing or expanded when it runs (-{c})");
                            }

                            found.Add((c.ToString(), argument));
                            break;
                        }

                        if (grammar.OptionalArgument.Contains(c, StringComparison.Ordinal))
                        {
                            found.Add((c.ToString(), k + 1 < t.Length ? t[(k + 1)..] : null));
                            break;
                        }

                        if (!grammar.Flags.Contains(c, StringComparison.Ordinal))
                        {
                            return (j, found, $"an option its program does not have (-{c} in {t})");
                        }

                        found.Add((c.ToString(), null));
                    }

                    j++;
                }

                if (stopAfterOne)
                {
                    break;
                }
            }

            return (j, found, null);
        }
    }

    /// <summary>The simple commands of <paramref name="line"/>, or why they cannot be known.</summary>
    internal static (IReadOnlyList<SimpleCommand> Commands, string? Problem) Commands(string line)
    {
        var (words, problem) = Words(line);
        if (problem is not null)
        {
            return ([], problem);
        }

        var commands = new List<SimpleCommand>();
        var assignments = new List<Word>();
        var current = new List<Word>();
        bool redirectTarget = false;

        void End()
        {
            if (assignments.Count > 0 || current.Count > 0)
            {
                commands.Add(new SimpleCommand([.. assignments], [.. current]));
            }

            assignments.Clear();
            current.Clear();
        }

        foreach (var (text, isDynamic, isOperator) in words)
        {
            if (isOperator)
            {
                if (text == "<redirect>")
                {
                    redirectTarget = true;
                }
                else
                {
                    End();
                }

                continue;
            }

            if (redirectTarget)
            {
                redirectTarget = false;
                continue;
            }

            if (current.Count == 0 && IsAssignment(text))
            {
                assignments.Add(new Word(text, isDynamic));
                continue;
            }

            current.Add(new Word(text, isDynamic));
        }

        End();
        return (commands, null);
    }

    /// <summary>The words and operators of <paramref name="line"/> as a POSIX shell splits them, or why they cannot be known.</summary>
    private static (List<(string Text, bool Dynamic, bool Operator)> Words, string? Problem) Words(string line)
    {
        var words = new List<(string Text, bool Dynamic, bool Operator)>();
        var word = new StringBuilder();
        bool inWord = false, dynamic = false;
        int brace = -1;
        int i = 0;

        void EndWord()
        {
            if (inWord)
            {
                words.Add((word.ToString(), dynamic, false));
            }

            word.Clear();
            inWord = false;
            dynamic = false;
            brace = -1;
        }

        while (i < line.Length)
        {
            char c = line[i];
            if (c == '\\')
            {
                if (i + 1 < line.Length && line[i + 1] == '\n')
                {
                    i += 2;
                    continue;
                }

                if (i + 1 < line.Length)
                {
                    word.Append(line[i + 1]);
                }

                inWord = true;
                i += 2;
                continue;
            }

            if (c == '\'')
            {
                int end = line.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    return ([], "the command line has an unclosed single quote");
                }

                word.Append(line, i + 1, end - i - 1);
                inWord = true;
                i = end + 1;
                continue;
            }

            if (c == '"')
            {
                i++;
                inWord = true;
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$' or '`')
                    {
                        word.Append(line[i + 1]);
                        i += 2;
                        continue;
                    }

                    if (line[i] == '`' || (line[i] == '$' && i + 1 < line.Length && line[i + 1] == '('))
                    {
                        return ([], Unknowable("command substitution"));
                    }

                    if (line[i] == '$')
                    {
                        dynamic = true;
                    }

                    word.Append(line[i]);
                    i++;
                }

                if (i >= line.Length)
                {
                    return ([], "the command line has an unclosed double quote");
                }

                i++;
                continue;
            }

            if (c == '`' || (c == '$' && i + 1 < line.Length && line[i + 1] == '('))
            {
                return ([], Unknowable("command substitution"));
            }

            if ((c is '<' or '>') && i + 1 < line.Length && line[i + 1] == '(')
            {
                return ([], Unknowable("process substitution"));
            }

            if (c is '(' or ')')
            {
                return ([], Unknowable("a subshell"));
            }

            if (c is ' ' or '\t')
            {
                EndWord();
                i++;
                continue;
            }

            if (c is ';' or '&' or '|' or '\n')
            {
                EndWord();
                int len = i + 1 < line.Length && line[i + 1] == c && c != '\n' ? 2 : 1;
                words.Add((line.Substring(i, len), false, true));
                i += len;
                continue;
            }

            if (c is '<' or '>')
            {
                // A redirection: digits before it belong to it (2>&1), and it takes the next word as its target.
                bool fdPrefix = inWord && word.Length > 0 && word.ToString().All(char.IsAsciiDigit);
                if (!fdPrefix)
                {
                    EndWord();
                }
                else
                {
                    word.Clear();
                    inWord = false;
                }

                int j = i + 1;
                while (j < line.Length && line[j] is '<' or '>' or '&' or '|')
                {
                    j++;
                }

                words.Add(("<redirect>", false, true));
                i = j;
                continue;
            }

            if (c is '$' or '*' or '?' or '[' or '~')
            {
                dynamic = true;
            }

            // Brace expansion ({a,b}, {1..3}) makes words of its own, the program's name among them; {} alone is literal.
            if (c == '{')
            {
                brace = word.Length;
            }
            else if (c == '}' && brace >= 0 && word.ToString(brace, word.Length - brace) is var inside && (inside.Contains(',', StringComparison.Ordinal) || inside.Contains("..", StringComparison.Ordinal)))
            {
                dynamic = true;
            }

            word.Append(c);
            inWord = true;
            i++;
        }

        EndWord();
        return (words, null);
    }

    private static bool IsAssignment(string word)
    {
        int eq = word.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && (char.IsAsciiLetter(word[0]) || word[0] == '_') && word.AsSpan(0, eq).ToString().All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');
    }

    private static string Unknowable(string what) =>
        $"the command line uses {what}, so the commands it runs cannot be checked against security.allowed_commands before it starts";

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
