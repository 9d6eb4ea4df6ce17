using Orchflow.Protocol;
using Orchflow.Server.Storage;
using StreamJsonRpc;

namespace Orchflow.Server.Tests;

/// <summary>Tier 2: the workspace capability over in-memory JSON-RPC with production framing.</summary>
[Trait("Tier", "rpc")]
public sealed class WorkspaceRpcTests : IDisposable
{
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    private static WorkspaceCreateParams Create(string path, string? ns = null, string? id = null) => new() { Path = path, Namespace = ns, Id = id };

    [Fact]
    public async Task Initialize_reports_daemon_and_capabilities()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync(initialize: false);
        var init = await client.InitializeAsync();
        Assert.Equal("orchflow", init.ServerInfo.Name);
        Assert.Contains("workspaces", init.Capabilities.Features);
        Assert.Equal(_home.Paths.LogFile, init.Daemon.LogFile);
    }

    [Fact]
    public async Task Requests_before_initialize_are_refused_with_ServerNotInitialized()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync(initialize: false);
        var ex = await client.FailAsync(Methods.WorkspaceList, new WorkspaceListParams());
        ErrorAssert.Code(ErrorCodes.NotInitialized, ex, "initialize");
    }

    [Fact]
    public async Task Create_detects_type_and_list_show_switch_delete_work()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var shop = _home.Project("shop", ("package.json", "{}"), ("Cargo.toml", "[package]"));
        var created = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(shop));
        Assert.Equal("shop", created.Id);
        Assert.Equal("shop", created.Namespace);
        Assert.Equal(ProjectType.Mixed, created.Metadata.ProjectType);
        Assert.Null(created.Metadata.Vcs);
        Assert.False(created.IsDefault);

        var list = await client.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.Equal(["default", "shop"], list.Workspaces.Select(w => w.Id));
        Assert.Null(list.ActiveWorkspaceId);

        var before = created.LastAccessed;
        var switched = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceSwitch, new WorkspaceRef { Id = "shop" });
        Assert.True(switched.LastAccessed >= before);
        list = await client.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.Equal("shop", list.ActiveWorkspaceId);

        // Show accepts the id, the name or the root path.
        Assert.Equal("shop", (await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = shop })).Id);

        var deleted = await client.CallAsync<WorkspaceDeleteResult>(Methods.WorkspaceDelete, new WorkspaceRef { Id = "shop" });
        Assert.Equal("shop", deleted.Id);
        Assert.True(File.Exists(Path.Combine(shop, "package.json")), "delete must never touch the user's files");
        list = await client.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.Equal(["default"], list.Workspaces.Select(w => w.Id));
        Assert.Null(list.ActiveWorkspaceId);
    }

    [Fact]
    public async Task Active_workspace_is_per_client()
    {
        await using var server = new InMemoryServer(_home);
        var a = await server.ConnectAsync();
        var b = await server.ConnectAsync();
        await a.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(_home.Project("one")));
        await a.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(_home.Project("two")));
        await a.CallAsync<WorkspaceInfo>(Methods.WorkspaceSwitch, new WorkspaceRef { Id = "one" });
        await b.CallAsync<WorkspaceInfo>(Methods.WorkspaceSwitch, new WorkspaceRef { Id = "two" });
        Assert.Equal("one", (await a.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams())).ActiveWorkspaceId);
        Assert.Equal("two", (await b.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams())).ActiveWorkspaceId);
    }

    [Fact]
    public async Task Changes_are_pushed_to_every_client()
    {
        await using var server = new InMemoryServer(_home);
        var a = await server.ConnectAsync();
        var b = await server.ConnectAsync();
        await a.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(_home.Project("pushed")));
        await b.WaitForNotificationAsync(Methods.WorkspaceChanged, json => json.Contains("\"created\"", StringComparison.Ordinal) && json.Contains("\"pushed\"", StringComparison.Ordinal));
        await a.CallAsync<WorkspaceDeleteResult>(Methods.WorkspaceDelete, new WorkspaceRef { Id = "pushed" });
        await b.WaitForNotificationAsync(Methods.WorkspaceChanged, json => json.Contains("\"deleted\"", StringComparison.Ordinal));
    }

    public static TheoryData<string, int, string> RefusalCases => new()
    {
        { "missing", ErrorCodes.InvalidPath, "does not exist" },
        { "file", ErrorCodes.InvalidPath, "is a file" },
        { "relative", ErrorCodes.InvalidPath, "not an absolute path" },
        { "registered", ErrorCodes.AlreadyRegistered, "already registered" },
        { "registered-via-symlink", ErrorCodes.AlreadyRegistered, "already registered" },
        { "nested", ErrorCodes.Overlap, "is inside workspace" },
        { "containing", ErrorCodes.Overlap, "contains workspace" },
        { "duplicate-namespace", ErrorCodes.Duplicate, "namespace 'base'" },
        { "duplicate-id", ErrorCodes.Duplicate, "id 'base'" },
        { "bad-id", ErrorCodes.InvalidArgument, "not a valid workspace id" },
    };

    [Theory]
    [MemberData(nameof(RefusalCases))]
    public async Task Every_refusal_rule_gives_a_clear_error_and_changes_nothing(string scenario, int code, string fragment)
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var baseRoot = _home.Project("base", ("inner/keep.txt", "x"));
        await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(baseRoot));
        var link = Path.Combine(_home.Projects, "link-to-base");
        File.CreateSymbolicLink(link, baseRoot);
        var parent = _home.Projects;
        var p = scenario switch
        {
            "missing" => Create(Path.Combine(_home.Projects, "nope")),
            "file" => Create(Path.Combine(baseRoot, "inner", "keep.txt")),
            "relative" => Create("relative/path"),
            "registered" => Create(baseRoot),
            "registered-via-symlink" => Create(link),
            "nested" => Create(Path.Combine(baseRoot, "inner")),
            "containing" => Create(parent),
            "duplicate-namespace" => Create(_home.Project("other"), ns: "base"),
            "duplicate-id" => Create(_home.Project("other2"), id: "base"),
            "bad-id" => Create(_home.Project("other3"), id: "Bad Id!"),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };
        var ex = await client.FailAsync(Methods.WorkspaceCreate, p);
        ErrorAssert.Code(code, ex, fragment);
        Assert.Equal(ErrorCodes.Name(code), ErrorAssert.Data(ex).Kind);
        var list = await client.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.Equal(["base", "default"], list.Workspaces.Select(w => w.Id).Order());
    }

    [Fact]
    public async Task Max_workspaces_from_the_global_config_is_enforced()
    {
        _home.WriteGlobalConfig("[orchestration]\nmax_workspaces = 2\n");
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(_home.Project("a")));
        await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(_home.Project("b")));
        var ex = await client.FailAsync(Methods.WorkspaceCreate, Create(_home.Project("c")));
        ErrorAssert.Code(ErrorCodes.LimitReached, ex, "at most 2 workspaces");
        Assert.Contains("max_workspaces", ErrorAssert.Data(ex).Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_ids_are_NotFound_for_every_verb()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        foreach (var method in new[] { Methods.WorkspaceShow, Methods.WorkspaceSwitch, Methods.WorkspaceDelete, Methods.WorkspaceReloadConfig })
        {
            var ex = await client.FailAsync(method, new WorkspaceRef { Id = "ghost" });
            ErrorAssert.Code(ErrorCodes.NotFound, ex, "'ghost'");
        }

        var update = await client.FailAsync(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "ghost", Name = "x" });
        ErrorAssert.Code(ErrorCodes.NotFound, update);
    }

    [Fact]
    public async Task The_default_workspace_exists_and_cannot_be_deleted()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var def = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "default" });
        Assert.True(def.IsDefault);
        var ex = await client.FailAsync(Methods.WorkspaceDelete, new WorkspaceRef { Id = "default" });
        ErrorAssert.Code(ErrorCodes.NotAllowed, ex);
    }

    [Fact]
    public async Task Workspace_config_is_applied_and_an_invalid_edit_keeps_the_last_good_config()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var root = _home.Project("cfg", (".orchflow/workspace.json", """
            {
              "workspace": {
                "id": "proj-cfg", "name": "Configured", "type": "python",
                "namespace": { "prefix": "cfgns" },
                "resources": { "max_agents": 3, "memory_limit": "2GB" },
                "security": { "tier": "enhanced", "allowed_commands": ["git"] }
              }
            }
            """));
        var ws = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(root));
        Assert.Equal("proj-cfg", ws.Id);
        Assert.Equal("Configured", ws.Name);
        Assert.Equal("cfgns", ws.Namespace);
        Assert.Equal(ProjectType.Python, ws.Metadata.ProjectType);
        Assert.Equal(3, ws.Metadata.ResourceLimits.MaxAgents);
        Assert.Equal(2L * 1024 * 1024 * 1024, ws.Metadata.ResourceLimits.MemoryLimitBytes);
        Assert.Equal(SecurityTier.Enhanced, ws.Security.Tier);
        Assert.Equal(["git"], ws.Security.AllowedCommands);

        File.WriteAllText(Path.Combine(root, ".orchflow/workspace.json"), "{\n  \"workspace\": {\n    \"resources\": { \"max_agents\": \"many\" }\n  }\n}\n");
        var reloaded = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceReloadConfig, new WorkspaceRef { Id = "proj-cfg" });
        var error = Assert.Single(reloaded.Config.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal(3, error.Line);
        Assert.Equal(34, error.Column);
        Assert.EndsWith("workspace.json", error.File, StringComparison.Ordinal);
        Assert.Equal(3, reloaded.Metadata.ResourceLimits.MaxAgents); // the last good value stays in force
        Assert.Equal(SecurityTier.Enhanced, reloaded.Security.Tier);
    }

    [Fact]
    public async Task An_invalid_config_file_refuses_creation_with_positions()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var root = _home.Project("broken", (".orchflow/workspace.json", "{ \"workspace\": { \"security\": { \"tier\": \"paranoid\" } } }"));
        var ex = await client.FailAsync(Methods.WorkspaceCreate, Create(root));
        ErrorAssert.Code(ErrorCodes.InvalidConfig, ex, "workspace.json is invalid");
        var d = Assert.Single(ErrorAssert.Data(ex).Diagnostics!, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal(1, d.Line);
        Assert.Equal(40, d.Column);
        Assert.Contains("paranoid", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Git_metadata_is_detected()
    {
        var root = _home.Project("repo", ("go.mod", "module x"));
        await Git(root, "init", "-q", "-b", "main");
        await Git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "init");
        await Git(root, "remote", "add", "origin", "https://example.invalid/repo.git");
        File.WriteAllText(Path.Combine(root, "new.txt"), "dirty");
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ws = await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(root));
        var vcs = Assert.IsType<VcsInfo>(ws.Metadata.Vcs);
        Assert.Equal("main", vcs.Branch);
        Assert.Matches("^[0-9a-f]{40}$", vcs.Head);
        Assert.Equal("https://example.invalid/repo.git", vcs.RemoteUrl);
        Assert.True(vcs.Dirty);
        Assert.Equal("https://example.invalid/repo.git", ws.RepoUrl);
        Assert.Equal(ProjectType.Go, ws.Metadata.ProjectType);
    }

    [Fact]
    public async Task A_restart_loses_nothing()
    {
        var dbPath = Path.Combine(_home.Root, "restart.db");
        var root = _home.Project("persist");
        await using (var first = new InMemoryServer(_home, Database.Open(dbPath, Hosting.Log.Null)))
        {
            var client = await first.ConnectAsync();
            await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, Create(root, ns: "keep"));
            await client.CallAsync<WorkspaceInfo>(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "persist", Name = "Renamed" });
            first.Database.Dispose();
        }

        await using var second = new InMemoryServer(_home, Database.Open(dbPath, Hosting.Log.Null));
        var c2 = await second.ConnectAsync();
        var ws = await c2.CallAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "persist" });
        Assert.Equal("Renamed", ws.Name);
        Assert.Equal("keep", ws.Namespace);
        Assert.Equal(root, ws.RootPath);
        second.Database.Dispose();
    }

    private static async Task Git(string cwd, params string[] args)
    {
        var result = await Processes.ProcessFactory.RunAsync("git", args, cwd, TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, result.StandardError);
    }
}
