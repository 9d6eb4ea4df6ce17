namespace Orchflow.Server.Hosting;

/// <summary>Memory figures read from the operating system, never estimated.</summary>
public static class ProcessMemory
{
    /// <summary>Resident set size of this process in bytes, from /proc/self/statm (falls back to the runtime's working set).</summary>
    public static long ResidentBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return Environment.WorkingSet;
        }
    }
}
