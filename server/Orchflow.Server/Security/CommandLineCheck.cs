using static Orchflow.Server.Security.ShellCommandLine;

namespace Orchflow.Server.Security;

/// <summary>
/// The check of one command line, command by command: the shell's state as far as it matters (every value PATH may
/// have, whether the directory is still the launch's), the builtins that change it, and the builtins that run a
/// program (<c>exec</c>, <c>command</c>, <c>builtin</c>). Each program the line starts goes to <see cref="ProgramCheck"/>.
/// </summary>
internal sealed class CommandLineCheck(ProgramCheck program)
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "select", "function", "{", "}", "!", "[[", "]]", "time", "coproc",
    };

    /// <summary>bash builtins that change the shell's own state in ways not followed here; allowed by name, they make later lookups unknowable.</summary>
    private static readonly HashSet<string> StatefulBuiltins = new(StringComparer.Ordinal)
    {
        "declare", "typeset", "local", "readonly", "mapfile", "readarray", "getopts", "let", "eval", "source", ".", "hash", "alias", "enable", "shopt", "pushd", "popd", "trap",
    };

    /// <summary>Every value PATH may have at this point of the line (a change may or may not have run: &amp;&amp;, ||).</summary>
    private readonly List<SearchPath> _paths = [SearchPath.Workspace];
    private bool _cwdKnown = true;

    public string? Shell(SimpleCommand command)
    {
        var paths = _paths.ToList();
        SearchPath? assigned = null;
        foreach (var a in command.Assignments)
        {
            var name = a.Text[..a.Text.IndexOf('=', StringComparison.Ordinal)];
            if (ProgramCheck.LoadsCode(name))
            {
                return $"the command line sets {name}, which makes a program load code the line chooses; security.allowed_commands ({program.List}) cannot vouch for what runs then";
            }

            if (name == "PATH")
            {
                assigned = a.Dynamic ? SearchPath.Unknown : new SearchPath(PathKind.Value, a.Text[5..]);
                paths = [assigned.Value];
            }
        }

        foreach (var w in command.Words.Concat(command.Assignments))
        {
            if (w.Dynamic && ProgramCheck.SetsPathByExpansion(w.Text))
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
            return program.Unknowable($"'{first.Text}' (a control structure)");
        }

        if (first.Dynamic)
        {
            return program.Unknowable($"a program name that is expanded when it runs ({first.Text})");
        }

        switch (first.Text)
        {
            case "exec":
                {
                    // A special builtin: assignments before it stay. It always runs a file, never a builtin.
                    Persist(assigned);
                    var (next, options, problem) = WrapperOptions.Parse(words, i + 1, WrapperOptions.Exec);
                    if (problem is not null)
                    {
                        return program.Unknowable(problem);
                    }

                    if (next >= words.Count)
                    {
                        return null; // only redirections
                    }

                    var argv0 = options.LastOrDefault(o => o.Name == "a").Argument;
                    var env = options.Any(o => o.Name == "c") ? [SearchPath.Unset] : paths;
                    return program.Exec(words, next, paths, env, argv0, _cwdKnown, shell: true);
                }

            case "command":
                {
                    var (next, options, problem) = WrapperOptions.Parse(words, i + 1, WrapperOptions.Command);
                    if (problem is not null)
                    {
                        return program.Unknowable(problem);
                    }

                    if (next >= words.Count || options.Any(o => o.Name is "v" or "V"))
                    {
                        return null; // describes a command, runs nothing
                    }

                    var lookupPaths = options.Any(o => o.Name == "p") ? [new SearchPath(PathKind.Value, ProgramLookup.DefaultPath)] : paths;
                    return IsShellLevel(words[next])
                        ? ShellWords(words, next, [.. paths, .. lookupPaths], assigned)
                        : program.Exec(words, next, lookupPaths, paths, null, _cwdKnown, shell: true);
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
                        return program.Unknowable($"a builtin name that is expanded when it runs ({b.Text})");
                    }

                    if (IsShellLevel(b))
                    {
                        return ShellWords(words, i + 1, paths, assigned);
                    }

                    // Runs a builtin or nothing, never a file: the name alone decides.
                    if (program.Lists(b.Text))
                    {
                        Unfollowable(b.Text);
                        return null;
                    }

                    return program.NotAllowed(b.Text, null);
                }
        }

        if (ProgramCheck.InertBuiltins.Contains(first.Text))
        {
            Persist(assigned); // export, unset, set, ':' … are special builtins
            return Inert(first.Text, words.Skip(i + 1).ToList());
        }

        var refusal = program.Exec(words, i, paths, paths, null, _cwdKnown, shell: true);
        if (refusal is null && StatefulBuiltins.Contains(first.Text))
        {
            Unfollowable(first.Text);
        }

        return refusal;
    }

    private static bool IsShellLevel(Word w) => !w.Dynamic && (ProgramCheck.InertBuiltins.Contains(w.Text) || w.Text is "exec" or "command" or "builtin");

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
                    if (eq > 0 && ProgramCheck.LoadsCode(variable))
                    {
                        return $"the command line exports {variable}, which makes a program load code the line chooses; security.allowed_commands ({program.List}) cannot vouch for what runs then";
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
}
