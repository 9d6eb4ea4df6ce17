using System.Diagnostics;
using System.Globalization;
namespace Orchflow.Server.Hosting;

/// <summary>
/// The heap trace: a diagnostic line about the daemon's own RAM (managed heap, threads, RSS), not the workspace memory
/// store, written to its log after each workspace and terminal is created when <see cref="Variable"/> is set: <c>1</c>
/// reports the managed heap as the last collection left it, <c>collect</c> first forces a full, compacting collection
/// so the figure is what is retained (that changes the daemon's behaviour: for measuring only). Off by default; there
/// is deliberately no RPC for it.
/// </summary>
internal static class HeapTrace
{
    /// <summary>The environment variable that turns the heap trace on; its documented name (README, bench/isolation.mjs, which parses the line) is kept.</summary>
    public const string Variable = "ORCHFLOW_LOG_MEMORY";

    private static readonly string? Mode = Environment.GetEnvironmentVariable(Variable);

    public static bool Enabled => !string.IsNullOrEmpty(Mode) && Mode != "0";

    public static void Write(Log log, string after)
    {
        if (!Enabled)
        {
            return;
        }

        var collected = string.Equals(Mode, "collect", StringComparison.Ordinal);
        if (collected)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        var info = GC.GetGCMemoryInfo(GCKind.Any);
        static long KiB(long bytes) => bytes / 1024;
        var generations = string.Join(' ', Enumerable.Range(0, info.GenerationInfo.Length)
            .Select(g => $"{(g < 3 ? $"gen{g}" : g == 3 ? "loh" : "poh")}={KiB(info.GenerationInfo[g].SizeAfterBytes)}"));
        using var self = Process.GetCurrentProcess();
        var (rss, anonymous) = ResidentKiB();
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"memory ({Variable}={Mode}) after {after}: managed heap {KiB(GC.GetTotalMemory(false))} KiB{(collected ? " after a full collection" : "")}, " +
            $"committed {KiB(info.TotalCommittedBytes)} KiB, last GC #{info.Index} ({info.Generation}): {generations} KiB; " +
            $"collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, allocated {KiB(GC.GetTotalAllocatedBytes())} KiB, " +
            $"threads {self.Threads.Count}, RSS {rss} KiB (anonymous {anonymous} KiB)"));
    }

    /// <summary>
    /// Resident and anonymous memory from /proc/self/smaps_rollup, which walks the page tables: exact, where the RSS of
    /// /proc/self/stat (Process.WorkingSet64) comes from the kernel's per-CPU counters and can lag by a few hundred KiB.
    /// </summary>
    private static (long Rss, long Anonymous) ResidentKiB()
    {
        long rss = -1, anonymous = -1;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/smaps_rollup"))
            {
                if (line.StartsWith("Rss:", StringComparison.Ordinal))
                {
                    rss = ParseKiB(line);
                }
                else if (line.StartsWith("Anonymous:", StringComparison.Ordinal))
                {
                    anonymous = ParseKiB(line);
                }
            }
        }
        catch (IOException)
        {
            // Not Linux, or no /proc: -1 says "not measured".
        }

        return (rss, anonymous);

        static long ParseKiB(string line) =>
            long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim().TrimEnd("kB").Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
