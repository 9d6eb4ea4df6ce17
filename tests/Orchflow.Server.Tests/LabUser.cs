using System.Collections.Concurrent;
using System.Diagnostics;
using Orchflow.Server.Security;

namespace Orchflow.Server.Tests;

/// <summary>
/// Who runs an isolation lab's daemon. This machine and CI run everything as root, most people do not, and a sandbox
/// works differently for each (bubblewrap needs unprivileged user namespaces, cgroup v1 directories belong to root, the
/// Landlock launcher's capability drop has nothing to drop), so the escape suite runs every row as both:
/// <list type="bullet">
/// <item><see cref="Root"/>: the test process itself; its daemon inherits the test's environment.</item>
/// <item><see cref="Unprivileged"/>: <see cref="UnprivilegedName"/>, a system user the suite creates with useradd when
/// it is missing. Its daemon is started through setpriv (uid, gid, no supplementary groups, so no capabilities) with a
/// clean environment whose HOME is inside the lab's temp dir; the lab's files are chowned to it. The test stays root
/// and connects to that daemon's 0600 socket, which the kernel lets root do.</item>
/// </list>
/// The user is left in place when the run ends: several test runs on one machine (parallel CI jobs, other checkouts) may
/// use it at the same moment, and deleting it under a running daemon would free its uid for the next account created,
/// which would then own that daemon's leftovers. What stays is harmless: a system account with a locked password, the
/// nologin shell, the home /nonexistent, and no files outside the labs' temp dirs, which are removed.
/// </summary>
public sealed record LabUser(string Name, uint Uid, uint Gid)
{
    public const string UnprivilegedName = "orchflow-escape";

    /// <summary>The PATH of the unprivileged daemon's clean environment (setpriv --reset-env's for a non-root user).</summary>
    public const string CleanPath = "/usr/local/bin:/usr/bin:/bin";

    /// <summary>The row label of each user.</summary>
    public const string RootLabel = "root";

    public const string UnprivilegedLabel = "unprivileged";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    private static readonly Lazy<string?> UnprivilegedProblemOnce = new(FindUnprivilegedProblem);

    private static readonly Lazy<LabUser> UnprivilegedOnce = new(CreateUnprivileged);

    private static readonly ConcurrentDictionary<(string Sandbox, string User), string?> Missing = new();

    public static LabUser Root { get; } = new("root", 0, 0);

    public bool IsRoot => Uid == 0;

    /// <summary>The unprivileged user, created when missing (once per test process).</summary>
    public static LabUser Unprivileged => UnprivilegedOnce.Value;

    /// <summary>The user of a row: "root" or "unprivileged".</summary>
    public static LabUser For(string label) => label switch
    {
        RootLabel => Root,
        UnprivilegedLabel => Unprivileged,
        _ => throw new ArgumentOutOfRangeException(nameof(label), label, $"{RootLabel} or {UnprivilegedLabel}"),
    };

    /// <summary>
    /// Why a row with this sandbox and user cannot run on this machine, or null when it can: what the row needs is
    /// measured here (bubblewrap and Landlock are tried for real, as that user), nothing is created. "none" needs nothing.
    /// </summary>
    public static string? MissingFor(string sandbox, string user) => Missing.GetOrAdd((sandbox, user), row => Measure(row.Sandbox, row.User));

    private static string? Measure(string sandbox, string user)
    {
        try
        {
            var problem = user == UnprivilegedLabel ? UnprivilegedProblemOnce.Value : null;
            return problem ?? sandbox switch
            {
                "bubblewrap" => BubblewrapProblem(user),
                "landlock" => LandlockProblem(user),
                _ => null,
            };
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException)
        {
            return $"the machine could not be probed for this row: {e.Message}";
        }
    }

    /// <summary>Makes <paramref name="path"/> (and everything below it) this user's; nothing to do for root.</summary>
    public void Own(string path)
    {
        if (!IsRoot)
        {
            var (exit, error) = Run("chown", ["-R", $"{Uid}:{Gid}", path]);
            Assert.True(exit == 0, $"chown -R {Uid}:{Gid} {path} failed: {error}");
        }
    }

    /// <summary>
    /// Makes <paramref name="psi"/> run as this user: for root, unchanged; else through setpriv, with a clean
    /// environment (the user's names, the clean PATH, bash as SHELL) plus what the caller set of ORCHFLOW_HOME and HOME.
    /// </summary>
    public ProcessStartInfo Confine(ProcessStartInfo psi)
    {
        if (IsRoot)
        {
            return psi;
        }

        var confined = new ProcessStartInfo(Which("setpriv"))
        {
            UseShellExecute = false,
            RedirectStandardInput = psi.RedirectStandardInput,
            RedirectStandardOutput = psi.RedirectStandardOutput,
            RedirectStandardError = psi.RedirectStandardError,
            StandardOutputEncoding = psi.StandardOutputEncoding,
            StandardErrorEncoding = psi.StandardErrorEncoding,
            WorkingDirectory = psi.WorkingDirectory,
        };
        foreach (var a in SetprivArguments(Uid, Gid))
        {
            confined.ArgumentList.Add(a);
        }

        confined.ArgumentList.Add(Path.IsPathRooted(psi.FileName) ? psi.FileName : Which(psi.FileName));
        foreach (var a in psi.ArgumentList)
        {
            confined.ArgumentList.Add(a);
        }

        confined.Environment.Clear();
        foreach (var (key, value) in CleanEnvironment(Name, psi.Environment.TryGetValue("HOME", out var userHome) && userHome is not null ? userHome : "/nonexistent"))
        {
            confined.Environment[key] = value;
        }

        if (psi.Environment.TryGetValue(Hosting.OrchflowPaths.HomeVariable, out var home) && home is not null)
        {
            confined.Environment[Hosting.OrchflowPaths.HomeVariable] = home;
        }

        return confined;
    }

    /// <summary>
    /// A connection to <paramref name="socket"/> made by a process of this user: perl relays between its standard streams
    /// and the socket, so the daemon's peer is that process (this user's, in the daemon's PID namespace, without
    /// no_new_privs, alive for as long as the connection), as for any client the user runs. A root peer would be one the
    /// daemon can neither signal nor inspect. The relay ends when its standard input closes.
    /// </summary>
    public Process StartRelay(string socket)
    {
        var psi = new ProcessStartInfo("perl")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        psi.ArgumentList.Add("-e");
        psi.ArgumentList.Add("""
            use strict; use IO::Socket::UNIX; use IO::Select;
            my $d = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "relay: connect $ARGV[0]: $!\n";
            binmode STDIN; binmode STDOUT;
            my $ready = IO::Select->new(\*STDIN, $d);
            while (my @from = $ready->can_read) {
              for my $from (@from) {
                my $n = sysread($from, my $buf, 65536);
                exit 0 unless $n;
                my $to = fileno($from) == fileno($d) ? \*STDOUT : $d;
                for (my $at = 0; $at < $n;) { my $w = syswrite($to, $buf, $n - $at, $at); die "relay: write: $!\n" unless defined $w; $at += $w; }
              }
            }
            """);
        psi.ArgumentList.Add(socket);
        return Process.Start(Confine(psi))!;
    }

    public override string ToString() => IsRoot ? RootLabel : $"{UnprivilegedLabel} ({Name}, uid {Uid})";

    private static IReadOnlyDictionary<string, string> CleanEnvironment(string name, string home) => new Dictionary<string, string>
    {
        ["PATH"] = CleanPath,
        ["HOME"] = home,
        ["USER"] = name,
        ["LOGNAME"] = name,
        ["SHELL"] = "/bin/bash",
    };

    /// <summary>setpriv's options before the program: real and effective ids, no supplementary groups (which drops every capability).</summary>
    private static string[] SetprivArguments(uint uid, uint gid) => [$"--reuid={uid}", $"--regid={gid}", "--clear-groups", "--"];

    /// <summary>Root can create and switch to a user; the tools exist; the test's files are readable by that user.</summary>
    private static string? FindUnprivilegedProblem()
    {
        if (Hosting.Native.GetUid() != 0)
        {
            return $"the tests do not run as root, so no user can be created or switched to for the unprivileged daemon (CI runs them as root; as uid {Hosting.Native.GetUid()}, the root rows cover this user's case)";
        }

        if (TryWhich("setpriv") is null)
        {
            return "setpriv (Debian package util-linux) is missing: it starts the daemon as the unprivileged user";
        }

        var existing = Lookup(UnprivilegedName);
        if (existing is null && TryWhich("useradd") is null)
        {
            return $"useradd (Debian package passwd) is missing and user {UnprivilegedName} does not exist, so the unprivileged daemon has no user to run as";
        }

        // Until the user exists, nobody's ids stand in: file permissions and namespaces depend only on the numbers.
        var (uid, gid) = existing is { } u ? (u.Uid, u.Gid) : (65534u, 65534u);
        var dotnet = Which("dotnet");
        var (exit, _) = RunAs(uid, gid, "/usr/bin/test", ["-r", Orchflow.Dll, "-a", "-x", dotnet, "-a", "-x", Path.GetTempPath()]);
        return exit == 0
            ? null
            : $"uid {uid} cannot read {Orchflow.Dll}, run {dotnet} or enter {Path.GetTempPath()}: the unprivileged daemon needs the build and the temp dir reachable by every user (a checkout under /root is not)";
    }

    /// <summary>The trial sandbox the daemon itself runs at start (HostProbe), as this user: if it fails, the daemon would fall back.</summary>
    private static string? BubblewrapProblem(string user)
    {
        if (user == RootLabel)
        {
            var bwrap = HostProbe.FindBubblewrap(Environment.GetEnvironmentVariable);
            var host = HostProbe.For(bwrap, null);
            return host.BubblewrapAvailable ? null : $"bubblewrap cannot run here as root: {host.BubblewrapProblem}";
        }

        var path = HostProbe.FindBubblewrap(name => name == "PATH" ? CleanPath : null);
        if (path is null)
        {
            return $"bwrap is not on {CleanPath}: install the Debian package bubblewrap";
        }

        var (uid, gid) = ProbeIds();
        var (exit, error) = RunAs(uid, gid, path, ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", "/bin/true"]);
        return exit == 0
            ? null
            : $"bubblewrap cannot make a sandbox as uid {uid} (it needs unprivileged user namespaces; user.max_user_namespaces is {ReadSysctl("/proc/sys/user/max_user_namespaces")}): {error.Trim()}";
    }

    /// <summary>
    /// The daemon's own Landlock trial (a root daemon inherits this process's environment, so ORCHFLOW_LANDLOCK=off turns
    /// the fallback off for it); for the user, the same launcher run as that user.
    /// </summary>
    private static string? LandlockProblem(string user)
    {
        bool off = user == RootLabel && string.Equals(Environment.GetEnvironmentVariable(HostProbe.LandlockVariable), "off", StringComparison.OrdinalIgnoreCase);
        var host = HostProbe.For(null, off ? null : Path.Combine(AppContext.BaseDirectory, HostProbe.LandlockLauncherName));
        if (!host.LandlockAvailable)
        {
            return $"the Landlock fallback cannot run here: {host.LandlockProblem}";
        }

        if (user == RootLabel)
        {
            return null;
        }

        var (uid, gid) = ProbeIds();
        var (exit, error) = RunAs(uid, gid, host.LandlockLauncher!, ["--ro", "/", .. LandlockBackend.Options(host.LandlockAbi!.Value, networkNone: true), "--", "/bin/true"]);
        return exit == 0 ? null : $"the Landlock launcher fails as uid {uid}: {error.Trim()}";
    }

    private static (uint Uid, uint Gid) ProbeIds() => Lookup(UnprivilegedName) is { } u ? (u.Uid, u.Gid) : (65534u, 65534u);

    /// <summary>Creates the user when missing. Two test runs may race: the loser's useradd fails and the user is there.</summary>
    private static LabUser CreateUnprivileged()
    {
        Assert.True(UnprivilegedProblemOnce.Value is null, UnprivilegedProblemOnce.Value);
        var deadline = Stopwatch.StartNew();
        string error = "";
        while (deadline.Elapsed < ProbeTimeout)
        {
            if (Lookup(UnprivilegedName) is { } user)
            {
                return user;
            }

            (_, error) = Run("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", "Orchflow escape suite: runs the unprivileged daemon", UnprivilegedName]);
            if (Lookup(UnprivilegedName) is { } created)
            {
                return created;
            }

            Thread.Sleep(100); // /etc/passwd locked by another useradd: try again
        }

        throw new InvalidOperationException($"useradd could not create {UnprivilegedName}: {error}");
    }

    /// <summary>The user's ids from the system's databases (getent, so NSS sources count), or null when there is no such user.</summary>
    private static LabUser? Lookup(string name)
    {
        var psi = new ProcessStartInfo(Which("getent")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("passwd");
        psi.ArgumentList.Add(name);
        using var p = Process.Start(psi)!;
        var line = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var f = line.Trim().Split(':');
        return p.ExitCode == 0 && f.Length >= 4 ? new LabUser(name, uint.Parse(f[2]), uint.Parse(f[3])) : null;
    }

    private static (int Exit, string Error) RunAs(uint uid, uint gid, string program, IEnumerable<string> args) =>
        Run("setpriv", [.. SetprivArguments(uid, gid), program, .. args], clean: true);

    private static (int Exit, string Error) Run(string program, IEnumerable<string> args, bool clean = false)
    {
        var psi = new ProcessStartInfo(Which(program)) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (clean)
        {
            psi.Environment.Clear();
            psi.Environment["PATH"] = CleanPath;
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(ProbeTimeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not end within {ProbeTimeout.TotalSeconds} s");
        }

        return (p.ExitCode, stderr.Result);
    }

    private static string Which(string program) =>
        TryWhich(program) ?? throw new InvalidOperationException($"{program} is not on PATH");

    private static string? TryWhich(string program) =>
        (Environment.GetEnvironmentVariable("PATH") + ":/usr/sbin:/sbin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(candidate => Path.IsPathRooted(candidate) && File.Exists(candidate));

    private static string ReadSysctl(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return "unreadable";
        }
    }
}
