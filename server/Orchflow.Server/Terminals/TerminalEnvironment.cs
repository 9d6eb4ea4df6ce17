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
