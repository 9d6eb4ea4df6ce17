namespace Orchflow.Config;

/// <summary>
/// Converts byte offsets in a UTF-8 buffer (what Utf8JsonReader reports) to 1-based line and column,
/// counting a multi-byte character as one column.
/// </summary>
internal sealed class Utf8LineMap
{
    private readonly byte[] _utf8;
    private readonly List<int> _lineStarts = [0];

    public Utf8LineMap(byte[] utf8)
    {
        _utf8 = utf8;
        for (int i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    public SourcePosition FromOffset(long offset)
    {
        int target = (int)Math.Clamp(offset, 0, _utf8.Length);
        int line = _lineStarts.BinarySearch(target);
        if (line < 0)
        {
            line = ~line - 1;
        }

        return new SourcePosition(line + 1, CountCodePoints(_lineStarts[line], target) + 1);
    }

    /// <summary>For JsonException, which reports a 0-based line and a 0-based byte position within it.</summary>
    public SourcePosition FromLineAndByte(long line0, long bytePositionInLine)
    {
        int line = (int)Math.Clamp(line0, 0, _lineStarts.Count - 1);
        int start = _lineStarts[line];
        int end = (int)Math.Min(start + bytePositionInLine, _utf8.Length);
        return new SourcePosition(line + 1, CountCodePoints(start, end) + 1);
    }

    private int CountCodePoints(int from, int to)
    {
        int count = 0;
        for (int i = from; i < to; i++)
        {
            // Continuation bytes (10xxxxxx) belong to the character started before them.
            if ((_utf8[i] & 0xC0) != 0x80)
            {
                count++;
            }
        }

        return count;
    }
}
