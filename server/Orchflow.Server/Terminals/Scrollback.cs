namespace Orchflow.Server.Terminals;

/// <summary>
/// The last N characters of a terminal's output, as a ring: appending never allocates once full, and memory stays
/// at the configured size however much the child prints. The ring starts small and doubles as output arrives, so a
/// new terminal does not pay for zeroing megabytes (a large-object allocation on the path to its first byte) and a
/// quiet one never holds them. Not thread-safe; the owning terminal locks around it.
/// </summary>
public sealed class Scrollback
{
    /// <summary>The ring's first size, in characters (or the capacity, when smaller).</summary>
    public const int InitialChars = 1024;

    private char[] _ring;
    private int _start;
    private int _length;

    public Scrollback(int capacity)
    {
        Capacity = Math.Max(1, capacity);
        _ring = new char[Math.Min(Capacity, InitialChars)];
    }

    public int Capacity { get; }

    /// <summary>Characters allocated now: from <see cref="InitialChars"/> up to <see cref="Capacity"/>.</summary>
    public int Allocated => _ring.Length;

    public int Length => _length;

    public void Append(ReadOnlySpan<char> text)
    {
        if (_length + text.Length > _ring.Length && _ring.Length < Capacity)
        {
            Grow(_length + text.Length);
        }

        if (text.Length >= _ring.Length)
        {
            text[^_ring.Length..].CopyTo(_ring);
            _start = 0;
            _length = _ring.Length;
            return;
        }

        int end = (_start + _length) % _ring.Length;
        int first = Math.Min(text.Length, _ring.Length - end);
        text[..first].CopyTo(_ring.AsSpan(end));
        text[first..].CopyTo(_ring);
        int overflow = _length + text.Length - _ring.Length;
        if (overflow > 0)
        {
            _start = (_start + overflow) % _ring.Length;
            _length = _ring.Length;
        }
        else
        {
            _length += text.Length;
        }
    }

    private void Grow(int needed)
    {
        int size = _ring.Length;
        while (size < needed && size < Capacity)
        {
            size = (int)Math.Min((long)size * 2, Capacity);
        }

        var ring = new char[size];
        int first = Math.Min(_length, _ring.Length - _start);
        _ring.AsSpan(_start, first).CopyTo(ring);
        _ring.AsSpan(0, _length - first).CopyTo(ring.AsSpan(first));
        _ring = ring;
        _start = 0;
    }

    /// <summary>
    /// The content. When the ring has wrapped, it starts after the first line break, so a replay never begins
    /// in the middle of a line (or of an escape sequence on it).
    /// </summary>
    public string Snapshot()
    {
        var chars = new char[_length];
        int first = Math.Min(_length, _ring.Length - _start);
        _ring.AsSpan(_start, first).CopyTo(chars);
        _ring.AsSpan(0, _length - first).CopyTo(chars.AsSpan(first));
        var text = new string(chars);
        if (_length == _ring.Length)
        {
            int nl = text.IndexOf('\n', StringComparison.Ordinal);
            if (nl >= 0 && nl < text.Length - 1)
            {
                return text[(nl + 1)..];
            }
        }

        return text;
    }
}
