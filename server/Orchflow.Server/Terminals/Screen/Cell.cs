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
