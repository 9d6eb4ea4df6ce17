using System.Text;

namespace Orchflow.Server.Security;

/// <summary>
/// security.allowed_commands, checked before Orchflow launches anything: an agent's program, and every command of a
/// <c>--cmd</c> command line. A command line is read the way a POSIX shell splits it into simple commands (quotes,
/// backslashes, <c>;</c> <c>&amp;</c> <c>|</c> <c>&amp;&amp;</c> <c>||</c>, newlines, redirections, leading
/// <c>NAME=value</c> assignments); anything whose commands cannot be known before it runs is refused rather than
/// guessed: command and process substitution, subshells and groups, control structures (<c>if</c>, <c>for</c>, …),
/// and a program name that comes from a variable or a glob.
/// </summary>
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

    /// <summary>
    /// Null when every command of <paramref name="line"/> may run; otherwise why not, naming the command and the rule.
    /// </summary>
    /// <param name="resolve">Resolves a program name or path to a canonical absolute path (on the workspace's PATH), or null.</param>
    public static string? CheckLine(string line, IReadOnlyList<string> allowed, Func<string, string?> resolve)
    {
        var (programs, problem) = Programs(line);
        if (problem is not null)
        {
            return problem;
        }

        foreach (var program in programs)
        {
            if (InertBuiltins.Contains(program))
            {
                continue;
            }

            if (CheckProgram(program, allowed, resolve) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="program"/> is in <paramref name="allowed"/>; otherwise the refusal.</summary>
    /// <remarks>
    /// A name entry ("cargo") allows that name, and a path only when it is the very file the name resolves to on the
    /// workspace's PATH: a copy of another program named ./cargo is not cargo. An absolute entry allows that file.
    /// </remarks>
    public static string? CheckProgram(string program, IReadOnlyList<string> allowed, Func<string, string?> resolve)
    {
        var resolved = program.Contains('/') ? resolve(program) : null;
        foreach (var entry in allowed)
        {
            if (!entry.Contains('/'))
            {
                if (program == entry)
                {
                    return null;
                }

                if (resolved is not null && resolve(entry) == resolved)
                {
                    return null;
                }
            }
            else if ((resolved ?? resolve(program)) is { } actual && resolve(entry) == actual)
            {
                return null;
            }
        }

        return $"'{program}' is not in security.allowed_commands ({string.Join(", ", allowed)})";
    }

    /// <summary>The program of every simple command in <paramref name="line"/>, or why they cannot be known.</summary>
    public static (IReadOnlyList<string> Programs, string? Problem) Programs(string line)
    {
        var programs = new List<string>();
        var words = new List<(string Text, bool Dynamic, bool Operator)>();
        var word = new StringBuilder();
        bool inWord = false, dynamic = false;
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

            word.Append(c);
            inWord = true;
            i++;
        }

        EndWord();

        bool commandStart = true;
        bool redirectTarget = false;
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
                    commandStart = true;
                }

                continue;
            }

            if (redirectTarget)
            {
                redirectTarget = false;
                continue;
            }

            if (!commandStart)
            {
                continue;
            }

            if (!isDynamic && IsAssignment(text))
            {
                continue;
            }

            if (text == "exec")
            {
                continue; // exec PROGRAM: the program that follows is the command.
            }

            if (Keywords.Contains(text))
            {
                return ([], Unknowable($"'{text}' (a control structure)"));
            }

            if (isDynamic)
            {
                return ([], Unknowable($"a program name that is expanded when it runs ({text})"));
            }

            programs.Add(text);
            commandStart = false;
        }

        return (programs, null);
    }

    private static bool IsAssignment(string word)
    {
        int eq = word.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && (char.IsAsciiLetter(word[0]) || word[0] == '_') && word.AsSpan(0, eq).ToString().All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');
    }

    private static string Unknowable(string what) =>
        $"the command line uses {what}, so the commands it runs cannot be checked against security.allowed_commands before it starts";
}
