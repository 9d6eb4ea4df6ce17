using Orchflow.Protocol;
using Orchflow.Server.Configuration;
using Orchflow.Server.Terminals;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Agents;

/// <summary>
/// The agent types in force in a workspace (the built-ins, overridden by orchflow.toml and then by the workspace's
/// config), and what a run of one needs there: its argv, checked (installed on the PATH its terminals get, allowed by
/// the workspace's policy), its own environment, and whether a vendor CLI has any credentials.
/// </summary>
internal sealed class WorkspaceAgentTypes(WorkspaceService workspaces, TerminalService terminals, GlobalSettings settings)
{
    /// <summary>Every type in force for a workspace, with whether its program is found on that workspace's PATH.</summary>
    public IReadOnlyList<AgentTypeInfo> List(WorkspaceInfo ws)
    {
        var shell = Shell();
        var order = AgentTypes.BuiltIns.Select((t, i) => (t.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        return Merged(ws).Values
            .OrderBy(t => order.TryGetValue(t.Name, out var i) ? i : int.MaxValue).ThenBy(t => t.Name, StringComparer.Ordinal)
            .Select(t =>
            {
                string program = "";
                string? resolved = null;
                try
                {
                    program = AgentTypes.Program(t, shell);
                    resolved = AgentTypes.Resolve(program, SearchPath(ws, t), ws.RootPath);
                }
                catch (OrchflowException)
                {
                    // An unclosed quote: shown as not installed, with the hint to fix the command.
                }

                return new AgentTypeInfo
                {
                    Name = t.Name,
                    DisplayName = t.DisplayName,
                    Command = t.Command,
                    BuiltIn = t.BuiltIn,
                    Source = t.Source,
                    Installed = resolved is not null,
                    ResolvedPath = resolved,
                    InstallHint = resolved is null ? AgentTypes.NotInstalledMessage(t, program) : null,
                    Purpose = t.Purpose,
                    NeedsInputPatterns = t.NeedsInputPatterns,
                    DonePatterns = t.DonePatterns,
                };
            }).ToList();
    }

    /// <summary>The argv of a run, once the program is known to be installed on the workspace terminal's PATH.</summary>
    public (IReadOnlyList<string> Argv, bool TaskInArgv) Prepare(WorkspaceInfo ws, AgentType type, AgentMode mode, string task, string cwd)
    {
        var (argv, taskInArgv) = AgentTypes.BuildArgv(type, mode, task, Shell());
        if (AgentTypes.Resolve(argv[0], SearchPath(ws, type), cwd) is null)
        {
            throw new OrchflowException(ErrorCodes.NotFound, AgentTypes.NotInstalledMessage(type, argv[0]),
                $"It was looked for on the PATH of workspace '{ws.Id}' terminals: {SearchPath(ws, type)}.");
        }

        terminals.CheckLaunch(ws, argv, cwd, type.Env, $"agent of type {type.Name}");

        return (argv, taskInArgv);
    }

    private IReadOnlyDictionary<string, AgentType> Merged(WorkspaceInfo ws)
    {
        var (types, file) = workspaces.WithWorkspace(ws.Id, w => (w.Config?.AgentTypes, w.ConfigPath));
        return AgentTypes.Merge(settings.Current.AgentTypes, settings.Path, types, file);
    }

    public AgentType Resolve(WorkspaceInfo ws, string name)
    {
        var types = Merged(ws);
        return types.TryGetValue(name ?? "", out var type)
            ? type
            : throw new OrchflowException(ErrorCodes.NotFound, $"No agent type '{name}' in workspace '{ws.Id}'.",
                $"Known types: {string.Join(", ", types.Keys.Order(StringComparer.Ordinal))}. Define others under agents.types in orchflow.toml or the workspace's .orchflow/workspace.json.");
    }

    /// <summary>The variables of the user's environment this agent gets through its workspace's agents.env_passthrough.</summary>
    public Dictionary<string, string> Passthrough(WorkspaceInfo ws, AgentType type, string program)
    {
        var names = workspaces.WithWorkspace(ws.Id, w => w.Config?.EnvPassthrough) ?? [];
        return names.Count == 0
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : TerminalEnvironment.Passthrough(names, [type.Name, Path.GetFileName(program)], Environment.GetEnvironmentVariable);
    }

    /// <summary>An agent's own variables: the passed-through ones of the user's environment, then its type's env (which the config sets explicitly, so it wins).</summary>
    public Dictionary<string, string> Env(WorkspaceInfo ws, AgentType type, string program)
    {
        var env = Passthrough(ws, type, program);
        foreach (var (key, value) in type.Env)
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>
    /// Before a spawn: a vendor CLI with no credentials at all. A batch run cannot log in, so it is refused with what to
    /// do; an interactive one can log in in its own terminal, so the spawn goes on and its first event says what is missing.
    /// </summary>
    public string? CheckCredentials(WorkspaceInfo ws, AgentType type, AgentMode mode, string program)
    {
        if (!type.BuiltIn)
        {
            return null;
        }

        var env = terminals.EnvironmentFor(ws, "agent-credentials", null, Env(ws, type, program));
        var configPath = workspaces.WithWorkspace(ws.Id, w => w.ConfigPath);
        var missing = AgentCredentials.Missing(Path.GetFileName(program) == type.Name ? type.Name : "", env, configPath);
        if (missing is not null && mode == AgentMode.Batch)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, missing, "A batch run cannot ask for a login; give the CLI its credentials first, or spawn it interactively and log in in its terminal.");
        }

        return missing;
    }

    public string? SearchPath(WorkspaceInfo ws, AgentType type) =>
        terminals.EnvironmentFor(ws, "agent-types", null, type.Env).GetValueOrDefault("PATH");

    public string Shell()
    {
        try
        {
            return terminals.Shell();
        }
        catch (OrchflowException)
        {
            return "/bin/sh";
        }
    }
}
