using Orchflow.Protocol;
using StreamJsonRpc;

namespace Orchflow.Server.Tests;

/// <summary>
/// Durability of the main database against a crash of the daemon: a hundred times, the real daemon is started, every
/// workspace and agent write acknowledged so far is checked, writers pipeline new ones (a workspace's name, changed in
/// sequence; agents spawned, each taking the next agent number), and the daemon is killed with SIGKILL while writes
/// are in flight. A write counts as acknowledged only when its response arrived.
/// </summary>
[Trait("Tier", "slow")]
public sealed class MainDatabaseCrashTests
{
    private const int Iterations = 100;
    private const int Renamers = 3;

    [Fact]
    public async Task Every_acknowledged_workspace_and_agent_write_survives_a_hundred_kill_9s()
    {
        using var home = new TempHome();
        var roots = Enumerable.Range(0, Renamers).Select(w => home.Project($"crash-{w}")).ToList();
        var lastName = new int[Renamers];
        var agents = new HashSet<string>(StringComparer.Ordinal);
        var random = new Random(20261207);
        int inFlightAtKill = 0;
        for (int i = 0; i < Iterations; i++)
        {
            using var daemon = KillableDaemon.Start(home);
            var rpc = await KillableDaemon.ConnectAsync(home, daemon);

            var listed = (await rpc.InvokeWithParameterObjectAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams())).Workspaces;
            var ids = new string[Renamers];
            for (int w = 0; w < Renamers; w++)
            {
                var ws = listed.SingleOrDefault(x => x.RootPath == roots[w]);
                if (i > 0)
                {
                    Assert.True(ws is not null, $"iteration {i}: workspace {roots[w]}, acknowledged before, is gone after kill -9");
                    int stored = int.Parse(ws.Name.Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture);
                    Assert.True(stored >= lastName[w], $"iteration {i}: workspace {ws.Id} is named {ws.Name}, but rename {lastName[w]} was acknowledged");
                    lastName[w] = stored;
                }

                ws ??= await rpc.InvokeWithParameterObjectAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = roots[w], Name = $"crash-{w}-0" });
                ids[w] = ws.Id;
            }

            var present = (await rpc.InvokeWithParameterObjectAsync<AgentListResult>(Methods.AgentList, new AgentListParams())).Agents.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
            var missing = agents.Where(a => !present.Contains(a)).ToList();
            Assert.True(missing.Count == 0, $"iteration {i}: {missing.Count} acknowledged agents are missing after kill -9, e.g. {string.Join(", ", missing.Take(5))}");

            var round = new CrashRound(rpc, killAfter: random.Next(3, 12));
            var writers = Enumerable.Range(0, Renamers).Select(w => Task.Run(async () =>
            {
                for (int n = lastName[w] + 1; ; n++)
                {
                    int name = n;
                    if (!await round.AcknowledgedAsync<WorkspaceInfo>(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = ids[w], Name = $"crash-{w}-{name}" }, _ => lastName[w] = name))
                    {
                        return;
                    }
                }
            })).Append(Task.Run(async () =>
            {
                while (await round.AcknowledgedAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = ids[0], Type = "command", Task = "sleep 600" }, a =>
                {
                    lock (agents)
                    {
                        Assert.True(agents.Add(a.Id), $"agent id {a.Id} was handed out twice: its number was acknowledged and then lost");
                    }
                }))
                {
                }
            })).ToList();

            inFlightAtKill += await round.KillAsync(daemon, writers);
        }

        await using (var last = new KillOnDispose(KillableDaemon.Start(home)))
        {
            var rpc = await KillableDaemon.ConnectAsync(home, last.Process);
            var listed = (await rpc.InvokeWithParameterObjectAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams())).Workspaces;
            for (int w = 0; w < Renamers; w++)
            {
                var ws = Assert.Single(listed, x => x.RootPath == roots[w]);
                Assert.True(int.Parse(ws.Name.Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture) >= lastName[w], $"{ws.Id} is named {ws.Name}; rename {lastName[w]} was acknowledged");
            }

            var present = (await rpc.InvokeWithParameterObjectAsync<AgentListResult>(Methods.AgentList, new AgentListParams())).Agents.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
            Assert.DoesNotContain(agents, a => !present.Contains(a));
            rpc.Dispose();
        }

        Assert.True(agents.Count >= Iterations, $"only {agents.Count} agents were acknowledged");
        Assert.True(lastName.Sum() >= Iterations * 2, $"only {lastName.Sum()} renames were acknowledged");
        // The kills really hit writes in flight, not an idle daemon.
        Assert.True(inFlightAtKill > Iterations, $"only {inFlightAtKill} writes were in flight at the {Iterations} kills");
    }

    private sealed class KillOnDispose(System.Diagnostics.Process process) : IAsyncDisposable
    {
        public System.Diagnostics.Process Process { get; } = process;

        public async ValueTask DisposeAsync()
        {
            Process.Kill();
            await Process.WaitForExitAsync();
            Process.Dispose();
        }
    }
}
