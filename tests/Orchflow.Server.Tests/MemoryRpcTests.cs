using System.Text.Json;
using Orchflow.Protocol;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Tests;

/// <summary>
/// orchflow/memory/* over in-memory RPC: a person's access to a workspace's segment, the workspace config's memory
/// settings in force, orchflow/memory/changed, files per workspace removed with their workspace, persistence "memory",
/// export and import through files, and a damaged file found at the daemon's start.
/// </summary>
[Trait("Tier", "rpc")]
public sealed class MemoryRpcTests : IAsyncLifetime
{
    private readonly TempHome _home = new();
    private InMemoryServer _server = null!;
    private TestClient _c = null!;

    public async Task InitializeAsync()
    {
        _server = new InMemoryServer(_home);
        _c = await _server.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _home.Dispose();
    }

    private Task<WorkspaceInfo> CreateAsync(string name, string? memoryConfig = null, string? extra = null) =>
        _c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams
        {
            Path = memoryConfig is null && extra is null
                ? _home.Project(name)
                : _home.Project(name, (".orchflow/workspace.json", $"{{ \"workspace\": {{ {string.Join(", ", new[] { memoryConfig is null ? null : $"\"memory\": {memoryConfig}", extra }.Where(x => x is not null))} }} }}")),
        });

    private Task<MemorySetResult> SetAsync(string ws, string key, string value, long? ttl = null, IReadOnlyList<string>? tags = null) =>
        _c.CallAsync<MemorySetResult>(Methods.MemorySet, new MemorySetParams { WorkspaceId = ws, Key = key, Value = value, TtlSeconds = ttl, Tags = tags });

    private string SegmentFile(string ws) => Path.Combine(_home.Paths.DataDirectory, "memory", ws + ".db");

    [Fact]
    public async Task A_person_stores_reads_searches_lists_and_deletes_by_workspace_name()
    {
        var ws = await CreateAsync("shop");
        var set = await SetAsync(ws.Name, "api/users", "GET /users", tags: ["api"]);
        Assert.Equal(MemoryWriterKind.User, set.Entry.Provenance.Kind);
        Assert.Equal("test", set.Entry.Provenance.Tool);
        Assert.Equal(Environment.UserName, set.Entry.Provenance.User);
        await SetAsync(ws.Id, "db/schema", "{\"tables\":3}");

        var got = await _c.CallAsync<MemoryGetResult>(Methods.MemoryGet, new MemoryKeyParams { WorkspaceId = ws.RootPath, Key = "api/users" });
        Assert.Equal("GET /users", got.Entry!.Value);
        Assert.Null((await _c.CallAsync<MemoryGetResult>(Methods.MemoryGet, new MemoryKeyParams { WorkspaceId = ws.Id, Key = "none" })).Entry);

        var found = await _c.CallAsync<MemorySearchResult>(Methods.MemorySearch, new MemorySearchParams { WorkspaceId = ws.Id, Tags = ["api"] });
        Assert.Equal(["api/users"], found.Entries.Select(e => e.Key));
        var list = await _c.CallAsync<MemoryListResult>(Methods.MemoryList, new MemoryListParams { WorkspaceId = ws.Id, Limit = 1 });
        Assert.Equal(["api/users"], list.Entries.Select(e => e.Key));
        Assert.Equal("api/users", list.NextAfter);

        Assert.True((await _c.CallAsync<MemoryDeleteResult>(Methods.MemoryDelete, new MemoryKeyParams { WorkspaceId = ws.Id, Key = "api/users" })).Deleted);
        Assert.False((await _c.CallAsync<MemoryDeleteResult>(Methods.MemoryDelete, new MemoryKeyParams { WorkspaceId = ws.Id, Key = "api/users" })).Deleted);

        var stats = (await _c.CallAsync<MemoryStatsResult>(Methods.MemoryStats, new MemoryStatsParams { WorkspaceId = ws.Id })).Segments.Single();
        Assert.Equal(1, stats.Entries);
        Assert.Equal(MemoryPersistence.Disk, stats.Persistence);
        Assert.Equal(SegmentFile(ws.Id), stats.File);
        Assert.True(File.Exists(SegmentFile(ws.Id)));

        ErrorAssert.Code(ErrorCodes.NotFound, await _c.FailAsync(Methods.MemoryGet, new MemoryKeyParams { WorkspaceId = "nope", Key = "k" }));
        ErrorAssert.Code(ErrorCodes.InvalidArgument, await _c.FailAsync(Methods.MemorySet, new MemorySetParams { WorkspaceId = ws.Id, Key = "k", Value = "{", Kind = MemoryValueKind.Json }), "not valid JSON");
    }

    [Fact]
    public async Task Stats_cover_every_workspace_without_creating_files()
    {
        var a = await CreateAsync("a");
        await CreateAsync("b");
        await SetAsync(a.Id, "k", "v");
        var all = (await _c.CallAsync<MemoryStatsResult>(Methods.MemoryStats, new MemoryStatsParams())).Segments;
        Assert.Equal(["a", "b", "default"], all.Select(s => s.WorkspaceId));
        Assert.Equal([1L, 0L, 0L], all.Select(s => s.Entries));
        Assert.False(File.Exists(SegmentFile("b")));
        Assert.All(all, s => Assert.Equal(512L * 1024 * 1024, s.CapacityBytes));
    }

    [Fact]
    public async Task The_workspace_config_sets_capacity_when_full_ttl_and_persistence()
    {
        var ws = await CreateAsync("configured",
            "{ \"capacity_entries\": 2, \"when_full\": \"refuse\", \"persistence\": \"memory\", \"default_ttl\": \"1h\" }",
            "\"models\": { \"memory_size\": \"1MB\" }");
        var set = await SetAsync(ws.Id, "a", "1");
        Assert.Equal(set.Entry.UpdatedAt.AddHours(1), set.Entry.ExpiresAt);
        await SetAsync(ws.Id, "b", "2");
        ErrorAssert.Code(ErrorCodes.LimitReached, await _c.FailAsync(Methods.MemorySet, new MemorySetParams { WorkspaceId = ws.Id, Key = "c", Value = "3" }), "refuse");

        var stats = (await _c.CallAsync<MemoryStatsResult>(Methods.MemoryStats, new MemoryStatsParams { WorkspaceId = ws.Id })).Segments.Single();
        Assert.Equal((2L, 1024L * 1024, MemoryWhenFull.Refuse, MemoryPersistence.Memory, 3600L), (stats.CapacityEntries, stats.CapacityBytes, stats.WhenFull, stats.Persistence, stats.DefaultTtlSeconds));
        Assert.Equal(100.0, stats.UsedPercent);
        Assert.Null(stats.File);
        Assert.False(File.Exists(SegmentFile(ws.Id)));
    }

    [Fact]
    public async Task Changes_are_announced_per_workspace()
    {
        var ws = await CreateAsync("notified");
        await SetAsync(ws.Id, "one", "1");
        await SetAsync(ws.Id, "two", "2");
        var json = await _c.WaitForNotificationAsync(Methods.MemoryChanged, j => j.Contains("\"entries\":2", StringComparison.Ordinal));
        var n = JsonSerializer.Deserialize<MemoryChangedNotification>(json, ProtocolJson.Options)!;
        Assert.Equal(ws.Id, n.WorkspaceId);
        Assert.Equal(2, n.Stats!.Entries);

        await _c.CallAsync<WorkspaceDeleteResult>(Methods.WorkspaceDelete, new WorkspaceRef { Id = ws.Id });
        await _c.WaitForNotificationAsync(Methods.MemoryChanged, j => j.Contains($"\"workspaceId\":\"{ws.Id}\"", StringComparison.Ordinal) && !j.Contains("stats", StringComparison.Ordinal));
        Assert.False(File.Exists(SegmentFile(ws.Id)));
    }

    [Fact]
    public async Task Export_and_import_go_through_files_and_lines()
    {
        var ws = await CreateAsync("backup");
        await SetAsync(ws.Id, "a", "1", tags: ["t"]);
        await SetAsync(ws.Id, "b", "2");
        var file = Path.Combine(_home.Root, "backup.jsonl");
        var exported = await _c.CallAsync<MemoryExportResult>(Methods.MemoryExport, new MemoryExportParams { WorkspaceId = ws.Id, Path = file });
        Assert.Equal((2, file), (exported.Entries, exported.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var inline = await _c.CallAsync<MemoryExportResult>(Methods.MemoryExport, new MemoryExportParams { WorkspaceId = ws.Id });
        Assert.Equal(await File.ReadAllTextAsync(file), inline.Lines);

        var target = await CreateAsync("restore");
        var imported = await _c.CallAsync<MemoryImportResult>(Methods.MemoryImport, new MemoryImportParams { WorkspaceId = target.Id, Path = file });
        Assert.Equal(2, imported.Imported);
        var expired = await _c.CallAsync<MemoryImportResult>(Methods.MemoryImport, new MemoryImportParams { WorkspaceId = target.Id, Lines = "{\"key\":\"old\",\"value\":\"x\",\"expiresAt\":\"2001-01-01T00:00:00Z\"}\n{\"key\":\"c\",\"value\":3}" });
        Assert.Equal((1, 1), (expired.Imported, expired.SkippedExpired));
        var c = (await _c.CallAsync<MemoryGetResult>(Methods.MemoryGet, new MemoryKeyParams { WorkspaceId = target.Id, Key = "c" })).Entry!;
        Assert.Equal((MemoryValueKind.Json, "3"), (c.Kind, c.Value));

        ErrorAssert.Code(ErrorCodes.InvalidPath, await _c.FailAsync(Methods.MemoryImport, new MemoryImportParams { WorkspaceId = target.Id, Path = "relative.jsonl" }), "not an absolute path");
        ErrorAssert.Code(ErrorCodes.InvalidArgument, await _c.FailAsync(Methods.MemoryImport, new MemoryImportParams { WorkspaceId = target.Id, Lines = "{\"key\":\"x\"}" }), "line 1");
        Assert.Equal(3, (await _c.CallAsync<MemoryStatsResult>(Methods.MemoryStats, new MemoryStatsParams { WorkspaceId = target.Id })).Segments.Single().Entries);
    }

    [Fact]
    public async Task A_damaged_file_is_reported_at_start_and_replaced_only_by_an_import()
    {
        var database = Database.InMemory();
        var first = new InMemoryServer(_home, database);
        var c1 = await first.ConnectAsync();
        var ws = await c1.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("fragile") });
        for (int i = 0; i < 100; i++)
        {
            await c1.CallAsync<MemorySetResult>(Methods.MemorySet, new MemorySetParams { WorkspaceId = ws.Id, Key = $"k{i}", Value = new string('v', 300) });
        }

        await first.DisposeAsync();
        var file = SegmentFile(ws.Id);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes.AsSpan(0, 4096).Fill(0x42);
        await File.WriteAllBytesAsync(file, bytes);

        await using var second = new InMemoryServer(_home, database);
        await second.Server.Memory.Verified;
        var c2 = await second.ConnectAsync();
        var status = await c2.CallAsync<StatusResult>(Methods.Status, new StatusParams());
        Assert.Equal([ws.Id], status.DamagedMemory);
        var stats = (await c2.CallAsync<MemoryStatsResult>(Methods.MemoryStats, new MemoryStatsParams { WorkspaceId = ws.Id })).Segments.Single();
        Assert.Equal(MemorySegmentState.Damaged, stats.State);
        Assert.Contains("--replace", stats.Hint, StringComparison.Ordinal);
        var failure = await c2.FailAsync(Methods.MemoryGet, new MemoryKeyParams { WorkspaceId = ws.Id, Key = "k1" });
        ErrorAssert.Code(ErrorCodes.Damaged, failure, "damaged");
        Assert.Contains("never deleted", ErrorAssert.Data(failure).Hint, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(file));

        var replaced = await c2.CallAsync<MemoryImportResult>(Methods.MemoryImport, new MemoryImportParams { WorkspaceId = ws.Id, Lines = "", Replace = true });
        Assert.StartsWith(file + ".damaged-", replaced.MovedAside, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(replaced.MovedAside!));
        await c2.CallAsync<MemorySetResult>(Methods.MemorySet, new MemorySetParams { WorkspaceId = ws.Id, Key = "fresh", Value = "v" });
        Assert.Null((await c2.CallAsync<StatusResult>(Methods.Status, new StatusParams())).DamagedMemory?.FirstOrDefault());
    }
}
