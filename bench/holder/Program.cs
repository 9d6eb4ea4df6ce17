// The terminal holder's costs against the daemon's own terminals, in one process and one run.
// Run by hand: dotnet run -c Release --project bench/holder [MiB] (default 256).
//   rss        — the holder's VmRSS idle (a sleeping child), after a flood read through a client, and blocked under a
//                flood with no client (its ring: 1 MiB scrollback + 1 MiB window);
//   throughput — `head -c MiB /dev/zero` read to the end through the holder (a client acknowledging every frame) and
//                through LinuxPtyProcess, alternated, 3 runs each, MB/s of the median;
//   spawn      — Spawn of `echo hi` to its first output byte, through the holder (a new holder process, its socket,
//                HELLO) and directly (posix_spawn), alternated, 30 runs each, p50 and p90 in ms.
using System.Diagnostics;
using System.Globalization;
using Orchflow.Pty;
using Orchflow.Pty.Holder;
using Orchflow.Pty.Tests;

var mib = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 256;
var directory = Directory.CreateTempSubdirectory("orchflow-holder-bench-").FullName;
var backend = new HolderPtyBackend(new HolderOptions(HolderOptions.DefaultPath, 1024 * 1024), HolderProcessStarter.Start);
var environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["TERM"] = "xterm-256color", ["LANG"] = "C.UTF-8" };
var socketNumber = 0;
Console.WriteLine($"holder bench: {mib} MiB floods; {Environment.ProcessorCount} cores; .NET {Environment.Version}");

try
{
    // RSS.
    var idle = Held("sleep", "1000");
    await Task.Delay(200);
    Console.WriteLine($"rss idle: {Rss(idle.HolderPid) / 1024.0:0} KiB");
    var flooded = Held("sh", "-c", $"head -c {64L << 20} /dev/zero; sleep 1000");
    var counter = new Counter(64L << 20);
    flooded.Start(counter);
    await counter.Done.WaitAsync(TimeSpan.FromMinutes(2));
    Console.WriteLine($"rss after 64 MiB read through a client: {Rss(flooded.HolderPid) / 1024.0:0} KiB");
    var blocked = Held("sh", "-c", $"head -c {64L << 20} /dev/zero");
    var holderPid = blocked.HolderPid;
    blocked.Dispose();
    await Task.Delay(1000);
    Console.WriteLine($"rss blocked under a flood, no client: {Rss(holderPid) / 1024.0:0} KiB");
    foreach (var p in new[] { idle, flooded })
    {
        Kill(p.Pid, p.HolderPid);
    }

    Kill(0, holderPid);

    // Throughput.
    var bytes = (long)mib << 20;
    var holderRates = new List<double>();
    var directRates = new List<double>();
    for (var run = 0; run < 3; run++)
    {
        holderRates.Add(await Throughput(Held("head", "-c", bytes.ToString(CultureInfo.InvariantCulture), "/dev/zero"), bytes));
        directRates.Add(await Throughput(Direct("head", "-c", bytes.ToString(CultureInfo.InvariantCulture), "/dev/zero"), bytes));
    }

    Console.WriteLine($"throughput holder: {Median(holderRates):0} MB/s (runs {string.Join(", ", holderRates.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))})");
    Console.WriteLine($"throughput direct: {Median(directRates):0} MB/s (runs {string.Join(", ", directRates.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))})");

    // Spawn to first output.
    var holderSpawn = new List<double>();
    var directSpawn = new List<double>();
    for (var run = 0; run < 30; run++)
    {
        holderSpawn.Add(await FirstOutput(() => Held("echo", "hi")));
        directSpawn.Add(await FirstOutput(() => Direct("echo", "hi")));
    }

    Console.WriteLine($"spawn to first output holder: p50 {Percentile(holderSpawn, 0.5):0.0} ms, p90 {Percentile(holderSpawn, 0.9):0.0} ms");
    Console.WriteLine($"spawn to first output direct: p50 {Percentile(directSpawn, 0.5):0.0} ms, p90 {Percentile(directSpawn, 0.9):0.0} ms");
}
finally
{
    Directory.Delete(directory, recursive: true);
}

HolderPtyProcess Held(string file, params string[] arguments)
{
    var socket = Path.Combine(directory, $"{Interlocked.Increment(ref socketNumber)}.sock");
    return backend.Spawn(new PtySpawnOptions(file, arguments, "/", environment), socket) switch
    {
        PtySpawnResult.Success { Process: HolderPtyProcess process } => process,
        var other => throw new InvalidOperationException($"holder spawn failed: {other}"),
    };
}

IPtyProcess Direct(string file, params string[] arguments) =>
    PtyBackend.Default.Spawn(new PtySpawnOptions(file, arguments, "/", environment)) switch
    {
        PtySpawnResult.Success success => success.Process,
        var other => throw new InvalidOperationException($"spawn failed: {other}"),
    };

static async Task<double> Throughput(IPtyProcess process, long bytes)
{
    using (process)
    {
        var counter = new Counter(bytes);
        var clock = Stopwatch.StartNew();
        process.Start(counter);
        await counter.Done.WaitAsync(TimeSpan.FromMinutes(5));
        var seconds = clock.Elapsed.TotalSeconds;
        await process.Exited.WaitAsync(TimeSpan.FromMinutes(1));
        return bytes / 1e6 / seconds;
    }
}

static async Task<double> FirstOutput(Func<IPtyProcess> spawn)
{
    var clock = Stopwatch.StartNew();
    using var process = spawn();
    var counter = new Counter(1);
    process.Start(counter);
    await counter.Done.WaitAsync(TimeSpan.FromSeconds(30));
    var elapsed = clock.Elapsed.TotalMilliseconds;
    await process.Exited.WaitAsync(TimeSpan.FromSeconds(30));
    return elapsed;
}

static long Rss(int pid) =>
    long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

static void Kill(int child, int holder)
{
    if (child > 0)
    {
        Process.GetProcessById(child).Kill(entireProcessTree: true);
    }

    Process.GetProcessById(holder).Kill();
}

static double Median(List<double> values) => Percentile(values, 0.5);

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
}

/// <summary>Counts output bytes and says when the expected number has arrived.</summary>
internal sealed class Counter(long expected) : IPtyOutputSink
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _count;

    public Task Done => _done.Task;

    public void OnData(ReadOnlySpan<byte> data)
    {
        if ((_count += data.Length) >= expected)
        {
            _done.TrySetResult();
        }
    }

    public void OnEnd() => _done.TrySetResult();
}
