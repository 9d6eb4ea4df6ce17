namespace Orchflow.Server.Terminals.Screen;

/// <summary>
/// SGR (CSI ... m) and what it leaves of a cell's look: bold, dim, italic, underline and inverse, the attributes a
/// reader of the screen needs. Colours are parsed only to be skipped whole, in the old form (38;5;n, 38;2;r;g;b) and
/// the colon form (38:2:r:g:b, whose sub-parameters the parser marks).
/// </summary>
internal static class GraphicRendition
{
    /// <summary>The attributes after SGR with these parameters; bit i of <paramref name="subMask"/> marks parameter i as a sub-parameter.</summary>
    public static CellAttributes Apply(CellAttributes attr, ReadOnlySpan<int> p, uint subMask)
    {
        if (p.Length == 0)
        {
            return CellAttributes.None;
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
                    attr = CellAttributes.None;
                    break;
                case 1:
                    attr |= CellAttributes.Bold;
                    break;
                case 2:
                    attr |= CellAttributes.Dim;
                    break;
                case 3:
                    attr |= CellAttributes.Italic;
                    break;
                case 4:
                    attr |= CellAttributes.Underline;
                    break;
                case 7:
                    attr |= CellAttributes.Inverse;
                    break;
                case 21 or 22:
                    attr &= ~(CellAttributes.Bold | CellAttributes.Dim);
                    break;
                case 23:
                    attr &= ~CellAttributes.Italic;
                    break;
                case 24:
                    attr &= ~CellAttributes.Underline;
                    break;
                case 27:
                    attr &= ~CellAttributes.Inverse;
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

        return attr;
    }

    /// <summary>The SGR sequence that sets exactly these attributes from any state (it starts with a reset).</summary>
    public static void AppendSequence(System.Text.StringBuilder sb, CellAttributes attr)
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
}
