using System.Text;

namespace Orchflow.Server.Terminals.Screen;

/// <summary>One visible line as text: trailing blanks trimmed, double-width characters once, combining marks kept.</summary>
/// <param name="Text">The characters.</param>
/// <param name="Wrapped">The line continues on the next one (autowrap went past its end).</param>
/// <param name="Highlighted">Some non-blank character on it is drawn inverse.</param>
public readonly record struct ScreenLine(string Text, bool Wrapped, bool Highlighted);

/// <summary>What is visible now, copied out of the screen so it can be examined without its lock.</summary>
/// <param name="Lines">Every row, top to bottom.</param>
/// <param name="CursorRow">0-based.</param>
/// <param name="CursorColumn">0-based.</param>
/// <param name="AlternateScreen">A full-screen program switched to the alternate screen.</param>
/// <param name="CursorAddressed">The program moved the cursor up or to absolute positions, erased the display, set a scroll region, used the alternate screen, hid the cursor or asked for focus reports: it draws a screen rather than printing lines.</param>
/// <param name="ApplicationCursorKeys">Arrow keys must be sent as ESC O A..D (DECCKM).</param>
/// <param name="BracketedPaste">The program asked for pasted text to be bracketed (?2004).</param>
/// <param name="Revision">Increases with every change of the screen.</param>
public sealed record ScreenSnapshot(
    IReadOnlyList<ScreenLine> Lines,
    int CursorRow,
    int CursorColumn,
    bool AlternateScreen,
    bool CursorAddressed,
    bool ApplicationCursorKeys,
    bool BracketedPaste,
    long Revision)
{
    /// <summary>The visible text, one line per row, trailing empty rows dropped.</summary>
    public string Text
    {
        get
        {
            int last = Lines.Count - 1;
            while (last >= 0 && Lines[last].Text.Length == 0)
            {
                last--;
            }

            var sb = new StringBuilder();
            for (int i = 0; i <= last; i++)
            {
                sb.Append(Lines[i].Text).Append('\n');
            }

            return sb.ToString();
        }
    }
}
