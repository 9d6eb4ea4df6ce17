using System.Runtime.InteropServices;

namespace Orchflow.Pty.Tests;

/// <summary>Observations of other processes through /proc, for assertions.</summary>
internal static class Proc
{
    /// <summary>
    /// True when the process no longer runs. A zombie counts as gone: it has ended and only waits to be
    /// reaped, and on this machine PID 1 does not reap orphans, so killed orphans stay zombies.
    /// </summary>
    public static bool IsGone(int pid) => !ProcessTree.TryRead(pid, out var stat) || stat.HasEnded;

    public static char? State(int pid) => ProcessTree.TryRead(pid, out var stat) ? stat.State : null;

    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>True when the process sleeps inside write(2), which is where a flow-controlled writer blocks.</summary>
    public static bool IsBlockedInWrite(int pid)
    {
        var write = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "64" : "1";
        try
        {
            // "running" while on a CPU; otherwise the number of the system call it sleeps in.
            var syscall = File.ReadAllText($"/proc/{pid}/syscall");
            return syscall.Split(' ')[0] == write;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>True when the process sleeps inside clock_nanosleep(2): `sleep` has finished starting (the dynamic loader's descriptors are closed).</summary>
    public static bool IsBlockedInNanosleep(int pid)
    {
        var nanosleep = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "115" : "230";
        try
        {
            return File.ReadAllText($"/proc/{pid}/syscall").Split(' ')[0] == nanosleep;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static int OpenDescriptorCount() => Directory.GetFiles("/proc/self/fd").Length;

    public static IReadOnlyList<int> ZombieChildrenOfThisProcess() =>
        ProcessTree.Snapshot()
            .Where(stat => stat.ParentPid == Environment.ProcessId && stat.HasEnded)
            .Select(stat => stat.Pid)
            .ToList();
}
