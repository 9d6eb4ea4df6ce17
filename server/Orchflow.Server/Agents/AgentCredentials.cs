namespace Orchflow.Server.Agents;

/// <summary>
/// Whether a built-in agent CLI has any credentials in the environment and home it will run with: a vendor's key or
/// token variable, or the file its own login writes. Orchflow's terminals get a small allowlist of the user's
/// environment, so a key exported in the user's shell is not there unless the workspace passes it through; without this
/// check a batch run would fail after it started and an interactive one would sit at a login screen, neither saying why.
/// It looks only for presence: whether a key is valid is the vendor's to say.
/// </summary>
public static class AgentCredentials
{
    /// <param name="Files">Files of a login, relative to HOME; with "FILE|TEXT", the file counts only when it contains TEXT
    /// (Claude writes ~/.claude.json on its first start, logged in or not; its login adds oauthAccount).</param>
    private sealed record Vendor(string[] Variables, string[] Files, string Login, string KeyVariable);

    private static readonly Dictionary<string, Vendor> Vendors = new(StringComparer.Ordinal)
    {
        ["claude"] = new(
            ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY"],
            [".claude/.credentials.json", ".claude/settings.json|apiKeyHelper", ".claude.json|oauthAccount", ".claude.json|primaryApiKey"],
            "run `claude` once in a terminal and log in",
            "ANTHROPIC_API_KEY"),
        ["codex"] = new(
            ["OPENAI_API_KEY", "CODEX_API_KEY"],
            [".codex/auth.json", ".codex/config.toml"],
            "run `codex login`",
            "OPENAI_API_KEY"),
        ["gemini"] = new(
            ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA", "GOOGLE_APPLICATION_CREDENTIALS", "GEMINI_CLI_USE_COMPUTE_ADC"],
            [".gemini/oauth_creds.json", ".gemini/.env", ".gemini/settings.json|compute-default-credentials", ".gemini/settings.json|vertex-ai"],
            "run `gemini` once in a terminal and sign in",
            "GEMINI_API_KEY"),
    };

    /// <summary>
    /// Null when the CLI of <paramref name="vendor"/> has something to authenticate with (or is not a vendor Orchflow
    /// knows), else what to do: name the variable to pass through, or the CLI's own login.
    /// </summary>
    /// <param name="environment">The environment the agent will get.</param>
    /// <param name="workspaceConfig">The workspace's .orchflow/workspace.json, for the message.</param>
    public static string? Missing(string vendor, IReadOnlyDictionary<string, string> environment, string? workspaceConfig)
    {
        if (!Vendors.TryGetValue(vendor, out var v))
        {
            return null;
        }

        if (v.Variables.Any(name => environment.TryGetValue(name, out var value) && value.Length > 0))
        {
            return null;
        }

        if (environment.TryGetValue("HOME", out var home) && home.Length > 0 && v.Files.Any(f => HasLogin(home, f)))
        {
            return null;
        }

        var config = workspaceConfig ?? "the workspace's .orchflow/workspace.json";
        return $"The {vendor} CLI has no credentials here: none of {string.Join(", ", v.Variables)} is in its environment and there is no login of its own in {(home is { Length: > 0 } ? home : "$HOME")} ({string.Join(", ", v.Files.Select(f => "~/" + f.Split('|')[0]).Distinct())}). "
            + $"To give it your key, export {v.KeyVariable} where the Orchflow daemon starts and add \"{v.KeyVariable}\" to agents.env_passthrough in {config}, "
            + $"or store it as a workspace secret; or {v.Login}.";
    }

    private static bool HasLogin(string home, string entry)
    {
        var parts = entry.Split('|', 2);
        var file = Path.Combine(home, parts[0]);
        try
        {
            return File.Exists(file) && (parts.Length == 1 || File.ReadAllText(file).Contains(parts[1], StringComparison.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
