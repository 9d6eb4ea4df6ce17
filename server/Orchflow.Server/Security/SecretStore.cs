using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchflow.Protocol;
using Orchflow.Server.Workspaces;
using NamePatterns = Orchflow.Config.NamePatterns;

namespace Orchflow.Server.Security;

/// <summary>
/// Per-workspace secrets. Those set through a client live at <c>&lt;data&gt;/secrets/&lt;workspace&gt;.json</c> (directory
/// 0700, file 0600, written whole to a temporary file and renamed), outside every workspace root and hidden with the
/// rest of Orchflow's data from sandboxed processes; a workspace may also name a dotenv file inside its own root
/// (<c>security.secrets_file</c>). Values leave this class only towards the environment of that workspace's processes
/// (<see cref="EnvironmentFor"/>): never into the daemon's own environment, never into a log line, an audit entry or
/// an error message, and clients get them masked (<see cref="Mask"/>).
/// </summary>
public sealed partial class SecretStore
{
    /// <summary>A value over 32 KiB is not a secret but a file; environments are limited (ARG_MAX) too.</summary>
    public const int MaxValueChars = 32 * 1024;

    private readonly object _gate = new();
    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Dictionary<string, StoredSecret>> _cache = new(StringComparer.Ordinal);

    public SecretStore(string dataDirectory, TimeProvider? time = null)
    {
        _directory = Path.Combine(dataDirectory, "secrets");
        _time = time ?? TimeProvider.System;
    }

    public string PathFor(string workspaceId) => Path.Combine(_directory, workspaceId + ".json");

    public SecretInfo Set(string workspaceId, string name, string value)
    {
        CheckName(name);
        if (string.IsNullOrEmpty(value))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The value of secret {name} is empty.", "Pipe the value on standard input: `printf %s \"$VALUE\" | orchflow secret set --workspace ID NAME`.");
        }

        if (value.Length > MaxValueChars || value.Contains('\0'))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The value of secret {name} is longer than {MaxValueChars} characters or contains a NUL character.", "Keep large credentials in a file and put its path in the secret.");
        }

        lock (_gate)
        {
            var secrets = LoadLocked(workspaceId);
            var stored = new StoredSecret { Value = value, UpdatedAt = _time.GetUtcNow() };
            secrets[name] = stored;
            SaveLocked(workspaceId, secrets);
            return Info(name, SecretSource.Daemon, value, stored.UpdatedAt, false);
        }
    }

    public bool Remove(string workspaceId, string name)
    {
        CheckName(name);
        lock (_gate)
        {
            var secrets = LoadLocked(workspaceId);
            if (!secrets.Remove(name))
            {
                return false;
            }

            SaveLocked(workspaceId, secrets);
            return true;
        }
    }

    public SecretListResult List(WorkspaceInfo ws, string? secretsFile)
    {
        Dictionary<string, StoredSecret> stored;
        lock (_gate)
        {
            stored = new Dictionary<string, StoredSecret>(LoadLocked(ws.Id), StringComparer.Ordinal);
        }

        var (fromFile, path, problems) = ReadFile(ws, secretsFile);
        var list = stored.Select(kv => Info(kv.Key, SecretSource.Daemon, kv.Value.Value, kv.Value.UpdatedAt, false))
            .Concat(fromFile.Select(kv => Info(kv.Key, SecretSource.File, kv.Value, null, stored.ContainsKey(kv.Key))))
            .OrderBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Source)
            .ToList();
        return new SecretListResult { Secrets = list, File = path, Problems = problems };
    }

    /// <summary>The variables this workspace's processes get: the secrets file's, then the daemon's (which win).</summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(WorkspaceInfo ws, string? secretsFile)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in ReadFile(ws, secretsFile).Secrets)
        {
            env[name] = value;
        }

        lock (_gate)
        {
            foreach (var (name, secret) in LoadLocked(ws.Id))
            {
                env[name] = secret.Value;
            }
        }

        return env;
    }

    /// <summary>A hint that identifies a value to its owner without revealing it: the first and last two characters of values of 16 or more.</summary>
    public static string Mask(string value) =>
        value.Length >= 16 ? $"{value[..2]}…{value[^2..]} ({value.Length} characters)" : $"•••• ({value.Length} characters)";

    public static void CheckName(string name)
    {
        if (!EnvName().IsMatch(name ?? ""))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"'{name}' is not a valid secret name.", "Secrets are environment variables: letters, digits and '_', not starting with a digit, e.g. GITHUB_TOKEN.");
        }

        if (name!.StartsWith(NamePatterns.ReservedEnvPrefix, StringComparison.Ordinal))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"'{name}' is reserved: variables starting with ORCHFLOW_ are set by Orchflow itself.", "Choose another name.");
        }
    }

    /// <summary>Reads the workspace's dotenv file: NAME=value lines, # comments, optional single or double quotes. Must stay inside the root.</summary>
    private static (IReadOnlyDictionary<string, string> Secrets, string? Path, IReadOnlyList<Diagnostic> Problems) ReadFile(WorkspaceInfo ws, string? relative)
    {
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (relative is null)
        {
            return (secrets, null, []);
        }

        var path = Path.GetFullPath(Path.Combine(ws.RootPath, relative));
        var problems = new List<Diagnostic>();
        var real = Hosting.Native.TryRealPath(path);
        if (real is null)
        {
            problems.Add(Problem(path, 1, $"security.secrets_file {relative} does not exist; no secret is read from it"));
            return (secrets, path, problems);
        }

        if (!PathRules.IsSameOrInside(real, ws.RootPath))
        {
            problems.Add(Problem(path, 1, $"security.secrets_file resolves to {real}, outside the workspace root; it is not read"));
            return (secrets, path, problems);
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(real);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add(Problem(path, 1, $"cannot read the secrets file: {e.Message}"));
            return (secrets, path, problems);
        }

        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? line[..eq].Trim() : "";
            if (eq <= 0 || !EnvName().IsMatch(name) || name.StartsWith(NamePatterns.ReservedEnvPrefix, StringComparison.Ordinal))
            {
                problems.Add(Problem(path, i + 1, "expected NAME=value with a valid, non-ORCHFLOW_ variable name; the line is skipped"));
                continue;
            }

            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && (value[0] is '"' or '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            secrets[name] = value;
        }

        return (secrets, path, problems);
    }

    private static Diagnostic Problem(string file, int line, string message) =>
        new() { File = file, Line = line, Column = 1, Severity = DiagnosticSeverity.Warning, Message = message };

    private static SecretInfo Info(string name, SecretSource source, string value, DateTimeOffset? updatedAt, bool overridden) =>
        new() { Name = name, Source = source, Masked = Mask(value), UpdatedAt = updatedAt, Overridden = overridden };

    private Dictionary<string, StoredSecret> LoadLocked(string workspaceId)
    {
        if (_cache.TryGetValue(workspaceId, out var cached))
        {
            return cached;
        }

        var path = PathFor(workspaceId);
        var secrets = File.Exists(path)
            ? JsonSerializer.Deserialize<Dictionary<string, StoredSecret>>(File.ReadAllText(path), ProtocolJson.Options) ?? []
            : [];
        _cache[workspaceId] = secrets;
        return secrets;
    }

    private void SaveLocked(string workspaceId, Dictionary<string, StoredSecret> secrets)
    {
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Directory.CreateDirectory(_directory, Private | UnixFileMode.UserExecute);
        File.SetUnixFileMode(_directory, Private | UnixFileMode.UserExecute);
        var path = PathFor(workspaceId);
        var temporary = path + ".tmp";
        File.Delete(temporary);
        using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = Private }))
        {
            stream.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(secrets, ProtocolJson.Options)));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    [GeneratedRegex(NamePatterns.EnvironmentVariable)]
    private static partial Regex EnvName();

    private sealed class StoredSecret
    {
        public required string Value { get; init; }
        public required DateTimeOffset UpdatedAt { get; init; }
    }
}
