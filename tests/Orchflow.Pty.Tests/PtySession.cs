using System.Text;

namespace Orchflow.Pty.Tests;

/// <summary>A spawned terminal with a collecting sink, disposed together.</summary>
internal sealed class PtySession : IDisposable
{
    public const string SearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private PtySession(IPtyProcess process, OutputCollector output)
    {
        Process = process;
        Output = output;
    }

    public IPtyProcess Process { get; }

    public OutputCollector Output { get; }

    public static Dictionary<string, string> DefaultEnvironment() => new()
    {
        ["PATH"] = SearchPath,
        ["HOME"] = "/root",
        ["TERM"] = "xterm-256color",
        ["LANG"] = "C.UTF-8",
    };

    public static PtySpawnOptions Options(string file, params string[] arguments) =>
        new(file, arguments, "/", DefaultEnvironment());

    public static PtySession Start(string file, params string[] arguments) => Start(Options(file, arguments));

    public static PtySession Start(PtySpawnOptions options)
    {
        var process = Spawn(options);
        var output = new OutputCollector();
        process.Start(output);
        return new PtySession(process, output);
    }

    public static IPtyProcess Spawn(PtySpawnOptions options)
    {
        var result = PtyBackend.Default.Spawn(options);
        if (result is PtySpawnResult.Failure failure)
        {
            Assert.Fail($"Spawn failed: {failure.Message} (errno {failure.Errno})");
        }

        return Assert.IsType<PtySpawnResult.Success>(result).Process;
    }

    public void Write(string text) => Process.Write(Encoding.UTF8.GetBytes(text));

    public Task<int> WaitForOutput(string marker, int from = 0) => Output.WaitForOutput(marker, Timeouts.Default, from);

    public Task<PtyExit> WaitForExit() => Process.Exited.WaitAsync(Timeouts.Default);

    public void Dispose() => Process.Dispose();
}
