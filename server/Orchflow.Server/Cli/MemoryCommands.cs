using System.Globalization;
using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using static Orchflow.Server.EnumText;

namespace Orchflow.Server.Cli;

internal static class MemoryCommands
{
    private const string Verbs = "set, get, rm, search, list, stats, export or import";

    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory, TextReader stdin)
    {
        var verb = cmd.Positional(1) ?? throw new CliException($"Missing memory command: {Verbs}.");
        bool json = cmd.Flag("json");
        // The workspace is the one named, else the one this call is in (CurrentWorkspace), found once connected.
        var named = cmd.Option("workspace");

        switch (verb)
        {
            case "set":
            {
                var key = cmd.RequirePositional(2, "KEY");
                var valueArg = cmd.RequirePositional(3, "VALUE (or - to read it from standard input)");
                var p = new MemorySetParams
                {
                    WorkspaceId = named ?? CurrentWorkspace.Default,
                    Key = key,
                    Value = valueArg == "-" ? TrimOneNewline(await stdin.ReadToEndAsync().ConfigureAwait(false)) : valueArg,
                    Kind = cmd.Flag("json-value") ? MemoryValueKind.Json : MemoryValueKind.Text,
                    Tags = Tags(cmd.Option("tags")),
                    TtlSeconds = Ttl(cmd.Option("ttl")),
                    TerminalId = Environment.GetEnvironmentVariable("ORCHFLOW_TERMINAL_ID"),
                };
                cmd.EnsureNoUnknown(maxPositionals: 4);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                p = p with { WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false) };
                var r = await client.InvokeAsync<MemorySetResult>(Methods.MemorySet, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(r);
                }
                else
                {
                    output.Line($"{(r.Replaced ? "Replaced" : "Stored")} '{r.Entry.Key}' in workspace '{p.WorkspaceId}' ({r.Entry.SizeBytes} bytes{(r.Entry.ExpiresAt is { } e ? ", expires " + e.ToString("u", CultureInfo.InvariantCulture) : "")}).");
                    if (r.Evicted.Count > 0)
                    {
                        output.Line($"Evicted to make room (least recently used): {string.Join(", ", r.Evicted)}");
                    }
                }

                return 0;
            }

            case "get" or "rm" or "delete":
            {
                var key = cmd.RequirePositional(2, "KEY");
                var p = new MemoryKeyParams { WorkspaceId = named ?? CurrentWorkspace.Default, Key = key };
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                p = p with { WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false) };
                if (verb == "get")
                {
                    var r = await client.InvokeAsync<MemoryGetResult>(Methods.MemoryGet, p).ConfigureAwait(false);
                    if (json)
                    {
                        output.Json(r);
                    }
                    else if (r.Entry is { } entry)
                    {
                        output.Out.Write(entry.Value);
                        if (!entry.Value.EndsWith('\n'))
                        {
                            output.Line();
                        }
                    }

                    if (r.Entry is null && !json)
                    {
                        output.Fail($"No entry '{key}' in the memory of workspace '{p.WorkspaceId}'.");
                    }

                    return r.Entry is null ? 1 : 0;
                }

                var d = await client.InvokeAsync<MemoryDeleteResult>(Methods.MemoryDelete, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(d);
                }
                else
                {
                    output.Line(d.Deleted ? $"Deleted '{key}'." : $"There was no entry '{key}'.");
                }

                return 0;
            }

            case "search" or "find":
            {
                var p = new MemorySearchParams
                {
                    WorkspaceId = named ?? CurrentWorkspace.Default,
                    Prefix = cmd.Option("prefix"),
                    Tags = Tags(cmd.Option("tags")),
                    Text = cmd.Option("text"),
                    Limit = Limit(cmd.Option("limit")),
                };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                p = p with { WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false) };
                var r = await client.InvokeAsync<MemorySearchResult>(Methods.MemorySearch, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(r);
                    return 0;
                }

                PrintEntries(output, r.Entries);
                if (r.Truncated)
                {
                    output.Line($"(more entries matched; raise --limit, at most {10_000})");
                }

                return 0;
            }

            case "list" or "ls":
            {
                var p = new MemoryListParams { WorkspaceId = named ?? CurrentWorkspace.Default, After = cmd.Option("after"), Limit = Limit(cmd.Option("limit")) };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                p = p with { WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false) };
                var r = await client.InvokeAsync<MemoryListResult>(Methods.MemoryList, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(r);
                    return 0;
                }

                PrintEntries(output, r.Entries);
                if (r.NextAfter is { } next)
                {
                    output.Line($"(more: --after '{next}')");
                }

                return 0;
            }

            case "stats":
            {
                var p = new MemoryStatsParams { WorkspaceId = named };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var r = await client.InvokeAsync<MemoryStatsResult>(Methods.MemoryStats, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(r);
                    return 0;
                }

                output.Table(
                    ["WORKSPACE", "STATE", "ENTRIES", "BYTES", "USED", "WHEN FULL", "STORED", "DEFAULT TTL"],
                    r.Segments.Select(s => (IReadOnlyList<string>)
                    [
                        s.WorkspaceId,
                        Lower(s.State),
                        $"{s.Entries}/{s.CapacityEntries}",
                        $"{ByteSize.Format(s.Bytes)}/{ByteSize.Format(s.CapacityBytes)}",
                        s.UsedPercent.ToString("0.#", CultureInfo.InvariantCulture) + "%",
                        s.WhenFull == MemoryWhenFull.Refuse ? "refuse" : "evict_lru",
                        s.Persistence == MemoryPersistence.Disk ? "disk" : "memory",
                        s.DefaultTtlSeconds is { } t ? DurationText.Format(TimeSpan.FromSeconds(t)) : "-",
                    ]));
                foreach (var s in r.Segments.Where(s => s.State == MemorySegmentState.Damaged))
                {
                    output.Line($"damaged: {s.WorkspaceId}: {s.Problem}");
                    output.Line($"  {s.Hint}");
                }

                return 0;
            }

            case "export":
            {
                var outFile = cmd.Option("out");
                var p = new MemoryExportParams { WorkspaceId = named ?? CurrentWorkspace.Default, Path = outFile is null ? null : Path.GetFullPath(outFile, workingDirectory) };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                p = p with { WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false) };
                var r = await client.InvokeAsync<MemoryExportResult>(Methods.MemoryExport, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(r with { Lines = null });
                }
                else if (r.Lines is { } lines)
                {
                    output.Out.Write(lines);
                }
                else
                {
                    output.Line($"Exported {r.Entries} entries to {r.Path}.");
                }

                return 0;
            }

            case "import":
            {
                var file = cmd.RequirePositional(2, "FILE (JSON lines, as written by `orchflow memory export`; - reads standard input)");
                var p = new MemoryImportParams
                {
                    WorkspaceId = named ?? CurrentWorkspace.Default,
                    Path = file == "-" ? null : Path.GetFullPath(file, workingDirectory),
                    Lines = file == "-" ? await stdin.ReadToEndAsync().ConfigureAwait(false) : null,
                    Replace = cmd.Flag("replace"),
                };
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                p = p with { WorkspaceId = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false) };
                var r = await client.InvokeAsync<MemoryImportResult>(Methods.MemoryImport, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(r);
                    return 0;
                }

                if (r.MovedAside is { } aside)
                {
                    output.Line($"The previous file was moved to {aside}.");
                }

                output.Line($"Imported {r.Imported} entries into workspace '{p.WorkspaceId}' ({r.Replaced} replaced existing ones{(r.SkippedExpired > 0 ? $", {r.SkippedExpired} already expired and skipped" : "")}).");
                if (r.Evicted.Count > 0)
                {
                    output.Line($"Evicted to make room: {r.Evicted.Count} entries.");
                }

                return 0;
            }

            default:
                throw new CliException($"Unknown memory command '{verb}'. Use {Verbs}.");
        }
    }

    private static IReadOnlyList<string>? Tags(string? text) =>
        text is null ? null : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static long? Ttl(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (text is "0" or "never")
        {
            return 0;
        }

        return DurationText.TryParse(text, out var d) && d > TimeSpan.Zero
            ? (long)d.TotalSeconds
            : throw new CliException($"--ttl '{text}' is not a duration: write e.g. 30s, 15m, 2h, 7d or 1h30m, or 0 (never expires).");
    }

    private static int? Limit(string? text) =>
        text is null ? null
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
        : throw new CliException($"--limit '{text}' is not a positive whole number.");

    private static string TrimOneNewline(string s) =>
        s.EndsWith("\r\n", StringComparison.Ordinal) ? s[..^2] : s.EndsWith('\n') ? s[..^1] : s;

    private static void PrintEntries(Output output, IReadOnlyList<MemoryEntry> entries) =>
        output.Table(
            ["KEY", "TAGS", "BY", "UPDATED", "VALUE"],
            entries.Select(e => (IReadOnlyList<string>)
            [
                e.Key,
                e.Tags.Count == 0 ? "-" : string.Join(',', e.Tags),
                e.Provenance.AgentId ?? e.Provenance.TerminalId ?? e.Provenance.User ?? Lower(e.Provenance.Kind),
                e.UpdatedAt.ToString("u", CultureInfo.InvariantCulture),
                Preview(e.Value),
            ]));

    private static string Preview(string value)
    {
        var line = value.ReplaceLineEndings(" ");
        return line.Length <= 60 ? line : line[..59] + "…";
    }
}
