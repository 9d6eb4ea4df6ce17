using System.Text.Json.Nodes;
using LiteDB;
using Orchflow.Protocol;
using Orchflow.Server.Storage;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Tests;

/// <summary>
/// Tier 2, over in-memory JSON-RPC: a workspace's policy is not weakened by editing its config file until a person
/// confirms (held, shown, confirmed, rejected, across restarts), a strengthening applies at once, and a folder put in
/// place of the registered root is seen, refused and, by a person, adopted.
/// </summary>
[Trait("Tier", "rpc")]
public sealed class PolicyConfirmationTests : IDisposable
{
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    /// <summary>The policy every test starts from: strict, two commands, a restricted path, an allow-list of one host.</summary>
    private static JsonObject Base() => Security("strict", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]);

    private static JsonObject Security(string tier, string[]? commands = null, string[]? restricted = null, string network = "none", string[]? hosts = null)
    {
        var security = new JsonObject { ["tier"] = tier, ["network"] = network };
        if (commands is not null)
        {
            security["allowed_commands"] = new JsonArray([.. commands.Select(c => JsonValue.Create(c))]);
        }

        if (restricted is not null)
        {
            security["restricted_paths"] = new JsonArray([.. restricted.Select(c => JsonValue.Create(c))]);
        }

        if (hosts is not null)
        {
            security["allowed_hosts"] = new JsonArray([.. hosts.Select(c => JsonValue.Create(c))]);
        }

        return security;
    }

    private static string Config(string id, JsonObject security) =>
        new JsonObject { ["workspace"] = new JsonObject { ["id"] = id, ["security"] = security } }.ToJsonString();

    private string Project(string name, JsonObject security) => _home.Project(name, (".orchflow/workspace.json", Config(name, security)));

    private static void Write(string root, JsonObject security) =>
        File.WriteAllText(Path.Combine(root, ".orchflow", "workspace.json"), Config(Path.GetFileName(root), security));

    private static Task<WorkspaceInfo> Reload(TestClient c, string id) => c.CallAsync<WorkspaceInfo>(Methods.WorkspaceReloadConfig, new WorkspaceRef { Id = id });

    private static Task<WorkspaceInfo> Decide(TestClient c, WorkspaceInfo ws, bool reject = false) =>
        c.CallAsync<WorkspaceInfo>(Methods.WorkspaceConfirmPolicy, new WorkspacePolicyDecision { Id = ws.Id, Fingerprint = ws.PendingPolicy!.Fingerprint, Reject = reject });

    private static async Task<IReadOnlyList<AuditEntry>> Audit(TestClient c, string id) =>
        (await c.CallAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = id, Limit = 1000 })).Entries;

    private static void AssertPolicy(JsonObject expected, SecurityPolicy actual)
    {
        Assert.Equal(expected["tier"]!.GetValue<string>(), actual.Tier.ToString().ToLowerInvariant());
        Assert.Equal(expected["network"]!.GetValue<string>(), actual.Network.ToString().ToLowerInvariant());
        Assert.Equal(Strings(expected["allowed_commands"]), actual.AllowedCommands);
        Assert.Equal(Strings(expected["restricted_paths"]), actual.RestrictedPaths);
        Assert.Equal(Strings(expected["allowed_hosts"]), actual.AllowedHosts);

        static string[] Strings(JsonNode? node) => node is JsonArray a ? [.. a.Select(x => x!.GetValue<string>())] : [];
    }

    /// <summary>Each kind of weakening: the edited file, and the line a person is shown for it.</summary>
    public static TheoryData<string, string, string> Weakenings => new()
    {
        { "tier", Security("standard", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]).ToJsonString(), "lowers its tier strict → standard" },
        { "command", Security("strict", ["bash", "cat", "ls"], ["/srv/secret"], "allowlist", ["a.example"]).ToJsonString(), "adds ls to allowed_commands" },
        { "no list", Security("strict", null, ["/srv/secret"], "allowlist", ["a.example"]).ToJsonString(), "removes the allowed_commands list (any command could run, not only bash, cat)" },
        { "unhide", Security("strict", ["bash", "cat"], [], "allowlist", ["a.example"]).ToJsonString(), "unhides /srv/secret (removed from restricted_paths)" },
        { "network", Security("strict", ["bash", "cat"], ["/srv/secret"], "full").ToJsonString(), "widens network allowlist → full" },
        { "host", Security("strict", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example", "b.example"]).ToJsonString(), "adds b.example to allowed_hosts" },
        { "removed", "", "removes .orchflow/workspace.json, and with it the policy it set" },
    };

    [Theory]
    [MemberData(nameof(Weakenings))]
    public async Task A_weakening_is_held_and_shown_until_a_person_confirms_it(string kind, string edited, string line)
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("w", Base());
        var created = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
        AssertPolicy(Base(), created.Security);
        Assert.Null(created.PendingPolicy);

        if (kind == "removed")
        {
            File.Delete(Path.Combine(root, ".orchflow", "workspace.json"));
        }
        else
        {
            Write(root, JsonNode.Parse(edited)!.AsObject());
        }

        var held = await Reload(c, "w");
        AssertPolicy(Base(), held.Security); // held: what every launch gets
        Assert.Equal(SecurityTier.Strict, held.Isolation.RequestedTier);
        var pending = Assert.IsType<PendingPolicy>(held.PendingPolicy);
        Assert.Contains(line, pending.Changes);
        Assert.Null(pending.RejectedAt);
        Assert.Contains(await Audit(c, "w"), e => e.Kind == AuditKind.PolicyChanged && e.Rule == WorkspaceService.ConfirmationRule
            && e.Message.Contains(line, StringComparison.Ordinal) && e.Message.Contains("holds until a person confirms", StringComparison.Ordinal));

        // Every client is told (the extension shows its notification from this).
        await c.WaitForNotificationAsync(Methods.WorkspaceChanged, json => json.Contains("\"pendingPolicy\":{", StringComparison.Ordinal));

        // Reading the same file again changes nothing: the request keeps when it was seen.
        var again = await Reload(c, "w");
        Assert.Equal(pending.Fingerprint, again.PendingPolicy!.Fingerprint);
        Assert.Equal(pending.SeenAt, again.PendingPolicy.SeenAt);

        var confirmed = await Decide(c, held);
        Assert.Null(confirmed.PendingPolicy);
        if (kind == "removed")
        {
            Assert.True(PolicyChange.Same(PolicyChange.Defaults, confirmed.Security), PolicyChange.Describe(confirmed.Security));
        }
        else
        {
            AssertPolicy(JsonNode.Parse(edited)!.AsObject(), confirmed.Security);
        }

        var audit = await Audit(c, "w");
        Assert.Contains(audit, e => e.Rule == WorkspaceService.ConfirmationRule && e.Message.StartsWith("test confirmed the config file's weaker policy, which", StringComparison.Ordinal) && e.Subject == "test");
        Assert.Contains(audit, e => e.Rule == "security" && e.Message.StartsWith("Security policy changed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_held_command_is_refused_at_launch_until_confirmed()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("cmds", Security("enhanced", ["bash", "cat"]));
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
        Write(root, Security("enhanced", ["bash", "cat", "ls"]));
        var held = await Reload(c, "cmds");

        var refused = await c.FailAsync(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "cmds", Command = "ls" });
        ErrorAssert.Code(ErrorCodes.NotAllowed, refused, "refused `ls`");

        await Decide(c, held);
        var t = await c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "cmds", Command = "ls" });
        Assert.Equal("cmds", t.WorkspaceId);
    }

    [Fact]
    public async Task A_strengthening_applies_at_once()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var loose = Security("standard", ["bash", "cat", "ls"], [], "full");
        var root = Project("tight", loose);
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });

        var strict = Security("strict", ["bash"], ["/srv/secret"], "allowlist", ["a.example"]);
        Write(root, strict);
        var ws = await Reload(c, "tight");
        AssertPolicy(strict, ws.Security);
        Assert.Null(ws.PendingPolicy);
        Assert.DoesNotContain(await Audit(c, "tight"), e => e.Rule == WorkspaceService.ConfirmationRule);

        var none = Security("strict", ["bash"], ["/srv/secret"], "none", ["a.example"]);
        Write(root, none);
        AssertPolicy(none, (await Reload(c, "tight")).Security);
    }

    [Fact]
    public async Task A_change_that_strengthens_and_weakens_applies_its_strengthening_and_holds_the_rest()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("mixed", Security("enhanced", ["bash", "cat"], ["/srv/secret"]));
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });

        // cat goes (stricter), /srv/more is hidden (stricter), the tier drops (weaker).
        Write(root, Security("standard", ["bash"], ["/srv/secret", "/srv/more"]));
        var ws = await Reload(c, "mixed");
        AssertPolicy(Security("enhanced", ["bash"], ["/srv/secret", "/srv/more"]), ws.Security);
        Assert.Equal(["lowers its tier enhanced → standard"], ws.PendingPolicy!.Changes);
    }

    [Fact]
    public async Task A_rejected_change_keeps_the_policy_and_stays_listed_until_the_file_changes()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("rej", Base());
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
        Write(root, Security("standard", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]));
        var held = await Reload(c, "rej");

        var rejected = await Decide(c, held, reject: true);
        AssertPolicy(Base(), rejected.Security);
        var pending = Assert.IsType<PendingPolicy>(rejected.PendingPolicy);
        Assert.NotNull(pending.RejectedAt);
        Assert.Equal("test", pending.RejectedBy);
        Assert.True(File.Exists(Path.Combine(root, ".orchflow", "workspace.json")), "a rejection never touches the file");
        Assert.Contains(await Audit(c, "rej"), e => e.Rule == WorkspaceService.ConfirmationRule && e.Message.StartsWith("test kept the current policy", StringComparison.Ordinal));

        // Read again, the same file is the same (rejected) request; it can still be applied.
        var again = await Reload(c, "rej");
        Assert.Equal(pending.RejectedAt, again.PendingPolicy!.RejectedAt);

        // The file changes again: a new request, not rejected.
        Write(root, Security("enhanced", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]));
        var changed = await Reload(c, "rej");
        Assert.Null(changed.PendingPolicy!.RejectedAt);
        Assert.Equal(["lowers its tier strict → enhanced"], changed.PendingPolicy.Changes);

        // The file asks for the policy in force again: nothing is pending any more.
        Write(root, Base());
        Assert.Null((await Reload(c, "rej")).PendingPolicy);
        Assert.Contains(await Audit(c, "rej"), e => e.Message.StartsWith("The config file no longer asks for a weaker policy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_decision_must_name_the_change_that_is_pending()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("fp", Base());
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });

        var none = await c.FailAsync(Methods.WorkspaceConfirmPolicy, new WorkspacePolicyDecision { Id = "fp", Fingerprint = "0000000000000000" });
        ErrorAssert.Code(ErrorCodes.NotFound, none, "has no pending policy change");

        Write(root, Security("enhanced", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]));
        var shown = await Reload(c, "fp");

        // The file changes between what the person saw and the answer, and the poller has not read it yet.
        Write(root, Security("standard", null, [], "full"));
        var stale = await c.FailAsync(Methods.WorkspaceConfirmPolicy, new WorkspacePolicyDecision { Id = "fp", Fingerprint = shown.PendingPolicy!.Fingerprint });
        ErrorAssert.Code(ErrorCodes.InvalidArgument, stale, "is not the one you were shown");
        Assert.Contains("lowers its tier strict → standard", stale.Message, StringComparison.Ordinal);
        var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "fp" });
        AssertPolicy(Base(), ws.Security);
    }

    [Fact]
    public async Task The_policy_in_force_and_the_pending_change_survive_restarts_whatever_the_file_says()
    {
        var dbPath = Path.Combine(_home.Root, "policy.db");
        var root = Project("keep", Base());
        string fingerprint;
        DateTimeOffset seenAt;
        await using (var first = new InMemoryServer(_home, Database.Open(dbPath, Hosting.Log.Null)))
        {
            var c = await first.ConnectAsync();
            await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
            Write(root, Security("standard", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]));
            var held = await Reload(c, "keep");
            fingerprint = held.PendingPolicy!.Fingerprint;
            seenAt = held.PendingPolicy.SeenAt;
            first.Database.Dispose();
        }

        await using (var second = new InMemoryServer(_home, Database.Open(dbPath, Hosting.Log.Null)))
        {
            var c = await second.ConnectAsync();
            var ws = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "keep" });
            AssertPolicy(Base(), ws.Security);
            Assert.Equal(fingerprint, ws.PendingPolicy!.Fingerprint);
            Assert.Equal(seenAt.ToUnixTimeMilliseconds(), ws.PendingPolicy.SeenAt.ToUnixTimeMilliseconds());
            var confirmed = await Decide(c, ws);
            Assert.Equal(SecurityTier.Standard, confirmed.Security.Tier);
            second.Database.Dispose();
        }

        // While the daemon is down, the file is edited to something weaker still: the confirmed policy holds at start.
        Write(root, Security("standard", null, [], "full"));
        await using var third = new InMemoryServer(_home, Database.Open(dbPath, Hosting.Log.Null));
        var c3 = await third.ConnectAsync();
        var after = await c3.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "keep" });
        AssertPolicy(Security("standard", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]), after.Security);
        Assert.Equal(
            ["removes the allowed_commands list (any command could run, not only bash, cat)", "unhides /srv/secret (removed from restricted_paths)", "widens network allowlist → full"],
            after.PendingPolicy!.Changes);
        third.Database.Dispose();
    }

    [Fact]
    public async Task An_older_database_gets_its_roots_identity_and_its_policy_recorded_at_start()
    {
        var dbPath = Path.Combine(_home.Root, "old.db");
        var root = Project("old", Base());
        await using (var first = new InMemoryServer(_home, Database.Open(dbPath, Hosting.Log.Null)))
        {
            var c = await first.ConnectAsync();
            await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
            first.Database.Dispose();
        }

        // The record as a daemon from before this change left it: no identity, no stored policy.
        using (var db = new LiteDatabase(new ConnectionString { Filename = dbPath, Connection = ConnectionType.Direct }))
        {
            var workspaces = db.GetCollection("workspaces");
            var doc = workspaces.FindById("old");
            Assert.True(doc.Remove(nameof(WorkspaceRecord.RootIdentity)) && doc.Remove(nameof(WorkspaceRecord.Policy)));
            workspaces.Update(doc);
        }

        // And the file was edited while no daemon looked: its last good config is the policy that was in force.
        Write(root, Security("standard", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]));
        await using var second = new InMemoryServer(_home, Database.Open(dbPath, Hosting.Log.Null));
        var c2 = await second.ConnectAsync();
        var ws = await c2.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "old" });
        AssertPolicy(Base(), ws.Security);
        Assert.Equal(["lowers its tier strict → standard"], ws.PendingPolicy!.Changes);
        Assert.Null(ws.RootProblem);
        Assert.Contains(await Audit(c2, "old"), e => e.Rule == WorkspaceService.RootRule && e.Message.StartsWith($"Recorded which folder the root {root} is (device ", StringComparison.Ordinal));

        // From now on, the recorded identity tells a replaced root.
        Directory.Move(root, root + ".aside");
        Directory.CreateDirectory(root);
        Assert.Equal(RootProblemKind.Replaced, (await Reload(c2, "old")).RootProblem!.Kind);
        second.Database.Dispose();
    }

    [Fact]
    public async Task A_replaced_root_is_not_read_launches_nothing_and_is_adopted_only_by_a_person()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("swap", Base());
        var created = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });

        // The attack: the root moved aside, a new folder with a standard config put at the same path.
        Directory.Move(root, root + ".aside");
        _home.Project("swap", (".orchflow/workspace.json", Config("swap", Security("standard"))));
        var ws = await Reload(c, "swap");
        var problem = Assert.IsType<WorkspaceRootProblem>(ws.RootProblem);
        Assert.Equal(RootProblemKind.Replaced, problem.Kind);
        Assert.Equal($"root replaced: the folder at {root} is not the one registered (device:inode changed); run `orchflow workspace update swap --accept-root` to adopt it, as a person", problem.Message);
        Assert.NotEqual(problem.Registered, problem.Found);
        AssertPolicy(Base(), ws.Security);
        Assert.Null(ws.PendingPolicy);
        Assert.Equal(created.Config.LoadedAt, ws.Config.LoadedAt);

        var launch = await c.FailAsync(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "swap" });
        ErrorAssert.Code(ErrorCodes.NotAllowed, launch, problem.Message);
        var redetect = await c.FailAsync(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "swap", Redetect = true });
        ErrorAssert.Code(ErrorCodes.NotAllowed, redetect, problem.Message);
        var agent = await c.FailAsync(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "swap", Type = "command", Task = "true" });
        ErrorAssert.Code(ErrorCodes.NotAllowed, agent, problem.Message);

        var audit = await Audit(c, "swap");
        Assert.Contains(audit, e => e.Kind == AuditKind.PolicyChanged && e.Rule == WorkspaceService.RootRule && e.Message.StartsWith("The root replaced:", StringComparison.Ordinal));
        Assert.Contains(audit, e => e.Kind == AuditKind.Refused && e.Rule == WorkspaceService.RootRule);

        // A person adopts the new folder; its config is then an edit like any other: the lower tier waits.
        var adopted = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "swap", AcceptRoot = true });
        Assert.Null(adopted.RootProblem);
        AssertPolicy(Security("strict", ["bash", "cat"], ["/srv/secret"], "none"), adopted.Security); // its network none applies at once
        Assert.Contains("lowers its tier strict → standard", adopted.PendingPolicy!.Changes);
        Assert.Contains(await Audit(c, "swap"), e => e.Rule == WorkspaceService.RootRule && e.Message.StartsWith($"test adopted the folder at {root}", StringComparison.Ordinal));
        var t = await c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "swap", Command = "cat /dev/null" });
        Assert.Equal("swap", t.WorkspaceId);

        var again = await c.FailAsync(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "swap", AcceptRoot = true });
        ErrorAssert.Code(ErrorCodes.InvalidArgument, again, "there is nothing to accept");
    }

    [Fact]
    public async Task A_root_deleted_and_made_again_is_another_folder_even_with_its_old_inode_number()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("reborn", Base());
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
        await Task.Delay(50); // birth times tick with the kernel's coarse clock; a real root is older than that
        Directory.Delete(root, recursive: true);
        _home.Project("reborn", (".orchflow/workspace.json", Config("reborn", Security("standard"))));

        var ws = await Reload(c, "reborn");
        Assert.Equal(RootProblemKind.Replaced, ws.RootProblem!.Kind);
        Assert.Equal(SecurityTier.Strict, ws.Security.Tier);
    }

    [Fact]
    public async Task A_missing_root_keeps_its_policy_and_the_registered_folder_put_back_is_the_workspace_again()
    {
        await using var server = new InMemoryServer(_home);
        var c = await server.ConnectAsync();
        var root = Project("away", Base());
        await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });

        Directory.Move(root, root + ".aside");
        var gone = await Reload(c, "away");
        Assert.Equal(RootProblemKind.Missing, gone.RootProblem!.Kind);
        Assert.Equal($"root missing: {root} does not exist; put the workspace's folder back, or delete the workspace with `orchflow workspace rm away`", gone.RootProblem.Message);
        Assert.Null(gone.RootProblem.Found);
        AssertPolicy(Base(), gone.Security);
        ErrorAssert.Code(ErrorCodes.NotAllowed, await c.FailAsync(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "away" }), "root missing");
        ErrorAssert.Code(ErrorCodes.NotAllowed, await c.FailAsync(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "away", AcceptRoot = true }), "There is no folder to adopt");

        // Back, with an edit made while it was away: it is read, and held like any other.
        Directory.Move(root + ".aside", root);
        Write(root, Security("enhanced", ["bash", "cat"], ["/srv/secret"], "allowlist", ["a.example"]));
        var back = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "away" });
        await Poll.UntilAsync(async () => (back = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "away" })).RootProblem is null, "the root is seen back by the poller");
        Assert.Equal(["lowers its tier strict → enhanced"], back.PendingPolicy!.Changes);
        Assert.Contains(await Audit(c, "away"), e => e.Rule == WorkspaceService.RootRule && e.Message.StartsWith($"The registered folder is back at {root}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_MCP_socket_cannot_reach_a_policy_decision()
    {
        await using var server = new InMemoryServer(_home);
        var (a, b) = Nerdbank.Streams.FullDuplexStream.CreatePair();
        server.Server.Attach(a, a, "mcp", mcpOnly: true);
        using var agent = new TestClient(b);
        await agent.InitializeAsync();
        var ex = await agent.FailAsync(Methods.WorkspaceConfirmPolicy, new WorkspacePolicyDecision { Id = "default", Fingerprint = "x" });
        Assert.Equal(-32601, ex.ErrorCode); // method not found: the MCP socket serves only orchflow/mcp/*
        ex = await agent.FailAsync(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "default", AcceptRoot = true });
        Assert.Equal(-32601, ex.ErrorCode);
    }
}
