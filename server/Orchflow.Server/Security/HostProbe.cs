using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Orchflow.Protocol;
using Orchflow.Server.Processes;

namespace Orchflow.Server.Security;

/// <summary>
/// Measures, once per bubblewrap path and process, what this machine offers for isolation: whether a trial sandbox with
/// the namespaces Orchflow uses actually runs (an installed bwrap can still be refused by the kernel or a container),
/// the Landlock ABI, and whether TIOCSTI input injection is enabled. Nothing is assumed from the distribution.
/// </summary>
public static partial class HostProbe
{
    /// <summary>Overrides where bubblewrap is looked for (an absolute path); tests point it at a missing file to see the truthful report.</summary>
    public const string BubblewrapVariable = "ORCHFLOW_BWRAP";

    /// <summary>"off" turns the Landlock fallback off (tests use it to see a machine with no sandbox at all).</summary>
    public const string LandlockVariable = "ORCHFLOW_LANDLOCK";

    /// <summary>The Landlock launcher's file name; it is built next to the daemon (native/orchflow-landlock.c).</summary>
    public const string LandlockLauncherName = "orchflow-landlock";

    /// <summary>The network relay's file name; it is built next to the daemon (native/orchflow-netproxy.c).</summary>
    public const string NetworkRelayName = "orchflow-netproxy";

    /// <summary>A trial sandbox starts in about 10 ms here; a machine that needs seconds is broken, not slow.</summary>
    private static readonly TimeSpan TrialTimeout = TimeSpan.FromSeconds(10);

    private static readonly ConcurrentDictionary<string, HostIsolation> Cache = new(StringComparer.Ordinal);

    /// <summary>The probe for this process's environment.</summary>
    public static HostIsolation Current() => For(
        FindBubblewrap(Environment.GetEnvironmentVariable),
        string.Equals(Environment.GetEnvironmentVariable(LandlockVariable), "off", StringComparison.OrdinalIgnoreCase) ? null : Path.Combine(AppContext.BaseDirectory, LandlockLauncherName));

    /// <summary>Where bubblewrap would be taken from: <see cref="BubblewrapVariable"/>, else the first <c>bwrap</c> on PATH; null when none.</summary>
    public static string? FindBubblewrap(Func<string, string?> env)
    {
        if (env(BubblewrapVariable) is { Length: > 0 } configured)
        {
            return configured;
        }

        foreach (var dir in (env("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "bwrap");
            if (Path.IsPathRooted(candidate) && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <param name="bwrap">bubblewrap's path, or null when none was found.</param>
    /// <param name="landlockLauncher">orchflow-landlock's path, or null when the Landlock fallback is turned off.</param>
    public static HostIsolation For(string? bwrap, string? landlockLauncher) =>
        Cache.GetOrAdd((bwrap ?? "") + "\0" + (landlockLauncher ?? ""), _ => Measure(bwrap, landlockLauncher));

    private static HostIsolation Measure(string? bwrap, string? landlockLauncher)
    {
        var (available, version, problem) = bwrap is null
            ? (false, null, "bwrap was not found on PATH; install the Debian package bubblewrap (scripts/setup.sh does)")
            : TryBubblewrap(bwrap);
        var abi = LandlockAbi();
        var (landlock, landlockProblem) = TryLandlock(landlockLauncher, abi);
        return new HostIsolation
        {
            BubblewrapAvailable = available,
            BubblewrapPath = bwrap,
            BubblewrapVersion = version,
            BubblewrapProblem = problem,
            LandlockAbi = abi,
            LandlockAvailable = landlock,
            LandlockLauncher = landlock ? landlockLauncher : null,
            LandlockProblem = landlockProblem,
            NetworkRelay = Path.Combine(AppContext.BaseDirectory, NetworkRelayName) is var relay && File.Exists(relay) ? relay : null,
            LegacyTiocsti = ReadFlag("/proc/sys/dev/tty/legacy_tiocsti"),
        };
    }

    /// <summary>The launcher confines a trial process with the options Orchflow uses at this ABI.</summary>
    private static (bool Available, string? Problem) TryLandlock(string? launcher, int? abi)
    {
        if (launcher is null)
        {
            return (false, $"turned off by {LandlockVariable}=off");
        }

        if (abi is null)
        {
            return (false, "the kernel has no Landlock (Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK and landlock in the lsm= list)");
        }

        if (!File.Exists(launcher))
        {
            return (false, $"{launcher} is missing: it is built with the daemon when a C compiler (gcc) is installed");
        }

        var trueProgram = new[] { "/bin/true", "/usr/bin/true" }.FirstOrDefault(File.Exists) ?? "/bin/sh";
        var args = new List<string> { "--ro", "/" };
        args.AddRange(LandlockBackend.Options(abi.Value, networkNone: true));
        args.AddRange(["--", trueProgram]);
        try
        {
            var trial = ProcessFactory.RunAsync(launcher, args, "/", TrialTimeout).GetAwaiter().GetResult();
            return trial.ExitCode == 0
                ? (true, null)
                : (false, $"a trial sandbox failed (exit {trial.ExitCode}): {(trial.StandardError.Trim() is { Length: > 0 } why ? why : "no message")}");
        }
        catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return (false, $"{launcher} could not be run: {e.Message}");
        }
    }

    private static (bool Available, string? Version, string? Problem) TryBubblewrap(string bwrap)
    {
        if (!Path.IsPathRooted(bwrap) || !File.Exists(bwrap))
        {
            return (false, null, $"{bwrap} does not exist");
        }

        var trueProgram = new[] { "/bin/true", "/usr/bin/true" }.FirstOrDefault(File.Exists) ?? "/bin/sh";
        try
        {
            var version = ProcessFactory.RunAsync(bwrap, ["--version"], "/", TrialTimeout).GetAwaiter().GetResult();
            var v = version.StandardOutput.Trim();
            v = v.StartsWith("bubblewrap ", StringComparison.Ordinal) ? v["bubblewrap ".Length..] : v;

            // The same namespaces and options a strict terminal uses: if this runs, a strict terminal can start.
            var trial = ProcessFactory.RunAsync(
                bwrap,
                ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", trueProgram],
                "/",
                TrialTimeout).GetAwaiter().GetResult();
            if (trial.ExitCode != 0)
            {
                var why = trial.StandardError.Trim();
                return (false, v, $"a trial sandbox failed (exit {trial.ExitCode}): {(why.Length > 0 ? why : "no message")}");
            }

            return (true, v, null);
        }
        catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return (false, null, $"{bwrap} could not be run: {e.Message}");
        }
    }

    private static bool? ReadFlag(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim() == "1";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) returns the ABI version, or fails without Landlock.</summary>
    private static int? LandlockAbi()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return null;
        }

        const long LandlockCreateRuleset = 444; // the same number on x86_64 and arm64 (asm-generic)
        long abi = Hosting.Native.Syscall(LandlockCreateRuleset, 0, 0, 1, 0);
        return abi > 0 ? (int)abi : null;
    }
}
