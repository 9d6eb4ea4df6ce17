using System.Text;
using System.Text.RegularExpressions;
using Orchflow.Config;
using Orchflow.Protocol;

namespace Orchflow.Server.Agents;

/// <summary>
/// An agent type in force: how to start its CLI and how to read its terminal. Built from the built-in table, then the
/// global orchflow.toml, then the workspace's workspace.json (each replaces the one before, by name).
/// </summary>
public sealed record AgentType(
    string Name,
    string DisplayName,
    string Command,
    AgentTypeSource Source,
    bool BuiltIn,
    IReadOnlyDictionary<string, string> Env,
    string? Purpose,
    IReadOnlyList<string> NeedsInputPatterns,
    IReadOnlyList<string> DonePatterns,
    string? InstallCommand)
{
    /// <summary>Where this definition came from, for messages ("orchflow.toml", a workspace.json path).</summary>
    public string? SourceFile { get; init; }

    /// <summary>The command template of <see cref="AgentMode.Batch"/> (the CLI's non-interactive mode); null when the type has none.</summary>
    public string? BatchCommand { get; init; }

    /// <summary>The oldest CLI version that accepts the flags and settings Orchflow passes to a built-in type; checked with <c>--version</c> at spawn.</summary>
    public Version? MinimumVersion { get; init; }
}

/// <summary>The built-in agent types, the merge with the config files, and the safe argv of a command template.</summary>
public static class AgentTypes
{
    public const string TaskPlaceholder = "{task}";

    /// <summary>Replaced by the workspace terminals' shell (default_shell in orchflow.toml, else $SHELL).</summary>
    public const string ShellPlaceholder = "{shell}";

    /// <summary>The type whose task is itself a command line, run by the shell.</summary>
    public const string CommandType = "command";

    /// <summary>How long a pattern may take on one line before it counts as no match; a pathological regex must not stall the daemon.</summary>
    public static readonly TimeSpan PatternTimeout = TimeSpan.FromMilliseconds(50);

    // Declared before the table below: static initializers run in textual order.
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    // Confirmation prompts that the interactive CLIs print; a quiet prompt is caught by the generic rule anyway.
    private static readonly string[] YesNo = [@"(?i)[\[(](y/n|yes/no)[\])]\s*$"];

    /// <summary>
    /// The agent CLIs Orchflow knows. Codex and Gemini start interactively with the task as their first prompt, Codex's
    /// after <c>--</c> so that no task is read as an option; in batch mode each runs its non-interactive command, the
    /// task after <c>--</c> where the CLI has variadic options (Claude's <c>--mcp-config</c> takes several). Claude
    /// Code's TUI sends a task given in argv before its MCP servers have connected (2.1.337, whatever its settings), so
    /// its interactive template has no <c>{task}</c>: the task is typed at its first prompt once it has connected to
    /// Orchflow's MCP server (<see cref="AgentDetection.McpConnectGrace"/>). Aider has no such argument (<c>--message</c>
    /// exits after one reply), so its task is typed at its first prompt too; it is not on npm.
    /// The minimum versions are the releases the <c>agents</c> test tier has run end to end (tests/agents/package.json):
    /// older ones are refused with the version to install, unless the type's command is replaced in the config.
    /// </summary>
    public static IReadOnlyList<AgentType> BuiltIns { get; } =
    [
        new AgentType("claude", "Claude Code", "claude", AgentTypeSource.BuiltIn, true, Empty, "Anthropic's coding agent, in its interactive terminal UI; the task is typed at its first prompt once it has connected to Orchflow's MCP server.",
            [.. YesNo, @"(?i)do you want to (proceed|make this edit|create|run|allow)", @"❯\s*1\.\s*Yes"], [],
            "npm install -g @anthropic-ai/claude-code")
        { BatchCommand = "claude -p -- {task}", MinimumVersion = new Version(2, 1, 337) },
        new AgentType("codex", "Codex CLI", "codex -- {task}", AgentTypeSource.BuiltIn, true, Empty, "OpenAI's coding agent, in its interactive terminal UI.",
            [.. YesNo, @"(?i)allow (command|codex)", @"(?i)approve"], [],
            "npm install -g @openai/codex")
        { BatchCommand = "codex exec --skip-git-repo-check -- {task}", MinimumVersion = new Version(0, 171, 0) },
        new AgentType("gemini", "Gemini CLI", "gemini -i {task}", AgentTypeSource.BuiltIn, true, Empty, "Google's coding agent, interactive after the first prompt.",
            [.. YesNo, @"(?i)allow execution", @"(?i)apply this change\?", @"(?i)waiting for user confirmation"], [],
            "npm install -g @google/gemini-cli")
        { BatchCommand = "gemini -p {task}", MinimumVersion = new Version(0, 61, 0) },
        new("aider", "Aider", "aider", AgentTypeSource.BuiltIn, true, Empty, "AI pair programming in the terminal; the task is typed at its first prompt. Not on npm: install it with Python.",
            [.. YesNo, @"\(Y\)es/\(N\)o.*:\s*$"], [],
            "python -m pip install aider-install && aider-install"),
        new(CommandType, "Command", "{shell} -c {task}", AgentTypeSource.BuiltIn, true, Empty, "Any command line, run by the workspace's shell; the task is the command.",
            [], [], null),
    ];

    /// <summary>
    /// Every type in force for a workspace: built-ins, replaced by the global config's types of the same name, replaced by
    /// the workspace's. A replacing definition keeps what it leaves out of the one it replaces: patterns when it lists
    /// none, the purpose when it has none, and environment variables it does not set.
    /// </summary>
    public static IReadOnlyDictionary<string, AgentType> Merge(
        IReadOnlyDictionary<string, AgentTypeConfig> global, string globalFile,
        IReadOnlyDictionary<string, AgentTypeConfig>? workspace, string? workspaceFile)
    {
        var result = BuiltIns.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Apply(result, global, AgentTypeSource.Global, globalFile);
        if (workspace is not null)
        {
            Apply(result, workspace, AgentTypeSource.Workspace, workspaceFile);
        }

        return result;
    }

    private static void Apply(Dictionary<string, AgentType> types, IReadOnlyDictionary<string, AgentTypeConfig> configs, AgentTypeSource source, string? file)
    {
        foreach (var (name, c) in configs)
        {
            types.TryGetValue(name, out var below);
            var env = new Dictionary<string, string>(below?.Env ?? Empty, StringComparer.Ordinal);
            foreach (var (key, value) in c.Env)
            {
                env[key] = value;
            }

            types[name] = new AgentType(
                name,
                below?.DisplayName ?? name,
                c.Command,
                source,
                below?.BuiltIn ?? false,
                env,
                c.Purpose ?? below?.Purpose,
                c.NeedsInputPatterns.Count > 0 ? c.NeedsInputPatterns : below?.NeedsInputPatterns ?? [],
                c.DonePatterns.Count > 0 ? c.DonePatterns : below?.DonePatterns ?? [],
                below?.InstallCommand)
            {
                SourceFile = file,
                // The batch command and the version floor belong to the built-in command line: a replaced command
                // (another binary, other flags) keeps them only when it is the same command.
                BatchCommand = below is not null && below.Command == c.Command ? below.BatchCommand : null,
                MinimumVersion = below is not null && below.Command == c.Command ? below.MinimumVersion : null,
            };
        }
    }

    /// <summary>
    /// Splits a command template into words the way a shell would split plain words, and nothing more: whitespace
    /// separates, single quotes keep everything literally, double quotes keep everything but <c>\"</c> and <c>\\</c>,
    /// a backslash outside quotes escapes the next character. No variable, glob or command substitution exists.
    /// </summary>
    public static IReadOnlyList<string> SplitTemplate(string template)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < template.Length; i++)
        {
            char c = template[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            if (c == '\'')
            {
                int end = template.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw Unbalanced(template, "'");
                }

                word.Append(template, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '"')
            {
                int j = i + 1;
                for (; j < template.Length && template[j] != '"'; j++)
                {
                    if (template[j] == '\\' && j + 1 < template.Length && template[j + 1] is '"' or '\\')
                    {
                        j++;
                    }

                    word.Append(template[j]);
                }

                if (j >= template.Length)
                {
                    throw Unbalanced(template, "\"");
                }

                i = j;
            }
            else if (c == '\\' && i + 1 < template.Length)
            {
                word.Append(template[++i]);
            }
            else
            {
                word.Append(c);
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    /// <summary>
    /// The argv of an agent: the template is split first, then <c>{shell}</c> and <c>{task}</c> are substituted inside
    /// each word, so the task always stays inside the one word that named it, whatever quotes or metacharacters it holds.
    /// </summary>
    /// <returns>The argv, and whether the task went into it (false: type it at the first prompt).</returns>
    public static (IReadOnlyList<string> Argv, bool TaskInArgv) BuildArgv(AgentType type, string task, string shell) =>
        BuildArgv(type, AgentMode.Interactive, task, shell);

    /// <summary>The argv of an agent in <paramref name="mode"/>: the type's command, or its batch command.</summary>
    public static (IReadOnlyList<string> Argv, bool TaskInArgv) BuildArgv(AgentType type, AgentMode mode, string task, string shell)
    {
        var template = mode == AgentMode.Batch
            ? type.BatchCommand ?? throw new OrchflowException(ErrorCodes.InvalidArgument, $"Agent type '{type.Name}' has no batch mode.",
                type.BuiltIn && type.BatchCommand is null && BuiltIns.Any(b => b.Name == type.Name && b.BatchCommand is not null)
                    ? $"Its command was replaced in {type.SourceFile ?? "the config"}; spawn it without --mode batch, or put the non-interactive flags in that command."
                    : "Spawn it without --mode batch (interactive), or use claude, codex or gemini, which have one.")
            : type.Command;
        var words = SplitTemplate(template);
        if (words.Count == 0)
        {
            throw new OrchflowException(ErrorCodes.InvalidConfig, $"The command of agent type '{type.Name}' is empty.", ConfigureHint(type));
        }

        bool taskInArgv = false;
        var argv = new List<string>(words.Count);
        foreach (var w in words)
        {
            var value = w.Replace(ShellPlaceholder, shell, StringComparison.Ordinal);
            if (value.Contains(TaskPlaceholder, StringComparison.Ordinal))
            {
                taskInArgv = true;
                value = value.Replace(TaskPlaceholder, task, StringComparison.Ordinal);
            }

            argv.Add(value);
        }

        return (argv, taskInArgv);
    }

    /// <summary>The program of a type, for the installed check: the first word of its template.</summary>
    public static string Program(AgentType type, string shell)
    {
        var words = SplitTemplate(type.Command);
        return words.Count == 0 ? "" : words[0].Replace(ShellPlaceholder, shell, StringComparison.Ordinal);
    }

    /// <summary>
    /// Finds <paramref name="program"/> the way the terminal will: a name with a slash relative to the working directory,
    /// otherwise on <paramref name="searchPath"/> (the PATH the agent's terminal gets). Null when it is not there or not executable.
    /// </summary>
    public static string? Resolve(string program, string? searchPath, string workingDirectory)
    {
        if (program.Length == 0)
        {
            return null;
        }

        if (program.Contains('/'))
        {
            var full = Path.GetFullPath(program, workingDirectory);
            return IsExecutableFile(full) ? full : null;
        }

        foreach (var entry in (searchPath ?? "/bin:/usr/bin").Split(':'))
        {
            var candidate = Path.Join(Path.GetFullPath(entry.Length == 0 ? "." : entry, workingDirectory), program);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutableFile(string path)
    {
        try
        {
            const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            return File.Exists(path) && (File.GetUnixFileMode(path) & AnyExecute) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>"Claude Code (`claude`) is not installed: install it with ..., or set [agents.types.claude] command in orchflow.toml."</summary>
    public static string NotInstalledMessage(AgentType type, string program)
    {
        var install = type.InstallCommand is { } cmd ? $"install it with `{cmd}`, or " : $"install `{program}`, or ";
        var where = type.Source == AgentTypeSource.Workspace && type.SourceFile is { } file
            ? $"fix agents.types.{type.Name}.command in {file}"
            : $"set [agents.types.{type.Name}] command in orchflow.toml";
        return $"{type.DisplayName} (`{program}`) is not installed: {install}{where}.";
    }

    public static string InstallHint(AgentType type, string program) =>
        type.InstallCommand is { } cmd
            ? $"Install it with `{cmd}`, or set [agents.types.{type.Name}] command in orchflow.toml (or agents.types.{type.Name}.command in the workspace's .orchflow/workspace.json) to where it is."
            : $"Install `{program}`, or change [agents.types.{type.Name}] command in {type.SourceFile ?? "orchflow.toml"}.";

    public static string ConfigureHint(AgentType type) =>
        $"Fix the command of agent type '{type.Name}' in {type.SourceFile ?? "orchflow.toml"}.";

    public static IReadOnlyList<Regex> Compile(IReadOnlyList<string> patterns)
    {
        var result = new List<Regex>(patterns.Count);
        foreach (var p in patterns)
        {
            try
            {
                result.Add(new Regex(p, RegexOptions.CultureInvariant, PatternTimeout));
            }
            catch (ArgumentException)
            {
                // The config loader validated the pattern already; one that still fails is skipped, not fatal.
            }
        }

        return result;
    }

    private static OrchflowException Unbalanced(string template, string quote) =>
        new(ErrorCodes.InvalidConfig, $"The agent command template has an unclosed {quote} quote: {template}", "Close the quote in the agent type's command.");
}
