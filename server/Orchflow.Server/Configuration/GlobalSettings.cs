using Orchflow.Config;
using Orchflow.Server.Hosting;
using ProtocolDiagnostic = Orchflow.Protocol.Diagnostic;

namespace Orchflow.Server.Configuration;

/// <summary>
/// Holds the global orchflow.toml in force. An invalid edit keeps the last good config and exposes the
/// diagnostics (status, notification) until the file is fixed; a missing file means the defaults.
/// The file is re-read when its size or modification time changes (checked by <see cref="Refresh"/>).
/// </summary>
public sealed class GlobalSettings
{
    private readonly string _path;
    private readonly Log _log;
    private FileStamp _stamp;

    public GlobalSettings(string path, Log log)
    {
        _path = path;
        _log = log;
        Current = GlobalConfig.Default;
        Diagnostics = [];
        _stamp = FileStamp.Missing;
        Refresh();
    }

    public GlobalConfig Current { get; private set; }

    public IReadOnlyList<ProtocolDiagnostic> Diagnostics { get; private set; }

    public string Path => _path;

    public event Action? Changed;

    /// <summary>Re-reads the file when it changed since the last read; returns true when the config or its diagnostics changed.</summary>
    public bool Refresh()
    {
        var stamp = FileStamp.Of(_path);
        if (stamp == _stamp)
        {
            return false;
        }

        _stamp = stamp;
        var result = GlobalConfigLoader.Load(_path);
        Diagnostics = result.Diagnostics.Select(DiagnosticMapper.ToProtocol).ToList();
        if (result.Ok)
        {
            Current = result.Value!;
            _log.Info($"Loaded {_path}" + (stamp.Exists ? "" : " (absent: defaults)"));
        }
        else
        {
            _log.Warn($"{_path} is invalid; keeping the last good config: {string.Join("; ", result.Diagnostics)}");
        }

        Changed?.Invoke();
        return true;
    }
}

/// <summary>What identifies a version of a file cheaply: existence, size and modification time.</summary>
public readonly record struct FileStamp(bool Exists, long Length, DateTime LastWriteUtc)
{
    public static FileStamp Missing => new(false, 0, default);

    public static FileStamp Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(true, info.Length, info.LastWriteTimeUtc) : Missing;
    }
}

public static class DiagnosticMapper
{
    public static ProtocolDiagnostic ToProtocol(ConfigDiagnostic d) => new()
    {
        File = d.File,
        Line = d.Line,
        Column = d.Column,
        Message = d.Message,
        Severity = d.Severity == Orchflow.Config.DiagnosticSeverity.Error ? Protocol.DiagnosticSeverity.Error : Protocol.DiagnosticSeverity.Warning,
    };
}
