using System.Text;

namespace Orchflow.Config;

/// <summary>Reads a config file from disk, turning every way that can fail into a diagnostic.</summary>
internal static class ConfigFileReader
{
    /// <summary>Config files are small; anything bigger is a mistake (wrong file, runaway generator) and is not read whole.</summary>
    public const int MaxBytes = 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public enum Outcome
    {
        Read,
        Missing,
        Failed,
    }

    public static Outcome TryRead(string path, List<ConfigDiagnostic> diagnostics, out string text)
    {
        text = "";
        if (Directory.Exists(path))
        {
            diagnostics.Add(Error(path, "is a directory, not a file"));
            return Outcome.Failed;
        }

        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            // Read at most one byte past the limit instead of trusting Length, which lies for /dev files and
            // for a file that grows while being read.
            var buffer = new byte[MaxBytes + 1];
            int total = 0;
            int read;
            while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += read;
            }

            if (total > MaxBytes)
            {
                diagnostics.Add(Error(path, $"file is larger than {ByteSize.Format(MaxBytes)}; this cannot be a config file"));
                return Outcome.Failed;
            }

            bytes = buffer[..total];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Outcome.Missing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            diagnostics.Add(Error(path, $"cannot read file: {e.Message}"));
            return Outcome.Failed;
        }

        try
        {
            var span = bytes.AsSpan();
            if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                span = span[3..];
            }

            text = StrictUtf8.GetString(span);
            return Outcome.Read;
        }
        catch (DecoderFallbackException)
        {
            diagnostics.Add(Error(path, "file is not valid UTF-8 text"));
            return Outcome.Failed;
        }
    }

    public static ConfigDiagnostic Error(string path, string message) => new(path, 1, 1, message, DiagnosticSeverity.Error);
}
