using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

/// <summary>
/// Entry point of the <c>orchflow</c> executable: the daemon, the stdio server and the command-line client
/// in one program. Exit codes: 0 success, 1 the operation failed (reason on stderr), 2 usage error,
/// 3 a daemon already runs (daemon and serve) or the wait timed out (agent wait).
/// </summary>
public static class CliApp
{
    public const string Usage = """
        Usage: orchflow <command> [options]

        Workspaces
          workspace create PATH [--name NAME] [--id ID] [--namespace NS] [--write-config] [--json]
          workspace list [--json]
          workspace show [ID] [--json]               without ID: the workspace this call is in (below)
          workspace update ID [--name NAME] [--repo-url URL] [--redetect] [--accept-root] [--json]
                                      --accept-root adopts the folder now at a replaced root (a person's decision)
          workspace switch ID [--json]             later commands without --workspace go there (below)
          workspace rm ID [--json]
          workspace reload [ID] [--json]
          workspace confirm-policy ID [--yes | --reject] [--json]
                                      show the weaker policy its config file asks for, and apply it (asks y/N on a
                                      terminal; --yes for scripts) or keep the current one (--reject); a person's
                                      decision, refused from any process Orchflow started
          workspace audit ID [--tail N] [--json]      refusals, denials, limits and policy changes of the workspace
          workspace suspend|resume ID [--json]        stop every process of the workspace / continue them
        The workspace a command acts in, when it takes --workspace and is not given it: ORCHFLOW_WORKSPACE (set in
        every Orchflow terminal), else the registered workspace whose root contains the current directory, else the
        one last given to `workspace switch`, else default.
        Terminals
          terminal create [--workspace ID] [--name NAME] [--purpose shell|build|test|repl|agent]
                          [--cmd "COMMAND LINE"] [--cwd DIR] [--json]
          terminal list [--workspace ID] [--json]
          terminal send TERMINAL TEXT [--json]        type TEXT; \r is Enter, also \n \t \e (Esc) \xHH (\x03 Ctrl-C) \\
          terminal read TERMINAL [--tail N] [--screen] [--json]
                                      its scrollback as plain text; --screen: what is visible now
          terminal kill TERMINAL [--json]             end its process tree and remove it
          terminal attach TERMINAL    interactive; Ctrl-B d detaches, Ctrl-B Ctrl-B types Ctrl-B. With stdin not a
                                      terminal: types stdin, then detaches once output is quiet for 0.5 s (5 s at most)
        Agents
          agent spawn [--workspace ID] --type TYPE [--mode interactive|batch] [--worktree] [--name NAME] "TASK" [--json]
                                      TYPE: claude, codex, gemini, aider, command (TASK is a command line) or a
                                      configured type; --worktree works in a new git worktree on branch orchflow/AGENT;
                                      --mode batch runs the CLI non-interactively (claude -p, codex exec, gemini -p)
          agent list [--workspace ID] [--json]      state, task, CPU and memory (— until measured)
          agent show AGENT [--json]                 every field and its recent events; while it needs input, the
                                      question its screen shows and its numbered choices
          agent logs AGENT [--tail N] [--follow] [--json]
                                      its log as plain text; --follow prints new output until it ends (Ctrl-C stops)
          agent send AGENT TEXT [--json]            type TEXT into it, escapes as in terminal send ('y\r' answers y)
          agent answer AGENT CHOICE [--question TEXT] [--json]
                                      pick a choice of the menu it shows: its number as listed, or the start of its
                                      label; with --question, refused if the screen asks something else by now
          agent pause|resume|stop|restart AGENT [--json]
          agent rm AGENT [--json]                   stop it if it runs, delete its log and worktree
          agent wait AGENT --until needs-input|done [--timeout S] [--json]
                                      exit 0 when reached; for done, 0 if it succeeded, 1 if it failed, was stopped or
                                      interrupted; 3 when S seconds pass first
          agent types [--workspace ID] [--json]     the types in force, where each is defined, whether it is installed
          agent events [--workspace ID] [--limit N] [--json]  the workspace's recent agent activity
        Memory (one segment per workspace, shared by its agents)
          memory set KEY VALUE [--workspace ID] [--json-value] [--tags a,b] [--ttl 7d|0] [--json]   VALUE - reads stdin
          memory get KEY [--workspace ID] [--json]    prints the value; exit 1 when there is none
          memory rm KEY [--workspace ID] [--json]
          memory search [--workspace ID] [--prefix P] [--tags a,b] [--text T] [--limit N] [--json]
          memory list [--workspace ID] [--after KEY] [--limit N] [--json]
          memory stats [--workspace ID] [--json]
          memory export [--workspace ID] [--out FILE] [--json]         JSON lines; stdout without --out
          memory import FILE [--workspace ID] [--replace] [--json]     FILE - reads stdin; --replace starts empty
                                      (and is how a damaged segment is replaced: its file is moved aside, never deleted)
          mcp [--token-file FILE] [--socket PATH]   the MCP server (stdio) that agents' CLIs start; needs an agent's
                                      token (ORCHFLOW_MCP_TOKEN or --token-file), which Orchflow sets up for its agents
        Secrets (injected only into the workspace's processes; values never shown in full)
          secret set [--workspace ID] NAME [--json]   the value is read from stdin (typed without echo on a terminal)
          secret list [--workspace ID] [--json]
          secret rm [--workspace ID] NAME [--json]
        Status and daemon
          status [--json]
          daemon                      run the daemon in the foreground
          daemon start|ensure [--json] start the daemon if none is running
          daemon stop                 stop the running daemon
          daemon status [--json]      is a daemon running, and where
          serve --stdio               serve one client over stdin/stdout
        Other
          schema export [--out DIR] [--check]
          version

        ID is a workspace id, its name, or its root path; TERMINAL a terminal id (see `orchflow terminal list`); AGENT an
        agent id (see `orchflow agent list`). ORCHFLOW_HOME moves all of Orchflow's files.
        """;

    private static readonly HashSet<string> ValueOptions = new(StringComparer.Ordinal) { "name", "id", "namespace", "out", "repo-url", "workspace", "purpose", "cmd", "cwd", "tail", "type", "until", "timeout", "limit", "tags", "ttl", "prefix", "text", "after", "token-file", "socket", "mode", "question" };

#pragma warning disable RS0030 // The CLI's entry point is the one place that reads the caller's directory, to make its relative paths absolute.
    public static async Task<int> RunAsync(string[] args) => await RunAsync(args, Output.Console(), OrchflowPaths.FromEnvironment(), Environment.CurrentDirectory).ConfigureAwait(false);
#pragma warning restore RS0030

    /// <param name="workingDirectory">The caller's directory, used only to make relative paths on the command line absolute before they are sent.</param>
    public static async Task<int> RunAsync(string[] args, Output output, OrchflowPaths paths, string workingDirectory)
    {
        try
        {
            var cmd = new CommandLine(args, ValueOptions);
            var noun = cmd.Positional(0);
            if (noun is null or "help" || cmd.Flag("help"))
            {
                output.Line(Usage);
                return noun is null && !cmd.Flag("help") ? 2 : 0;
            }

            return noun switch
            {
                "workspace" or "ws" => await WorkspaceCommands.RunAsync(cmd, output, paths, workingDirectory).ConfigureAwait(false),
                "terminal" or "term" => await TerminalCommands.RunAsync(cmd, output, paths, workingDirectory).ConfigureAwait(false),
                "agent" => await AgentCommands.RunAsync(cmd, output, paths, workingDirectory).ConfigureAwait(false),
                "memory" or "mem" => await MemoryCommands.RunAsync(cmd, output, paths, workingDirectory, Console.In).ConfigureAwait(false),
                "mcp" => await McpCommand.RunAsync(cmd, output, paths).ConfigureAwait(false),
                "secret" => await SecretCommands.RunAsync(cmd, output, paths, workingDirectory, name => SecretCommands.ReadValue(name, output.Error)).ConfigureAwait(false),
                "status" => await StatusCommand.RunAsync(cmd, output, paths).ConfigureAwait(false),
                "daemon" => await DaemonCommands.RunAsync(cmd, output, paths).ConfigureAwait(false),
                "serve" => await ServeAsync(cmd, paths).ConfigureAwait(false),
                "schema" when cmd.Positional(1) == "export" => SchemaCommand.Run(cmd, output),
                "version" or "--version" => Version(output),
                _ => throw new CliException($"Unknown command '{noun}'. Run `orchflow help`."),
            };
        }
        catch (CliException ex)
        {
            output.Fail(ex.Message);
            return ex.ExitCode;
        }
        catch (RemoteFailure ex)
        {
            output.Fail(ex.Hint is null ? ex.Message : $"{ex.Message} {ex.Hint}");
            foreach (var d in ex.Diagnostics)
            {
                output.Error.WriteLine($"  {d.File}:{d.Line}:{d.Column}: {d.Severity.ToString().ToLowerInvariant()}: {d.Message}");
            }

            return 1;
        }
        catch (OrchflowException ex)
        {
            output.Fail(ex.Hint is null ? ex.Message : $"{ex.Message} {ex.Hint}");
            return 1;
        }
    }

    private static int Version(Output output)
    {
        output.Line($"orchflow {Rpc.OrchflowServer.Version} (protocol {Rpc.LifecycleHandlers.ProtocolVersion})");
        return 0;
    }

    private static Task<int> ServeAsync(CommandLine cmd, OrchflowPaths paths)
    {
        if (!cmd.Flag("stdio"))
        {
            throw new CliException("`orchflow serve` needs --stdio (the daemon serves its socket: `orchflow daemon`).");
        }

        cmd.EnsureNoUnknown(maxPositionals: 1);
        return StdioHost.RunAsync(paths);
    }
}
