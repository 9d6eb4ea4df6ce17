namespace Orchflow.Server.Terminals;

/// <summary>
/// Builds a workspace process's environment instead of inheriting the daemon's: a small allowlist from the user's
/// login environment, then the workspace's shared_env, then Orchflow's own variables (which nothing can override).
/// Nothing else of the daemon's environment, and nothing of another workspace, reaches the child.
/// </summary>
public static class TerminalEnvironment
{
    /// <summary>What a shell needs to behave like the user's own; everything else stays out (tokens, sockets, editor internals).</summary>
    public static readonly IReadOnlyList<string> Allowlist =
    [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_COLLATE",
        "LC_NUMERIC", "LC_TIME", "LC_MONETARY", "TZ", "TMPDIR", "EDITOR", "VISUAL", "PAGER",
    ];

    /// <summary>
    /// The variable prefixes of each vendor's CLI (credentials, base URLs, options). A vendor's variable named in a
    /// workspace's <c>agents.env_passthrough</c> reaches only that vendor's agents: an Anthropic key never reaches Codex.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> VendorPrefixes = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        ["claude"] = ["ANTHROPIC_", "CLAUDE_"],
        ["codex"] = ["OPENAI_", "CODEX_"],
        ["gemini"] = ["GEMINI_", "GOOGLE_"],
    };

    /// <summary>
    /// The variables of the user's environment that an agent gets through its workspace's passthrough list: a vendor's
    /// variable only when the agent is that vendor's (<paramref name="agentNames"/>: its type's name and its program's
    /// file name, so a custom type that runs <c>claude</c> counts), any other name for every agent. Unset or empty variables are left out. Terminals never get these; other workspaces have their own list.
    /// </summary>
    public static Dictionary<string, string> Passthrough(IEnumerable<string> names, IReadOnlyCollection<string> agentNames, Func<string, string?> userEnvironment)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var vendor = VendorPrefixes.FirstOrDefault(v => v.Value.Any(p => name.StartsWith(p, StringComparison.Ordinal))).Key;
            if (vendor is not null && !agentNames.Contains(vendor))
            {
                continue;
            }

            if (userEnvironment(name) is { Length: > 0 } value)
            {
                result[name] = value;
            }
        }

        return result;
    }

    public static Dictionary<string, string> Build(
        Func<string, string?> userEnvironment,
        IReadOnlyDictionary<string, string> sharedEnv,
        IReadOnlyDictionary<string, string> orchflowVariables)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Allowlist)
        {
            if (userEnvironment(name) is { Length: > 0 } value)
            {
                env[name] = value;
            }
        }

        env["TERM"] = "xterm-256color";
        env["COLORTERM"] = "truecolor";
        env.TryAdd("PATH", "/usr/local/bin:/usr/bin:/bin");
        foreach (var (key, value) in sharedEnv)
        {
            env[key] = value;
        }

        foreach (var (key, value) in orchflowVariables)
        {
            env[key] = value;
        }

        return env;
    }
}
