using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Orchflow.Config;
using Orchflow.Protocol;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Orchflow.Server.Rpc;

/// <summary>What a connection's incoming messages are held to (orchflow.toml <c>[daemon]</c>), read afresh for each message.</summary>
/// <param name="ConfigFile">Named in the error and the log, so the person who hits the limit knows where it is set.</param>
public sealed record WireLimits(long MaxMessageBytes, TimeSpan FrameTimeout, string? ConfigFile = null)
{
    public static WireLimits Default { get; } = new(Defaults.MaxMessageSizeBytes, Defaults.FrameTimeout);
}

/// <summary>
/// LSP base-protocol framing, as StreamJsonRpc reads it, with the limits a daemon needs against its own clients.
/// StreamJsonRpc buffers a whole body before parsing it, whatever its Content-Length says (a 50 MB body cost the daemon
/// about 200 MB), and waits for the rest of a message forever. So each message's headers are looked at first:
/// <list type="bullet">
/// <item>A Content-Length above <see cref="WireLimits.MaxMessageBytes"/>: the body is never held (it is dropped as it
/// arrives). When the request's id is within the body's first <see cref="IdPrefixBytes"/> bytes (clients write it before
/// the params), the request gets an error naming the limit; the connection is closed either way, and the log says why.</item>
/// <item>A message started must arrive whole within <see cref="WireLimits.FrameTimeout"/>, from its first header byte to
/// its last body byte; between messages a client may stay quiet as long as it likes (an idle VS Code window).</item>
/// <item>Headers are at most <see cref="MaxHeaderBytes"/> before their blank line.</item>
/// </list>
/// Everything else (a missing or malformed Content-Length, bad JSON) is left to StreamJsonRpc, which reports it as before.
/// </summary>
internal sealed class FramedMessageHandler : HeaderDelimitedMessageHandler
{
    /// <summary>LSP headers are Content-Length and an optional Content-Type: a few dozen bytes.</summary>
    public const int MaxHeaderBytes = 8 * 1024;

    /// <summary>How much of a refused body is read to find the request's id.</summary>
    public const int IdPrefixBytes = 4 * 1024;

    /// <summary>How long the refusal may take to write: a client that reads nothing must not hold the connection open.</summary>
    private static readonly TimeSpan ErrorWriteTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long the connection stays open after the refusal is answered and the body dropped (the same grace as <see cref="Hosting.StdioHost.ExitFlushDelay"/>'s reason).</summary>
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(1);

    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    private readonly Func<WireLimits> _limits;
    private readonly Hosting.Log _log;
    private readonly Func<string> _who;

    public FramedMessageHandler(Stream sending, Stream receiving, IJsonRpcMessageFormatter formatter, Func<WireLimits> limits, Hosting.Log log, Func<string> who)
        : base(sending, receiving, formatter)
    {
        _limits = limits;
        _log = log;
        _who = who;
    }

    /// <summary>The receiving side (always there: this handler is built on a stream).</summary>
    private PipeReader In => Reader ?? throw new InvalidOperationException("The connection has no receiving stream.");

    protected override async ValueTask<JsonRpcMessage?> ReadCoreAsync(CancellationToken cancellationToken)
    {
        // No deadline until the first byte of a message.
        var result = await In.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (result.Buffer.IsEmpty)
        {
            In.AdvanceTo(result.Buffer.Start);
            return await base.ReadCoreAsync(cancellationToken).ConfigureAwait(false);
        }

        var limits = _limits();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limits.FrameTimeout);
        try
        {
            FrameHeader header;
            while (!FrameHeader.TryParse(result.Buffer, out header))
            {
                if (result.Buffer.Length > MaxHeaderBytes)
                {
                    In.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    _log.Warn($"{_who()}: closed: sent {result.Buffer.Length} bytes of headers without the blank line that ends them (at most {MaxHeaderBytes} are accepted)");
                    return null;
                }

                if (result.IsCompleted)
                {
                    // The input ended inside the headers: StreamJsonRpc reports that as it always has.
                    In.AdvanceTo(result.Buffer.Start);
                    return await base.ReadCoreAsync(cancellationToken).ConfigureAwait(false);
                }

                In.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                result = await In.ReadAsync(deadline.Token).ConfigureAwait(false);
            }

            In.AdvanceTo(result.Buffer.Start);
            if (header.ContentLength is { } length && length > limits.MaxMessageBytes)
            {
                return await RefuseAsync(header, length, limits, deadline.Token).ConfigureAwait(false);
            }

            if (header.ContentLength is { } body)
            {
                // The whole message under the deadline; StreamJsonRpc then reads it from what is buffered.
                var whole = await In.ReadAtLeastAsync(checked(header.Length + (int)body), deadline.Token).ConfigureAwait(false);
                In.AdvanceTo(whole.Buffer.Start);
            }

            return await base.ReadCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            _log.Warn($"{_who()}: closed: a message it started did not arrive whole within {Describe(limits.FrameTimeout)} ([daemon] frame_timeout)");
            return null;
        }
    }

    /// <summary>
    /// Answers a message over the limit (when its id can be found), reads the rest of its body only to drop it, and ends
    /// the connection. The body goes through the reader's small buffers and is never held: the daemon's memory does not
    /// grow with it, and the client's write completes, so it reads the answer instead of a broken pipe. The deadline of
    /// the message bounds how long that may take.
    /// </summary>
    private async ValueTask<JsonRpcMessage?> RefuseAsync(FrameHeader header, long length, WireLimits limits, CancellationToken deadline)
    {
        var prefix = await In.ReadAtLeastAsync(header.Length + (int)Math.Min(length, IdPrefixBytes), deadline).ConfigureAwait(false);
        var id = RequestIdIn(prefix.Buffer.Slice(Math.Min(header.Length, prefix.Buffer.Length)));
        In.AdvanceTo(prefix.Buffer.Start);

        var where = limits.ConfigFile is null ? "[daemon] max_message_size" : $"[daemon] max_message_size in {limits.ConfigFile}";
        _log.Warn($"{_who()}: closed: a message of {length} bytes (Content-Length) is over the limit of {limits.MaxMessageBytes} ({where}); its body is dropped as it arrives, never held"
            + (id.IsEmpty ? "; no request id in its first bytes, so nothing was answered" : $"; request {id} was answered with an error"));
        if (!id.IsEmpty)
        {
            var error = ((IJsonRpcMessageFactory)Formatter).CreateErrorMessage();
            error.RequestId = id;
            error.Error = new JsonRpcError.ErrorDetail
            {
                Code = (JsonRpcErrorCode)ErrorCodes.LimitReached,
                Message = $"A message of {ByteSize.Format(length)} is larger than the {ByteSize.Format(limits.MaxMessageBytes)} this daemon accepts ({where}); the connection is closed.",
                Data = new ErrorData { Kind = ErrorCodes.Name(ErrorCodes.LimitReached), Hint = $"Send less in one message, or raise {where}." },
            };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(deadline);
                timeout.CancelAfter(ErrorWriteTimeout);
                await WriteAsync(error, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                _log.Debug($"{_who()}: the refusal could not be sent: {e.Message}");
            }
        }

        for (long remaining = header.Length + length; remaining > 0;)
        {
            var result = await In.ReadAsync(deadline).ConfigureAwait(false);
            long take = Math.Min(remaining, result.Buffer.Length);
            In.AdvanceTo(result.Buffer.GetPosition(take));
            remaining -= take;
            if (result.IsCompleted && take == result.Buffer.Length)
            {
                break;
            }
        }

        if (!id.IsEmpty)
        {
            // A client library that sees the connection end while it is still taking in the answer reports a lost
            // connection instead (StreamJsonRpc did, about every other time): the answer gets a moment first.
            try
            {
                await Task.Delay(AnswerGrace, deadline).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The message's deadline or the connection's end came first: close now.
            }
        }

        return null;
    }

    /// <summary>The top-level "id" of a JSON-RPC message from the first bytes of its body; empty when they do not hold it.</summary>
    internal static RequestId RequestIdIn(ReadOnlySequence<byte> prefix)
    {
        var reader = new Utf8JsonReader(prefix, isFinalBlock: false, state: default);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isId = reader.ValueTextEquals("id"u8);
                if (!reader.Read())
                {
                    return default;
                }

                if (isId)
                {
                    return reader.TokenType switch
                    {
                        JsonTokenType.Number when reader.TryGetInt64(out var n) => new RequestId(n),
                        JsonTokenType.String => new RequestId(reader.GetString()),
                        JsonTokenType.Null => RequestId.Null,
                        _ => default,
                    };
                }

                if (!reader.TrySkip())
                {
                    return default;
                }
            }
        }
        catch (JsonException)
        {
        }

        return default;
    }

    private static string Describe(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>One message's headers: their length (blank line included) and the Content-Length they declare, if readable.</summary>
    internal readonly record struct FrameHeader(int Length, long? ContentLength)
    {
        /// <summary>False while the blank line that ends the headers has not arrived.</summary>
        public static bool TryParse(ReadOnlySequence<byte> buffer, out FrameHeader header)
        {
            header = default;
            var window = buffer.Length > MaxHeaderBytes ? buffer.Slice(0, MaxHeaderBytes) : buffer;
            var reader = new SequenceReader<byte>(window);
            if (!reader.TryReadTo(out ReadOnlySequence<byte> headers, HeaderEnd, advancePastDelimiter: true))
            {
                return false;
            }

            long? contentLength = null;
            foreach (var line in Encoding.ASCII.GetString(headers).Split("\r\n"))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    var value = line[(colon + 1)..].Trim();
                    if (value.Length > 0 && value.All(char.IsAsciiDigit))
                    {
                        // All digits but too many for a long: larger than any limit.
                        contentLength = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : long.MaxValue;
                    }
                }
            }

            header = new FrameHeader((int)reader.Consumed, contentLength);
            return true;
        }
    }
}
