using System.Text;

namespace Orchflow.Server.Terminals.Screen;

/// <summary>Cell attributes kept: the few a reader of the screen needs (a selected menu item is often inverse or bold).</summary>
[Flags]
public enum CellAttributes : byte
{
    None = 0,
    Bold = 1,
    Dim = 2,
    Italic = 4,
    Underline = 8,
    Inverse = 16,

    /// <summary>The left half of a double-width character.</summary>
    Wide = 32,

    /// <summary>The right half of a double-width character: holds nothing of its own.</summary>
    WideTail = 64,
}

/// <summary>One cell: a code point (0 when blank), its attributes, and any combining marks drawn on it.</summary>
public struct Cell
{
    public int Code;
    public CellAttributes Attributes;
    public string? Combining;
}

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

/// <summary>
/// The visible screen of one terminal, driven by a <see cref="VtParser"/>: a grid of cells with a cursor, the normal
/// and alternate buffers, a scroll region, tab stops, autowrap with the deferred-wrap flag (a character written in the
/// last column leaves the cursor there; the next printable one wraps), double-width and combining characters, and
/// the modes a reader needs (bracketed paste, application cursor keys, cursor visibility, origin and insert mode).
/// Colours are accepted and dropped; bold, dim, italic, underline and inverse are kept.
/// </summary>
/// <remarks>
/// Memory is the grid only (two buffers of rows × columns cells): no scrollback, since the screen exists to say what
/// is visible now. Lines are arrays swapped by reference, so scrolling moves no cells. Not thread-safe:
/// <see cref="ScreenFeed"/> owns one and locks around it.
/// </remarks>
public sealed class TerminalScreen : IVtHandler
{
    /// <summary>Largest grid accepted, whatever the client asks (the terminal service clamps sizes to the same order).</summary>
    public const int MaxColumns = 1000;

    public const int MaxRows = 500;

    private readonly VtParser _parser;
    private Cell[][] _main;
    private Cell[][] _alt;
    private bool[] _mainWrapped;
    private bool[] _altWrapped;
    private bool[] _tabStops;
    private Cell[][] _lines;
    private bool[] _wrapped;
    private int _x;
    private int _y;
    private bool _pendingWrap;
    private CellAttributes _attr;
    private int _top;
    private int _bottom;
    private bool _decGraphics;
    private readonly SavedCursor[] _saved = new SavedCursor[2];

    public TerminalScreen(int columns, int rows)
    {
        Columns = Math.Clamp(columns, 1, MaxColumns);
        Rows = Math.Clamp(rows, 1, MaxRows);
        _main = NewGrid(Columns, Rows);
        _alt = NewGrid(Columns, Rows);
        _mainWrapped = new bool[Rows];
        _altWrapped = new bool[Rows];
        _tabStops = DefaultTabs(Columns);
        _lines = _main;
        _wrapped = _mainWrapped;
        _bottom = Rows - 1;
        _parser = new VtParser(this);
    }

    public int Columns { get; private set; }

    public int Rows { get; private set; }

    public int CursorRow => _y;

    public int CursorColumn => _x;

    /// <summary>A character was written in the last column; the next printable one goes to the next line first.</summary>
    public bool PendingWrap => _pendingWrap;

    public bool AlternateScreen { get; private set; }

    public bool AutoWrap { get; private set; } = true;

    public bool OriginMode { get; private set; }

    public bool InsertMode { get; private set; }

    public bool CursorVisible { get; private set; } = true;

    public bool BracketedPaste { get; private set; }

    public bool ApplicationCursorKeys { get; private set; }

    /// <summary>See <see cref="ScreenSnapshot.CursorAddressed"/>.</summary>
    public bool CursorAddressed { get; private set; }

    public int ScrollTop => _top;

    public int ScrollBottom => _bottom;

    /// <summary>Increases with every chunk fed that changed something.</summary>
    public long Revision { get; private set; }

    /// <summary>The title last set by OSC 0 or 2.</summary>
    public string? Title { get; private set; }

    public VtParser Parser => _parser;

    /// <summary>Feeds output to the parser, which updates the screen.</summary>
    public void Feed(ReadOnlySpan<char> text)
    {
        if (text.Length == 0)
        {
            return;
        }

        Revision++;
        _parser.Feed(text);
    }

    public void Feed(string text) => Feed(text.AsSpan());

    /// <summary>The cell at a position of the active buffer.</summary>
    public Cell CellAt(int row, int column) => _lines[row][column];

    // ---- Printing ----

    public void PrintAscii(ReadOnlySpan<char> text)
    {
        if (_decGraphics || InsertMode || !AutoWrap)
        {
            foreach (char c in text)
            {
                Print(_decGraphics ? DecGraphic(c) : c);
            }

            return;
        }

        while (text.Length > 0)
        {
            if (_pendingWrap)
            {
                WrapLine();
            }

            int n = Math.Min(text.Length, Columns - _x);
            var row = _lines[_y];
            if ((row[_x].Attributes & CellAttributes.WideTail) != 0 && _x > 0)
            {
                row[_x - 1] = default;
            }

            int end = _x + n;
            if (end < Columns && (row[end].Attributes & CellAttributes.WideTail) != 0)
            {
                row[end] = default;
            }

            var attr = _attr;
            for (int i = 0; i < n; i++)
            {
                ref var cell = ref row[_x + i];
                cell.Code = text[i];
                cell.Attributes = attr;
                cell.Combining = null;
            }

            text = text[n..];
            if (end >= Columns)
            {
                _x = Columns - 1;
                _pendingWrap = true;
            }
            else
            {
                _x = end;
            }
        }
    }

    public void Print(int codePoint)
    {
        int width = CharWidth.Of(codePoint);
        if (width == 0)
        {
            AddCombining(codePoint);
            return;
        }

        if (_pendingWrap && AutoWrap)
        {
            WrapLine();
        }

        if (width == 2 && _x == Columns - 1)
        {
            if (!AutoWrap || Columns < 2)
            {
                return;
            }

            // A wide character does not fit in the last column: it goes whole to the next line.
            ClearCell(_y, _x);
            WrapLine();
        }

        if (InsertMode)
        {
            ShiftRight(_y, _x, width);
        }

        var row = _lines[_y];
        ClearCell(_y, _x);
        if (width == 2)
        {
            ClearCell(_y, _x + 1);
        }

        row[_x] = new Cell { Code = codePoint, Attributes = _attr | (width == 2 ? CellAttributes.Wide : 0) };
        if (width == 2)
        {
            row[_x + 1] = new Cell { Attributes = _attr | CellAttributes.WideTail };
        }

        int next = _x + width;
        if (next >= Columns)
        {
            _x = Columns - 1;
            _pendingWrap = AutoWrap;
        }
        else
        {
            _x = next;
            _pendingWrap = false;
        }
    }

    private void AddCombining(int codePoint)
    {
        int col = _pendingWrap ? _x : _x - 1;
        if (col < 0)
        {
            return;
        }

        var row = _lines[_y];
        if ((row[col].Attributes & CellAttributes.WideTail) != 0 && col > 0)
        {
            col--;
        }

        ref var cell = ref row[col];
        if (cell.Code == 0)
        {
            return;
        }

        // Bounded: a stream of combining marks on one cell must not grow memory without limit.
        if ((cell.Combining?.Length ?? 0) < 16)
        {
            cell.Combining += char.ConvertFromUtf32(codePoint);
        }
    }

    /// <summary>Clears a cell and the other half of a double-width character it belongs to.</summary>
    private void ClearCell(int y, int x)
    {
        if (x >= Columns)
        {
            return;
        }

        var row = _lines[y];
        var a = row[x].Attributes;
        if ((a & CellAttributes.WideTail) != 0 && x > 0)
        {
            row[x - 1] = default;
        }
        else if ((a & CellAttributes.Wide) != 0 && x + 1 < Columns)
        {
            row[x + 1] = default;
        }

        row[x] = default;
    }

    /// <summary>An edit at a column that holds the right half of a double-width character erases that character.</summary>
    private void SplitWide(int y, int x)
    {
        if (x < Columns && (_lines[y][x].Attributes & CellAttributes.WideTail) != 0)
        {
            ClearCell(y, x);
        }
    }

    private void WrapLine()
    {
        _wrapped[_y] = true;
        _x = 0;
        _pendingWrap = false;
        Index();
    }

    private static int DecGraphic(char c) => c switch
    {
        'j' => '┘',
        'k' => '┐',
        'l' => '┌',
        'm' => '└',
        'n' => '┼',
        'q' => '─',
        't' => '├',
        'u' => '┤',
        'v' => '┴',
        'w' => '┬',
        'x' => '│',
        'a' => '▒',
        '`' => '◆',
        '~' => '·',
        _ => c,
    };

    // ---- C0 / C1 controls ----

    public void Execute(int control)
    {
        switch (control)
        {
            case 0x08: // BS
                if (_x > 0)
                {
                    _x--;
                }

                _pendingWrap = false;
                break;
            case 0x09: // HT
                _x = NextTab(_x, 1);
                _pendingWrap = false;
                break;
            case 0x0A or 0x0B or 0x0C or 0x84: // LF VT FF IND
                _pendingWrap = false;
                Index();
                break;
            case 0x0D: // CR
                _x = 0;
                _pendingWrap = false;
                break;
            case 0x85: // NEL
                _x = 0;
                _pendingWrap = false;
                Index();
                break;
            case 0x88: // HTS
                _tabStops[_x] = true;
                break;
            case 0x8D: // RI
                ReverseIndex();
                break;
            case 0x0E: // SO: G1 is never designated here
            case 0x0F: // SI
            default:
                break;
        }
    }

    private void Index()
    {
        if (_y == _bottom)
        {
            ScrollUp(_top, _bottom, 1);
        }
        else if (_y < Rows - 1)
        {
            _y++;
        }
    }

    private void ReverseIndex()
    {
        _pendingWrap = false;
        CursorAddressed = true;
        if (_y == _top)
        {
            ScrollDown(_top, _bottom, 1);
        }
        else if (_y > 0)
        {
            _y--;
        }
    }

    private int NextTab(int x, int count)
    {
        for (int i = 0; i < count; i++)
        {
            do
            {
                x++;
            }
            while (x < Columns - 1 && !_tabStops[x]);
        }

        return Math.Min(x, Columns - 1);
    }

    private int PreviousTab(int x, int count)
    {
        for (int i = 0; i < count; i++)
        {
            do
            {
                x--;
            }
            while (x > 0 && !_tabStops[x]);
        }

        return Math.Max(x, 0);
    }

    // ---- Escape sequences ----

    public void EscDispatch(ReadOnlySpan<char> intermediates, char final)
    {
        if (intermediates.Length == 0)
        {
            switch (final)
            {
                case '7':
                    SaveCursor();
                    break;
                case '8':
                    RestoreCursor();
                    break;
                case 'D':
                    Execute(0x84);
                    break;
                case 'E':
                    Execute(0x85);
                    break;
                case 'H':
                    Execute(0x88);
                    break;
                case 'M':
                    ReverseIndex();
                    break;
                case 'c':
                    FullReset();
                    break;
            }

            return;
        }

        if (intermediates is ['#'] && final == '8')
        {
            // DECALN: the screen filled with E.
            foreach (var row in _lines)
            {
                Array.Fill(row, new Cell { Code = 'E' });
            }

            Array.Clear(_wrapped);
            _top = 0;
            _bottom = Rows - 1;
            SetCursor(0, 0);
        }
        else if (intermediates is ['('])
        {
            _decGraphics = final == '0';
        }
    }

    // ---- Control sequences ----

    public void CsiDispatch(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final, uint subParameterMask)
    {
        if (intermediates.Length > 0)
        {
            if (intermediates is ['?'] && final is 'h' or 'l')
            {
                foreach (var p in parameters)
                {
                    SetPrivateMode(p, final == 'h');
                }
            }
            else if (intermediates is ['!'] && final == 'p')
            {
                SoftReset();
            }

            return;
        }

        int p0 = Arg(parameters, 0, 1);
        switch (final)
        {
            case '@':
                InsertChars(p0);
                break;
            case 'A':
                CursorUp(p0);
                break;
            case 'B' or 'e':
                CursorDown(p0);
                break;
            case 'C' or 'a':
                MoveTo(_y, _x + p0);
                break;
            case 'D':
                MoveTo(_y, _x - p0);
                break;
            case 'E':
                CursorDown(p0);
                _x = 0;
                break;
            case 'F':
                CursorUp(p0);
                _x = 0;
                break;
            case 'G' or '`':
                MoveTo(_y, p0 - 1);
                break;
            case 'H' or 'f':
                CursorPosition(p0, Arg(parameters, 1, 1));
                break;
            case 'I':
                _x = NextTab(_x, p0);
                _pendingWrap = false;
                break;
            case 'Z':
                _x = PreviousTab(_x, p0);
                _pendingWrap = false;
                break;
            case 'J':
                EraseDisplay(Arg(parameters, 0, 0));
                break;
            case 'K':
                EraseLine(Arg(parameters, 0, 0));
                break;
            case 'L':
                InsertLines(p0);
                break;
            case 'M':
                DeleteLines(p0);
                break;
            case 'P':
                DeleteChars(p0);
                break;
            case 'S':
                CursorAddressed = true;
                ScrollUp(_top, _bottom, p0);
                break;
            case 'T' when parameters.Length <= 1:
                CursorAddressed = true;
                ScrollDown(_top, _bottom, p0);
                break;
            case 'X':
                EraseChars(p0);
                break;
            case 'b':
                Repeat(p0);
                break;
            case 'd':
                CursorAddressed = true;
                CursorPosition(p0, _x + 1, keepColumn: true);
                break;
            case 'g':
                ClearTabs(Arg(parameters, 0, 0));
                break;
            case 'h' or 'l':
                foreach (var p in parameters)
                {
                    if (p == 4)
                    {
                        InsertMode = final == 'h';
                    }
                }

                break;
            case 'm':
                SelectGraphicRendition(parameters, subParameterMask);
                break;
            case 'r':
                SetScrollRegion(Arg(parameters, 0, 1), Arg(parameters, 1, Rows));
                break;
            case 's':
                SaveCursor();
                break;
            case 'u':
                RestoreCursor();
                break;
        }
    }

    private static int Arg(ReadOnlySpan<int> parameters, int index, int fallback) =>
        index < parameters.Length && parameters[index] != 0 ? parameters[index] : fallback;

    private void SetPrivateMode(int mode, bool on)
    {
        switch (mode)
        {
            case 1:
                ApplicationCursorKeys = on;
                break;
            case 6:
                OriginMode = on;
                SetCursor(0, 0);
                break;
            case 7:
                AutoWrap = on;
                if (!on)
                {
                    _pendingWrap = false;
                }

                break;
            case 25:
                // Hiding the cursor is what a program that draws frames does first (Ink, ratatui); a line printer never does.
                CursorVisible = on;
                CursorAddressed |= !on;
                break;
            case 1004:
                // Focus reporting: only an interactive full-screen program asks for it.
                CursorAddressed |= on;
                break;
            case 47:
                SwitchBuffer(on, clearOnEntry: false, clearOnExit: false);
                break;
            case 1047:
                SwitchBuffer(on, clearOnEntry: false, clearOnExit: true);
                break;
            case 1048:
                if (on)
                {
                    SaveCursor();
                }
                else
                {
                    RestoreCursor();
                }

                break;
            case 1049:
                if (on)
                {
                    // The cursor is saved in the normal buffer's slot and restored from it on the way back.
                    if (!AlternateScreen)
                    {
                        SaveCursor();
                    }

                    SwitchBuffer(true, clearOnEntry: true, clearOnExit: false);
                }
                else if (AlternateScreen)
                {
                    SwitchBuffer(false, clearOnEntry: false, clearOnExit: false);
                    RestoreCursor();
                }

                break;
            case 2004:
                BracketedPaste = on;
                break;
        }
    }

    private void SwitchBuffer(bool alternate, bool clearOnEntry, bool clearOnExit)
    {
        CursorAddressed = true;
        if (alternate == AlternateScreen)
        {
            if (alternate && clearOnEntry)
            {
                ClearGrid(_alt, _altWrapped);
            }

            return;
        }

        if (alternate)
        {
            if (clearOnEntry)
            {
                ClearGrid(_alt, _altWrapped);
            }

            _lines = _alt;
            _wrapped = _altWrapped;
        }
        else
        {
            if (clearOnExit)
            {
                ClearGrid(_alt, _altWrapped);
            }

            _lines = _main;
            _wrapped = _mainWrapped;
        }

        AlternateScreen = alternate;
        _pendingWrap = false;
    }

    private void CursorUp(int n)
    {
        CursorAddressed = true;
        int limit = _y >= _top ? _top : 0;
        _y = Math.Max(limit, _y - n);
        _pendingWrap = false;
    }

    private void CursorDown(int n)
    {
        int limit = _y <= _bottom ? _bottom : Rows - 1;
        _y = Math.Min(limit, _y + n);
        _pendingWrap = false;
    }

    private void MoveTo(int y, int x)
    {
        _y = Math.Clamp(y, 0, Rows - 1);
        _x = Math.Clamp(x, 0, Columns - 1);
        _pendingWrap = false;
    }

    /// <summary>CUP, HVP and VPA: 1-based, relative to the scroll region in origin mode.</summary>
    private void CursorPosition(int row, int column, bool keepColumn = false)
    {
        CursorAddressed = true;
        int y = row - 1;
        if (OriginMode)
        {
            y = Math.Min(y + _top, _bottom);
        }

        MoveTo(y, keepColumn ? _x : column - 1);
    }

    private void SetCursor(int y, int x) => MoveTo(OriginMode ? _top + y : y, x);

    private void SetScrollRegion(int top, int bottom)
    {
        int t = top - 1, b = Math.Min(bottom, Rows) - 1;
        if (t >= b)
        {
            return;
        }

        CursorAddressed = true;
        _top = t;
        _bottom = b;
        SetCursor(0, 0);
    }

    private void EraseDisplay(int mode)
    {
        _pendingWrap = false;
        switch (mode)
        {
            case 0:
                EraseLine(0);
                for (int y = _y + 1; y < Rows; y++)
                {
                    ClearRow(y);
                }

                break;
            case 1:
                EraseLine(1);
                for (int y = 0; y < _y; y++)
                {
                    ClearRow(y);
                }

                break;
            case 2:
                CursorAddressed = true;
                for (int y = 0; y < Rows; y++)
                {
                    ClearRow(y);
                }

                break;
        }
    }

    private void EraseLine(int mode)
    {
        _pendingWrap = false;
        var row = _lines[_y];
        switch (mode)
        {
            case 0:
                ClearCell(_y, _x);
                Array.Clear(row, _x, Columns - _x);
                _wrapped[_y] = false;
                break;
            case 1:
                ClearCell(_y, _x);
                Array.Clear(row, 0, _x + 1);
                break;
            case 2:
                ClearRow(_y);
                break;
        }
    }

    private void EraseChars(int n)
    {
        _pendingWrap = false;
        int end = Math.Min(Columns, _x + n);
        ClearCell(_y, _x);
        if (end < Columns)
        {
            ClearCell(_y, end - 1);
        }

        Array.Clear(_lines[_y], _x, end - _x);
    }

    private void DeleteChars(int n)
    {
        _pendingWrap = false;
        var row = _lines[_y];
        n = Math.Min(n, Columns - _x);
        SplitWide(_y, _x);
        if (_x + n < Columns && (row[_x + n].Attributes & CellAttributes.WideTail) != 0)
        {
            // The head of this character is deleted: its tail goes too.
            row[_x + n] = default;
        }

        Array.Copy(row, _x + n, row, _x, Columns - _x - n);
        Array.Clear(row, Columns - n, n);
    }

    private void InsertChars(int n)
    {
        _pendingWrap = false;
        ShiftRight(_y, _x, n);
    }

    private void ShiftRight(int y, int x, int n)
    {
        var row = _lines[y];
        n = Math.Min(n, Columns - x);
        SplitWide(y, x);
        int keep = Columns - x - n;

        // A double-width character pushed half past the right edge goes whole.
        if (keep > 0 && (row[x + keep - 1].Attributes & CellAttributes.Wide) != 0)
        {
            row[x + keep - 1] = default;
        }

        Array.Copy(row, x, row, x + n, keep);
        Array.Clear(row, x, n);
    }

    private void Repeat(int n)
    {
        // REP repeats the last printed character; the screen keeps it in the cell left of the cursor.
        int col = _pendingWrap ? _x : _x - 1;
        if (col < 0)
        {
            return;
        }

        var cell = _lines[_y][col];
        if ((cell.Attributes & CellAttributes.WideTail) != 0 && col > 0)
        {
            cell = _lines[_y][col - 1];
        }

        if (cell.Code == 0)
        {
            return;
        }

        for (int i = 0; i < Math.Min(n, Columns * Rows); i++)
        {
            Print(cell.Code);
        }
    }

    private void InsertLines(int n)
    {
        CursorAddressed = true;
        if (_y < _top || _y > _bottom)
        {
            return;
        }

        ScrollDown(_y, _bottom, n);
        _x = 0;
        _pendingWrap = false;
    }

    private void DeleteLines(int n)
    {
        CursorAddressed = true;
        if (_y < _top || _y > _bottom)
        {
            return;
        }

        ScrollUp(_y, _bottom, n);
        _x = 0;
        _pendingWrap = false;
    }

    /// <summary>Rows top..bottom move up by n; the rows that fall off come back blank at the bottom.</summary>
    private void ScrollUp(int top, int bottom, int n)
    {
        int height = bottom - top + 1;
        n = Math.Min(n, height);
        if (n <= 0)
        {
            return;
        }

        var gone = new Cell[n][];
        Array.Copy(_lines, top, gone, 0, n);
        Array.Copy(_lines, top + n, _lines, top, height - n);
        Array.Copy(_wrapped, top + n, _wrapped, top, height - n);
        for (int i = 0; i < n; i++)
        {
            Array.Clear(gone[i]);
            _lines[bottom - n + 1 + i] = gone[i];
            _wrapped[bottom - n + 1 + i] = false;
        }
    }

    /// <summary>Rows top..bottom move down by n; blank rows appear at the top.</summary>
    private void ScrollDown(int top, int bottom, int n)
    {
        int height = bottom - top + 1;
        n = Math.Min(n, height);
        if (n <= 0)
        {
            return;
        }

        var gone = new Cell[n][];
        Array.Copy(_lines, bottom - n + 1, gone, 0, n);
        Array.Copy(_lines, top, _lines, top + n, height - n);
        Array.Copy(_wrapped, top, _wrapped, top + n, height - n);
        for (int i = 0; i < n; i++)
        {
            Array.Clear(gone[i]);
            _lines[top + i] = gone[i];
            _wrapped[top + i] = false;
        }
    }

    private void ClearRow(int y)
    {
        Array.Clear(_lines[y]);
        _wrapped[y] = false;
    }

    private void ClearTabs(int mode)
    {
        if (mode == 0)
        {
            _tabStops[_x] = false;
        }
        else if (mode == 3)
        {
            Array.Clear(_tabStops);
        }
    }

    private void SelectGraphicRendition(ReadOnlySpan<int> p, uint subMask)
    {
        if (p.Length == 0)
        {
            _attr = CellAttributes.None;
            return;
        }

        for (int i = 0; i < p.Length; i++)
        {
            if ((subMask & (1u << i)) != 0)
            {
                continue;
            }

            switch (p[i])
            {
                case 0:
                    _attr = CellAttributes.None;
                    break;
                case 1:
                    _attr |= CellAttributes.Bold;
                    break;
                case 2:
                    _attr |= CellAttributes.Dim;
                    break;
                case 3:
                    _attr |= CellAttributes.Italic;
                    break;
                case 4:
                    _attr |= CellAttributes.Underline;
                    break;
                case 7:
                    _attr |= CellAttributes.Inverse;
                    break;
                case 21 or 22:
                    _attr &= ~(CellAttributes.Bold | CellAttributes.Dim);
                    break;
                case 23:
                    _attr &= ~CellAttributes.Italic;
                    break;
                case 24:
                    _attr &= ~CellAttributes.Underline;
                    break;
                case 27:
                    _attr &= ~CellAttributes.Inverse;
                    break;
                case 38 or 48 or 58:
                    // An extended colour: 38;5;n or 38;2;r;g;b in the old form; in the colon form its sub-parameters
                    // carry their bit and are skipped above.
                    if (i + 1 < p.Length && (subMask & (1u << (i + 1))) == 0)
                    {
                        i += p[i + 1] switch
                        {
                            5 => 2,
                            2 => 4,
                            _ => 1,
                        };
                    }

                    break;
            }
        }
    }

    private void SaveCursor()
    {
        _saved[AlternateScreen ? 1 : 0] = new SavedCursor(_x, _y, _attr, _pendingWrap, OriginMode, _decGraphics, true);
    }

    private void RestoreCursor()
    {
        var s = _saved[AlternateScreen ? 1 : 0];
        if (!s.Set)
        {
            OriginMode = false;
            _attr = CellAttributes.None;
            MoveTo(0, 0);
            return;
        }

        _attr = s.Attributes;
        OriginMode = s.OriginMode;
        _decGraphics = s.DecGraphics;
        MoveTo(s.Y, s.X);
        _pendingWrap = s.PendingWrap && _x == Columns - 1;
    }

    private void SoftReset()
    {
        CursorVisible = true;
        InsertMode = false;
        OriginMode = false;
        AutoWrap = true;
        ApplicationCursorKeys = false;
        _attr = CellAttributes.None;
        _top = 0;
        _bottom = Rows - 1;
        _decGraphics = false;
        _saved[0] = default;
        _saved[1] = default;
    }

    private void FullReset()
    {
        SoftReset();
        BracketedPaste = false;
        SwitchBuffer(false, clearOnEntry: false, clearOnExit: true);
        ClearGrid(_main, _mainWrapped);
        _tabStops = DefaultTabs(Columns);
        MoveTo(0, 0);
        Title = null;
    }

    // ---- Strings (titles are kept, device control strings ignored) ----

    private StringBuilder? _osc;

    public void Hook(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final)
    {
    }

    public void Put(int codePoint)
    {
    }

    public void Unhook()
    {
    }

    public void OscStart() => _osc = null;

    public void OscPut(int codePoint)
    {
        // Only the title is kept, and only a title's worth of it.
        _osc ??= new StringBuilder();
        if (_osc.Length < 256)
        {
            _osc.Append(char.ConvertFromUtf32(codePoint));
        }
    }

    public void OscEnd()
    {
        var s = _osc?.ToString();
        _osc = null;
        if (s is not null && (s.StartsWith("0;", StringComparison.Ordinal) || s.StartsWith("2;", StringComparison.Ordinal)))
        {
            Title = s[2..];
        }
    }

    // ---- Size ----

    /// <summary>
    /// A new size. Text keeps its position from the top-left; when rows are removed below a cursor that would fall off,
    /// lines leave at the top instead, so the cursor's line stays visible (what xterm does). The scroll region resets.
    /// </summary>
    public void Resize(int columns, int rows)
    {
        columns = Math.Clamp(columns, 1, MaxColumns);
        rows = Math.Clamp(rows, 1, MaxRows);
        if (columns == Columns && rows == Rows)
        {
            return;
        }

        Revision++;
        int shift = Math.Max(0, _y - (rows - 1));
        _main = ResizeGrid(_main, ref _mainWrapped, columns, rows, AlternateScreen ? 0 : shift);
        _alt = ResizeGrid(_alt, ref _altWrapped, columns, rows, AlternateScreen ? shift : 0);
        _lines = AlternateScreen ? _alt : _main;
        _wrapped = AlternateScreen ? _altWrapped : _mainWrapped;
        var tabs = DefaultTabs(columns);
        Array.Copy(_tabStops, tabs, Math.Min(_tabStops.Length, columns));
        _tabStops = tabs;
        Columns = columns;
        Rows = rows;
        _top = 0;
        _bottom = rows - 1;
        _y -= shift;
        MoveTo(_y, _x);
        for (int i = 0; i < _saved.Length; i++)
        {
            _saved[i] = _saved[i] with { X = Math.Min(_saved[i].X, columns - 1), Y = Math.Min(_saved[i].Y, rows - 1) };
        }
    }

    private static Cell[][] ResizeGrid(Cell[][] grid, ref bool[] wrapped, int columns, int rows, int shift)
    {
        var next = NewGrid(columns, rows);
        var nextWrapped = new bool[rows];
        for (int y = 0; y < rows && y + shift < grid.Length; y++)
        {
            var from = grid[y + shift];
            int n = Math.Min(columns, from.Length);
            Array.Copy(from, next[y], n);
            if (n > 0 && (next[y][n - 1].Attributes & CellAttributes.Wide) != 0 && n < from.Length)
            {
                next[y][n - 1] = default;
            }

            nextWrapped[y] = wrapped[y + shift] && columns == from.Length;
        }

        wrapped = nextWrapped;
        return next;
    }

    private static Cell[][] NewGrid(int columns, int rows)
    {
        var grid = new Cell[rows][];
        for (int y = 0; y < rows; y++)
        {
            grid[y] = new Cell[columns];
        }

        return grid;
    }

    private static void ClearGrid(Cell[][] grid, bool[] wrapped)
    {
        foreach (var row in grid)
        {
            Array.Clear(row);
        }

        Array.Clear(wrapped);
    }

    private static bool[] DefaultTabs(int columns)
    {
        var tabs = new bool[columns];
        for (int x = 8; x < columns; x += 8)
        {
            tabs[x] = true;
        }

        return tabs;
    }

    // ---- Reading ----

    /// <summary>The active buffer as text lines.</summary>
    public ScreenSnapshot Snapshot()
    {
        var lines = new ScreenLine[Rows];
        var sb = new StringBuilder(Columns);
        for (int y = 0; y < Rows; y++)
        {
            lines[y] = LineOf(_lines[y], _wrapped[y], sb);
        }

        return new ScreenSnapshot(lines, _y, _x, AlternateScreen, CursorAddressed, ApplicationCursorKeys, BracketedPaste, Revision);
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

    /// <summary>
    /// Escape sequences that draw this screen on a blank terminal of the same size: the normal buffer, then (when it is
    /// active) the alternate one, the kept attributes, the scroll region, the cursor and the modes a client must know
    /// (bracketed paste, application cursor keys, cursor visibility, autowrap). A client that attaches gets this instead
    /// of a raw tail of output, which may begin in the middle of a full-screen program's redraw.
    /// </summary>
    public string Render()
    {
        var sb = new StringBuilder((Columns + 16) * Rows * 2);
        sb.Append("\x1b[?1049l\x1b[0m\x1b[r\x1b[?7h\x1b[H\x1b[2J");
        RenderGrid(sb, _main);
        if (AlternateScreen)
        {
            sb.Append("\x1b[?1049h\x1b[H\x1b[2J");
            RenderGrid(sb, _alt);
        }

        if (_top != 0 || _bottom != Rows - 1)
        {
            sb.Append("\x1b[").Append(_top + 1).Append(';').Append(_bottom + 1).Append('r');
        }

        sb.Append("\x1b[0m");
        if (!AutoWrap)
        {
            sb.Append("\x1b[?7l");
        }

        if (ApplicationCursorKeys)
        {
            sb.Append("\x1b[?1h");
        }

        if (BracketedPaste)
        {
            sb.Append("\x1b[?2004h");
        }

        sb.Append(CursorVisible ? "\x1b[?25h" : "\x1b[?25l");
        sb.Append("\x1b[").Append(_y + 1).Append(';').Append(_x + 1).Append('H');
        return sb.ToString();
    }

    private void RenderGrid(StringBuilder sb, Cell[][] grid)
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
                    AppendSgr(sb, attr);
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

    private static void AppendSgr(StringBuilder sb, CellAttributes attr)
    {
        sb.Append("\x1b[0");
        if ((attr & CellAttributes.Bold) != 0)
        {
            sb.Append(";1");
        }

        if ((attr & CellAttributes.Dim) != 0)
        {
            sb.Append(";2");
        }

        if ((attr & CellAttributes.Italic) != 0)
        {
            sb.Append(";3");
        }

        if ((attr & CellAttributes.Underline) != 0)
        {
            sb.Append(";4");
        }

        if ((attr & CellAttributes.Inverse) != 0)
        {
            sb.Append(";7");
        }

        sb.Append('m');
    }

    private readonly record struct SavedCursor(int X, int Y, CellAttributes Attributes, bool PendingWrap, bool OriginMode, bool DecGraphics, bool Set);
}
