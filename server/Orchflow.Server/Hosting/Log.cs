using System.Globalization;
using System.Text;

namespace Orchflow.Server.Hosting;

public enum LogLevel
{
    Debug,
    Info,
    Warn,
    Error,
}

/// <summary>
/// The daemon's log: one line per event, appended to a file (never to stdout, which carries only protocol).
/// Deliberately tiny: a lock and a StreamWriter with autoflush, so that the log survives a crash up to the last line.
/// </summary>
public sealed class Log : IDisposable
{
    private readonly object _gate = new();
    private readonly TextWriter _writer;
    private readonly LogLevel _minimum;

    public Log(TextWriter writer, LogLevel minimum = LogLevel.Info)
    {
        _writer = writer;
        _minimum = minimum;
    }

    public static Log Null { get; } = new(TextWriter.Null);

    /// <summary>Opens (appending) the log file; rotates it to <c>.1</c> once it passes <paramref name="maxBytes"/>.</summary>
    public static Log ToFile(string path, long maxBytes = 10 * 1024 * 1024)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var info = new FileInfo(path);
        if (info.Exists && info.Length > maxBytes)
        {
            File.Move(path, path + ".1", overwrite: true);
        }

        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        return new Log(new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true });
    }

    public void Debug(string message) => Write(LogLevel.Debug, message);

    public void Info(string message) => Write(LogLevel.Info, message);

    public void Warn(string message) => Write(LogLevel.Warn, message);

    public void Error(string message, Exception? ex = null) => Write(LogLevel.Error, ex is null ? message : $"{message}: {ex}");

    public void Write(LogLevel level, string message)
    {
        if (level < _minimum)
        {
            return;
        }

        var line = string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level.ToString().ToUpperInvariant(),-5} {message}");
        lock (_gate)
        {
            try
            {
                _writer.WriteLine(line);
            }
            catch (IOException)
            {
                // A full disk must not take the daemon down; the log is best effort.
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }
}
