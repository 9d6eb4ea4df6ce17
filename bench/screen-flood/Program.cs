// The screen model's cost under a 1 GiB flood, against today's line detector, in one process and one run.
// Run by hand: dotnet run -c Release --project bench/screen-flood [GiB] (default 1).
// Two streams, each replayed as 4 KiB reads decoded once (as the terminal does) and repeated up to the size:
//   tui   — the synthetic dialog fixtures (Ink and ratatui redraws, spinners, dialogs), back to back;
//   lines — a build log: short lines with colour codes and \r\n.
// For each stream it reports the CPU seconds it took and the throughput per CPU second (the figure that holds on a
// shared machine; wall time is printed too) of:
//   detector   — NeedsInputDetector.Append for every read and Evaluate every 10 ms of wall time (the daemon's cadence);
//   screen raw — TerminalScreen.Feed for every read: the parser and screen with nothing skipped;
//   screen feed — ScreenFeed.Append for every read and Snapshot every 10 ms (the daemon's path: skips under a flood).
using System.Diagnostics;
using System.Text;
using Orchflow.Server.Agents;
using Orchflow.Server.Terminals.Screen;

if (args is ["dump", var file, ..])
{
    // Shows what the screen model and reader make of a recorded stream: dump FILE [BYTES] [COLUMNS ROWS].
    var data = File.ReadAllBytes(file);
    int upTo = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : data.Length;
    var screen = new TerminalScreen(args.Length > 4 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 80, args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 24);
    screen.Feed(Encoding.UTF8.GetString(data, 0, upTo));
    var snap = screen.Snapshot();
    Console.WriteLine(string.Join('\n', snap.Lines.Select((l, i) => $"{i,2}{(l.Highlighted ? '*' : ' ')}|{l.Text}")));
    var v = ScreenReader.Read(snap);
    Console.WriteLine($"cursor {snap.CursorRow},{snap.CursorColumn} alt={snap.AlternateScreen} drawn={snap.CursorAddressed} working={v.Working} pattern={v.Pattern} prompt={v.PromptLine}");
    Console.WriteLine($"question: {v.Question}");
    foreach (var c in v.Choices ?? [])
    {
        Console.WriteLine($"  choice {c.Label} keys={c.Keys.Replace("\u001b", "ESC", StringComparison.Ordinal).Replace("\r", "CR", StringComparison.Ordinal)}");
    }

    return;
}

double gib = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1;
long total = (long)(gib * 1024 * 1024 * 1024);
var dir = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../tests/Orchflow.Server.Tests/Fixtures/screens"));

byte[] tui = Directory.GetFiles(dir, "*.bin").Order(StringComparer.Ordinal).SelectMany(File.ReadAllBytes).ToArray();
var log = new StringBuilder();
for (int i = 0; log.Length < 1 << 20; i++)
{
    log.Append($"\u001b[32m   Compiling\u001b[0m crate-{i % 97} v0.{i % 13}.{i % 7} (/work/proj/crates/crate-{i % 97})\r\n");
}

byte[] lines = Encoding.UTF8.GetBytes(log.ToString());
Console.WriteLine($"flood: {total / (1024.0 * 1024 * 1024):0.##} GiB per measurement; {Environment.ProcessorCount} cores; .NET {Environment.Version}");
foreach (var (name, bytes) in new[] { ("tui", tui), ("lines", lines) })
{
    var reads = Reads(bytes, 16 << 20);
    long readBytes = reads.Sum(r => (long)r.Bytes);
    int rounds = (int)Math.Max(1, total / readBytes);
    Measure(name, "detector", rounds, readBytes, reads, () =>
    {
        var d = new NeedsInputDetector(AgentTypes.Compile(["Do you want to proceed"]), AgentTypes.Compile(["^Task complete"]));
        return (t => d.Append(t), () => d.Evaluate());
    });
    Measure(name, "screen raw", rounds, readBytes, reads, () =>
    {
        var s = new TerminalScreen(80, 24);
        return (t => s.Feed(t), () => { });
    });
    Measure(name, "screen feed", rounds, readBytes, reads, () =>
    {
        var f = new ScreenFeed(80, 24);
        return (t => f.Append(t), () => f.Snapshot());
    });
}

static List<(string Text, int Bytes)> Reads(byte[] stream, int size)
{
    var decoder = new UTF8Encoding(false).GetDecoder();
    var reads = new List<(string, int)>();
    for (long at = 0; at < size; at += 4096)
    {
        int offset = (int)(at % stream.Length);
        int n = Math.Min(4096, stream.Length - offset);
        var chars = new char[decoder.GetCharCount(stream, offset, n, false)];
        decoder.GetChars(stream, offset, n, chars, 0, false);
        reads.Add((new string(chars), n));
    }

    return reads;
}

static void Measure(string stream, string what, int rounds, long readBytes, List<(string Text, int Bytes)> reads, Func<(Action<string> Append, Action Look)> make)
{
    var (append, look) = make();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    long nextLook = 0;
    for (int r = 0; r < rounds; r++)
    {
        foreach (var (text, _) in reads)
        {
            append(text);
            if (wall.ElapsedMilliseconds >= nextLook)
            {
                look();
                nextLook = wall.ElapsedMilliseconds + 10;
            }
        }
    }

    look();
    wall.Stop();
    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    double bytes = (double)readBytes * rounds;
    Console.WriteLine($"{stream,-6} {what,-12} cpu {used.TotalSeconds,7:0.00} s  {bytes / used.TotalSeconds / (1 << 20),6:0} MiB per cpu-s  (wall {wall.Elapsed.TotalSeconds,6:0.00} s)");
}
