using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Orchflow.Pty.Holder;

/// <summary>
/// The wire format between the daemon and orchflow-holder (server/native/orchflow-holder.c documents it in full):
/// frames of <c>u32 little-endian payload length | u8 type | payload</c>. The header and the first three fields of
/// the holder's HELLO (version, holder pid, child pid) never change, so a daemon can name a holder it cannot adopt.
/// </summary>
internal static class HolderProtocol
{
    /// <summary>ORCHFLOW_HOLDER_PROTOCOL of the holder this library speaks to.</summary>
    public const int Version = 1;

    public const int HeaderSize = 5;

    /// <summary>The largest payload the holder sends (an OUTPUT of 64 KiB and its offset) or accepts (INPUT).</summary>
    public const int MaxPayload = 64 * 1024 + 8;

    /// <summary>The largest INPUT payload the holder accepts.</summary>
    public const int MaxInput = 64 * 1024;

    // Holder to client.
    public const byte Hello = 1;
    public const byte Output = 2;
    public const byte Exit = 3;
    public const byte Error = 4;

    // Client to holder.
    public const byte ClientHello = 16;
    public const byte Read = 17;
    public const byte Ack = 18;
    public const byte Input = 19;
    public const byte Resize = 20;
    public const byte Signal = 21;
    public const byte Release = 22;

    /// <summary>Sends one frame whole, in one system call when the socket takes it; the caller serializes writers.</summary>
    public static void Send(Socket socket, byte type, ReadOnlySpan<byte> payload)
    {
        var frame = ArrayPool<byte>.Shared.Rent(HeaderSize + payload.Length);
        try
        {
            BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
            frame[4] = type;
            payload.CopyTo(frame.AsSpan(HeaderSize));
            SendAll(socket, frame.AsSpan(0, HeaderSize + payload.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    public static void SendUInt64(Socket socket, byte type, long value)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(payload, value);
        Send(socket, type, payload);
    }

    public static void SendInt32(Socket socket, byte type, int value)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(payload, value);
        Send(socket, type, payload);
    }

    /// <summary>
    /// Reads one frame into <paramref name="buffer"/> (at least <see cref="HeaderSize"/> + <see cref="MaxPayload"/>
    /// bytes); returns its type and payload length, or null when the holder closed the connection.
    /// </summary>
    /// <exception cref="InvalidDataException">A frame longer than the protocol allows.</exception>
    public static (byte Type, int Length)? Receive(Socket socket, byte[] buffer) => Receive(span => socket.Receive(span), buffer);

    /// <summary>As above, from a stream (a buffered one saves a system call per frame under a flood).</summary>
    public static (byte Type, int Length)? Receive(Stream stream, byte[] buffer) => Receive(stream.Read, buffer);

    private static (byte Type, int Length)? Receive(ReadSpan read, byte[] buffer)
    {
        if (!ReceiveAll(read, buffer.AsSpan(0, HeaderSize)))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        if (length > MaxPayload)
        {
            throw new InvalidDataException($"The holder sent a frame of {length} bytes; at most {MaxPayload} are allowed.");
        }

        var type = buffer[4];
        return ReceiveAll(read, buffer.AsSpan(0, (int)length)) ? (type, (int)length) : null;
    }

    public static string Text(ReadOnlySpan<byte> payload) => Encoding.UTF8.GetString(payload);

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[socket.Send(data)..];
        }
    }

    private static bool ReceiveAll(ReadSpan read, Span<byte> data)
    {
        while (!data.IsEmpty)
        {
            var n = read(data);
            if (n == 0)
            {
                return false;
            }

            data = data[n..];
        }

        return true;
    }
}

/// <summary>A read into a span: a socket's or a stream's.</summary>
internal delegate int ReadSpan(Span<byte> buffer);
