using System.Text;
using Orchflow.Pty;
using Orchflow.Pty.Holder;
using Orchflow.Server.Processes;

namespace Orchflow.Server.Tests;

/// <summary>
/// The daemon's process factory as the holder's starter: the holder is built next to the daemon, starts through the
/// one place that starts children, gets exactly the environment it is given (which is its child's), and runs the
/// terminal as the PTY library's own tests show.
/// </summary>
[Trait("Tier", "unit")]
public sealed class HolderStarterTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("orchflow-holder-starter-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ProcessFactory_starts_a_holder_with_exactly_the_given_environment()
    {
        var holderPath = Path.Combine(AppContext.BaseDirectory, HolderOptions.ProgramName);
        Assert.True(File.Exists(holderPath), $"{holderPath} is built next to the daemon");
        var backend = new HolderPtyBackend(new HolderOptions(holderPath, 4096), ProcessFactory.StartHolder);
        var environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["ORCHFLOW_TERMINAL_ID"] = "t-holder" };

        var result = backend.Spawn(new PtySpawnOptions("sh", ["-c", "echo \"id=$ORCHFLOW_TERMINAL_ID\"; read x"], "/", environment), Path.Combine(_directory, "t.sock"));

        using var process = Assert.IsType<HolderPtyProcess>(Assert.IsType<PtySpawnResult.Success>(result).Process);
        var holderEnvironment = File.ReadAllText($"/proc/{process.HolderPid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        Assert.Equal(["ORCHFLOW_TERMINAL_ID=t-holder", "PATH=/usr/bin:/bin"], holderEnvironment);
        var output = new Collector();
        process.Start(output);
        await Poll.UntilAsync(() => output.Text.Contains("id=t-holder", StringComparison.Ordinal), "the child printed its environment");

        process.Write("\n"u8);
        Assert.Equal(new PtyExit(0, null), await process.Exited.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private sealed class Collector : IPtyOutputSink
    {
        private readonly StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public void OnData(ReadOnlySpan<byte> data)
        {
            lock (_text)
            {
                _text.Append(Encoding.UTF8.GetString(data));
            }
        }

        public void OnEnd()
        {
        }
    }
}
