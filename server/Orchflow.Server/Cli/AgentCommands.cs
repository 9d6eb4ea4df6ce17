using System.Globalization;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

/// <summary>
/// <c>orchflow agent ...</c>: spawn agents, watch them, answer them, control them. Every verb here is one request to
/// the daemon, written out by <see cref="AgentFormat"/>; <c>wait</c> (<see cref="AgentWait"/>) and <c>logs --follow</c>
/// (<see cref="AgentLogFollow"/>) subscribe to <c>orchflow/agent/changed</c> first and then read the agent, so no
/// change between the two is missed.
/// </summary>
internal static class AgentCommands
{
    /// <summary>How many of an agent's events <c>agent show</c> lists (the newest).</summary>
    internal const int ShowEvents = 10;

    /// <summary>Characters of the task in the <c>agent list</c> table; <c>agent show</c> has all of it.</summary>
    internal const int TaskColumnChars = 40;

    private const string Verbs = "spawn, list, show, logs, send, answer, pause, resume, stop, restart, rm, wait, types or events";
    internal const string IdHint = "agent ID (see `orchflow agent list`)";

    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory)
    {
        var verb = cmd.Positional(1) ?? throw new CliException($"Missing agent command: {Verbs}.");
        return verb switch
        {
            "spawn" => await SpawnAsync(cmd, output, paths, workingDirectory).ConfigureAwait(false),
            "list" or "ls" => await ListAsync(cmd, output, paths).ConfigureAwait(false),
            "show" => await ShowAsync(cmd, output, paths).ConfigureAwait(false),
            "logs" or "log" => await LogsAsync(cmd, output, paths).ConfigureAwait(false),
            "send" => await SendAsync(cmd, output, paths).ConfigureAwait(false),
            "answer" => await AnswerAsync(cmd, output, paths).ConfigureAwait(false),
            "pause" or "resume" or "stop" or "restart" => await ControlAsync(verb, cmd, output, paths).ConfigureAwait(false),
            "rm" or "remove" => await RemoveAsync(cmd, output, paths).ConfigureAwait(false),
            "wait" => await AgentWait.RunAsync(cmd, output, paths).ConfigureAwait(false),
            "types" => await TypesAsync(cmd, output, paths, workingDirectory).ConfigureAwait(false),
            "events" => await EventsAsync(cmd, output, paths, workingDirectory).ConfigureAwait(false),
            _ => throw new CliException($"Unknown agent command '{verb}'. Use {Verbs}."),
        };
    }

    private static async Task<int> SpawnAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory)
    {
        bool json = cmd.Flag("json");
        var named = cmd.Option("workspace");
        var type = cmd.Option("type")
            ?? throw new CliException("Missing --type TYPE: claude, codex, gemini, aider, command, or a type from your config (see `orchflow agent types`).");
        var name = cmd.Option("name");
        var mode = cmd.Option("mode") switch
        {
            null or "interactive" => AgentMode.Interactive,
            "batch" => AgentMode.Batch,
            var other => throw new CliException($"--mode must be interactive (the CLI's terminal UI, the default) or batch (its non-interactive mode: claude -p, codex exec, gemini -p), not '{other}'."),
        };
        bool worktree = cmd.Flag("worktree");
        var task = cmd.RequirePositional(2, "TASK: what the agent should do, in quotes (for --type command, the command line)");
        if (cmd.Positionals.Count > 3)
        {
            throw new CliException($"TASK must be one argument: put it in quotes, e.g. orchflow agent spawn{(named is null ? "" : $" --workspace {named}")} --type {type} \"{string.Join(' ', cmd.Positionals.Skip(2))}\".");
        }

        cmd.EnsureNoUnknown(maxPositionals: 3);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var a = await client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams
        {
            WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false),
            Type = type,
            Task = task,
            Mode = mode == AgentMode.Batch ? mode : null,
            Worktree = worktree,
            Name = name,
        }).ConfigureAwait(false);
        if (json)
        {
            output.Json(a);
        }
        else
        {
            var where = $"Spawned agent '{a.Id}' ({a.Type}) in workspace '{a.WorkspaceId}'";
            output.Line(a.State switch
            {
                AgentState.Queued => $"{where}: queued at position {a.QueuePosition}; it starts when a slot of the workspace's max_agents frees.",
                AgentState.Failed => $"{where}.",
                _ => $"{where}: {AgentFormat.State(a)} in terminal '{a.TerminalId}'.",
            });
            if (a.Worktree is { } w)
            {
                output.Line($"It works in {w.Path}, on branch {w.Branch}.");
            }
        }

        if (a.State == AgentState.Failed)
        {
            output.Fail($"agent '{a.Id}' failed: {a.Message}");
            return 1;
        }

        return 0;
    }

    private static async Task<int> ListAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        var p = new AgentListParams { WorkspaceId = cmd.Option("workspace") };
        cmd.EnsureNoUnknown(maxPositionals: 2);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var result = await client.InvokeAsync<AgentListResult>(Methods.AgentList, p).ConfigureAwait(false);
        if (json)
        {
            output.Json(result);
            return 0;
        }

        output.Table(
            ["ID", "NAME", "WORKSPACE", "TYPE", "STATE", "TASK", "CPU", "MEMORY"],
            result.Agents.Select(a => (IReadOnlyList<string>)
            [
                a.Id,
                a.Name ?? "-",
                a.WorkspaceId,
                a.Type,
                AgentFormat.State(a),
                AgentFormat.Truncate(a.Task, TaskColumnChars),
                AgentFormat.Cpu(a.CpuPercent),
                AgentFormat.Ram(a.MemoryBytes),
            ]));
        return 0;
    }

    private static async Task<int> ShowAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        var id = cmd.RequirePositional(2, IdHint);
        cmd.EnsureNoUnknown(maxPositionals: 3);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var a = await client.InvokeAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = id }).ConfigureAwait(false);
        if (json)
        {
            output.Json(a);
            return 0;
        }

        // Events are kept per workspace (the newest 500); this agent's are among them.
        var events = await client.InvokeAsync<AgentEventsResult>(Methods.AgentEvents, new AgentEventsParams { WorkspaceId = a.WorkspaceId, Limit = Storage.AgentStore.EventsPerWorkspace }).ConfigureAwait(false);
        var rows = new List<(string, string)>
        {
            ("id", a.Id),
            ("name", a.Name ?? "-"),
            ("workspace", a.WorkspaceId),
            ("type", a.Mode == AgentMode.Batch ? $"{a.Type} (batch)" : a.Type),
            ("state", AgentFormat.State(a)),
        };
        if (a.Message is { } message)
        {
            rows.Add(("message", message));
        }

        rows.AddRange(
        [
            ("task", AgentFormat.OneLine(a.Task)),
            ("terminal", a.TerminalId ?? "-"),
            ("cwd", a.Cwd),
            ("worktree", a.Worktree is { } w ? $"{w.Path}, branch {w.Branch}" : "-"),
            ("runs", a.Runs.ToString(CultureInfo.InvariantCulture)),
            ("created", AgentFormat.Time(a.CreatedAt)),
            ("started", a.StartedAt is { } started ? AgentFormat.Time(started) : "-"),
            ("ended", a.EndedAt is { } ended ? AgentFormat.Time(ended) : "-"),
            ("mcp connected", a.McpConnectedAt is { } connected ? AgentFormat.Time(connected) : "-"),
        ]);
        if (a.NeedsInputSince is { } since)
        {
            rows.Add(("waiting since", AgentFormat.Time(since)));
        }

        if (a.DoneAt is { } done)
        {
            rows.Add(("reported done", AgentFormat.Time(done)));
        }

        rows.AddRange(
        [
            ("last line", a.LastLine ?? "-"),
            ("cpu", AgentFormat.Cpu(a.CpuPercent)),
            ("memory", AgentFormat.Ram(a.MemoryBytes)),
            ("processes", a.Processes?.ToString(CultureInfo.InvariantCulture) ?? "—"),
            ("log", a.LogPath),
        ]);
        foreach (var (k, v) in rows)
        {
            output.Line($"{k + ":",-15}{v}");
        }

        AgentFormat.PrintQuestion(a, output);
        var mine = events.Events.Where(e => e.AgentId == a.Id).Take(ShowEvents).Reverse().ToList();
        output.Line(mine.Count == 0 ? "recent events: none" : "recent events:");
        foreach (var e in mine)
        {
            output.Line($"  {AgentFormat.Time(e.At)}  {e.Message}");
        }

        return 0;
    }

    private static async Task<int> LogsAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        bool follow = cmd.Flag("follow") || cmd.Flag("f");
        var id = cmd.RequirePositional(2, IdHint);
        var tail = TerminalCommands.ParseTail(cmd.Option("tail"));
        cmd.EnsureNoUnknown(maxPositionals: 3);
        if (follow && json)
        {
            throw new CliException("--follow prints the log as plain text as it grows; leave out --json (or --follow).");
        }

        if (follow)
        {
            return await AgentLogFollow.RunAsync(id, tail, output, paths).ConfigureAwait(false);
        }

        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var result = await client.InvokeAsync<AgentLogsResult>(Methods.AgentLogs, new AgentLogsParams { Id = id, Tail = tail }).ConfigureAwait(false);
        if (json)
        {
            output.Json(result);
        }
        else
        {
            output.Out.Write(result.Text);
        }

        return 0;
    }

    private static async Task<int> SendAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        var id = cmd.RequirePositional(2, IdHint);
        var text = cmd.RequirePositional(3, @"TEXT to send (e.g. 'y\r': \r is Enter)");
        cmd.EnsureNoUnknown(maxPositionals: 4);
        var data = TerminalCommands.Unescape(text);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var a = await client.InvokeAsync<AgentInfo>(Methods.AgentSend, new AgentSendParams { Id = id, Text = data }).ConfigureAwait(false);
        if (json)
        {
            output.Json(a);
        }
        else
        {
            output.Line($"Sent to agent '{a.Id}'; it is {AgentFormat.State(a)}.");
        }

        return 0;
    }

    private static async Task<int> AnswerAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        var question = cmd.Option("question");
        var id = cmd.RequirePositional(2, IdHint);
        var choice = cmd.RequirePositional(3, "CHOICE: the number of a choice as `orchflow agent show` lists it, or the start of its label");
        if (cmd.Positionals.Count > 4)
        {
            throw new CliException($"CHOICE must be one argument: put a label in quotes, e.g. orchflow agent answer {id} \"{string.Join(' ', cmd.Positionals.Skip(3))}\".");
        }

        cmd.EnsureNoUnknown(maxPositionals: 4);
        if (question is not null && string.IsNullOrWhiteSpace(question))
        {
            throw new CliException("--question is empty: give the question as `orchflow agent show` printed it, or leave the option out.");
        }

        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var a = await client.InvokeAsync<AgentInfo>(Methods.AgentAnswer, new AgentAnswerParams { Id = id, Choice = choice, Question = question }).ConfigureAwait(false);
        if (json)
        {
            output.Json(a);
        }
        else
        {
            output.Line($"Answered agent '{a.Id}' with '{choice}'; it is {AgentFormat.State(a)}.");
        }

        return 0;
    }

    private static async Task<int> ControlAsync(string verb, CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        var id = cmd.RequirePositional(2, IdHint);
        cmd.EnsureNoUnknown(maxPositionals: 3);
        var method = verb switch
        {
            "pause" => Methods.AgentPause,
            "resume" => Methods.AgentResume,
            "stop" => Methods.AgentStop,
            _ => Methods.AgentRestart,
        };
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var a = await client.InvokeAsync<AgentInfo>(method, new AgentRef { Id = id }).ConfigureAwait(false);
        if (json)
        {
            output.Json(a);
            return 0;
        }

        output.Line(verb switch
        {
            "pause" => $"Paused agent '{a.Id}': every process of its terminal is stopped until `orchflow agent resume {a.Id}`.",
            "resume" => $"Resumed agent '{a.Id}'; it is {AgentFormat.State(a)}.",
            "stop" => $"Stopped agent '{a.Id}': its processes have ended. `orchflow agent restart {a.Id}` runs the task again.",
            _ => a.State == AgentState.Queued
                ? $"Restarted agent '{a.Id}' (run {a.Runs + 1}): queued at position {a.QueuePosition}."
                : $"Restarted agent '{a.Id}' (run {a.Runs}): {AgentFormat.State(a)}" + (a.TerminalId is { } t ? $" in terminal '{t}'." : "."),
        });
        return 0;
    }

    private static async Task<int> RemoveAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        var id = cmd.RequirePositional(2, IdHint);
        cmd.EnsureNoUnknown(maxPositionals: 3);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var removed = await client.InvokeAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = id }).ConfigureAwait(false);
        if (json)
        {
            output.Json(removed);
        }
        else
        {
            output.Line($"Removed agent '{removed.Id}': it was stopped if it ran, and its log and worktree are deleted (a worktree's branch is kept).");
        }

        return 0;
    }

    private static async Task<int> TypesAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory)
    {
        bool json = cmd.Flag("json");
        var named = cmd.Option("workspace");
        cmd.EnsureNoUnknown(maxPositionals: 2);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var p = new AgentTypesParams { WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false) };
        var result = await client.InvokeAsync<AgentTypesResult>(Methods.AgentTypes, p).ConfigureAwait(false);
        if (json)
        {
            output.Json(result);
            return 0;
        }

        output.Table(
            ["NAME", "SOURCE", "INSTALLED", "COMMAND"],
            result.Types.Select(t => (IReadOnlyList<string>)
            [
                t.Name,
                AgentFormat.Kebab(t.Source),
                t.Installed ? $"yes: {t.ResolvedPath}" : "no",
                t.Command,
            ]));
        var missing = result.Types.Where(t => !t.Installed && t.InstallHint is not null).ToList();
        if (missing.Count > 0)
        {
            output.Line();
            foreach (var t in missing)
            {
                output.Line($"{t.Name}: {t.InstallHint}");
            }
        }

        return 0;
    }

    private static async Task<int> EventsAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory)
    {
        bool json = cmd.Flag("json");
        var named = cmd.Option("workspace");
        var limit = ParseCount(cmd.Option("limit"), "limit");
        cmd.EnsureNoUnknown(maxPositionals: 2);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var workspace = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false);
        var result = await client.InvokeAsync<AgentEventsResult>(Methods.AgentEvents, new AgentEventsParams { WorkspaceId = workspace, Limit = limit }).ConfigureAwait(false);
        if (json)
        {
            output.Json(result);
            return 0;
        }

        // Oldest first, like a log: the newest line is the one next to the prompt.
        output.Table(
            ["TIME", "AGENT", "EVENT", "MESSAGE"],
            result.Events.Reverse().Select(e => (IReadOnlyList<string>)
            [
                AgentFormat.Time(e.At),
                e.AgentId,
                AgentFormat.Kebab(e.Kind),
                e.Message,
            ]));
        return 0;
    }

    private static int? ParseCount(string? value, string option)
    {
        if (value is null)
        {
            return null;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            throw new CliException($"--{option} needs a number (1 or more), not '{value}'.");
        }

        return n;
    }
}
