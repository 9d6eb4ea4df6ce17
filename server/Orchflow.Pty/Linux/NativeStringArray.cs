using System.Runtime.InteropServices;
using System.Text;

namespace Orchflow.Pty.Linux;

/// <summary>
/// A NULL-terminated array of NUL-terminated UTF-8 strings in unmanaged memory, the shape of
/// <c>argv</c> and <c>envp</c>. Strings and pointers live in two allocations freed on dispose.
/// </summary>
internal sealed unsafe class NativeStringArray : IDisposable
{
    private byte** _pointers;
    private byte* _strings;

    public NativeStringArray(IReadOnlyList<string> values)
    {
        var lengths = new int[values.Count];
        nuint total = 0;
        for (var i = 0; i < values.Count; i++)
        {
            lengths[i] = Encoding.UTF8.GetByteCount(values[i]);
            total += (nuint)lengths[i] + 1;
        }

        _strings = (byte*)NativeMemory.Alloc(Math.Max(total, 1));
        _pointers = (byte**)NativeMemory.Alloc((nuint)values.Count + 1, (nuint)sizeof(byte*));

        var cursor = _strings;
        for (var i = 0; i < values.Count; i++)
        {
            _pointers[i] = cursor;
            Encoding.UTF8.GetBytes(values[i], new Span<byte>(cursor, lengths[i]));
            cursor[lengths[i]] = 0;
            cursor += lengths[i] + 1;
        }

        _pointers[values.Count] = null;
    }

    public byte** Pointers => _pointers;

    public void Dispose()
    {
        NativeMemory.Free(_pointers);
        NativeMemory.Free(_strings);
        _pointers = null;
        _strings = null;
    }
}
