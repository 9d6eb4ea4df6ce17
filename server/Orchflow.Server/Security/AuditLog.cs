using System.Text;
using System.Text.Json;
using Orchflow.Protocol;

namespace Orchflow.Server.Security;

/// <summary>
/// Each workspace's audit log: one JSON line per refusal, denial, unenforced launch, policy change, secret change and
/// limit action, at <c>&lt;data&gt;/audit/&lt;workspace&gt;.jsonl</c>, outside every workspace root (and hidden from
/// sandboxed processes with the rest of Orchflow's data). Appended and flushed per entry so that a crash loses nothing
/// already reported; rotated to <c>.1</c> past <see cref="MaxBytes"/>. Secret values never reach it.
/// </summary>
public sealed class AuditLog
{
    /// <summary>5 MiB: tens of thousands of entries, a few months of a busy workspace.</summary>
    public const long MaxBytes = 5L * 1024 * 1024;

    public const int DefaultLimit = 100;

    private readonly object _gate = new();
    private readonly string _directory;
    private readonly TimeProvider _time;

    public AuditLog(string dataDirectory, TimeProvider? time = null)
    {
        _directory = Path.Combine(dataDirectory, "audit");
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Raised after an entry is written, outside the lock.</summary>
    public event Action<AuditEntry>? Added;

    public string PathFor(string workspaceId) => Path.Combine(_directory, workspaceId + ".jsonl");

    public AuditEntry Add(string workspaceId, AuditKind kind, string message, string? rule = null, string? subject = null)
    {
        var entry = new AuditEntry { At = _time.GetUtcNow(), WorkspaceId = workspaceId, Kind = kind, Message = message, Rule = rule, Subject = subject };
        var line = JsonSerializer.Serialize(entry, ProtocolJson.Options) + "\n";
        lock (_gate)
        {
            Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var path = PathFor(workspaceId);
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxBytes)
            {
                File.Move(path, path + ".1", overwrite: true);
            }

            using var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                Share = FileShare.Read,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            stream.Write(Encoding.UTF8.GetBytes(line));
            stream.Flush(flushToDisk: true);
        }

        Added?.Invoke(entry);
        return entry;
    }

    /// <summary>The newest <paramref name="limit"/> entries, oldest first. Lines that do not parse (a torn write) are skipped.</summary>
    public IReadOnlyList<AuditEntry> Read(string workspaceId, int? limit)
    {
        int max = limit ?? DefaultLimit;
        if (max < 1)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The limit must be at least 1, got {max}.");
        }

        string[] lines;
        lock (_gate)
        {
            var path = PathFor(workspaceId);
            lines = File.Exists(path) ? File.ReadAllLines(path) : [];
        }

        var entries = new List<AuditEntry>();
        foreach (var line in lines.Skip(Math.Max(0, lines.Length - max)))
        {
            try
            {
                if (JsonSerializer.Deserialize<AuditEntry>(line, ProtocolJson.Options) is { } e)
                {
                    entries.Add(e);
                }
            }
            catch (JsonException)
            {
            }
        }

        return entries;
    }
}
