using System.Runtime.InteropServices;
using System.Text;

namespace Orchflow.Server.Limits;

/// <summary>
/// The file operations a cgroup v2 driver makes, in one place: the kernel's interface is files, and a test can run the
/// driver on a tree of plain files (and make chosen writes fail as the kernel would) by overriding these.
/// </summary>
public partial class CgroupFiles
{
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EOPNOTSUPP = 95;

    private const short POLLPRI = 0x002;
    private const int EINTR = 4;

    public virtual string Read(string path) => File.ReadAllText(path);

    public virtual void Write(string path, string value) => File.WriteAllText(path, value);

    public virtual bool FileExists(string path) => File.Exists(path);

    public virtual bool DirectoryExists(string path) => Directory.Exists(path);

    public virtual void CreateDirectory(string path) => Directory.CreateDirectory(path);

    /// <summary>rmdir: the kernel refuses (EBUSY) while the group has processes or children.</summary>
    public virtual void RemoveDirectory(string path) => Directory.Delete(path);

    public virtual IEnumerable<string> Directories(string path) => Directory.EnumerateDirectories(path);

    /// <summary>
    /// Waits until the "key value" line of a group's cgroup.events says <paramref name="value"/>, or the timeout passes
    /// (false). Woken by the kernel: cgroup.events signals POLLPRI when it changes after it was last read, so a change
    /// between the read and the poll is not lost.
    /// </summary>
    public virtual bool WaitForEvent(string eventsFile, string key, int value, TimeSpan timeout)
    {
        using var handle = File.OpenHandle(eventsFile, FileMode.Open, FileAccess.Read);
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var buffer = new byte[512];
        while (true)
        {
            int n = RandomAccess.Read(handle, buffer, 0);
            if (EventValue(Encoding.ASCII.GetString(buffer, 0, n), key) == value)
            {
                return true;
            }

            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return false;
            }

            var fd = new PollFd { Fd = (int)handle.DangerousGetHandle(), Events = POLLPRI };
            if (Poll(ref fd, 1, (int)Math.Min(left, int.MaxValue)) < 0 && Marshal.GetLastPInvokeError() != EINTR)
            {
                throw new IOException($"poll on {eventsFile} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    /// <summary>The number after <paramref name="key"/> in a "key value" file (cgroup.events, memory.events, cpu.stat), or null.</summary>
    public static long? EventValue(string text, string key)
    {
        foreach (var line in text.Split('\n'))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key) && long.TryParse(line.AsSpan(space + 1).Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v))
            {
                return v;
            }
        }

        return null;
    }

    /// <summary>The errno behind a failed file operation (.NET maps ENOENT and EACCES/EPERM to their own types, the rest keeps the raw errno as HResult).</summary>
    public static int Errno(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => ENOENT,
        UnauthorizedAccessException => EACCES,
        IOException io when io.HResult is > 0 and < 4096 => io.HResult,
        _ => 0,
    };

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeout);
}
