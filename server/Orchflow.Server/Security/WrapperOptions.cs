using static Orchflow.Server.Security.ShellCommandLine;

namespace Orchflow.Server.Security;

/// <summary>Option grammars of the wrappers <see cref="ProgramCheck"/> unwraps, as their getopt_long strings define them (all stop at the first operand: '+').</summary>
internal static class WrapperOptions
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
