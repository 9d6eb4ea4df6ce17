using Orchflow.Protocol;
using Orchflow.Server.Rpc;
using StreamJsonRpc;

namespace Orchflow.Server.Memory;

/// <summary>
/// RPC handlers of orchflow/memory/*: a person's access (CLI, VS Code) to any workspace's memory, which the request
/// names. Agents never come through here: they use orchflow/mcp/* on the MCP socket, bound to their own workspace.
/// </summary>
public sealed class MemoryHandlers(ClientSession session, MemoryService memory)
{
    [JsonRpcMethod(Methods.MemorySet, UseSingleObjectParameterDeserialization = true)]
    public MemorySetResult Set(MemorySetParams p)
    {
        var ws = memory.Resolve(p.WorkspaceId);
        return memory.Set(ws, new MemoryWrite(p.Key, p.Value, p.Kind ?? MemoryValueKind.Text, p.Tags ?? [], p.TtlSeconds), Writer(ws, p.TerminalId));
    }

    [JsonRpcMethod(Methods.MemoryGet, UseSingleObjectParameterDeserialization = true)]
    public MemoryGetResult Get(MemoryKeyParams p)
    {
        return new MemoryGetResult { Entry = memory.Get(memory.Resolve(p.WorkspaceId), p.Key) };
    }

    [JsonRpcMethod(Methods.MemoryDelete, UseSingleObjectParameterDeserialization = true)]
    public MemoryDeleteResult Delete(MemoryKeyParams p)
    {
        return new MemoryDeleteResult { Deleted = memory.Delete(memory.Resolve(p.WorkspaceId), p.Key) };
    }

    [JsonRpcMethod(Methods.MemorySearch, UseSingleObjectParameterDeserialization = true)]
    public MemorySearchResult Search(MemorySearchParams p)
    {
        return memory.Search(memory.Resolve(p.WorkspaceId), new MemoryQuery(p.Prefix, p.Tags ?? [], p.Text, p.Limit ?? MemoryRules.DefaultResults));
    }

    [JsonRpcMethod(Methods.MemoryList, UseSingleObjectParameterDeserialization = true)]
    public MemoryListResult List(MemoryListParams p)
    {
        return memory.List(memory.Resolve(p.WorkspaceId), p.After, p.Limit);
    }

    [JsonRpcMethod(Methods.MemoryStats, UseSingleObjectParameterDeserialization = true)]
    public MemoryStatsResult Stats(MemoryStatsParams? p = null)
    {
        return new MemoryStatsResult { Segments = memory.Stats(p?.WorkspaceId is { } ws ? memory.Resolve(ws) : null) };
    }

    [JsonRpcMethod(Methods.MemoryExport, UseSingleObjectParameterDeserialization = true)]
    public async Task<MemoryExportResult> ExportAsync(MemoryExportParams p, CancellationToken cancellationToken)
    {
        var ws = memory.Resolve(p.WorkspaceId);
        var entries = memory.Export(ws);
        var text = MemoryJsonLines.Format(entries);
        if (p.Path is null)
        {
            return new MemoryExportResult { Entries = entries.Count, Lines = text };
        }

        var path = AbsolutePath(p.Path);
        var temp = path + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            await File.WriteAllTextAsync(temp, text, cancellationToken).ConfigureAwait(false);
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new OrchflowException(ErrorCodes.InvalidPath, $"Cannot write {path}: {e.Message}", "Choose a file in a directory you can write to.");
        }

        return new MemoryExportResult { Entries = entries.Count, Path = path };
    }

    [JsonRpcMethod(Methods.MemoryImport, UseSingleObjectParameterDeserialization = true)]
    public async Task<MemoryImportResult> ImportAsync(MemoryImportParams p, CancellationToken cancellationToken)
    {
        var ws = memory.Resolve(p.WorkspaceId);
        string text, source;
        if (p.Path is not null && p.Lines is not null)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "Give either a path or lines to import, not both.");
        }

        if (p.Path is not null)
        {
            var path = AbsolutePath(p.Path);
            try
            {
                text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new OrchflowException(ErrorCodes.InvalidPath, $"Cannot read {path}: {e.Message}", "Give a JSON-lines file written by `orchflow memory export`.");
            }

            source = path;
        }
        else
        {
            text = p.Lines ?? throw new OrchflowException(ErrorCodes.InvalidArgument, "Nothing to import: give a path or lines.", "For example `orchflow memory import --workspace ID backup.jsonl`.");
            source = "The import";
        }

        var entries = MemoryJsonLines.Parse(text, Writer(ws, null), DateTimeOffset.UtcNow, source);
        return memory.Import(ws, entries, p.Replace);
    }

    /// <summary>A person's write: from a terminal of this workspace when the CLI says so and the terminal is one of its own.</summary>
    private MemoryWriter Writer(string workspaceId, string? terminalId)
    {
        bool inTerminal = terminalId is { Length: > 0 } t && memory.TerminalBelongs(workspaceId, t);
        return new MemoryWriter(inTerminal ? Protocol.MemoryWriterKind.Terminal : Protocol.MemoryWriterKind.User, null, inTerminal ? terminalId : null, Environment.UserName, session.ClientInfo?.Name);
    }

    private static string AbsolutePath(string path) =>
        Path.IsPathRooted(path)
            ? Path.GetFullPath(path)
            : throw new OrchflowException(ErrorCodes.InvalidPath, $"'{path}' is not an absolute path.", "The daemon accepts absolute paths only; the CLI makes relative ones absolute.");
}
