using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchflow.Protocol;
using Orchflow.Server.Agents;

namespace Orchflow.Server.Mcp;

/// <summary>How to start <c>orchflow mcp</c>: this program and its arguments.</summary>
public sealed record McpLaunch(string File, IReadOnlyList<string> Args)
{
    /// <summary>
    /// This very program (the apphost, or <c>dotnet orchflow.dll</c>) with <c>mcp</c>, through <c>env</c> so that its
    /// runtime starts with the diagnostics endpoints closed whatever environment the agent CLI passes on: the process
    /// holds the agent's token (<see cref="Hosting.RuntimeDiagnostics"/>).
    /// </summary>
    public static McpLaunch Self()
    {
        var (file, args) = Cli.DaemonClient.SelfCommand(["mcp"]);
        (file, args) = Hosting.RuntimeDiagnostics.Closed(file, args);
        return new McpLaunch(file, args);
    }
}

/// <summary>
/// Gives every agent run its MCP access: a token (in <c>ORCHFLOW_MCP_TOKEN</c> and in a private token file), the MCP
/// socket, and an MCP client configuration that starts <c>orchflow mcp</c>, in the agent's private directory
/// <c>data/agents/&lt;workspace&gt;/&lt;agent&gt;.mcp/</c> (0700, files 0600, deleted when the run ends). Built-in agent
/// types are started with it already configured:
/// Claude Code with <c>--mcp-config FILE</c>; Codex CLI with <c>-c mcp_servers.orchflow.command=…</c> and <c>args=…</c>;
/// Gemini CLI through <c>GEMINI_CLI_SYSTEM_SETTINGS_PATH</c> pointing at a settings file with <c>mcpServers</c>;
/// Aider has no MCP client, so it gets only the variables. The server's arguments name the token file rather than
/// relying on the environment, because Codex passes only a fixed list of variables to MCP servers.
/// </summary>
public sealed class McpAgentSetup(AgentTokens tokens, string dataDirectory, string? mcpSocket, McpLaunch launch) : IAgentRunHooks
{
    public const string ServerName = "orchflow";

    private readonly Dictionary<string, string> _dirs = new(StringComparer.Ordinal);

    public static string DirectoryFor(string dataDirectory, string workspaceId, string agentId) =>
        Path.Combine(dataDirectory, "agents", workspaceId, agentId + ".mcp");

    public AgentRunSetup Prepare(AgentRunContext context)
    {
        var token = tokens.Mint(context.WorkspaceId, context.AgentId);
        var dir = DirectoryFor(dataDirectory, context.WorkspaceId, context.AgentId);
        try
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            lock (_dirs)
            {
                _dirs[context.AgentId] = dir;
            }

            var tokenFile = Path.Combine(dir, "token");
            WritePrivate(tokenFile, token);
            var args = new List<string>(launch.Args) { "--token-file", tokenFile };
            if (mcpSocket is not null)
            {
                args.AddRange(["--socket", mcpSocket]);
            }

            var server = new JsonObject
            {
                ["command"] = launch.File,
                ["args"] = new JsonArray(args.Select(a => (JsonNode)a).ToArray()),
            };
            var config = new JsonObject { ["mcpServers"] = new JsonObject { [ServerName] = server } };
            var configFile = Path.Combine(dir, "mcp.json");
            WritePrivate(configFile, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

            var variables = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["ORCHFLOW_MCP_TOKEN"] = token,
                ["ORCHFLOW_MCP_CONFIG"] = configFile,
            };
            if (mcpSocket is not null)
            {
                variables["ORCHFLOW_MCP_SOCKET"] = mcpSocket;
            }

            var argv = context.Argv;
            var program = Path.GetFileName(argv[0]);
            var sandboxPaths = new List<string> { dir };
            bool configured = context.Type.BuiltIn && program == context.Type.Name && context.Type.Name is "claude" or "codex" or "gemini";
            if (configured)
            {
                switch (context.Type.Name)
                {
                    case "claude":
                        argv = ClaudeArgv(argv, configFile);
                        // Claude Code connects MCP servers in the background unless told to wait; this makes `claude -p`
                        // wait. Its TUI sends a first turn given in argv before they connect all the same (2.1.337), so
                        // the interactive type takes no task argument: AgentService types it once the server connected.
                        variables["MCP_CONNECTION_NONBLOCKING"] = "false";
                        break;
                    case "codex":
                        argv = [argv[0], .. CodexArgs(launch.File, args), .. argv.Skip(1)];
                        break;
                    case "gemini":
                        var home = GeminiHome.Build(dir, UserHome(), server);
                        variables[GeminiHome.HomeVariable] = home.Home;
                        variables[GeminiHome.TrustedFoldersVariable] = home.TrustedFoldersFile;
                        sandboxPaths.AddRange(home.LinkedPaths);
                        break;
                }
            }

            // A strict sandbox hides Orchflow's data and run directories; the agent still reaches its own MCP
            // directory and the MCP socket (whose calls its token limits to its workspace), and nothing else there.
            if (mcpSocket is not null)
            {
                sandboxPaths.Add(mcpSocket);
            }

            return new AgentRunSetup(argv, variables) { SandboxReadOnly = sandboxPaths, McpClientConfigured = configured };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Ended(context.AgentId);
            throw new OrchflowException(ErrorCodes.InvalidPath, $"The MCP configuration of agent {context.AgentId} could not be written in {dir}: {e.Message}", "Check the permissions and free space of Orchflow's data directory.");
        }
    }

    public void Ended(string agentId)
    {
        tokens.Revoke(agentId);
        string? dir;
        lock (_dirs)
        {
            _dirs.Remove(agentId, out dir);
        }

        if (dir is not null)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The token inside is revoked already; a leftover file grants nothing.
            }
        }
    }

    /// <summary>
    /// Claude Code's argv: <c>--mcp-config FILE</c> and <c>--allowedTools mcp__orchflow</c> (Orchflow's tools act only on
    /// the agent's own workspace, so they need no approval, which a batch run could not give). Both options take several
    /// values, so when the next word is not an option a <c>--</c> ends them: the task is never read as a config file.
    /// </summary>
    internal static IReadOnlyList<string> ClaudeArgv(IReadOnlyList<string> argv, string configFile)
    {
        var rest = argv.Skip(1).ToList();
        var result = new List<string> { argv[0], "--mcp-config", configFile, "--allowedTools", $"mcp__{ServerName}" };
        if (rest.Count > 0 && !rest[0].StartsWith('-'))
        {
            result.Add("--");
        }

        result.AddRange(rest);
        return result;
    }

    /// <summary>
    /// Codex's <c>-c</c> overrides: the server; its tools approved without a prompt (they act only on the agent's own
    /// workspace, and <c>codex exec</c> refuses any call that needs approval); and <c>required</c>, which makes Codex wait
    /// for the server before the first turn and fail at start, with the reason, when it cannot start.
    /// </summary>
    internal static IReadOnlyList<string> CodexArgs(string command, IReadOnlyList<string> args) =>
    [
        "-c", $"mcp_servers.{ServerName}.command={Toml(command)}",
        "-c", $"mcp_servers.{ServerName}.args=[{string.Join(", ", args.Select(Toml))}]",
        "-c", $"mcp_servers.{ServerName}.default_tools_approval_mode=\"approve\"",
        "-c", $"mcp_servers.{ServerName}.required=true",
    ];

    private static string UserHome() =>
        Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static void WritePrivate(string path, string content)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        stream.Write(Encoding.UTF8.GetBytes(content));
    }

    /// <summary>A TOML basic string.</summary>
    internal static string Toml(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }
}
