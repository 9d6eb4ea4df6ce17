using System.Reflection;
using LiteDB;

namespace Orchflow.Server.Storage;

/// <summary>
/// Makes a LiteDB commit durable before it is acknowledged. LiteDB 5.0.20's Commit only hands the transaction's pages
/// to a background writer queue, which writes and fsyncs them a moment later: an entry acknowledged right after Commit
/// was lost by a kill -9 of the daemon (MemoryCrashTests found 8 such entries in its tenth round). Waiting for that
/// queue after the commit closes the gap: the pages are then written to the write-ahead log file, where the kernel
/// holds them whatever becomes of the daemon (the writer fsyncs them right after).
/// Every memory segment and the main database (<see cref="Database.Write{T}"/>) wait this way.
/// </summary>
/// <remarks>
/// The queue is internal to LiteDB, reached by reflection (LiteDatabase._engine → LiteEngine._disk → DiskService.Queue
/// → DiskWriterQueue.Wait), pinned to the one LiteDB version served here. Should a later version move it,
/// <see cref="UsesWriterQueue"/> becomes false and every commit is followed by a checkpoint instead, which also waits
/// for the queue (slower: it copies the log into the data file). A test asserts which path is in use.
/// LiteDB 5.0.21, the only later version served, writes the log on the committing thread instead, but it brought a
/// regression where a read right after a write fails with "ReadFull must read PAGE_SIZE bytes" (litedb-org/LiteDB
/// issue 2523, fixed only after 5.0.21), so Orchflow stays on 5.0.20.
/// Wait must not race another writer of the same database; callers hold their database's only lock.
/// </remarks>
public static class LiteDurability
{
    private static readonly FieldInfo? EngineField = typeof(LiteDatabase).GetField("_engine", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly FieldInfo? DiskField = typeof(LiteDatabase).Assembly.GetType("LiteDB.Engine.LiteEngine")?.GetField("_disk", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly PropertyInfo? QueueProperty = typeof(LiteDatabase).Assembly.GetType("LiteDB.Engine.DiskService")?.GetProperty("Queue", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
    private static readonly Type? QueueType = typeof(LiteDatabase).Assembly.GetType("LiteDB.Engine.DiskWriterQueue");
    private static readonly MethodInfo? WaitMethod = QueueType?.GetMethod("Wait", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes);
    private static readonly PropertyInfo? LazyValue = QueueType is null ? null : typeof(Lazy<>).MakeGenericType(QueueType).GetProperty("Value");

    /// <summary>True when commits are made durable by waiting for LiteDB's writer queue; false when a checkpoint does it.</summary>
    public static bool UsesWriterQueue { get; } = EngineField is not null && DiskField is not null && QueueProperty is not null && WaitMethod is not null && LazyValue is not null;

    /// <summary>Returns once everything committed so far on <paramref name="db"/> is written and flushed to disk.</summary>
    public static void WaitForDisk(LiteDatabase db)
    {
        if (!UsesWriterQueue)
        {
            db.Checkpoint();
            return;
        }

        var engine = EngineField!.GetValue(db);
        var disk = engine is null ? null : DiskField!.GetValue(engine);
        var lazy = disk is null ? null : QueueProperty!.GetValue(disk);
        var queue = lazy is null ? null : LazyValue!.GetValue(lazy);
        if (queue is null)
        {
            db.Checkpoint();
            return;
        }

        WaitMethod!.Invoke(queue, null);
    }
}
