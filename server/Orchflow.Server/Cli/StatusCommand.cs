using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

internal static class StatusCommand
{
    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        cmd.EnsureNoUnknown(maxPositionals: 1);
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
        var status = await client.InvokeAsync<StatusResult>(Methods.Status, new StatusParams()).ConfigureAwait(false);
        if (json)
        {
            output.Json(status);
            return 0;
        }

        var list = await client.InvokeAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams()).ConfigureAwait(false);
        var recent = list.Workspaces.Where(w => !w.IsDefault).MaxBy(w => w.LastAccessed);
        output.Line($"orchflow {status.Version}: daemon pid {status.Daemon.Pid}, up {FormatDuration(status.UptimeSeconds)}, {status.Clients} client(s), memory {ByteSize.Format(status.DaemonMemoryBytes)}");
        output.Line($"home:        {status.Daemon.Home}");
        output.Line($"socket:      {status.Daemon.Socket ?? "(stdio)"}");
        output.Line($"config:      {status.Daemon.ConfigFile}");
        output.Line($"log:         {status.Daemon.LogFile}");
        output.Line($"workspaces:  {status.WorkspaceCount} of {status.MaxWorkspaces} (plus the built-in default)");
        output.Line($"recent:      {(recent is null ? "-" : $"{recent.Id} ({recent.Name}), last accessed {recent.LastAccessed.ToLocalTime():yyyy-MM-dd HH:mm:ss}")}");
        var host = status.Isolation;
        output.Line($"limits:      {(host.Cgroups is "v1" or "v2" ? host.CgroupsDetail : $"the daemon's watchdog ({host.CgroupsDetail})")}");
        output.Line($"isolation:   {(host.BubblewrapAvailable ? $"bubblewrap {host.BubblewrapVersion} ({host.BubblewrapPath})" : $"bubblewrap unavailable: {host.BubblewrapProblem}")}; "
            + (host.LandlockAvailable
                ? $"Landlock ABI {host.LandlockAbi} ({host.LandlockLauncher}){(host.BubblewrapAvailable ? ", the fallback" : ", in use")}"
                : $"Landlock {(host.LandlockAbi is { } abi ? $"ABI {abi}, " : "")}unavailable: {host.LandlockProblem}"));
        foreach (var w in list.Workspaces.Where(w => !w.IsDefault))
        {
            output.Line($"  {w.Id}: {w.Isolation.Summary}{(w.Hibernation is null ? "" : ", suspended")}");
        }

        if (status.LostTerminals.Count > 0)
        {
            output.Line($"lost:        {status.LostTerminals.Count} terminal(s) ended with the previous daemon: {string.Join(", ", status.LostTerminals.Select(t => t.Id))}");
        }

        foreach (var notice in status.StartNotices)
        {
            output.Line($"at start:    {notice.Message}");
        }

        foreach (var id in status.WorkspacesWithConfigErrors)
        {
            output.Line($"warning:     workspace '{id}' has config errors; see `orchflow workspace show {id}`");
        }

        foreach (var id in status.DamagedMemory ?? [])
        {
            output.Line($"warning:     the memory of workspace '{id}' is damaged and not served; see `orchflow memory stats --workspace {id}`");
        }

        foreach (var d in status.ConfigDiagnostics)
        {
            output.Line($"  {d.File}:{d.Line}:{d.Column}: {d.Severity.ToString().ToLowerInvariant()}: {d.Message}");
        }

        return 0;
    }

    internal static string FormatDuration(double seconds) => seconds switch
    {
        < 60 => $"{seconds:0}s",
        < 3600 => $"{seconds / 60:0}m",
        < 86400 => $"{seconds / 3600:0.#}h",
        _ => $"{seconds / 86400:0.#}d",
    };
}
