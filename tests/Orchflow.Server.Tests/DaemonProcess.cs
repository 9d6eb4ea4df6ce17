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
