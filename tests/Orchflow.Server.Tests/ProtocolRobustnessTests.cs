using System.Text;
using Orchflow.Protocol;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Orchflow.Server.Tests;

/// <summary>Bad input over the wire: the server answers with an error (or drops only that connection) and other clients are not disturbed.</summary>
public sealed class ProtocolRobustnessTests : IDisposable
{
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Unknown_method_is_MethodNotFound()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ex = await Assert.ThrowsAsync<RemoteMethodNotFoundException>(() => client.CallAsync<object>("orchflow/nothing/here", new { }));
        Assert.Equal(JsonRpcErrorCode.MethodNotFound, ex.ErrorCode);
        Assert.Contains("orchflow/nothing/here", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_and_wrong_typed_params_are_InvalidParams()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var missing = await client.FailAsync(Methods.WorkspaceCreate, new { });
        Assert.True((int)JsonRpcErrorCode.InvalidParams == missing.ErrorCode, missing.Message);
        Assert.Contains("'path'", missing.Message, StringComparison.Ordinal);
        var wrongType = await client.FailAsync(Methods.WorkspaceCreate, new { path = 42 });
        Assert.Equal((int)JsonRpcErrorCode.InvalidParams, wrongType.ErrorCode);
        var nullId = await client.FailAsync(Methods.WorkspaceShow, new { id = (string?)null });
        Assert.Equal((int)JsonRpcErrorCode.InvalidParams, nullId.ErrorCode);
        // The connection is still fine afterwards.
        await client.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
    }

    [Fact]
    public async Task Malformed_json_in_a_frame_is_answered_or_dropped_without_disturbing_others()
    {
        await using var server = new InMemoryServer(_home);
        var good = await server.ConnectAsync();
        var (a, b) = Nerdbank.Streams.FullDuplexStream.CreatePair();
        server.Server.Attach(a, a, "memory");
        var body = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":");
        await b.WriteAsync(Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"));
        await b.WriteAsync(body);
        await b.FlushAsync();
        var garbage = Encoding.ASCII.GetBytes("this is not a header\r\n\r\n\0\0\0");
        await b.WriteAsync(garbage);
        await b.FlushAsync();

        // The healthy client still gets answers.
        var list = await good.CallAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.NotEmpty(list.Workspaces);
        var created = await good.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("after-garbage") });
        Assert.Equal("after-garbage", created.Id);
    }

    [Fact]
    public async Task Shutdown_then_requests_are_refused()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        await client.CallAsync<object?>(Methods.Shutdown, null);
        var ex = await client.FailAsync(Methods.WorkspaceList, new WorkspaceListParams());
        Assert.Equal(ErrorCodes.ShuttingDown, ex.ErrorCode);
    }

    [Fact]
    public async Task Initialize_twice_is_refused()
    {
        await using var server = new InMemoryServer(_home);
        var client = await server.ConnectAsync();
        var ex = await client.FailAsync(Methods.Initialize, new InitializeParams());
        Assert.Equal(ErrorCodes.InvalidArgument, ex.ErrorCode);
    }
}
