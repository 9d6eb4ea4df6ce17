using System.Globalization;
using System.Runtime.InteropServices;

namespace Orchflow.Server.Hosting;

/// <summary>
/// Keeps the .NET runtime's diagnostics endpoints closed in every Orchflow process. Left open, the runtime listens on
/// <c>$TMPDIR/dotnet-diagnostic-&lt;pid&gt;-&lt;start&gt;-socket</c> and debugger pipes <c>clr-debug-pipe-&lt;pid&gt;-&lt;start&gt;-in|out</c>
/// for every .NET process, named from <c>/proc/&lt;pid&gt;/stat</c>; through them anyone of the same user can dump the
/// process's heap (the daemon holds every workspace's secrets, <c>orchflow mcp</c> an agent's token) or load a profiler
/// into it. Measured on .NET 10: only the environment closes them. <c>DOTNET_EnableDiagnostics=0</c> closes the socket and
/// the debugger pipes and wins over <c>COMPlus_EnableDiagnostics</c>, <c>DOTNET_EnableDiagnostics_IPC</c> and
/// <c>DOTNET_DiagnosticPorts</c>; runtimeconfig.json has no knob for it (the runtime reads <c>System.Runtime.*</c> only
/// for tiered compilation, PGO and W^X), and <c>DOTNET_EnableDiagnostics_IPC=0</c> alone leaves the debugger pipes.
/// So the switch is enforced in two places: every Orchflow process Orchflow starts gets it in its environment before
/// the runtime starts (<see cref="Closed"/>), and <c>Main</c> checks it first (<see cref="EnsureClosed"/>): a process
/// started any other way removes the endpoints the runtime already made and executes itself again, same pid, same
/// arguments, with the switch set. Whatever the environment says, no Orchflow process reaches its own code with an
/// endpoint open; one started by hand has them for the moment before <c>Main</c>.
/// </summary>
public static partial class RuntimeDiagnostics
{
    public const string Variable = "DOTNET_EnableDiagnostics";

    /// <summary>Where <c>env</c> is, to start a program with the switch set whatever environment its starter passes on.</summary>
    private static readonly string? EnvProgram = new[] { "/usr/bin/env", "/bin/env" }.FirstOrDefault(File.Exists);

    /// <summary>True when the runtime of this process started with its diagnostics endpoints closed.</summary>
    public static bool IsClosed => Environment.GetEnvironmentVariable(Variable) == "0";

    /// <summary>
    /// A command line that starts <paramref name="file"/> with the endpoints closed from its first instruction, even when
    /// whoever starts it (an agent CLI starting <c>orchflow mcp</c>) passes on only a fixed list of variables.
    /// </summary>
    public static (string File, List<string> Args) Closed(string file, IEnumerable<string> args) =>
        EnvProgram is null ? (file, args.ToList()) : (EnvProgram, [$"{Variable}=0", file, .. args]);

    /// <summary>
    /// Returns when the endpoints are closed; otherwise removes this process's endpoints and executes it again with them
    /// closed (it does not return). If that fails, the process ends: it never runs Orchflow with an endpoint open.
    /// </summary>
    public static void EnsureClosed()
    {
        if (IsClosed)
        {
            return;
        }

        foreach (var endpoint in Endpoints(Environment.ProcessId))
        {
            try
            {
                File.Delete(endpoint);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        string? problem;
        try
        {
            var argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
            var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .Where(e => (string)e.Key != Variable)
                .Select(e => $"{e.Key}={e.Value}")
                .Append($"{Variable}=0");
            Execve("/proc/self/exe", [.. argv, null], [.. env, null]);
            problem = $"execve failed with errno {Marshal.GetLastPInvokeError()}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = e.Message;
        }

        Console.Error.WriteLine($"orchflow: cannot restart itself with the .NET diagnostics endpoints closed ({problem}); set {Variable}=0 in the environment and start it again.");
        Environment.Exit(1);
    }

    /// <summary>The diagnostics socket and debugger pipes the runtime of process <paramref name="pid"/> has (none when closed).</summary>
    public static IReadOnlyList<string> Endpoints(int pid)
    {
        if (StartTime(pid) is not { } start)
        {
            return [];
        }

        var dir = Path.GetTempPath();
        var key = $"{pid.ToString(CultureInfo.InvariantCulture)}-{start}";
        return new[] { $"dotnet-diagnostic-{key}-socket", $"clr-debug-pipe-{key}-in", $"clr-debug-pipe-{key}-out" }
            .Select(name => Path.Combine(dir, name))
            .Where(Path.Exists)
            .ToList();
    }

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat (start time in clock ticks), which the runtime puts in its endpoints' names.</summary>
    public static string? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");

            // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execve(string path, string?[] argv, string?[] envp);
}
