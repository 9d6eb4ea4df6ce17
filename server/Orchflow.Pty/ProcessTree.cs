using System.Globalization;
using System.IO.Enumeration;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Orchflow.Pty.Linux;

namespace Orchflow.Pty;

/// <summary>
/// Reads process relationships from <c>/proc</c>. Processes come and go while a scan runs; one that
/// vanishes mid-scan is simply left out, so every answer is a snapshot that may already be stale.
/// Zombies (ended, not yet reaped) are still processes here and are included.
/// </summary>
public static partial class ProcessTree
{
    private const string ProcRoot = "/proc";

    /// <summary><c>_SC_CLK_TCK</c> of glibc on Linux.</summary>
    private const int ScClockTick = 2;

    /// <summary>
    /// The unit of the CPU times in <c>/proc/&lt;pid&gt;/stat</c> (<c>sysconf(_SC_CLK_TCK)</c>, 100 on Linux), read once.
    /// </summary>
    public static int ClockTicksPerSecond { get; } = ReadClockTicks();

    /// <summary>
    /// CPU time and resident memory of every process readable in <c>/proc</c> right now: one scan, for a caller
    /// that measures several sessions at once and groups by <see cref="ProcessUsage.Session"/>.
    /// </summary>
    public static IReadOnlyList<ProcessUsage> Usage()
    {
        var result = new List<ProcessUsage>();
        foreach (var pid in EnumeratePids())
        {
            if (TryReadUsage(pid, out var usage))
            {
                result.Add(usage);
            }
        }

        return result;
    }

    /// <summary>
    /// The zombie children of <paramref name="parentPid"/> (ended, waiting to be reaped by it): one scan of
    /// <c>/proc</c> that allocates nothing per process, for a caller that looks every second.
    /// </summary>
    public static IReadOnlyList<int> ZombieChildrenOf(int parentPid)
    {
        var result = new List<int>();
        Span<byte> buffer = stackalloc byte[2048];
        foreach (var pid in EnumeratePids())
        {
            if (TryReadStatFile(pid, buffer, out var length) && TryParseStateAndParent(buffer[..length], out var state, out var ppid)
                && state is (byte)'Z' && ppid == parentPid)
            {
                result.Add(pid);
            }
        }

        return result;
    }

    /// <summary>Fields 3 (state) and 4 (ppid) of a <c>stat</c> line, counted from the last closing parenthesis as in <see cref="TryParse"/>.</summary>
    internal static bool TryParseStateAndParent(ReadOnlySpan<byte> line, out byte state, out int parentPid)
    {
        state = 0;
        parentPid = 0;
        var close = line.LastIndexOf((byte)')');
        if (close < 0 || close + 2 >= line.Length)
        {
            return false;
        }

        var rest = line[(close + 2)..];
        Span<Range> fields = stackalloc Range[2];
        if (SplitFields(rest, fields) < fields.Length || rest[fields[0]].Length != 1)
        {
            return false;
        }

        state = rest[fields[0]][0];
        return int.TryParse(rest[fields[1]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out parentPid);
    }

    /// <summary>CPU time and resident memory of the processes of session <paramref name="sid"/>.</summary>
    public static IReadOnlyList<ProcessUsage> UsageInSession(int sid) => Usage().Where(u => u.Session == sid).ToList();

    /// <summary>
    /// The processes below <paramref name="pid"/> (children, their children, and so on), not
    /// including <paramref name="pid"/> itself. Empty when it has none or does not exist.
    /// </summary>
    public static IReadOnlyList<int> Descendants(int pid) => DescendantsOf(pid, Snapshot());

    /// <summary>
    /// The processes whose session id is <paramref name="sid"/>, including the session leader
    /// while it exists.
    /// </summary>
    public static IReadOnlyList<int> InSession(int sid)
    {
        var result = new List<int>();
        foreach (var stat in Snapshot())
        {
            if (stat.Session == sid)
            {
                result.Add(stat.Pid);
            }
        }

        return result;
    }

    /// <summary>
    /// The whole of a terminal's session <paramref name="sid"/>: the processes in it and those below its leader (one
    /// that left the session with setsid is still below it).
    /// </summary>
    public static HashSet<int> SessionTree(int sid) => InSession(sid).Union(Descendants(sid)).ToHashSet();

    /// <summary>
    /// Sends <paramref name="signal"/> to the session's process group, then to each process of its
    /// <see cref="SessionTree"/>; two rounds, so that a process forked while the first ran gets it too. Returns the
    /// processes signalled.
    /// </summary>
    public static IReadOnlySet<int> Signal(int sid, int signal)
    {
        var signalled = new HashSet<int>();
        for (int round = 0; round < 2; round++)
        {
            _ = LibC.kill(-sid, signal);
            foreach (var pid in SessionTree(sid))
            {
                _ = LibC.kill(pid, signal);
                signalled.Add(pid);
            }
        }

        return signalled;
    }

    internal static List<int> DescendantsOf(int pid, IReadOnlyList<ProcStat> snapshot)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var stat in snapshot)
        {
            if (!children.TryGetValue(stat.ParentPid, out var list))
            {
                list = [];
                children[stat.ParentPid] = list;
            }

            list.Add(stat.Pid);
        }

        var result = new List<int>();
        var seen = new HashSet<int> { pid };
        var pending = new Queue<int>();
        pending.Enqueue(pid);
        while (pending.TryDequeue(out var parent))
        {
            if (!children.TryGetValue(parent, out var list))
            {
                continue;
            }

            foreach (var child in list)
            {
                // The ppid chain cannot loop, but a pid reused mid-scan could make it look as if it did.
                if (seen.Add(child))
                {
                    result.Add(child);
                    pending.Enqueue(child);
                }
            }
        }

        return result;
    }

    /// <summary>Every process readable in <c>/proc</c> right now.</summary>
    internal static List<ProcStat> Snapshot()
    {
        var result = new List<ProcStat>();
        foreach (var pid in EnumeratePids())
        {
            if (TryRead(pid, out var stat))
            {
                result.Add(stat);
            }
        }

        return result;
    }

    internal static IEnumerable<int> EnumeratePids()
    {
        var options = new EnumerationOptions { IgnoreInaccessible = true, RecurseSubdirectories = false };
        return new FileSystemEnumerable<int>(
            ProcRoot,
            static (ref FileSystemEntry entry) => int.Parse(entry.FileName, NumberStyles.None, CultureInfo.InvariantCulture),
            options)
        {
            ShouldIncludePredicate = static (ref FileSystemEntry entry) => entry.IsDirectory && IsAllDigits(entry.FileName),
        };
    }

    /// <summary>Reads <c>/proc/&lt;pid&gt;/stat</c>; false when the process does not exist (any more).</summary>
    internal static bool TryRead(int pid, out ProcStat stat)
    {
        stat = default;
        Span<byte> buffer = stackalloc byte[2048];
        return TryReadStatFile(pid, buffer, out var length) && TryParse(buffer[..length], out stat);
    }

    /// <summary>Reads the CPU and memory fields of <c>/proc/&lt;pid&gt;/stat</c>; false when the process does not exist (any more).</summary>
    internal static bool TryReadUsage(int pid, out ProcessUsage usage)
    {
        usage = default;
        Span<byte> buffer = stackalloc byte[2048];
        return TryReadStatFile(pid, buffer, out var length) && TryParseUsage(buffer[..length], out usage);
    }

    private static bool TryReadStatFile(int pid, Span<byte> buffer, out int length)
    {
        length = 0;
        try
        {
            using SafeFileHandle handle = File.OpenHandle($"{ProcRoot}/{pid}/stat");
            length = RandomAccess.Read(handle, buffer, 0);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process exited between listing /proc and opening its file (or while reading it, which
            // fails with ESRCH): it is simply not part of this snapshot.
            return false;
        }
    }

    /// <summary>
    /// Parses a <c>stat</c> line. The command name is in parentheses and may itself contain spaces
    /// and parentheses, so the fixed fields are counted from the last closing parenthesis.
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<byte> line, out ProcStat stat)
    {
        stat = default;
        var open = line.IndexOf((byte)'(');
        var close = line.LastIndexOf((byte)')');
        if (open <= 0 || close < open || close + 2 >= line.Length
            || !int.TryParse(line[..(open - 1)], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        var name = System.Text.Encoding.UTF8.GetString(line[(open + 1)..close]);

        // Fields after the name, numbered as in proc(5): 3 state, 4 ppid, 5 pgrp, 6 session,
        // 7 tty_nr, 8 tpgid, ... 22 starttime.
        var rest = line[(close + 2)..];
        Span<Range> fields = stackalloc Range[20];
        if (SplitFields(rest, fields) < fields.Length)
        {
            return false;
        }

        var state = rest[fields[0]];
        if (state.Length != 1
            || !int.TryParse(rest[fields[1]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ppid)
            || !int.TryParse(rest[fields[2]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var pgrp)
            || !int.TryParse(rest[fields[3]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var session)
            || !int.TryParse(rest[fields[5]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var tpgid)
            || !ulong.TryParse(rest[fields[19]], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime))
        {
            return false;
        }

        stat = new ProcStat(pid, name, (char)state[0], ppid, pgrp, session, tpgid, startTime);
        return true;
    }

    /// <summary>
    /// Parses the fields of a <c>stat</c> line that resource figures need: 14 utime, 15 stime, 16 cutime,
    /// 17 cstime (clock ticks) and 24 rss (pages), besides the identity fields that <see cref="TryParse"/> reads.
    /// </summary>
    internal static bool TryParseUsage(ReadOnlySpan<byte> line, out ProcessUsage usage)
    {
        usage = default;
        if (!TryParse(line, out var stat))
        {
            return false;
        }

        var rest = line[(line.LastIndexOf((byte)')') + 2)..];
        Span<Range> fields = stackalloc Range[22];
        if (SplitFields(rest, fields) < fields.Length
            || !ulong.TryParse(rest[fields[11]], NumberStyles.None, CultureInfo.InvariantCulture, out var utime)
            || !ulong.TryParse(rest[fields[12]], NumberStyles.None, CultureInfo.InvariantCulture, out var stime)
            || !long.TryParse(rest[fields[13]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var cutime)
            || !long.TryParse(rest[fields[14]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var cstime)
            || !long.TryParse(rest[fields[21]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var rssPages))
        {
            return false;
        }

        usage = new ProcessUsage(
            stat.Pid,
            stat.Session,
            stat.State,
            stat.StartTime,
            utime + stime,
            (ulong)Math.Max(0, cutime) + (ulong)Math.Max(0, cstime),
            Math.Max(0, rssPages) * Environment.SystemPageSize);
        return true;
    }

    /// <summary>Fills <paramref name="fields"/> with the first space-separated fields; returns how many it found.</summary>
    private static int SplitFields(ReadOnlySpan<byte> text, Span<Range> fields)
    {
        var count = 0;
        var start = 0;
        for (var i = 0; i <= text.Length && count < fields.Length; i++)
        {
            if (i == text.Length || text[i] == (byte)' ' || text[i] == (byte)'\n')
            {
                fields[count++] = start..i;
                start = i + 1;
            }
        }

        return count;
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    private static int ReadClockTicks()
    {
        var ticks = SysConf(ScClockTick);

        // Linux has reported USER_HZ = 100 to user space on every architecture for decades; keep that if sysconf fails.
        return ticks is > 0 and < int.MaxValue ? (int)ticks : 100;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The fields of <c>/proc/&lt;pid&gt;/stat</c> that process-tree decisions need.
/// </summary>
/// <param name="StartTime">Clock ticks after boot; with <paramref name="Pid"/> it identifies a process even if the pid is reused.</param>
internal readonly record struct ProcStat(
    int Pid,
    string Name,
    char State,
    int ParentPid,
    int ProcessGroup,
    int Session,
    int TerminalForegroundGroup,
    ulong StartTime)
{
    /// <summary>
    /// A zombie (Z) or dead (X) entry has already ended: it only waits for its parent to reap it,
    /// and signals no longer reach it.
    /// </summary>
    public bool HasEnded => State is 'Z' or 'X';
}

/// <summary>
/// What one process costs, from <c>/proc/&lt;pid&gt;/stat</c>. Times are in clock ticks
/// (<see cref="ProcessTree.ClockTicksPerSecond"/> per second of CPU time) since the process started.
/// </summary>
/// <param name="StartTime">Clock ticks after boot; with <paramref name="Pid"/> it identifies a process even if the pid is reused.</param>
/// <param name="CpuTicks">CPU time of the process itself, user plus system (utime + stime).</param>
/// <param name="ReapedChildrenCpuTicks">
/// CPU time of its children that ended and were waited for (cutime + cstime). Adding it keeps short-lived children
/// (a compiler run by a build) counted after they are reaped, when their own entry has gone.
/// </param>
/// <param name="ResidentBytes">Resident set size (pages in memory, shared pages included); 0 for a zombie.</param>
public readonly record struct ProcessUsage(
    int Pid,
    int Session,
    char State,
    ulong StartTime,
    ulong CpuTicks,
    ulong ReapedChildrenCpuTicks,
    long ResidentBytes)
{
    /// <summary>A zombie (Z) or dead (X) entry has already ended and only waits to be reaped.</summary>
    public bool HasEnded => State is 'Z' or 'X';
}
