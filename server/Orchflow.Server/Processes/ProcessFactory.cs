using System.Diagnostics;
using System.Text;

namespace Orchflow.Server.Processes;

/// <summary>The captured result of a short helper command (git, for example).</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// Architecture invariant: every child process Orchflow starts goes through this factory, which always sets an
/// explicit working directory and a built environment, so the daemon's own current directory and environment
/// never leak into a workspace. <c>Process.Start</c> is banned elsewhere (BannedSymbols.txt).
/// Terminals and agents get their PTY through the same factory, and with it their workspace's sandbox.
/// </summary>
public static class ProcessFactory
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> Children = new();
    private static long _starts;
    private static int _starting;

    /// <summary>
    /// True when <paramref name="pid"/> is a process this factory started (its own waiter reaps it), or when a start is
    /// under way (its pid may not be recorded yet). <see cref="OrphanReaper"/> reaps only other children: adopted orphans.
    /// </summary>
    internal static bool MayBeOwnChild(int pid) => Volatile.Read(ref _starting) > 0 || Children.ContainsKey(pid);

    /// <summary>Changes whenever a start begins: a reaper that saw it change during its scan reaps nothing that round.</summary>
    internal static long StartGeneration => Interlocked.Read(ref _starts);

    /// <summary>Forgets recorded children that no longer exist (their own waiters reaped them).</summary>
    internal static void ForgetEnded()
    {
        foreach (var pid in Children.Keys)
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                Children.TryRemove(pid, out _);
            }
        }
    }

    private static T Starting<T>(Func<T> start, Func<T, int?> pidOf)
    {
        Interlocked.Increment(ref _starts);
        Interlocked.Increment(ref _starting);
        try
        {
            var result = start();
            if (pidOf(result) is { } pid)
            {
                Children[pid] = 0;
            }

            return result;
        }
        finally
        {
            Interlocked.Decrement(ref _starting);
        }
    }

    /// <summary>Variables passed to helper commands; everything else of the daemon's environment stays out.</summary>
    private static readonly string[] HelperEnvironmentAllowlist = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ"];

    /// <summary>
    /// Joins the control groups named after <c>N</c>, then becomes the real command (same pid, same session): a process
    /// is in its workspace's groups before it runs anything, so nothing it forks can start outside them.
    /// </summary>
    private const string JoinScript =
        "n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || { echo \"orchflow: cannot join the workspace's control group $1\" >&2; exit 126; }; shift; n=$((n-1)); done; exec \"$@\"";

    /// <summary>
    /// Starts a workspace process in a new pseudo-terminal. The caller has built the environment
    /// (<see cref="Terminals.TerminalEnvironment"/>) and checked that the working directory is inside the workspace;
    /// the PTY layer passes exactly that environment and only the three standard descriptors. With
    /// <paramref name="cgroups"/>, the process first joins its workspace's control groups (its limits); with a
    /// <paramref name="sandbox"/> (tiers enhanced and strict, where the machine can), it then runs inside it. Both are
    /// launchers the PTY layer spawns in front of the resolved program.
    /// </summary>
    public static Orchflow.Pty.PtySpawnResult StartPty(Orchflow.Pty.PtySpawnOptions options, Security.Sandbox? sandbox = null, IReadOnlyList<string>? cgroups = null)
    {
        if (!Path.IsPathRooted(options.WorkingDirectory))
        {
            throw new ArgumentException($"Working directory must be absolute, got '{options.WorkingDirectory}'.", nameof(options));
        }

        var launcher = new List<string>();
        if (cgroups is { Count: > 0 })
        {
            launcher.AddRange(["/bin/sh", "-c", JoinScript, "orchflow-join", cgroups.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), .. cgroups]);
        }

        if (sandbox is not null)
        {
            launcher.AddRange(sandbox.Backend.Launcher(sandbox.Spec));
        }

        if (launcher.Count > 0)
        {
            options = options with { Launcher = launcher };
        }

#pragma warning disable RS0030 // The one sanctioned call site of the PTY backend.
        return Starting(() => Orchflow.Pty.PtyBackend.Default.Spawn(options), r => (r as Orchflow.Pty.PtySpawnResult.Success)?.Process.Pid);
#pragma warning restore RS0030
    }

    /// <summary>
    /// Starts a terminal holder (orchflow-holder), the starter of <see cref="Orchflow.Pty.Holder.HolderPtyBackend"/>: with
    /// exactly the command's environment (the holder's environment is its child's), in <c>/</c>, its ready line on
    /// standard output. The holder leaves the daemon's session at once and outlives it; the workspace's control groups
    /// and sandbox are in the command's program arguments, so they confine the child, never the holder.
    /// </summary>
    public static Process StartHolder(Orchflow.Pty.Holder.HolderCommand command) =>
        StartBackground(command.Program, command.Arguments, "/", command.Environment.ToDictionary(pair => pair.Key, pair => (string?)pair.Value));

    /// <summary>Runs a short helper command to completion, capturing its output; kills it when the timeout passes.</summary>
    /// <param name="environment">
    /// The helper's whole environment instead of the daemon's allowlisted variables (a tool run on a workspace's files
    /// gets only what it is given: see <see cref="Workspaces.HermeticGit"/>). <c>LC_ALL=C</c> and
    /// <c>GIT_TERMINAL_PROMPT=0</c> are set in either case.
    /// </param>
    public static async Task<CommandResult> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = Create(file, arguments, workingDirectory);
        if (environment is not null)
        {
            psi.Environment.Clear();
            foreach (var (key, value) in environment)
            {
                psi.Environment[key] = value;
            }
        }

        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.StandardOutputEncoding = Encoding.UTF8;
        psi.StandardErrorEncoding = Encoding.UTF8;
        psi.Environment["GIT_TERMINAL_PROMPT"] = "0";
        psi.Environment["LC_ALL"] = "C";

        using var process = StartCore(psi);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{file}' did not finish within {timeout.TotalSeconds:0.#} s.");
        }

        return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>
    /// Starts a long-lived background process (the daemon) with stdin and stdout closed and stderr captured,
    /// so the caller can read why it failed to start. The caller owns the returned Process.
    /// </summary>
    public static Process StartBackground(string file, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        var psi = Create(file, arguments, workingDirectory);
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var process = StartCore(psi);
        process.StandardInput.Close();
        return process;
    }

    private static ProcessStartInfo Create(string file, IEnumerable<string> arguments, string workingDirectory)
    {
        if (!Path.IsPathRooted(workingDirectory))
        {
            throw new ArgumentException($"Working directory must be absolute, got '{workingDirectory}'.", nameof(workingDirectory));
        }

        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Clear();
        foreach (var name in HelperEnvironmentAllowlist)
        {
            var value = Environment.GetEnvironmentVariable(name);
            if (value is not null)
            {
                psi.Environment[name] = value;
            }
        }

        return psi;
    }

#pragma warning disable RS0030 // The one sanctioned call site of Process.Start.
    private static Process StartCore(ProcessStartInfo psi) =>
        Starting(() => Process.Start(psi) ?? throw new InvalidOperationException($"Could not start '{psi.FileName}'."), p => p.Id);
#pragma warning restore RS0030
}
