using System.Text;
using System.Text.RegularExpressions;

namespace Orchflow.Server.Terminals;

/// <summary>Turns terminal output into plain text for `orchflow terminal read`: escape sequences removed, carriage-return overwrites resolved.</summary>
public static partial class PlainText
{
    // CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC strings, and two-character escapes.
    [GeneratedRegex(@"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")]
    private static partial Regex Escapes();

    public static string From(string output, int? tailLines = null)
    {
        var stripped = Escapes().Replace(output, "");
        var lines = stripped.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var sb = new StringBuilder();
        var kept = new List<string>(lines.Length);
        foreach (var raw in lines)
        {
            // A bare carriage return moves to column 0: what follows overwrites what came before.
            var parts = raw.Split('\r');
            var line = new StringBuilder(parts[0]);
            for (int i = 1; i < parts.Length; i++)
            {
                var part = parts[i];
                if (part.Length >= line.Length)
                {
                    line.Clear().Append(part);
                }
                else
                {
                    line.Remove(0, part.Length).Insert(0, part);
                }
            }

            kept.Add(line.ToString().TrimEnd());
        }

        while (kept.Count > 0 && kept[^1].Length == 0)
        {
            kept.RemoveAt(kept.Count - 1);
        }

        var selected = tailLines is { } n && n < kept.Count ? kept.Skip(kept.Count - n) : kept;
        foreach (var line in selected)
        {
            sb.Append(line).Append('\n');
        }

        return sb.ToString();
    }
}
