using System.Text.Json.Nodes;
using Orchflow.Protocol;
using Orchflow.Server.Agents;

namespace Orchflow.Server.Tests;

/// <summary>
/// <see cref="AgentInfo.Actions"/> against the service itself: for each state, over in-memory RPC with real PTYs, an
/// agent lists exactly the actions <see cref="AgentService"/> accepts. Every action it does not list is refused (and the
/// agent stays as it was); every one it lists is accepted, each by a fresh agent in the same state.
/// </summary>
[Trait("Tier", "rpc")]
[Collection(AgentTestsCollection.Name)]
public sealed class AgentActionsTests : IDisposable
{
    private static readonly string FakeAgent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fake-agent.sh");
    private static readonly string MenuAgent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "menu-agent.sh");

    /// <summary>Runs quietly until stopped: a shell prints one line, then sleeps.</summary>
    private const string Working = "echo working; sleep 300";

    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    /// <summary>The states an agent can be brought into, and the two kinds of waiting for input.</summary>
    public enum Situation
    {
        Queued,
        Starting,
        Running,
        NeedsInput,
        NeedsInputAtAMenu,
        Paused,
        Succeeded,
        Failed,
        Stopped,
        Interrupted,
    }

    /// <summary>Each action that is a request of the service, with how a client asks for it.</summary>
    private static readonly (AgentAction Action, string Method, Func<string, object> Params)[] Requests =
    [
        (AgentAction.Send, Methods.AgentSend, id => new AgentSendParams { Id = id, Text = "y\r" }),
        (AgentAction.Answer, Methods.AgentAnswer, id => new AgentAnswerParams { Id = id, Choice = "1" }),
        (AgentAction.Pause, Methods.AgentPause, id => new AgentRef { Id = id }),
        (AgentAction.Resume, Methods.AgentResume, id => new AgentRef { Id = id }),
        (AgentAction.Stop, Methods.AgentStop, id => new AgentRef { Id = id }),
        (AgentAction.Restart, Methods.AgentRestart, id => new AgentRef { Id = id }),
        (AgentAction.Remove, Methods.AgentRemove, id => new AgentRef { Id = id }),
    ];

    [Theory]
    [InlineData(Situation.Queued, AgentState.Queued, "stop remove")]
    [InlineData(Situation.Starting, AgentState.Starting, "send pause stop restart remove showTerminal")]
    [InlineData(Situation.Running, AgentState.Running, "send pause stop restart remove showTerminal")]
    [InlineData(Situation.NeedsInput, AgentState.NeedsInput, "send pause stop restart remove showTerminal")]
    [InlineData(Situation.NeedsInputAtAMenu, AgentState.NeedsInput, "send answer pause stop restart remove showTerminal")]
    [InlineData(Situation.Paused, AgentState.Paused, "resume stop restart remove showTerminal")]
    [InlineData(Situation.Succeeded, AgentState.Succeeded, "restart remove showTerminal")]
    [InlineData(Situation.Failed, AgentState.Failed, "restart remove showTerminal")]
    [InlineData(Situation.Stopped, AgentState.Stopped, "restart remove")]
    [InlineData(Situation.Interrupted, AgentState.Interrupted, "restart remove showTerminal")]
    public async Task An_agent_lists_exactly_the_actions_the_daemon_accepts_in_its_state(Situation situation, AgentState state, string expected)
    {
        await using var lab = await Lab.StartAsync(_home, situation);
        var listed = expected.Split(" ").Select(a => Enum.Parse<AgentAction>(a, ignoreCase: true)).ToList();
        var accepted = Requests.Where(r => listed.Contains(r.Action)).ToList();

        // One agent for the refusals, then a fresh one for each accepted request (an accepted request changes it).
        var agents = await lab.BringAsync(1 + accepted.Count);
        var probe = agents[0];
        Assert.Equal(state, probe.State);
        Assert.Equal(listed, probe.Actions);
        Assert.Equal(AgentActions.For(state, probe.TerminalId is not null, probe.Choices is { Count: > 0 }), probe.Actions);
        Assert.Equal(listed.Contains(AgentAction.ShowTerminal), probe.TerminalId is not null);

        foreach (var (action, method, parameters) in Requests.Where(r => !listed.Contains(r.Action)))
        {
            var refused = await lab.Client.FailAsync(method, parameters(probe.Id));
            Assert.True(refused.ErrorCode == ErrorCodes.NotAllowed, $"{action} of a {situation} agent: {refused.ErrorCode} {refused.Message}");
            var after = await lab.ShowAsync(probe.Id);
            Assert.True(after.State == state && after.Actions.SequenceEqual(listed), $"{action}, refused, changed the {situation} agent: it is {after.State}");
        }

        foreach (var ((action, method, parameters), agent) in accepted.Zip(agents.Skip(1)))
        {
            Assert.Equal(listed, (await lab.ShowAsync(agent.Id)).Actions);
            var answer = await lab.Client.Rpc.InvokeWithParameterObjectAsync<object>(method, parameters(agent.Id));
            Assert.True(answer is not null, $"{action} of a {situation} agent answered nothing");
        }
    }

    /// <summary>A daemon with a workspace whose agent types bring an agent into one situation.</summary>
    private sealed class Lab : IAsyncDisposable
    {
        private readonly TempHome _home;
        private readonly Situation _situation;
        private readonly string _dbPath;
        private InMemoryServer _server;
        private WorkspaceInfo _ws = null!;

        private Lab(TempHome home, Situation situation, InMemoryServer server, string dbPath)
        {
            _home = home;
            _situation = situation;
            _server = server;
            _dbPath = dbPath;
        }

        public TestClient Client { get; private set; } = null!;

        public static async Task<Lab> StartAsync(TempHome home, Situation situation)
        {
            var dbPath = Path.Combine(home.Root, "actions.db");
            var lab = new Lab(home, situation, NewServer(home, situation, dbPath), dbPath);
            lab.Client = await lab._server.ConnectAsync();
            lab._ws = await lab.Client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = home.Project("actions", (".orchflow/workspace.json", Config(situation))) });
            return lab;
        }

        /// <summary>
        /// A clock that stands still keeps a silent agent starting (the service counts it as running after a second);
        /// an interrupted agent needs a second daemon on the first one's database.
        /// </summary>
        private static InMemoryServer NewServer(TempHome home, Situation situation, string dbPath) => situation switch
        {
            Situation.Starting => new InMemoryServer(home, time: new StoppedClock(DateTimeOffset.UtcNow)),
            Situation.Interrupted => new InMemoryServer(home, Storage.Database.Open(dbPath, Hosting.Log.Null)),
            _ => new InMemoryServer(home),
        };

        private static string Config(Situation situation)
        {
            var types = new JsonObject
            {
                ["ask"] = new JsonObject { ["command"] = $"/bin/bash '{FakeAgent}' {{task}}" },
                ["menu"] = new JsonObject { ["command"] = $"/bin/bash '{MenuAgent}' {{task}}" },
            };

            // A queue needs a full pool: one agent holds the only slot.
            var resources = new JsonObject { ["max_agents"] = situation == Situation.Queued ? 1 : 8 };
            return new JsonObject { ["workspace"] = new JsonObject { ["agents"] = new JsonObject { ["types"] = types }, ["resources"] = resources } }.ToJsonString();
        }

        public Task<AgentInfo> ShowAsync(string id) => Client.CallAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = id });

        private Task<AgentInfo> SpawnAsync(string type, string task) =>
            Client.CallAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = _ws.Id, Type = type, Task = task });

        /// <summary>Spawns <paramref name="count"/> agents and brings each into the situation; returns them as they are then.</summary>
        public async Task<IReadOnlyList<AgentInfo>> BringAsync(int count)
        {
            if (_situation == Situation.Queued)
            {
                await SpawnAsync("command", Working);
            }

            var ids = new List<string>();
            for (int i = 0; i < count; i++)
            {
                ids.Add((await SpawnAsync(TypeOf(_situation), TaskOf(_situation))).Id);
            }

            foreach (var id in ids)
            {
                await BringOneAsync(id);
            }

            if (_situation == Situation.Interrupted)
            {
                // The daemon stops while they run; the next one finds them interrupted.
                await _server.DisposeAsync();
                _server.Database.Dispose();
                _server = new InMemoryServer(_home, Storage.Database.Open(_dbPath, Hosting.Log.Null));
                Client = await _server.ConnectAsync();
            }

            var agents = new List<AgentInfo>();
            foreach (var id in ids)
            {
                agents.Add(await ShowAsync(id));
            }

            return agents;
        }

        private static string TypeOf(Situation situation) => situation switch
        {
            Situation.NeedsInput => "ask",
            Situation.NeedsInputAtAMenu => "menu",
            _ => "command",
        };

        private static string TaskOf(Situation situation) => situation switch
        {
            Situation.Starting => "sleep 300",
            Situation.NeedsInput or Situation.NeedsInputAtAMenu => "pick one",
            Situation.Succeeded => "echo done",
            Situation.Failed => "echo failing; exit 3",
            _ => Working,
        };

        private async Task BringOneAsync(string id)
        {
            switch (_situation)
            {
                case Situation.Queued:
                case Situation.Starting:
                    break;
                case Situation.NeedsInput:
                    await UntilAsync(id, a => a.State == AgentState.NeedsInput, "waiting for input");
                    break;
                case Situation.NeedsInputAtAMenu:
                    await UntilAsync(id, a => a.State == AgentState.NeedsInput && a.Choices is { Count: > 0 }, "waiting at a menu");
                    break;
                case Situation.Succeeded:
                    await UntilAsync(id, a => a.State == AgentState.Succeeded, "succeeded");
                    break;
                case Situation.Failed:
                    await UntilAsync(id, a => a.State == AgentState.Failed, "failed");
                    break;
                default:
                    await UntilAsync(id, a => a.State == AgentState.Running, "running");
                    if (_situation == Situation.Paused)
                    {
                        await Client.CallAsync<AgentInfo>(Methods.AgentPause, new AgentRef { Id = id });
                    }
                    else if (_situation == Situation.Stopped)
                    {
                        await Client.CallAsync<AgentInfo>(Methods.AgentStop, new AgentRef { Id = id });
                    }

                    break;
            }
        }

        private Task UntilAsync(string id, Func<AgentInfo, bool> condition, string what) =>
            Poll.UntilAsync(async () => condition(await ShowAsync(id)), $"{id} is {what}", intervalMs: 20);

        public async ValueTask DisposeAsync()
        {
            await _server.DisposeAsync();
            if (_situation == Situation.Interrupted)
            {
                _server.Database.Dispose();
            }
        }
    }

    /// <summary>Now never moves: nothing the service times by it comes due.</summary>
    private sealed class StoppedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
