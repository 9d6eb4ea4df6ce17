using System.Text.RegularExpressions;

namespace Orchflow.Server.Terminals;

/// <summary>
/// Input a terminal sends by itself rather than a person typing: focus reports (<c>ESC [ I</c>, <c>ESC [ O</c>, which
/// VS Code's terminal sends when it is shown or hidden once a program asked for them) and replies to a program's
/// queries (cursor position, device attributes, mode and setting reports, colours, window size, keyboard flags).
/// Agent CLIs ask for these all the time; such input answers the program, not its question, so it must not count as
/// the person's answer.
/// </summary>
public static partial class TerminalReports
{
    /// <summary>True when <paramref name="input"/> is not empty and holds nothing but terminal reports.</summary>
    public static bool OnlyReports(string input) => input.Length > 0 && Reports().Replace(input, "").Length == 0;

    // CSI replies: focus in/out; cursor position (CPR, DECXCPR); device status ok; primary, secondary and tertiary
    // device attributes; mode reports (DECRPM, ANSI and private); keyboard flags (kitty); window and cell sizes (XTWINOPS).
    // DCS replies: DECRQSS, XTVERSION, XTGETTCAP, tertiary attributes. OSC replies: colours and other queried settings.
    [GeneratedRegex(
        @"\x1b\[(?:[IO]|\??\d+;\d+(?:;\d+)?R|0n|[?>=][\d;]*c|\??\d+;\d+\$y|\?\d*u|\d+;\d+;\d+t)"
        + @"|\x1bP(?:[01]\$r|>\||[01]\+r|!\|)[^\x1b\x07]*(?:\x1b\\|\x07)"
        + @"|\x1b\](?:\d+)(?:;[^\x1b\x07]*)?(?:\x1b\\|\x07)",
        RegexOptions.CultureInvariant)]
    private static partial Regex Reports();
}
