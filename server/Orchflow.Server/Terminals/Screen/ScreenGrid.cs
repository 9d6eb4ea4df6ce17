namespace Orchflow.Server.Terminals.Screen;

/// <summary>
/// The cells of one screen: the normal and the alternate buffer, each rows × columns cells with a wrapped flag per row,
/// and which of the two is active. Every edit here keeps a double-width character whole: a <see cref="CellAttributes.Wide"/>
/// cell is followed by its <see cref="CellAttributes.WideTail"/>, and clearing or moving either half clears the other.
/// </summary>
/// <remarks>
/// Rows are arrays swapped by reference, so scrolling moves no cells. The cursor, modes and scroll region are the
/// screen's (<see cref="TerminalScreen"/>); the grid is told rows and columns. Not thread-safe, like the screen.
/// </remarks>
internal sealed class ScreenGrid
{
    private Cell[][] _main;
    private Cell[][] _alt;
    private bool[] _mainWrapped;
    private bool[] _altWrapped;
    private Cell[][] _lines;
    private bool[] _wrapped;

    public ScreenGrid(int columns, int rows)
    {
        Columns = columns;
        Rows = rows;
        _main = NewGrid(columns, rows);
        _alt = NewGrid(columns, rows);
        _mainWrapped = new bool[rows];
        _altWrapped = new bool[rows];
        _lines = _main;
        _wrapped = _mainWrapped;
    }

    public int Columns { get; private set; }

    public int Rows { get; private set; }

    /// <summary>The alternate buffer is the active one.</summary>
    public bool Alternate { get; private set; }

    /// <summary>The normal buffer, whichever is active (drawn first by <see cref="ScreenText.Render"/>).</summary>
    public Cell[][] Main => _main;

    /// <summary>The alternate buffer, whichever is active.</summary>
    public Cell[][] AlternateLines => _alt;

    /// <summary>A row of the active buffer, to write cells into.</summary>
    public Cell[] Row(int y) => _lines[y];

    /// <summary>The row of the active buffer continues on the next one (autowrap went past its end).</summary>
    public bool Wrapped(int y) => _wrapped[y];

    public void SetWrapped(int y, bool wrapped) => _wrapped[y] = wrapped;

    /// <summary>Clears a cell and the other half of a double-width character it belongs to.</summary>
    public void ClearCell(int y, int x)
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
    public void SplitWide(int y, int x)
    {
        if (x < Columns && (_lines[y][x].Attributes & CellAttributes.WideTail) != 0)
        {
            ClearCell(y, x);
        }
    }

    /// <summary>Blanks a row of the active buffer and its wrapped flag.</summary>
    public void ClearRow(int y)
    {
        Array.Clear(_lines[y]);
        _wrapped[y] = false;
    }

    /// <summary>Blanks <paramref name="count"/> cells from <paramref name="x"/>; the caller has cleared the double-width halves at the ends.</summary>
    public void Clear(int y, int x, int count) => Array.Clear(_lines[y], x, count);

    /// <summary>Every cell of the active buffer becomes <paramref name="cell"/>, and no row is wrapped (DECALN).</summary>
    public void Fill(Cell cell)
    {
        foreach (var row in _lines)
        {
            Array.Fill(row, cell);
        }

        Array.Clear(_wrapped);
    }

    /// <summary>Rows top..bottom move up by n; the rows that fall off come back blank at the bottom.</summary>
    public void ScrollUp(int top, int bottom, int n)
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
    public void ScrollDown(int top, int bottom, int n)
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

    /// <summary>Cells from x move right by n (ICH, insert mode); the ones pushed past the right edge are lost.</summary>
    public void ShiftRight(int y, int x, int n)
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

    /// <summary>n cells at x go; the rest of the row moves left and blanks come in at the right (DCH).</summary>
    public void ShiftLeft(int y, int x, int n)
    {
        var row = _lines[y];
        n = Math.Min(n, Columns - x);
        SplitWide(y, x);
        if (x + n < Columns && (row[x + n].Attributes & CellAttributes.WideTail) != 0)
        {
            // The head of this character is deleted: its tail goes too.
            row[x + n] = default;
        }

        Array.Copy(row, x + n, row, x, Columns - x - n);
        Array.Clear(row, Columns - n, n);
    }

    /// <summary>
    /// Makes the alternate (or the normal) buffer active, clearing the alternate one on the way in or out as asked;
    /// false when it was already active (the alternate one is still cleared when asked to be on entry).
    /// </summary>
    public bool Switch(bool alternate, bool clearOnEntry, bool clearOnExit)
    {
        if (alternate == Alternate)
        {
            if (alternate && clearOnEntry)
            {
                ClearGrid(_alt, _altWrapped);
            }

            return false;
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

        Alternate = alternate;
        return true;
    }

    /// <summary>Blanks the normal buffer (a full reset).</summary>
    public void ClearMain() => ClearGrid(_main, _mainWrapped);

    /// <summary>
    /// A new size: text keeps its position from the top-left, except that the active buffer loses
    /// <paramref name="shift"/> rows at the top (so the cursor's line stays visible when rows are removed below it).
    /// </summary>
    public void Resize(int columns, int rows, int shift)
    {
        _main = ResizeGrid(_main, ref _mainWrapped, columns, rows, Alternate ? 0 : shift);
        _alt = ResizeGrid(_alt, ref _altWrapped, columns, rows, Alternate ? shift : 0);
        _lines = Alternate ? _alt : _main;
        _wrapped = Alternate ? _altWrapped : _mainWrapped;
        Columns = columns;
        Rows = rows;
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
}
