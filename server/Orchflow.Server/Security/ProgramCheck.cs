using static Orchflow.Server.Security.ShellCommandLine;

namespace Orchflow.Server.Security;

/// <summary>Where a lookup searches: the workspace's PATH, a given value, PATH unset, or a value that cannot be known before the line runs.</summary>
internal readonly record struct SearchPath(PathKind Kind, string Value = "")
{
    public static readonly SearchPath Workspace = new(PathKind.Workspace);
    public static readonly SearchPath Unset = new(PathKind.Unset);
    public static readonly SearchPath Unknown = new(PathKind.Unknown);
}

internal enum PathKind
{
    Workspace,
    Value,
    Unset,
    Unknown,
}

/// <summary>
/// One program started as a file, by the shell or by execvp: found on the PATH it is looked up in, followed through
/// the wrappers that run the program their arguments name, and held to security.allowed_commands. It keeps no state
/// of its own; <see cref="CommandLineCheck"/> carries what a command line changes (PATH, the directory) from one
/// command to the next.
/// </summary>
internal sealed class ProgramCheck(IReadOnlyList<string> allowed, ProgramLookup lookup)
{
    /// <summary>Builtins that run nothing else; any other builtin (eval, source, command, exec's target…) must be allowed by name.</summary>
    public static readonly HashSet<string> InertBuiltins = new(StringComparer.Ordinal)
    {
        "cd", "echo", "printf", "true", "false", ":", "export", "set", "unset", "test", "[", "pwd", "exit", "read", "wait", "shift", "umask",
    };

    /// <summary>Programs that run the program their arguments name, unwrapped when they are the ones on the trusted PATH.</summary>
    public static readonly HashSet<string> Wrappers = new(StringComparer.Ordinal) { "env", "nice", "nohup", "timeout", "setsid", "stdbuf", "xargs", "ionice" };

    /// <summary>Variables that make a dynamically linked program, or a shell, load code the command line chooses.</summary>
    public static bool LoadsCode(string name) =>
        name.StartsWith("LD_", StringComparison.Ordinal) || name is "GCONV_PATH" or "BASH_ENV" or "ENV";

    /// <summary>${PATH:=…} and ${PATH=…} assign PATH as they expand.</summary>
    public static bool SetsPathByExpansion(string text) =>
        text.Contains("${PATH:=", StringComparison.Ordinal) || text.Contains("${PATH=", StringComparison.Ordinal);

    /// <summary>security.allowed_commands as the refusals name it.</summary>
    public string List => string.Join(", ", allowed);

    /// <summary>Whether security.allowed_commands has an entry that is exactly <paramref name="name"/>.</summary>
    public bool Lists(string name) => allowed.Contains(name);

    /// <summary>The program of <paramref name="argv"/>, started directly (as by execvp) in the launch's directory with the workspace's PATH.</summary>
    public string? Argv(IReadOnlyList<string> argv) =>
        Exec([.. argv.Select(a => new Word(a, false))], 0, [SearchPath.Workspace], [SearchPath.Workspace], null, cwdKnown: true, shell: false);

    /// <summary>
    /// A program started as a file: by the shell (<paramref name="shell"/>: bash searches the current directory when
    /// PATH is unset) or by execvp (a wrapper, an agent's argv: the default PATH when unset). Wrappers are followed.
    /// </summary>
    /// <param name="lookupPaths">Where the program itself is looked up.</param>
    /// <param name="envPaths">PATH in the environment it gets: where a program it wraps is looked up.</param>
    /// <param name="argv0">The name it is given (exec -a), when not its own.</param>
    public string? Exec(IReadOnlyList<Word> words, int i, List<SearchPath> lookupPaths, List<SearchPath> envPaths, string? argv0, bool cwdKnown, bool shell)
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
        bool listed = Lists(name);
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

    public string NotAllowed(string name, string? file) =>
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

                var (niceNext, _, niceProblem) = WrapperOptions.Parse(rest, next, WrapperOptions.Nice);
                if (niceProblem is not null)
                {
                    return Unknowable(niceProblem);
                }

                next = niceNext;
                break;
            case "timeout":
                {
                    var (n, options, problem) = WrapperOptions.Parse(rest, 0, WrapperOptions.Timeout);
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
                    var (n, options, problem) = WrapperOptions.Parse(rest, 0, WrapperOptions.Xargs);
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
                    var (n, options, problem) = WrapperOptions.Parse(rest, 0, WrapperOptions.For(name));
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

            var (n, options, problem) = WrapperOptions.Parse(rest, next, WrapperOptions.Env, stopAfterOne: true);
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

    public string Unknowable(string what) =>
        $"the command line uses {what}, so the commands it runs cannot be checked against security.allowed_commands ({List}) before it starts";
}
