using Orchflow.Protocol;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Orchflow.Server.Rpc;

/// <summary>
/// JSON-RPC over LSP base-protocol framing (<c>Content-Length</c> headers, held to the daemon's size and time limits by
/// <see cref="FramedMessageHandler"/>), with Orchflow's error mapping:
/// an <see cref="OrchflowException"/> becomes an error response with its code and <see cref="ErrorData"/>;
/// anything unexpected becomes a generic error whose details go to the log, never a crash. Every call passes the
/// connection's gate (<see cref="ClientSession.Admit"/>) before its handler runs.
/// </summary>
public sealed class OrchflowJsonRpc : JsonRpc
{
    private readonly Hosting.Log _log;
    private readonly Action<string>? _admit;

    private OrchflowJsonRpc(IJsonRpcMessageHandler handler, Hosting.Log log, Action<string>? admit)
        : base(handler)
    {
        _log = log;
        _admit = admit;
    }

    /// <param name="limits">The limits each incoming message is held to, read for each message (<see cref="FramedMessageHandler"/>).</param>
    /// <param name="who">Names the connection in the log.</param>
    /// <param name="admit">Called with each call's method once its params are bound, before its handler runs; throws to refuse the call.</param>
    public static OrchflowJsonRpc Create(Stream sending, Stream receiving, Hosting.Log log, Func<WireLimits>? limits = null, Func<string>? who = null, Action<string>? admit = null)
    {
        var formatter = new SystemTextJsonFormatter { JsonSerializerOptions = new(ProtocolJson.Options) };
        var handler = new FramedMessageHandler(sending, receiving, formatter, limits ?? (() => WireLimits.Default), log, who ?? (() => "a client"));
        return new OrchflowJsonRpc(handler, log, admit) { CancelLocallyInvokedMethodsWhenConnectionIsClosed = true };
    }

    /// <summary>
    /// Only a call to a method some handler serves, with params that bound, comes here: an unknown method or bad params
    /// are answered before, as they were when each handler checked for itself. A refusal thrown here is answered like
    /// one thrown by the handler (<see cref="CreateErrorDetails"/>).
    /// </summary>
    protected override ValueTask<JsonRpcMessage> DispatchRequestAsync(JsonRpcRequest request, TargetMethod targetMethod, CancellationToken cancellationToken)
    {
        _admit?.Invoke(request.Method!);
        return base.DispatchRequestAsync(request, targetMethod, cancellationToken);
    }

    protected override JsonRpcError.ErrorDetail CreateErrorDetails(JsonRpcRequest request, Exception exception)
    {
        var ex = Unwrap(exception);
        if (ex is OrchflowException oe)
        {
            return new JsonRpcError.ErrorDetail { Code = (JsonRpcErrorCode)oe.Code, Message = oe.Message, Data = oe.ToErrorData() };
        }

        if (ex is System.Text.Json.JsonException json)
        {
            // The params did not bind to the method's parameter type: a client error, not a server failure.
            return new JsonRpcError.ErrorDetail
            {
                Code = JsonRpcErrorCode.InvalidParams,
                Message = $"Invalid params for '{request.Method}': {json.Message}",
                Data = new ErrorData { Kind = "InvalidParams", Hint = "Send one params object whose fields match the method's schema in schemas/protocol.schema.json." },
            };
        }

        if (ex is OperationCanceledException)
        {
            return new JsonRpcError.ErrorDetail { Code = JsonRpcErrorCode.RequestCanceled, Message = "The request was cancelled." };
        }

        _log.Error($"Request {request.Method} failed unexpectedly", ex);
        return base.CreateErrorDetails(request, ex);
    }

    private static Exception Unwrap(Exception ex)
    {
        while (ex is System.Reflection.TargetInvocationException or AggregateException && ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }
}
