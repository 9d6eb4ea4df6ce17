using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchflow.Protocol;

namespace Orchflow.Server.Mcp;

/// <summary>
/// Gemini CLI's configuration for one agent run, without touching the user's own files. Gemini reads MCP servers only
/// from settings files, and since 0.60 it skips a system settings file (<c>GEMINI_CLI_SYSTEM_SETTINGS_PATH</c>) unless
/// the file and every folder above it are owned by root and not group- or other-writable, which no ordinary user can
/// arrange. So Orchflow gives the run a home of its own through <c>GEMINI_CLI_HOME</c> (Gemini's documented override of
/// the folder holding <c>.gemini/</c>), in the agent's private MCP directory: its <c>.gemini/settings.json</c> is a copy
/// of the user's <c>~/.gemini/settings.json</c> with the <c>orchflow</c> server added (and marked trusted, so its calls
/// need no approval), and every other entry of the user's <c>~/.gemini</c> (credentials, extensions, commands, history)
/// is a symbolic link to the user's own, so logins and everything Gemini records still go to the user's folder.
/// Trust decisions go to the user's own <c>trustedFolders.json</c> (<c>GEMINI_CLI_TRUSTED_FOLDERS_PATH</c>): the person
/// answers Gemini's own trust dialog, which Orchflow reports as needs-input, and the answer is kept where Gemini keeps it.
/// Settings Gemini changes during the run are written to the copy and end with it.
/// </summary>
public static class GeminiHome
{
    public const string HomeVariable = "GEMINI_CLI_HOME";
    public const string TrustedFoldersVariable = "GEMINI_CLI_TRUSTED_FOLDERS_PATH";

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <param name="Home">The folder to pass as GEMINI_CLI_HOME.</param>
    /// <param name="TrustedFoldersFile">The user's own trustedFolders.json (it may not exist yet).</param>
    /// <param name="LinkedPaths">The user's entries linked from the run's home, which a strict sandbox must let the run read.</param>
    public sealed record Result(string Home, string TrustedFoldersFile, IReadOnlyList<string> LinkedPaths);

    /// <summary>Builds <c>&lt;agentDir&gt;/gemini-home/.gemini/</c>; throws an <see cref="OrchflowException"/> that says why when it cannot.</summary>
    public static Result Build(string agentDir, string userHome, JsonObject orchflowServer)
    {
        var userGemini = Path.Combine(userHome, ".gemini");
        var home = Path.Combine(agentDir, "gemini-home");
        var gemini = Path.Combine(home, ".gemini");
        var privateDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(home, privateDir);
        Directory.CreateDirectory(gemini, privateDir);

        var userSettings = Path.Combine(userGemini, "settings.json");
        JsonObject settings;
        try
        {
            settings = File.Exists(userSettings)
                ? JsonNode.Parse(File.ReadAllText(userSettings), documentOptions: Lenient) as JsonObject
                    ?? throw new OrchflowException(ErrorCodes.InvalidConfig, $"{userSettings} is not a JSON object.", "Fix it (Gemini CLI refuses it too), then restart the agent.")
                : [];
        }
        catch (JsonException e)
        {
            throw new OrchflowException(ErrorCodes.InvalidConfig, $"Gemini CLI's settings {userSettings} are not valid JSON: {e.Message}", "Fix the file (Gemini CLI cannot read it either), then restart the agent.");
        }

        if (settings["mcpServers"] is not JsonObject servers)
        {
            servers = [];
            settings["mcpServers"] = servers;
        }

        var server = (JsonObject)orchflowServer.DeepClone();
        server["trust"] = true;
        servers[McpAgentSetup.ServerName] = server;
        // An allow-list of MCP servers in the user's settings would leave Orchflow's out.
        if (settings["mcp"] is JsonObject { } mcp && mcp["allowed"] is JsonArray allowed && !allowed.Any(a => a?.GetValue<string>() == McpAgentSetup.ServerName))
        {
            allowed.Add(McpAgentSetup.ServerName);
        }

        Write(Path.Combine(gemini, "settings.json"), settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        var linked = new List<string>();
        if (Directory.Exists(userGemini))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(userGemini))
            {
                var name = Path.GetFileName(entry);
                if (name is "settings.json" or "trustedFolders.json")
                {
                    continue;
                }

                File.CreateSymbolicLink(Path.Combine(gemini, name), entry);
                linked.Add(entry);
            }
        }

        return new Result(home, Path.Combine(userGemini, "trustedFolders.json"), linked);
    }

    private static void Write(string path, string content)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        stream.Write(Encoding.UTF8.GetBytes(content));
    }
}
