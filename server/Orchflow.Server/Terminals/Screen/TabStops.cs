namespace Orchflow.Server.Terminals.Screen;

/// <summary>
/// The tab stops of a screen, one flag per column: every 8th column at first (and after a full reset), then set by HTS
/// and cleared by TBC. A stop is never past the last column, and moving to the next or previous stop stays on the line.
/// </summary>
internal sealed class TabStops
{
    private bool[] _stops;

    public TabStops(int columns) => _stops = Defaults(columns);

    /// <summary>HTS: a stop at this column.</summary>
    public void Set(int x) => _stops[x] = true;

    /// <summary>TBC: mode 0 clears the stop at this column, mode 3 every stop; other modes do nothing.</summary>
    public void Clear(int mode, int x)
    {
        if (mode == 0)
        {
            _stops[x] = false;
        }
        else if (mode == 3)
        {
            Array.Clear(_stops);
        }
    }

    /// <summary>The column of the count-th stop right of x, or the last column.</summary>
    public int Next(int x, int count)
    {
        int columns = _stops.Length;
        for (int i = 0; i < count; i++)
        {
            do
            {
                x++;
            }
            while (x < columns - 1 && !_stops[x]);
        }

        return Math.Min(x, columns - 1);
    }

    /// <summary>The column of the count-th stop left of x, or the first column.</summary>
    public int Previous(int x, int count)
    {
        for (int i = 0; i < count; i++)
        {
            do
            {
                x--;
            }
            while (x > 0 && !_stops[x]);
        }

        return Math.Max(x, 0);
    }

    /// <summary>The default stops again (a full reset).</summary>
    public void Reset() => _stops = Defaults(_stops.Length);

    /// <summary>A new width: the stops kept where the columns remain, the default ones in new columns.</summary>
    public void Resize(int columns)
    {
        var stops = Defaults(columns);
        Array.Copy(_stops, stops, Math.Min(_stops.Length, columns));
        _stops = stops;
    }

    private static bool[] Defaults(int columns)
    {
        var stops = new bool[columns];
        for (int x = 8; x < columns; x += 8)
        {
            stops[x] = true;
        }

        return stops;
    }
}
