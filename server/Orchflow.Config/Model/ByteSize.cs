using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchflow.Config;

/// <summary>
/// Parses and formats the sizes written in config files ("512MB", "4GB", "1.5GiB", "100 KB", "1048576").
/// </summary>
/// <remarks>
/// Every size in these files is an amount of memory, and people writing <c>memory_limit = "4GB"</c> mean
/// 4 GiB (as Docker's <c>--memory 4g</c> does). So KB/MB/GB/TB and KiB/MiB/GiB/TiB are all 1024-based:
/// "4GB" == "4GiB" == 4 * 1024^3 bytes. Units are case-insensitive, the trailing 'B' is optional ("4G",
/// "4Gi"), one space may separate number and unit, a number without a unit is bytes, and a fractional
/// result is truncated to whole bytes.
/// </remarks>
public static partial class ByteSize
{
    /// <summary>The accepted syntax, shared verbatim with the JSON Schemas (ECMAScript-compatible).</summary>
    internal const string Pattern = "^[0-9]+(\\.[0-9]+)?( ?([KkMmGgTt][Ii]?[Bb]?|[Bb]))?$";

    /// <summary>One sentence for docs and schema descriptions.</summary>
    internal const string Explanation =
        "A size is a number with an optional unit: KB, MB, GB, TB (or KiB, MiB, GiB, TiB); all units are 1024-based since these are memory sizes (\"4GB\" = 4 GiB), case-insensitive, and the trailing B is optional. A plain integer is a number of bytes.";

    private static readonly string[] FormatUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex SizeRegex();

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (text is null || !SizeRegex().IsMatch(text))
        {
            return false;
        }

        int unitStart = text.Length;
        while (unitStart > 0 && !char.IsAsciiDigit(text[unitStart - 1]))
        {
            unitStart--;
        }

        // Fails (rather than overflowing) on numbers too long for decimal; the range check below catches the rest.
        if (!decimal.TryParse(text.AsSpan(0, unitStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var unit = text[unitStart..].Trim();
        int power = unit.Length == 0 ? 0 : char.ToUpperInvariant(unit[0]) switch
        {
            'K' => 1,
            'M' => 2,
            'G' => 3,
            'T' => 4,
            _ => 0, // "B"
        };

        decimal result = number;
        for (int i = 0; i < power; i++)
        {
            result *= 1024;
        }

        result = decimal.Truncate(result);
        if (result > long.MaxValue)
        {
            return false;
        }

        bytes = (long)result;
        return true;
    }

    /// <summary>Formats with binary units and at most two decimals: 4294967296 => "4 GiB", 1536 => "1.5 KiB", 100 => "100 B".</summary>
    public static string Format(long bytes)
    {
        if (bytes < 0)
        {
            return "-" + Format(bytes == long.MinValue ? long.MaxValue : -bytes);
        }

        int unit = 0;
        decimal value = bytes;
        while (value >= 1024 && unit < FormatUnits.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return decimal.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture) + " " + FormatUnits[unit];
    }
}
