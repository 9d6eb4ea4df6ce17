using System.Diagnostics;
using Orchflow.Pty;

namespace Orchflow.Server.Limits;

/// <summary>Measured use of one terminal's session at one sample.</summary>
/// <param name="CpuPercent">Over the interval since the previous sample (100 = one core); null at the first sample of a session.</param>
/// <param name="MemoryBytes">Resident memory summed over the session's processes.</param>
/// <param name="Processes">Processes of the session that have not ended.</param>
public sealed record SessionFigures(double? CpuPercent, long MemoryBytes, int Processes);

/// <summary>
/// CPU and memory of terminal sessions, from <c>/proc</c>. Each sample reads every process once
/// (<see cref="ProcessTree.Usage"/>) and sums by session; CPU is the growth of the session's CPU time between two
/// samples: delta(utime + stime + reaped children's cutime + cstime) / ticks-per-second / elapsed seconds × 100.
/// A session seen for the first time has no CPU figure yet (null, "not measured yet"): nothing is ever estimated.
/// Not thread-safe: one sampling loop owns it.
/// </summary>
public sealed class ResourceSampler
{
    /// <summary>
    /// One second: fine enough for a dashboard, and a /proc scan per second costs a few milliseconds on a busy machine.
    /// </summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private Dictionary<string, (int Sid, ulong Ticks, long Timestamp)> _previous = new(StringComparer.Ordinal);

    /// <summary>
    /// Measures the given sessions (key: the caller's name for it, a terminal id; sid: the session id, which is the
    /// terminal's first pid). Keys not given are forgotten.
    /// </summary>
    public IReadOnlyDictionary<string, SessionFigures> Sample(IReadOnlyCollection<(string Key, int Sid)> sessions)
    {
        var result = new Dictionary<string, SessionFigures>(StringComparer.Ordinal);
        var next = new Dictionary<string, (int Sid, ulong Ticks, long Timestamp)>(StringComparer.Ordinal);
        if (sessions.Count == 0)
        {
            _previous = next;
            return result;
        }

        var bySid = new Dictionary<int, (ulong Ticks, long Rss, int Processes)>();
        foreach (var (_, sid) in sessions)
        {
            bySid[sid] = default;
        }

        var usage = ProcessTree.Usage();
        long now = Stopwatch.GetTimestamp();
        foreach (var u in usage)
        {
            if (bySid.TryGetValue(u.Session, out var sum))
            {
                bySid[u.Session] = (
                    sum.Ticks + u.CpuTicks + u.ReapedChildrenCpuTicks,
                    sum.Rss + u.ResidentBytes,
                    sum.Processes + (u.HasEnded ? 0 : 1));
            }
        }

        foreach (var (key, sid) in sessions)
        {
            var s = bySid[sid];
            double? cpu = null;
            // A key now naming another session (a terminal id reused after a restart) starts over.
            if (_previous.TryGetValue(key, out var prev) && prev.Sid == sid)
            {
                double seconds = Stopwatch.GetElapsedTime(prev.Timestamp, now).TotalSeconds;

                // CPU time of a process reaped by someone outside the session (init) leaves the sum: never report less than zero.
                double ticks = s.Ticks >= prev.Ticks ? s.Ticks - prev.Ticks : 0;
                cpu = seconds > 0 ? Math.Round(ticks / ProcessTree.ClockTicksPerSecond / seconds * 100, 1) : null;
            }

            next[key] = (sid, s.Ticks, now);
            result[key] = new SessionFigures(cpu, s.Rss, s.Processes);
        }

        _previous = next;
        return result;
    }
}
