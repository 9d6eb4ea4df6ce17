using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchflow.Config;

/// <summary>
/// Parses and formats the durations written in config files: a sequence of integer-and-unit parts with
/// s (seconds), m (minutes), h (hours) and d (days), e.g. "30s", "15m", "2h", "7d", "1h30m".
/// Lowercase only, so "m" is never mistaken for months.
/// </summary>
public static partial class DurationText
{
    /// <summary>The accepted syntax, shared verbatim with the JSON Schemas.</summary>
    internal const string Pattern = "^([0-9]+[smhd])+$";

    [GeneratedRegex("([0-9]+)([smhd])", RegexOptions.CultureInvariant)]
    private static partial Regex PartRegex();

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex DurationRegex();

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text is null || !DurationRegex().IsMatch(text))
        {
            return false;
        }

        decimal seconds = 0;
        foreach (Match part in PartRegex().Matches(text))
        {
            // decimal keeps absurd inputs ("99999999999999d") from wrapping around instead of failing.
            if (!decimal.TryParse(part.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }

            seconds += n * part.Groups[2].Value[0] switch
            {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => 86400,
            };
            if (seconds > (decimal)TimeSpan.MaxValue.TotalSeconds - 1)
            {
                return false;
            }
        }

        value = TimeSpan.FromSeconds((long)seconds);
        return true;
    }

    /// <summary>The shortest text that parses back to the same whole-second value: 90 minutes => "1h30m", zero => "0s".</summary>
    public static string Format(TimeSpan value)
    {
        long total = (long)value.TotalSeconds;
        if (total <= 0)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        foreach (var (unit, size) in new[] { ('d', 86400L), ('h', 3600L), ('m', 60L), ('s', 1L) })
        {
            if (total >= size)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{total / size}").Append(unit);
                total %= size;
            }
        }

        return sb.ToString();
    }
}
