using Orchflow.Protocol;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Orchflow.Server.Cli;

/// <summary>The client end of the protocol in .NET (the CLI, tests): the same framing and formatter as the server, and error data read as Orchflow's <see cref="ErrorData"/>.</summary>
public sealed class OrchflowClientRpc : JsonRpc
{
    private OrchflowClientRpc(IJsonRpcMessageHandler handler)
        : base(handler)
    {
    }

    public static OrchflowClientRpc Create(Stream duplex)
    {
        var formatter = new SystemTextJsonFormatter { JsonSerializerOptions = new(ProtocolJson.Options) };
        return new OrchflowClientRpc(new HeaderDelimitedMessageHandler(duplex, duplex, formatter));
    }

    protected override Type? GetErrorDetailsDataType(JsonRpcError error) => typeof(ErrorData);
}
