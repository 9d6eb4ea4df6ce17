namespace Orchflow.Server.Terminals.Screen;

/// <summary>
/// The visible screen of one terminal, driven by a <see cref="VtParser"/>: a grid of cells with a cursor, the normal
/// and alternate buffers, a scroll region, tab stops, autowrap with the deferred-wrap flag (a character written in the
/// last column leaves the cursor there; the next printable one wraps), double-width and combining characters, and
/// the modes a reader needs (bracketed paste, application cursor keys, cursor visibility, origin and insert mode).
/// Colours are accepted and dropped; bold, dim, italic, underline and inverse are kept.
/// </summary>
/// <remarks>
/// <para>
/// This file holds the cursor, the modes and the editing functions; TerminalScreen.Controls.cs maps the parser's
/// actions (controls, ESC and CSI sequences, strings) onto them. The cells are a <see cref="ScreenGrid"/>, the tab stops
/// <see cref="TabStops"/>, attributes come from <see cref="GraphicRendition"/>, and <see cref="ScreenText"/> writes the
/// screen out.
/// </para>
/// <para>
/// Memory is the grid only (two buffers of rows × columns cells): no scrollback, since the screen exists to say what
/// is visible now. Not thread-safe: <see cref="ScreenFeed"/> owns one and locks around it.
/// </para>
/// </remarks>
public sealed partial class TerminalScreen : IVtHandler
{
    /// <summary>Largest grid accepted, whatever the client asks (the terminal service clamps sizes to the same order).</summary>
    public const int MaxColumns = 1000;

    public const int MaxRows = 500;

    private readonly VtParser _parser;
    private readonly ScreenGrid _grid;
    private readonly TabStops _tabs;
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
        _grid = new ScreenGrid(Math.Clamp(columns, 1, MaxColumns), Math.Clamp(rows, 1, MaxRows));
        _tabs = new TabStops(Columns);
        _bottom = Rows - 1;
        _parser = new VtParser(this);
    }

    public int Columns => _grid.Columns;

    public int Rows => _grid.Rows;

    public int CursorRow => _y;

    public int CursorColumn => _x;

    /// <summary>A character was written in the last column; the next printable one goes to the next line first.</summary>
    public bool PendingWrap => _pendingWrap;

    public bool AlternateScreen => _grid.Alternate;

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
    public Cell CellAt(int row, int column) => _grid.Row(row)[column];

    /// <summary>The active buffer as text lines.</summary>
    public ScreenSnapshot Snapshot() => ScreenText.Snapshot(this, _grid);

    /// <summary>
    /// Escape sequences that draw this screen on a blank terminal of the same size: the normal buffer, then (when it is
    /// active) the alternate one, the kept attributes, the scroll region, the cursor and the modes a client must know
    /// (bracketed paste, application cursor keys, cursor visibility, autowrap). A client that attaches gets this instead
    /// of a raw tail of output, which may begin in the middle of a full-screen program's redraw.
    /// </summary>
    public string Render() => ScreenText.Render(this, _grid);

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

        int columns = Columns;
        while (text.Length > 0)
        {
            if (_pendingWrap)
            {
                WrapLine();
            }

            int n = Math.Min(text.Length, columns - _x);
            var row = _grid.Row(_y);
            if ((row[_x].Attributes & CellAttributes.WideTail) != 0 && _x > 0)
            {
                row[_x - 1] = default;
            }

            int end = _x + n;
            if (end < columns && (row[end].Attributes & CellAttributes.WideTail) != 0)
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
            if (end >= columns)
            {
                _x = columns - 1;
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
            _grid.ClearCell(_y, _x);
            WrapLine();
        }

        if (InsertMode)
        {
            _grid.ShiftRight(_y, _x, width);
        }

        var row = _grid.Row(_y);
        _grid.ClearCell(_y, _x);
        if (width == 2)
        {
            _grid.ClearCell(_y, _x + 1);
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

        var row = _grid.Row(_y);
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

    private void WrapLine()
    {
        _grid.SetWrapped(_y, true);
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

    private void Repeat(int n)
    {
        // REP repeats the last printed character; the screen keeps it in the cell left of the cursor.
        int col = _pendingWrap ? _x : _x - 1;
        if (col < 0)
        {
            return;
        }

        var row = _grid.Row(_y);
        var cell = row[col];
        if ((cell.Attributes & CellAttributes.WideTail) != 0 && col > 0)
        {
            cell = row[col - 1];
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

    // ---- Cursor ----

    private void Index()
    {
        if (_y == _bottom)
        {
            _grid.ScrollUp(_top, _bottom, 1);
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
            _grid.ScrollDown(_top, _bottom, 1);
        }
        else if (_y > 0)
        {
            _y--;
        }
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

    // ---- Erasing, inserting and deleting ----

    private void EraseDisplay(int mode)
    {
        _pendingWrap = false;
        switch (mode)
        {
            case 0:
                EraseLine(0);
                for (int y = _y + 1; y < Rows; y++)
                {
                    _grid.ClearRow(y);
                }

                break;
            case 1:
                EraseLine(1);
                for (int y = 0; y < _y; y++)
                {
                    _grid.ClearRow(y);
                }

                break;
            case 2:
                CursorAddressed = true;
                for (int y = 0; y < Rows; y++)
                {
                    _grid.ClearRow(y);
                }

                break;
        }
    }

    private void EraseLine(int mode)
    {
        _pendingWrap = false;
        switch (mode)
        {
            case 0:
                _grid.ClearCell(_y, _x);
                _grid.Clear(_y, _x, Columns - _x);
                _grid.SetWrapped(_y, false);
                break;
            case 1:
                _grid.ClearCell(_y, _x);
                _grid.Clear(_y, 0, _x + 1);
                break;
            case 2:
                _grid.ClearRow(_y);
                break;
        }
    }

    private void EraseChars(int n)
    {
        _pendingWrap = false;
        int end = Math.Min(Columns, _x + n);
        _grid.ClearCell(_y, _x);
        if (end < Columns)
        {
            _grid.ClearCell(_y, end - 1);
        }

        _grid.Clear(_y, _x, end - _x);
    }

    private void DeleteChars(int n)
    {
        _pendingWrap = false;
        _grid.ShiftLeft(_y, _x, n);
    }

    private void InsertChars(int n)
    {
        _pendingWrap = false;
        _grid.ShiftRight(_y, _x, n);
    }

    private void InsertLines(int n)
    {
        CursorAddressed = true;
        if (_y < _top || _y > _bottom)
        {
            return;
        }

        _grid.ScrollDown(_y, _bottom, n);
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

        _grid.ScrollUp(_y, _bottom, n);
        _x = 0;
        _pendingWrap = false;
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
        _grid.Resize(columns, rows, shift);
        _tabs.Resize(columns);
        _top = 0;
        _bottom = rows - 1;
        _y -= shift;
        MoveTo(_y, _x);
        for (int i = 0; i < _saved.Length; i++)
        {
            _saved[i] = _saved[i] with { X = Math.Min(_saved[i].X, columns - 1), Y = Math.Min(_saved[i].Y, rows - 1) };
        }
    }

    private readonly record struct SavedCursor(int X, int Y, CellAttributes Attributes, bool PendingWrap, bool OriginMode, bool DecGraphics, bool Set);
}
