using System.Buffers.Binary;
using System.Text;

namespace Orchflow.Pty.Holder;

/// <summary>Where a held terminal stands.</summary>
public enum HolderState
{
    /// <summary>The child runs.</summary>
    Running,

    /// <summary>The child has exited; the holder keeps its status until a client releases it.</summary>
    Exited,

    /// <summary>The program never ran (the directory, the terminal or exec failed in the child).</summary>
    SpawnFailed,
}

/// <summary>
/// What a holder says first on every connection: enough for a daemon to adopt the terminal (its pids, size, the
/// output it still retains) or to learn how it ended while no daemon was there.
/// </summary>
/// <param name="Version">The holder's ORCHFLOW_HOLDER_PROTOCOL.</param>
/// <param name="HolderPid">The holder process.</param>
/// <param name="ChildPid">The terminal's first process: its process group and session id.</param>
/// <param name="FirstRetained">The oldest output offset the holder can still send (scrollback it kept).</param>
/// <param name="Next">The offset the next byte of output will have: everything the child wrote so far.</param>
/// <param name="Exit">How the child ended, once <see cref="State"/> is not Running.</param>
/// <param name="SpawnErrno">The error number of a failed spawn.</param>
/// <param name="SpawnStep">Which step of a failed spawn: "enter the working directory", "open the terminal", "execute".</param>
/// <param name="PtsName">The terminal's slave side, such as <c>/dev/pts/3</c>.</param>
public sealed record HolderHello(
    int Version,
    int HolderPid,
    int ChildPid,
    ushort Columns,
    ushort Rows,
    long FirstRetained,
    long Next,
    HolderState State,
    PtyExit? Exit,
    int SpawnErrno,
    string? SpawnStep,
    string PtsName)
{
    /// <summary>The part every version has: version, holder pid, child pid.</summary>
    internal const int StableSize = 12;

    private const int FixedSize = 43;

    /// <summary>Parses a HELLO of this library's version; null when the payload is too short for it.</summary>
    internal static HolderHello? Parse(ReadOnlySpan<byte> p)
    {
        if (p.Length < FixedSize)
        {
            return null;
        }

        var state = p[32] switch
        {
            0 => HolderState.Running,
            1 => HolderState.Exited,
            _ => HolderState.SpawnFailed,
        };
        var value = BinaryPrimitives.ReadInt32LittleEndian(p[34..]);
        PtyExit? exit = state == HolderState.Running ? null : DecodeExit(p[33], value);
        var step = p[42] switch
        {
            1 => "enter the working directory",
            2 => "open the terminal",
            3 => "execute",
            _ => null,
        };
        return new HolderHello(
            BinaryPrimitives.ReadInt32LittleEndian(p),
            BinaryPrimitives.ReadInt32LittleEndian(p[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(p[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(p[12..]),
            BinaryPrimitives.ReadUInt16LittleEndian(p[14..]),
            BinaryPrimitives.ReadInt64LittleEndian(p[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(p[24..]),
            state,
            exit,
            BinaryPrimitives.ReadInt32LittleEndian(p[38..]),
            state == HolderState.SpawnFailed ? step : null,
            Encoding.UTF8.GetString(p[FixedSize..]));
    }

    /// <summary>An EXIT frame's kind (0 code, 1 signal, 2 unknown) and value.</summary>
    internal static PtyExit DecodeExit(byte kind, int value) => kind switch
    {
        0 => new PtyExit(value, null),
        1 => new PtyExit(null, value),
        _ => new PtyExit(null, null),
    };
}
