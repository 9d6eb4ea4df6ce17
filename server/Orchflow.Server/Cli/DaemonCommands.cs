using System.Diagnostics;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

internal static class DaemonCommands
{
    /// <summary>How long `daemon stop` waits after SIGTERM before SIGKILL.</summary>
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        var verb = cmd.Positional(1);
        bool json = cmd.Flag("json");
        switch (verb)
        {
            case null:
            {
                bool background = cmd.Flag("background");
                cmd.EnsureNoUnknown(maxPositionals: 1);
                return await DaemonHost.RunAsync(paths, background).ConfigureAwait(false);
            }

            case "start" or "ensure":
            {
                cmd.EnsureNoUnknown(maxPositionals: 2);
                var result = await DaemonClient.EnsureDaemonAsync(paths).ConfigureAwait(false);
                result.Socket.Dispose();
                if (json)
                {
                    // One line, so a client can read it with a line reader.
                    output.Line(System.Text.Json.JsonSerializer.Serialize(new Protocol.DaemonEnsureResult { Socket = paths.SocketPath, Pid = result.Pid, Started = result.Started }, Protocol.ProtocolJson.Options));
                }
                else
                {
                    output.Line(result.Started ? $"Started the Orchflow daemon (pid {result.Pid}) on {paths.SocketPath}." : $"The Orchflow daemon is running (pid {result.Pid}) on {paths.SocketPath}.");
                }

                return 0;
            }

            case "stop":
            {
                cmd.EnsureNoUnknown(maxPositionals: 2);
                var pid = RunningPid(paths);
                if (pid is null)
                {
                    output.Line("No Orchflow daemon is running.");
                    return 0;
                }

                Native.Kill(pid.Value, 15);
                var sw = Stopwatch.StartNew();
                while (IsAlive(pid.Value) && sw.Elapsed < StopDeadline)
                {
                    await Task.Delay(20).ConfigureAwait(false);
                }

                if (IsAlive(pid.Value))
                {
                    Native.Kill(pid.Value, 9);
                    output.Line($"The daemon (pid {pid}) did not stop within {StopDeadline.TotalSeconds:0} s and was killed.");
                    return 1;
                }

                output.Line($"Stopped the Orchflow daemon (pid {pid}).");
                return 0;
            }

            case "status":
            {
                cmd.EnsureNoUnknown(maxPositionals: 2);
                var pid = RunningPid(paths);
                if (json)
                {
                    output.Json(new { running = pid is not null, pid, socket = paths.SocketPath, log = paths.LogFile, home = paths.DisplayHome });
                }
                else
                {
                    output.Line(pid is null ? $"not running (home {paths.DisplayHome})" : $"running, pid {pid}, socket {paths.SocketPath}, log {paths.LogFile}");
                }

                return pid is null ? 1 : 0;
            }

            default:
                throw new CliException($"Unknown daemon command '{verb}'. Use start, stop or status, or no verb to run it in the foreground.");
        }
    }

    /// <summary>The daemon's pid when one holds the instance lock (a stale pid file alone does not count).</summary>
    private static int? RunningPid(OrchflowPaths paths)
    {
        if (!Directory.Exists(paths.RuntimeDirectory))
        {
            return null;
        }

        using (var probe = DaemonHost.TryLock(paths.LockFile))
        {
            if (probe is not null)
            {
                return null; // Nobody holds it.
            }
        }

        return int.TryParse(DaemonHost.ReadPid(paths), out var pid) && IsAlive(pid) ? pid : null;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // Gone between the checks.
        }
    }
}
