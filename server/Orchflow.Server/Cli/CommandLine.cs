namespace Orchflow.Server.Cli;

/// <summary>A usage error: the command line itself is wrong. Exit code 2.</summary>
public sealed class CliException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// A small, strict parser for <c>orchflow &lt;noun&gt; &lt;verb&gt; [args] [--option value] [--flag]</c>.
/// Strict on purpose: an unknown option is an error naming it, so a typo never silently does the wrong thing.
/// </summary>
public sealed class CommandLine
{
    private readonly List<string> _positionals = [];
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);

    public CommandLine(IEnumerable<string> args, IReadOnlySet<string> valueOptions)
    {
        bool onlyPositionals = false;
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var a = e.Current;
            if (onlyPositionals || a == "-" || !a.StartsWith('-'))
            {
                _positionals.Add(a);
                continue;
            }

            if (a == "--")
            {
                onlyPositionals = true;
                continue;
            }

            var name = a.TrimStart('-');
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (valueOptions.Contains(name))
            {
                if (!e.MoveNext())
                {
                    throw new CliException($"--{name} needs a value.");
                }

                value = e.Current;
            }

            if (name == "h")
            {
                name = "help";
            }

            _options[name] = value;
        }
    }

    public IReadOnlyList<string> Positionals => _positionals;

    public string? Positional(int index) => index < _positionals.Count ? _positionals[index] : null;

    public string RequirePositional(int index, string what) =>
        Positional(index) ?? throw new CliException($"Missing {what}.");

    public string? Option(string name)
    {
        _consumed.Add(name);
        if (_options.TryGetValue(name, out var v))
        {
            return v ?? throw new CliException($"--{name} needs a value.");
        }

        return null;
    }

    public bool Flag(string name)
    {
        _consumed.Add(name);
        return _options.TryGetValue(name, out var v) && v is null or "true" or "1";
    }

    /// <summary>Fails on any option the command did not ask for, and on surplus positional arguments.</summary>
    public void EnsureNoUnknown(int maxPositionals = int.MaxValue)
    {
        var unknown = _options.Keys.Where(k => !_consumed.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new CliException($"Unknown option --{unknown[0]}. Run `orchflow help` for the options of each command.");
        }

        if (_positionals.Count > maxPositionals)
        {
            throw new CliException($"Unexpected argument '{_positionals[maxPositionals]}'.");
        }
    }
}
