using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Orchflow.Protocol;
using StreamJsonRpc;

namespace Orchflow.Server.Tests;

public sealed record CliRun(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the real <c>orchflow</c> program (as <c>dotnet orchflow.dll</c>) against a test ORCHFLOW_HOME.</summary>
public static class Orchflow
{
    public static string Dll => typeof(Program).Assembly.Location;

    public static ProcessStartInfo StartInfo(TempHome home, IEnumerable<string> args, string? cwd = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = cwd ?? home.Root,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["ORCHFLOW_HOME"] = home.Home;
        // A test run from an Orchflow terminal must not send its CLI calls to that terminal's workspace.
        psi.Environment.Remove("ORCHFLOW_WORKSPACE");
        psi.Environment["HOME"] = Path.Combine(home.Root, "userhome");
        Directory.CreateDirectory(psi.Environment["HOME"]!);
        return psi;
    }

    public static async Task<CliRun> RunAsync(TempHome home, params string[] args) => await RunInAsync(home, null, args);

    public static async Task<CliRun> RunInAsync(TempHome home, string? cwd, params string[] args) => await RunWithAsync(home, cwd, null, args);

    /// <summary>Runs the CLI with extra environment variables (a daemon it starts inherits them).</summary>
    public static Task<CliRun> RunWithAsync(TempHome home, string? cwd, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunAsAsync(LabUser.Root, home, cwd, environment, args);

    /// <summary>Runs the CLI as <paramref name="user"/> (root: this process's own environment; else a clean one, see <see cref="LabUser.Confine"/>).</summary>
    public static async Task<CliRun> RunAsAsync(LabUser user, TempHome home, string? cwd, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = user.Confine(StartInfo(home, args, cwd));
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return new CliRun(p.ExitCode, await stdout, await stderr);
    }

    public static async Task StopDaemonAsync(TempHome home)
    {
        await RunAsync(home, "daemon", "stop");
    }
}

/// <summary>Stops the test's daemon when the test ends, also when it fails.</summary>
public sealed class DaemonHome : IAsyncDisposable
{
    public TempHome Home { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await Orchflow.StopDaemonAsync(Home);
        Home.Dispose();
    }
}

/// <summary>The real daemon as a process the test owns, to kill with SIGKILL at a moment it chooses.</summary>
public static class KillableDaemon
{
    public static Process Start(TempHome home)
    {
        var p = Process.Start(Orchflow.StartInfo(home, ["daemon"]))!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Connects once the daemon accepts on its socket (it listens only after opening its files).</summary>
    public static async Task<JsonRpc> ConnectAsync(TempHome home, Process daemon) =>
        (await Poll.UntilAsync(() => TryConnectAsync(home, daemon), rpc => rpc is not null, _ => "the daemon did not listen within 60 s", TimeSpan.FromSeconds(60), intervalMs: 10))!;

    /// <summary>A connection, or null while the daemon does not listen yet; fails at once when the daemon has exited.</summary>
    private static async Task<JsonRpc?> TryConnectAsync(TempHome home, Process daemon)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(home.Paths.SocketPath));
            var rpc = Cli.OrchflowClientRpc.Create(new NetworkStream(socket, ownsSocket: true));
            rpc.StartListening();
            await rpc.InvokeWithParameterObjectAsync<InitializeResult>(Methods.Initialize, new InitializeParams { ClientInfo = new ClientInfo { Name = "crash-test" } });
            return rpc;
        }
        catch (SocketException)
        {
            socket.Dispose();
            Assert.False(daemon.HasExited, $"the daemon exited with {(daemon.HasExited ? daemon.ExitCode : 0)} before listening");
            return null;
        }
    }
}

/// <summary>
/// One round of a crash test: writers send requests through <see cref="AcknowledgedAsync{T}"/>, and once
/// <paramref name="killAfter"/> of them are acknowledged the daemon is killed with SIGKILL, with writes still in flight
/// (<see cref="KillAsync"/>). A write counts as acknowledged only when its response arrived.
/// </summary>
public sealed class CrashRound(JsonRpc rpc, int killAfter)
{
    private readonly TaskCompletionSource _kill = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _acknowledged;
    private int _inFlight;

    /// <summary>Sends one write; false once the daemon is gone (the writer stops), else the answer went to <paramref name="acknowledged"/>.</summary>
    public async Task<bool> AcknowledgedAsync<T>(string method, object args, Action<T> acknowledged)
    {
        Interlocked.Increment(ref _inFlight);
        T result;
        try
        {
            result = await rpc.InvokeWithParameterObjectAsync<T>(method, args);
        }
        catch (Exception e) when (e is ConnectionLostException or ObjectDisposedException or RemoteInvocationException)
        {
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }

        acknowledged(result);
        if (Interlocked.Increment(ref _acknowledged) == killAfter)
        {
            _kill.TrySetResult();
        }

        return true;
    }

    /// <summary>Kills <paramref name="daemon"/> once enough writes are acknowledged, waits for the writers to stop, and returns how many writes were in flight at the kill.</summary>
    public async Task<int> KillAsync(System.Diagnostics.Process daemon, IEnumerable<Task> writers)
    {
        await _kill.Task.WaitAsync(TimeSpan.FromSeconds(60));
        int inFlight = Volatile.Read(ref _inFlight);
        daemon.Kill(); // SIGKILL
        await daemon.WaitForExitAsync();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));
        rpc.Dispose();
        return inFlight;
    }
}
