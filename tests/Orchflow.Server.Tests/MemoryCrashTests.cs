using Orchflow.Protocol;
using StreamJsonRpc;

namespace Orchflow.Server.Tests;

/// <summary>
/// Durability of acknowledged memory writes against a crash of the daemon: a hundred times, the real daemon is
/// started, every entry acknowledged so far is checked, writers pipeline new entries, and the daemon is killed with
/// SIGKILL while writes are in flight. A write counts as acknowledged only when its response arrived.
/// </summary>
[Trait("Tier", "slow")]
public sealed class MemoryCrashTests
{
    private const int Iterations = 100;
    private const int Writers = 4;

    [Fact]
    public async Task Every_acknowledged_entry_survives_a_hundred_kill_9s_during_writes()
    {
        using var home = new TempHome();
        var acked = new HashSet<string>(StringComparer.Ordinal);
        var random = new Random(20260101);
        int inFlightAtKill = 0;
        for (int i = 0; i < Iterations; i++)
        {
            using var daemon = KillableDaemon.Start(home);
            var rpc = await KillableDaemon.ConnectAsync(home, daemon);

            var stats = (await rpc.InvokeWithParameterObjectAsync<MemoryStatsResult>(Methods.MemoryStats, new MemoryStatsParams { WorkspaceId = "default" })).Segments.Single();
            Assert.True(stats.State == MemorySegmentState.Ok, $"iteration {i}: the segment is {stats.State}: {stats.Problem}");
            var present = await AllKeysAsync(rpc);
            var missing = acked.Where(k => !present.Contains(k)).ToList();
            Assert.True(missing.Count == 0, $"iteration {i}: {missing.Count} acknowledged entries are missing after kill -9, e.g. {string.Join(", ", missing.Take(5))}");

            // Kill once this many writes of this round are acknowledged, with the writers still sending.
            var round = new CrashRound(rpc, killAfter: random.Next(3, 20));
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (int n = 0; ; n++)
                {
                    var key = $"i{i:D3}-w{w}-{n}";
                    if (!await round.AcknowledgedAsync<MemorySetResult>(Methods.MemorySet, new MemorySetParams { WorkspaceId = "default", Key = key, Value = $"value of {key}" }, _ =>
                    {
                        lock (acked)
                        {
                            acked.Add(key);
                        }
                    }))
                    {
                        return;
                    }
                }
            })).ToList();

            inFlightAtKill += await round.KillAsync(daemon, writers);
        }

        using (var last = KillableDaemon.Start(home))
        {
            var rpc = await KillableDaemon.ConnectAsync(home, last);
            var present = await AllKeysAsync(rpc);
            Assert.DoesNotContain(acked, k => !present.Contains(k));
            Assert.True(acked.Count >= Iterations * 3, $"only {acked.Count} writes were acknowledged");
            rpc.Dispose();
            last.Kill();
            await last.WaitForExitAsync();
        }

        // The kills really hit writes in flight, not an idle daemon.
        Assert.True(inFlightAtKill > Iterations, $"only {inFlightAtKill} writes were in flight at the {Iterations} kills");
    }

    private static async Task<HashSet<string>> AllKeysAsync(JsonRpc rpc)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        string? after = null;
        do
        {
            var page = await rpc.InvokeWithParameterObjectAsync<MemoryListResult>(Methods.MemoryList, new MemoryListParams { WorkspaceId = "default", After = after, Limit = 10_000 });
            keys.UnionWith(page.Entries.Select(e => e.Key));
            after = page.NextAfter;
        }
        while (after is not null);
        return keys;
    }
}
