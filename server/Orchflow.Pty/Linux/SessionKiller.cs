using System.Diagnostics;

namespace Orchflow.Pty.Linux;

/// <summary>
/// Ends a terminal's whole tree (<see cref="IPtyProcess.KillTree"/>), for the daemon's own terminals and for held ones
/// alike: the process group, then every process found in /proc that is in the terminal's session or descends from its
/// first process. See the notes at the top of LinuxPtyBackend.cs for what it cannot catch.
/// </summary>
internal static class SessionKiller
{
    /// <summary>
    /// How long KillTree lets processes handle SIGHUP and SIGTERM (save state, remove lock files)
    /// before it sends SIGKILL to those still alive.
    /// </summary>
    internal static readonly TimeSpan KillGracePeriod = TimeSpan.FromMilliseconds(200);

    /// <summary>How long KillTree waits for SIGKILL to take effect before it scans again.</summary>
    private static readonly TimeSpan KillConfirmTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Scans after SIGKILL: a process may fork while the tree is being killed.</summary>
    private const int MaxKillRounds = 3;

    private static readonly TimeSpan MaxLivenessPollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Ends every process in session <paramref name="leader"/> or below process <paramref name="leader"/>: SIGHUP and
    /// SIGTERM, SIGCONT for the stopped, then SIGKILL for whatever is still alive after <see cref="KillGracePeriod"/>.
    /// <paramref name="reaped"/>: the first process has been reaped, so its pid may name an unrelated process now and
    /// only its session (which the kernel does not reuse while it has members) is followed.
    /// </summary>
    public static void Kill(int leader, bool reaped)
    {
        var targets = new Dictionary<int, ulong>();
        CollectTree(leader, reaped, targets);

        SignalGroupQuietly(leader, LibC.SIGHUP);
        SignalGroupQuietly(leader, LibC.SIGTERM);
        foreach (var pid in targets.Keys)
        {
            // Job-control jobs sit in process groups of their own and miss the group signal.
            _ = LibC.kill(pid, LibC.SIGHUP);
            _ = LibC.kill(pid, LibC.SIGTERM);
        }

        // A stopped process (Ctrl+Z) only acts on SIGTERM once continued.
        SignalGroupQuietly(leader, Signals.SIGCONT);
        foreach (var pid in targets.Keys)
        {
            _ = LibC.kill(pid, Signals.SIGCONT);
        }

        WaitUntilEnded(targets, KillGracePeriod);

        for (var round = 0; round < MaxKillRounds; round++)
        {
            // Scan again: processes forked during the grace period were not in the first snapshot.
            CollectTree(leader, reaped, targets);
            var alive = targets.Where(target => IsAlive(target.Key, target.Value)).ToDictionary();
            if (alive.Count == 0)
            {
                break;
            }

            SignalGroupQuietly(leader, LibC.SIGKILL);
            foreach (var pid in alive.Keys)
            {
                _ = LibC.kill(pid, LibC.SIGKILL);
            }

            WaitUntilEnded(alive, KillConfirmTimeout);
        }
    }

    /// <summary>
    /// Adds the processes of the terminal's session and those descending from its first process,
    /// with their start times so that a pid reused later is never mistaken for one of them.
    /// </summary>
    private static void CollectTree(int leader, bool reaped, Dictionary<int, ulong> targets)
    {
        var snapshot = ProcessTree.Snapshot();
        foreach (var stat in snapshot)
        {
            if (stat.Session == leader && !stat.HasEnded)
            {
                targets.TryAdd(stat.Pid, stat.StartTime);
            }
        }

        // Once the first process has been reaped its pid may be reused by an unrelated process, whose
        // children must not be taken for ours. Its session id is safe: the kernel does not reuse
        // a pid while it still names a session with members.
        if (reaped)
        {
            return;
        }

        var byPid = snapshot.ToDictionary(stat => stat.Pid);
        foreach (var pid in ProcessTree.DescendantsOf(leader, snapshot))
        {
            if (byPid.TryGetValue(pid, out var stat) && !stat.HasEnded)
            {
                targets.TryAdd(pid, stat.StartTime);
            }
        }
    }

    private static void SignalGroupQuietly(int leader, int signal)
    {
        // ESRCH (the group is already gone) is the expected outcome late in a kill.
        _ = LibC.kill(-leader, signal);
    }

    private static bool IsAlive(int pid, ulong startTime) =>
        ProcessTree.TryRead(pid, out var stat) && stat.StartTime == startTime && !stat.HasEnded;

    private static void WaitUntilEnded(Dictionary<int, ulong> targets, TimeSpan timeout)
    {
        // Most processes die within a millisecond of the signal, so polling starts fast and backs off.
        var stopwatch = Stopwatch.StartNew();
        var interval = TimeSpan.FromMilliseconds(1);
        while (targets.Any(target => IsAlive(target.Key, target.Value)))
        {
            if (stopwatch.Elapsed >= timeout)
            {
                return;
            }

            Thread.Sleep(interval);
            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, MaxLivenessPollInterval.Ticks));
        }
    }
}
