using System.Text;

namespace Orchflow.Server.Security;

/// <summary>
/// A command line read the way a POSIX shell splits it into simple commands (quotes, backslashes, <c>;</c> <c>&amp;</c>
/// <c>|</c> <c>&amp;&amp;</c> <c>||</c>, newlines, redirections, leading <c>NAME=value</c> assignments), and GNU env's
/// <c>-S</c> string split as env splits it. Whatever cannot be known before the line runs (command and process
/// substitution, subshells, an unclosed quote) is reported as a problem rather than guessed; a word the shell expands
/// when it runs is marked dynamic. What the commands may run is <see cref="CommandPolicy"/>'s to decide.
/// </summary>
internal static class ShellCommandLine
{
    /// <summary>A word of the command line: its text after quote removal, and whether the shell expands it when it runs.</summary>
    internal readonly record struct Word(string Text, bool Dynamic);

    /// <summary>A simple command: its leading assignments and its words (redirections removed).</summary>
    internal sealed record SimpleCommand(IReadOnlyList<Word> Assignments, IReadOnlyList<Word> Words);

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
}
