using System.Globalization;
using System.Runtime.InteropServices;

namespace Orchflow.Server.Processes;

/// <summary>
/// Makes the daemon the reaper of its workspaces' orphans (PR_SET_CHILD_SUBREAPER) and reaps them. A process whose
/// parent dies is adopted by the nearest subreaper, normally PID 1; where PID 1 does not reap (this machine, a container
/// started without an init), every killed grandchild stays a zombie, and zombies still count against their
/// workspace's pids.max and keep its control group from being removed. The daemon reaps only adopted children:
/// never one that <see cref="ProcessFactory"/> started (the PTY layer and the .NET runtime reap those, and reading
/// their exit status first would steal it), and nothing in a round during which a start began.
/// Only the daemon enables it: in any other process the factory does not start every child.
/// </summary>
public static partial class OrphanReaper
{
    /// <summary>Once a second: zombies cost only a process-table slot each meanwhile.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private const int PR_SET_CHILD_SUBREAPER = 36;
    private const int WNOHANG = 1;

    /// <summary>Becomes a subreaper and reaps adopted zombies until <paramref name="stop"/>; returns false (and does nothing) where it cannot.</summary>
    public static bool Start(Hosting.Log log, CancellationToken stop)
    {
        if (!OperatingSystem.IsLinux() || Prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        {
            log.Warn($"Could not become the reaper of orphaned workspace processes (errno {Marshal.GetLastPInvokeError()}); they go to PID 1.");
            return false;
        }

        _ = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(Interval);
            try
            {
                while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                {
                    try
                    {
                        int reaped = ReapOnce();
                        if (reaped > 0)
                        {
                            log.Debug($"Reaped {reaped} orphaned process(es)");
                        }
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        log.Warn($"Reaping orphans failed: {e.Message}");
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        return true;
    }

    /// <summary>Reaps this process's zombie children that the factory did not start. Returns how many.</summary>
    public static int ReapOnce()
    {
        ProcessFactory.ForgetEnded();
        long generation = ProcessFactory.StartGeneration;
        int self = Environment.ProcessId;
        // One scan of /proc that allocates nothing per process: this runs every second over every process on the
        // machine, and reading each stat file as a string was most of what an idle daemon allocated.
        var zombies = Orchflow.Pty.ProcessTree.ZombieChildrenOf(self);

        if (ProcessFactory.StartGeneration != generation)
        {
            return 0; // a start began meanwhile: its child might be among them and not recorded yet
        }

        int reaped = 0;
        foreach (var pid in zombies)
        {
            if (!ProcessFactory.MayBeOwnChild(pid) && WaitPid(pid, 0, WNOHANG) == pid)
            {
                reaped++;
            }
        }

        return reaped;
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int WaitPid(int pid, nint status, int options);
}
