using System.Text;

namespace Orchflow.Server.Terminals.Screen;

/// <summary>
/// What a screen shows, written out two ways: as text lines for a reader (<see cref="ScreenSnapshot"/>, what
/// <see cref="ScreenReader"/> examines) and as the escape sequences that draw it again on a blank terminal (what a
/// client gets when it attaches). Reads the grid and the screen's modes; changes nothing.
/// </summary>
internal static class ScreenText
{
    /// <summary>The active buffer as text lines, with the cursor and the modes a reader needs.</summary>
    public static ScreenSnapshot Snapshot(TerminalScreen screen, ScreenGrid grid)
    {
        var lines = new ScreenLine[grid.Rows];
        var sb = new StringBuilder(grid.Columns);
        for (int y = 0; y < grid.Rows; y++)
        {
            lines[y] = LineOf(grid.Row(y), grid.Wrapped(y), sb);
        }

        return new ScreenSnapshot(
            lines, screen.CursorRow, screen.CursorColumn, screen.AlternateScreen, screen.CursorAddressed, screen.ApplicationCursorKeys, screen.BracketedPaste, screen.Revision);
    }

    /// <summary>See <see cref="TerminalScreen.Render"/>.</summary>
    public static string Render(TerminalScreen screen, ScreenGrid grid)
    {
        var sb = new StringBuilder((grid.Columns + 16) * grid.Rows * 2);
        sb.Append("\x1b[?1049l\x1b[0m\x1b[r\x1b[?7h\x1b[H\x1b[2J");
        RenderGrid(sb, grid.Main);
        if (grid.Alternate)
        {
            sb.Append("\x1b[?1049h\x1b[H\x1b[2J");
            RenderGrid(sb, grid.AlternateLines);
        }

        if (screen.ScrollTop != 0 || screen.ScrollBottom != grid.Rows - 1)
        {
            sb.Append("\x1b[").Append(screen.ScrollTop + 1).Append(';').Append(screen.ScrollBottom + 1).Append('r');
        }

        sb.Append("\x1b[0m");
        if (!screen.AutoWrap)
        {
            sb.Append("\x1b[?7l");
        }

        if (screen.ApplicationCursorKeys)
        {
            sb.Append("\x1b[?1h");
        }

        if (screen.BracketedPaste)
        {
            sb.Append("\x1b[?2004h");
        }

        sb.Append(screen.CursorVisible ? "\x1b[?25h" : "\x1b[?25l");
        sb.Append("\x1b[").Append(screen.CursorRow + 1).Append(';').Append(screen.CursorColumn + 1).Append('H');
        return sb.ToString();
    }

    private static ScreenLine LineOf(Cell[] row, bool wrapped, StringBuilder sb)
    {
        sb.Clear();
        bool highlighted = false;
        int lastNonBlank = 0;
        foreach (var cell in row)
        {
            if ((cell.Attributes & CellAttributes.WideTail) != 0)
            {
                continue;
            }

            if (cell.Code == 0)
            {
                sb.Append(' ');
                continue;
            }

            AppendCode(sb, cell.Code);
            if (cell.Combining is { } marks)
            {
                sb.Append(marks);
            }

            lastNonBlank = sb.Length;
            highlighted |= (cell.Attributes & CellAttributes.Inverse) != 0 && cell.Code != ' ';
        }

        sb.Length = lastNonBlank;
        return new ScreenLine(sb.ToString(), wrapped, highlighted);
    }

    private static void RenderGrid(StringBuilder sb, Cell[][] grid)
    {
        var current = CellAttributes.None;
        for (int y = 0; y < grid.Length; y++)
        {
            var row = grid[y];
            int end = row.Length;
            while (end > 0 && row[end - 1].Code == 0 && (row[end - 1].Attributes & ~CellAttributes.WideTail) == 0)
            {
                end--;
            }

            if (end == 0)
            {
                continue;
            }

            sb.Append("\x1b[").Append(y + 1).Append(";1H");
            for (int x = 0; x < end; x++)
            {
                var cell = row[x];
                if ((cell.Attributes & CellAttributes.WideTail) != 0)
                {
                    continue;
                }

                var attr = cell.Attributes & ~(CellAttributes.Wide | CellAttributes.WideTail);
                if (attr != current)
                {
                    GraphicRendition.AppendSequence(sb, attr);
                    current = attr;
                }

                if (cell.Code == 0)
                {
                    sb.Append(' ');
                }
                else
                {
                    AppendCode(sb, cell.Code);
                    sb.Append(cell.Combining);
                }
            }
        }

        if (current != CellAttributes.None)
        {
            sb.Append("\x1b[0m");
        }
    }

    private static void AppendCode(StringBuilder sb, int code)
    {
        if (code < 0x10000)
        {
            sb.Append((char)code);
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(code));
        }
    }
}
