using Orchflow.Protocol;
using Orchflow.Server.Memory;

namespace Orchflow.Server.Tests;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>
/// One memory segment on its own: capacity by entries and by bytes with LRU eviction or refusal, time to live on a
/// hand-moved clock, keys that are only keys, search, paging, export/import, durability across reopening, and a
/// damaged file that is reported and kept, never emptied.
/// </summary>
[Trait("Tier", "unit")]
public sealed class MemorySegmentTests : IDisposable
{
    private static readonly MemoryWriter User = new(MemoryWriterKind.User, null, null, "tester", "test");
    private static readonly MemoryLimits Roomy = new(1000, 1 << 20, MemoryWhenFull.EvictLru, null);

    private readonly TempHome _home = new();
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _home.Dispose();

    private string FileFor(string name = "ws") => Path.Combine(_home.Root, "memory", name + ".db");

    private MemorySegment Open(string? file = null, bool disk = true) => MemorySegment.Open("ws", disk ? file ?? FileFor() : null, _time);

    private static MemorySetResult Set(MemorySegment s, string key, string value, MemoryLimits? limits = null, IReadOnlyList<string>? tags = null, long? ttl = null, MemoryValueKind kind = MemoryValueKind.Text) =>
        s.Set(new MemoryWrite(key, value, kind, tags ?? [], ttl), User, limits ?? Roomy);

    private static List<string> Keys(MemorySegment s) => s.List(null, 10_000).Entries.Select(e => e.Key).ToList();

    private static void Code(int expected, Action action, string? fragment = null)
    {
        var e = Assert.Throws<OrchflowException>(action);
        Assert.Equal(expected, e.Code);
        if (fragment is not null)
        {
            Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Commits_wait_for_LiteDBs_writer_queue()
    {
        // The durable path of this LiteDB version; the fallback (a checkpoint per commit) is correct but slower.
        Assert.True(global::Orchflow.Server.Storage.LiteDurability.UsesWriterQueue);
    }

    [Fact]
    public void An_entry_round_trips_with_provenance_and_reads_count()
    {
        using var s = Open();
        var writer = new MemoryWriter(MemoryWriterKind.Agent, "ws-a1", "ws-t3", null, "claude-code");
        var r = s.Set(new MemoryWrite("decisions/db", "{\"engine\":\"postgres\"}", MemoryValueKind.Json, ["decision", "db"], null), writer, Roomy);
        Assert.False(r.Replaced);
        Assert.Empty(r.Evicted);

        _time.Advance(TimeSpan.FromSeconds(5));
        var e = s.Get("decisions/db")!;
        Assert.Equal("{\"engine\":\"postgres\"}", e.Value);
        Assert.Equal(MemoryValueKind.Json, e.Kind);
        Assert.Equal(["decision", "db"], e.Tags);
        Assert.Equal(MemoryWriterKind.Agent, e.Provenance.Kind);
        Assert.Equal("ws-a1", e.Provenance.AgentId);
        Assert.Equal("ws-t3", e.Provenance.TerminalId);
        Assert.Equal("claude-code", e.Provenance.Tool);
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(5), e.Provenance.At);
        Assert.Equal(1, e.AccessCount);
        Assert.Equal(_time.GetUtcNow(), e.AccessedAt);
        Assert.Equal(2, s.Get("decisions/db")!.AccessCount);
        Assert.Null(s.Get("decisions/nothing"));
        Assert.Equal("decisions/db".Length + e.Value.Length + "decision".Length + "db".Length, e.SizeBytes);
    }

    [Fact]
    public void Keys_are_opaque_and_ordinal()
    {
        using var s = Open();
        string[] crafted = ["A", "a", "../B", "B:key", "*", "%", "b/../../etc/passwd", "ws-b:secret", "ümlaut ✓", new string('k', MemoryRules.MaxKeyBytes)];
        foreach (var key in crafted)
        {
            Set(s, key, "v-" + key);
        }

        Assert.Equal(crafted.Order(StringComparer.Ordinal), Keys(s));
        foreach (var key in crafted)
        {
            Assert.Equal("v-" + key, s.Get(key)!.Value);
        }

        // "*" and "%" are not patterns: a prefix search for them finds only keys that start with them.
        Assert.Equal(["*"], s.Search(new MemoryQuery("*", [], null, 100)).Entries.Select(e => e.Key));
        Assert.Equal(["B:key"], s.Search(new MemoryQuery("B:", [], null, 100)).Entries.Select(e => e.Key));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a\0b", "control character")]
    [InlineData("line\nbreak", "control character")]
    [InlineData("tab\t", "control character")]
    [InlineData("lone surrogate", "not valid Unicode")]
    public void Bad_keys_are_refused_with_the_reason(string key, string reason)
    {
        // xUnit cannot carry a lone surrogate in InlineData; the test builds it.
        key = key == "lone surrogate" ? "a\ud800b" : key;
        using var s = Open();
        Code(ErrorCodes.InvalidArgument, () => Set(s, key, "v"), reason);
        Code(ErrorCodes.InvalidArgument, () => s.Get(key), reason);
        Assert.Empty(Keys(s));
    }

    [Fact]
    public void Too_long_keys_values_and_bad_json_are_refused()
    {
        using var s = Open();
        Code(ErrorCodes.InvalidArgument, () => Set(s, new string('k', MemoryRules.MaxKeyBytes + 1), "v"), "at most 512 bytes");
        Code(ErrorCodes.InvalidArgument, () => Set(s, "é".PadLeft(300, 'é'), "v"), "bytes");
        Code(ErrorCodes.InvalidArgument, () => Set(s, "big", new string('x', MemoryRules.MaxValueBytes + 1)), "per entry");
        Code(ErrorCodes.InvalidArgument, () => Set(s, "j", "{not json", kind: MemoryValueKind.Json), "not valid JSON");
        Code(ErrorCodes.InvalidArgument, () => Set(s, "t", "v", tags: ["a,b"]), "commas");
        Code(ErrorCodes.InvalidArgument, () => Set(s, "t", "v", ttl: -1), "time to live");
        Assert.Empty(Keys(s));
    }

    [Fact]
    public void A_full_segment_evicts_the_least_recently_used_entries()
    {
        using var s = Open();
        var limits = Roomy with { CapacityEntries = 3 };
        foreach (var key in new[] { "a", "b", "c" })
        {
            Set(s, key, key, limits);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.NotNull(s.Get("a")); // a is now the most recently used; b the least.
        _time.Advance(TimeSpan.FromSeconds(1));
        var r = Set(s, "d", "d", limits);
        Assert.Equal(["b"], r.Evicted);
        Assert.Equal(["a", "c", "d"], Keys(s));

        // Replacing a key never evicts (the count does not grow), and never evicts the key itself.
        Assert.Empty(Set(s, "c", "c2", limits).Evicted);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["a"], Set(s, "e", "e", limits).Evicted);
        Assert.Equal(2, s.Stats(limits, null).Evictions);
    }

    [Fact]
    public void The_byte_capacity_evicts_as_many_entries_as_needed()
    {
        using var s = Open();
        var limits = Roomy with { CapacityBytes = 100 };
        for (int i = 0; i < 4; i++)
        {
            Set(s, $"k{i}", new string('x', 18), limits); // 20 bytes each
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var r = Set(s, "big", new string('y', 57), limits); // 60 bytes: needs 40 more than the 20 free
        Assert.Equal(["k0", "k1"], r.Evicted);
        var stats = s.Stats(limits, null);
        Assert.Equal(100, stats.Bytes);
        Assert.Equal(100.0, stats.UsedPercent);
        Code(ErrorCodes.LimitReached, () => Set(s, "huge", new string('z', 200), limits), "more than the whole memory");
    }

    [Fact]
    public void A_full_segment_set_to_refuse_refuses_new_keys_and_keeps_everything()
    {
        using var s = Open();
        var limits = Roomy with { CapacityEntries = 2, WhenFull = MemoryWhenFull.Refuse };
        Set(s, "a", "1", limits);
        Set(s, "b", "2", limits);
        Code(ErrorCodes.LimitReached, () => Set(s, "c", "3", limits), "when_full is \"refuse\"");
        Assert.Equal(["a", "b"], Keys(s));
        Assert.True(Set(s, "a", "1b", limits).Replaced); // Replacing fits.
        Assert.True(s.Delete("b"));
        Set(s, "c", "3", limits);
        Assert.Equal(["a", "c"], Keys(s));
    }

    [Fact]
    public void Entries_expire_after_their_time_to_live()
    {
        using var s = Open();
        var limits = Roomy with { DefaultTtl = TimeSpan.FromMinutes(1) };
        Set(s, "default", "v", limits);
        Set(s, "short", "v", limits, ttl: 10);
        Set(s, "never", "v", limits, ttl: 0);
        Assert.Equal(_time.GetUtcNow().AddMinutes(1), s.Get("default")!.ExpiresAt);
        Assert.Null(s.Get("never")!.ExpiresAt);

        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(s.Get("short"));
        Assert.Equal(["default", "never"], Keys(s));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(["never"], Keys(s));
        Assert.Equal(["never"], s.Search(new MemoryQuery(null, [], "v", 100)).Entries.Select(e => e.Key));
        var stats = s.Stats(limits, null);
        Assert.Equal(1, stats.Entries);
        Assert.Equal(2, stats.Expirations);
    }

    [Fact]
    public void Expired_entries_make_room_before_anything_is_evicted_or_refused()
    {
        using var s = Open();
        var limits = Roomy with { CapacityEntries = 2, WhenFull = MemoryWhenFull.Refuse };
        Set(s, "old", "v", limits, ttl: 5);
        Set(s, "keep", "v", limits);
        _time.Advance(TimeSpan.FromSeconds(6));
        var r = Set(s, "new", "v", limits);
        Assert.Empty(r.Evicted);
        Assert.Equal(["keep", "new"], Keys(s));
    }

    [Fact]
    public void Search_combines_prefix_tags_and_text_in_key_order()
    {
        using var s = Open();
        Set(s, "api/users", "GET /users returns a page", tags: ["api", "done"]);
        Set(s, "api/orders", "POST /orders is idempotent", tags: ["api"]);
        Set(s, "db/schema", "Users table has an index on email", tags: ["db", "done"]);
        Set(s, "notes", "nothing here");

        Assert.Equal(["api/orders", "api/users"], Search(s, prefix: "api/"));
        Assert.Equal(["api/users", "db/schema"], Search(s, tags: ["done"]));
        Assert.Equal(["api/users"], Search(s, tags: ["done", "api"]));
        Assert.Equal(["api/users", "db/schema"], Search(s, text: "USERS"));
        Assert.Equal(["db/schema"], Search(s, prefix: "db", text: "email"));
        Assert.Empty(Search(s, prefix: "api/", tags: ["db"]));

        var limited = s.Search(new MemoryQuery(null, [], null, 2));
        Assert.Equal(["api/orders", "api/users"], limited.Entries.Select(e => e.Key));
        Assert.True(limited.Truncated);
        Assert.True(s.Search(new MemoryQuery(null, ["done"], null, 1)).Truncated);
    }

    private static List<string> Search(MemorySegment s, string? prefix = null, string[]? tags = null, string? text = null) =>
        s.Search(new MemoryQuery(prefix, tags ?? [], text, 100)).Entries.Select(e => e.Key).ToList();

    [Fact]
    public void List_pages_through_every_entry_once()
    {
        using var s = Open();
        var keys = Enumerable.Range(0, 25).Select(i => $"k{i:D2}").ToList();
        foreach (var k in keys)
        {
            Set(s, k, k);
        }

        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = s.List(after, 10);
            seen.AddRange(page.Entries.Select(e => e.Key));
            after = page.NextAfter;
        }
        while (after is not null);
        Assert.Equal(keys, seen);
    }

    [Fact]
    public void Export_and_import_round_trip_everything_but_nothing_more()
    {
        using var source = Open();
        Set(source, "a", "text value\nwith lines", tags: ["x"]);
        Set(source, "b", "[1,2,3]", kind: MemoryValueKind.Json, ttl: 3600);
        source.Get("a");
        var lines = MemoryJsonLines.Format(source.Export());
        Assert.Equal(2, lines.Count(c => c == '\n'));

        using var target = MemorySegment.Open("ws2", FileFor("ws2"), _time);
        Set(target, "a", "to be replaced");
        Set(target, "other", "stays");
        var parsed = MemoryJsonLines.Parse(lines, User, _time.GetUtcNow(), "test");
        var (imported, replaced, evicted, aside) = target.Import(parsed.Select(MemoryMapping.ToRecord).ToList(), replace: false, Roomy);
        Assert.Equal((2, 1, 0, (string?)null), (imported, replaced, evicted.Count, aside));
        Assert.Equal(["a", "b", "other"], Keys(target));
        Assert.Equal(MemoryJsonLines.Format(source.Export()), MemoryJsonLines.Format(target.Export().Where(e => e.Key != "other")));

        target.Import([], replace: true, Roomy);
        Assert.Empty(Keys(target));
    }

    [Fact]
    public void An_import_with_a_bad_line_imports_nothing_and_names_the_lines()
    {
        var text = "{\"key\":\"a\",\"value\":\"1\"}\n\nnot json\n{\"value\":\"no key\"}\n{\"key\":\"j\",\"value\":{\"deep\":true}}\n";
        var e = Assert.Throws<OrchflowException>(() => MemoryJsonLines.Parse(text, User, _time.GetUtcNow(), "backup.jsonl"));
        Assert.Contains("backup.jsonl has 2 bad line(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 3:", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 4: \"key\" is missing", e.Message, StringComparison.Ordinal);

        var ok = MemoryJsonLines.Parse("{\"key\":\"j\",\"value\":{\"deep\":true},\"tags\":[\"t\"]}", User, _time.GetUtcNow(), "x");
        Assert.Equal(MemoryValueKind.Json, ok[0].Kind);
        Assert.Equal("{\"deep\":true}", ok[0].Value);
        Assert.Equal("tester", ok[0].Provenance.User);
    }

    [Fact]
    public void An_import_respects_capacity()
    {
        using var s = Open();
        var refuse = Roomy with { CapacityEntries = 3, WhenFull = MemoryWhenFull.Refuse };
        Set(s, "old1", "v", refuse);
        _time.Advance(TimeSpan.FromSeconds(1));
        Set(s, "old2", "v", refuse);
        var records = MemoryJsonLines.Parse("{\"key\":\"n1\",\"value\":\"v\"}\n{\"key\":\"n2\",\"value\":\"v\"}", User, _time.GetUtcNow(), "x").Select(MemoryMapping.ToRecord).ToList();
        Assert.Equal(ErrorCodes.LimitReached, Assert.Throws<OrchflowException>(() => s.Import(records, false, refuse)).Code);
        Assert.Equal(["old1", "old2"], Keys(s));

        var (_, _, evicted, _) = s.Import(records, false, refuse with { WhenFull = MemoryWhenFull.EvictLru });
        Assert.Equal(["old1"], evicted);
        Assert.Equal(["n1", "n2", "old2"], Keys(s));
        Assert.Equal(ErrorCodes.LimitReached, Assert.Throws<OrchflowException>(() => s.Import(records, false, refuse with { CapacityEntries = 1 })).Code);
    }

    [Fact]
    public void Entries_and_access_history_survive_reopening_and_memory_persistence_keeps_no_file()
    {
        var file = FileFor();
        using (var s = Open(file))
        {
            Set(s, "k", "v");
            s.Get("k");
            s.Get("k");
        }

        using (var again = Open(file))
        {
            Assert.Equal(3, again.Get("k")!.AccessCount);
            Assert.Equal(MemoryPersistence.Disk, again.Persistence);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        using var inMemory = Open(disk: false);
        Set(inMemory, "k", "v");
        Assert.Equal(MemoryPersistence.Memory, inMemory.Persistence);
        Assert.Null(inMemory.File);
    }

    [Theory]
    [InlineData("header")]
    [InlineData("pages")]
    [InlineData("truncated")]
    public void A_damaged_file_is_reported_kept_and_replaced_only_on_request(string damage)
    {
        var file = FileFor();
        using (var s = Open(file))
        {
            for (int i = 0; i < 200; i++)
            {
                Set(s, $"key-{i:D3}", new string((char)('a' + (i % 26)), 200));
            }
        }

        Damage(file, damage);
        var damagedBytes = File.ReadAllBytes(file);

        using var segment = Open(file);
        Assert.Equal(MemorySegmentState.Damaged, segment.State);
        Assert.Contains(file, segment.Problem, StringComparison.Ordinal);
        var e = Assert.Throws<OrchflowException>(() => segment.Get("key-001"));
        Assert.Equal(ErrorCodes.Damaged, e.Code);
        Assert.Contains("import --workspace ws --replace", e.Hint, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.Damaged, Assert.Throws<OrchflowException>(() => Set(segment, "new", "v")).Code);
        Assert.Equal(ErrorCodes.Damaged, Assert.Throws<OrchflowException>(() => segment.Import([], replace: false, Roomy)).Code);
        var stats = segment.Stats(Roomy, "hint");
        Assert.Equal(MemorySegmentState.Damaged, stats.State);
        Assert.NotNull(stats.Problem);

        // Nothing was written to the damaged file.
        Assert.Equal(damagedBytes, File.ReadAllBytes(file));

        var records = MemoryJsonLines.Parse("{\"key\":\"restored\",\"value\":\"v\"}", User, _time.GetUtcNow(), "x").Select(MemoryMapping.ToRecord).ToList();
        var (imported, _, _, aside) = segment.Import(records, replace: true, Roomy);
        Assert.Equal(1, imported);
        Assert.NotNull(aside);
        Assert.Equal(damagedBytes, File.ReadAllBytes(aside));
        Assert.Equal(MemorySegmentState.Ok, segment.State);
        Assert.Equal(["restored"], Keys(segment));
    }

    private static void Damage(string file, string how)
    {
        var bytes = File.ReadAllBytes(file);
        Assert.True(bytes.Length >= 3 * 8192, $"the test file should span several pages, it has {bytes.Length} bytes");
        switch (how)
        {
            case "header":
                Array.Fill(bytes, (byte)0x5A, 0, 4096);
                break;
            case "pages":
                // Every page after the header: its page header and content.
                var random = new Random(7);
                var garbage = new byte[bytes.Length - 8192];
                random.NextBytes(garbage);
                garbage.CopyTo(bytes, 8192);
                break;
            default:
                bytes = bytes[..(8192 + 100)];
                break;
        }

        File.WriteAllBytes(file, bytes);
    }
}
