using System.Diagnostics;
using System.Text;

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
