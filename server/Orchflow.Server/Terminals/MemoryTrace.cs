using System.Diagnostics;
using System.Globalization;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Terminals;

/// <summary>
/// A diagnostic line about the daemon's own memory, written to its log after each workspace and terminal is created when
/// <c>ORCHFLOW_LOG_MEMORY</c> is set: <c>1</c> reports the managed heap as the last collection left it, <c>collect</c>
/// first forces a full, compacting collection so the figure is what is retained (that changes the daemon's behaviour:
/// for measuring only). Off by default; there is deliberately no RPC for it.
/// </summary>
internal static class MemoryTrace
{
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
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"memory ({Variable}={Mode}) after {after}: managed heap {KiB(GC.GetTotalMemory(false))} KiB{(collected ? " after a full collection" : "")}, " +
            $"committed {KiB(info.TotalCommittedBytes)} KiB, last GC #{info.Index} ({info.Generation}): {generations} KiB; " +
            $"collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, allocated {KiB(GC.GetTotalAllocatedBytes())} KiB, " +
            $"threads {self.Threads.Count}, RSS {KiB(self.WorkingSet64)} KiB"));
    }
}
