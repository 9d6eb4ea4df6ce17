using System.Text;
using System.Text.Json;
using Orchflow.Protocol;

namespace Orchflow.Server.Cli;

/// <summary>
/// The CLI's only way to write: results to stdout (a table for people, one JSON document with --json),
/// errors to stderr. The daemon never uses it (its stdout is protocol or /dev/null).
/// </summary>
/// <param name="openTerminal">Opens stdout as a plain byte stream for a terminal's output (attach); absent, that output goes to <paramref name="stdout"/>.</param>
public sealed class Output(TextWriter stdout, TextWriter stderr, Func<Stream>? openTerminal = null)
{
    private TextWriter? _terminal;

    public static Output Console() => new(
        new StreamWriter(System.Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true },
        new StreamWriter(System.Console.OpenStandardError(), new UTF8Encoding(false)) { AutoFlush = true },
        () => new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0));

    public TextWriter Out => stdout;

    /// <summary>
    /// stdout for a terminal's output as it came (UTF-8, escape sequences kept), flushed on every write. It bypasses
    /// .NET's console stream, which on first use writes its own keypad-mode sequence to a terminal.
    /// </summary>
    public TextWriter Terminal => _terminal ??= openTerminal is null
        ? stdout
        : new StreamWriter(openTerminal(), new UTF8Encoding(false), bufferSize: 64 * 1024) { AutoFlush = true };

    public TextWriter Error => stderr;

    public void Line(string text = "") => stdout.WriteLine(text);

    public void Json<T>(T value) => stdout.WriteLine(JsonSerializer.Serialize(value, ProtocolJson.Indented));

    public void Fail(string message) => stderr.WriteLine($"orchflow: {message}");

    /// <summary>Prints rows as aligned columns; the last column is not padded.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { headers };
        all.AddRange(rows);
        var widths = new int[headers.Count];
        foreach (var row in all)
        {
            for (int i = 0; i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in all)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < row.Count; i++)
            {
                sb.Append(i == row.Count - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            stdout.WriteLine(sb.ToString().TrimEnd());
        }
    }
}

internal static class RepoRoot
{
    /// <summary>The repository root, found from the executable's location (dist/server or bin/… inside the checkout).</summary>
    public static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orchflow.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
