using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Orchflow.Protocol;
using Orchflow.Server.Cli;
using StreamJsonRpc;
using Xunit.Abstractions;

namespace Orchflow.Server.Tests;

/// <summary>
/// The real daemon under a flood: a client that reads and acknowledges like VS Code receives every byte, the
/// daemon's memory stays bounded by the watermarks and the scrollback, and Ctrl-C still gets through.
/// </summary>
[Collection("flood")]
[Trait("Tier", "slow")]
public sealed class TerminalFloodTests(ITestOutputHelper output)
{
    private sealed class FloodClient : IDisposable
    {
        private readonly TaskCompletionSource<JsonElement> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _acked;

        public FloodClient(string socketPath)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            Rpc = OrchflowClientRpc.Create(new NetworkStream(socket, ownsSocket: true));
            var onOutput = new Action<TerminalOutputNotification>(OnOutput);
            Rpc.AddLocalRpcMethod(onOutput.Method, onOutput.Target, new JsonRpcMethodAttribute(Methods.TerminalOutput) { UseSingleObjectParameterDeserialization = true });
            var onChanged = new Action<JsonElement>(OnChanged);
            Rpc.AddLocalRpcMethod(onChanged.Method, onChanged.Target, new JsonRpcMethodAttribute(Methods.TerminalChanged) { UseSingleObjectParameterDeserialization = true });
            Rpc.StartListening();
        }

        public JsonRpc Rpc { get; }

        public string? TerminalId { get; set; }

        public long Received;

        public long Seq;

        public Task<JsonElement> Exited => _exited.Task;

        public async Task InitializeAsync() =>
            await Rpc.InvokeWithParameterObjectAsync<InitializeResult>(Methods.Initialize, new InitializeParams { ClientInfo = new ClientInfo { Name = "flood" } });

        private void OnOutput(TerminalOutputNotification n)
        {
            Interlocked.Add(ref Received, n.Data.Length);
            Volatile.Write(ref Seq, n.Seq);

            // Acknowledge every 5,000 characters, as VS Code does.
            if (n.Seq - _acked >= 5_000)
            {
                _acked = n.Seq;
                _ = Rpc.NotifyWithParameterObjectAsync(Methods.TerminalAck, new TerminalAckParams { Id = n.Id, Seq = n.Seq });
            }
        }

        private void OnChanged(JsonElement change)
        {
            if (change.GetProperty("kind").GetString() == "exited" && change.GetProperty("id").GetString() == TerminalId)
            {
                _exited.TrySetResult(change.GetProperty("terminal").Clone());
            }
        }

        public void Dispose() => Rpc.Dispose();
    }

    private static long Rss(int pid) => long.Parse(File.ReadAllText($"/proc/{pid}/statm").Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;

    [Fact]
    public async Task A_gigabyte_arrives_complete_with_bounded_daemon_memory_and_Ctrl_C_gets_through_a_flood()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("flood");
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", root)).ExitCode);
        int daemonPid = int.Parse(File.ReadAllText(d.Home.Paths.PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        using var client = new FloodClient(d.Home.Paths.SocketPath);
        await client.InitializeAsync();
        const long Total = 1L << 30;
        long baseline = Rss(daemonPid), peak = baseline;
        var sw = Stopwatch.StartNew();
        var flood = await client.Rpc.InvokeWithParameterObjectAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams
        {
            WorkspaceId = "flood", Command = $"head -c {Total} /dev/zero | tr '\\0' x", Attach = true,
        });
        client.TerminalId = flood.Id;
        // The daemon's memory is sampled at every check; the flood is judged below, whether or not it ended in time.
        await Poll.WithinAsync(
            () =>
            {
                peak = Math.Max(peak, Rss(daemonPid));
                return client.Exited.IsCompleted && Interlocked.Read(ref client.Received) >= Total;
            },
            TimeSpan.FromMinutes(4),
            intervalMs: 100);

        var elapsed = sw.Elapsed;
        Assert.Equal(Total, Interlocked.Read(ref client.Received));
        output.WriteLine($"1 GiB through the daemon in {elapsed.TotalSeconds:0.0} s ({Total / elapsed.TotalSeconds / 1e6:0.0} MB/s); daemon RSS {baseline / 1048576} MiB → peak {peak / 1048576} MiB");
        Assert.True(peak - baseline < 256L * 1024 * 1024, $"daemon grew by {(peak - baseline) / 1048576} MiB during the flood");

        // Ctrl-C through an endless flood: the interrupt does not queue behind the output.
        using var interrupter = new FloodClient(d.Home.Paths.SocketPath);
        await interrupter.InitializeAsync();
        var yes = await interrupter.Rpc.InvokeWithParameterObjectAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = "flood", Command = "yes", Attach = true });
        interrupter.TerminalId = yes.Id;
        await Poll.UntilAsync(() => Interlocked.Read(ref interrupter.Received) >= 20_000_000, "20 MB of the endless flood arrived", intervalMs: 10);

        var ctrlC = Stopwatch.StartNew();
        await interrupter.Rpc.InvokeWithParameterObjectAsync<object?>(Methods.TerminalInput, new TerminalInputParams { Id = yes.Id, Data = "\u0003" });
        var ended = await interrupter.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"Ctrl-C to exit reported during a flood: {ctrlC.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(2, ended.GetProperty("signal").GetInt32());
    }
}
