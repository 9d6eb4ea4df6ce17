using System.Diagnostics;
using Orchflow.Pty.Holder;

namespace Orchflow.Pty.Tests;

/// <summary>
/// Stands in for the daemon's ProcessFactory.StartHolder where there is no daemon (these tests, bench/holder, which
/// links this file): exactly the given arguments and environment, in /, standard input closed, standard output a pipe.
/// </summary>
internal static class HolderProcessStarter
{
    public static Process Start(HolderCommand command)
    {
        var psi = new ProcessStartInfo(command.Program)
        {
            UseShellExecute = false,
            WorkingDirectory = "/",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        foreach (var argument in command.Arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        psi.Environment.Clear();
        foreach (var (name, value) in command.Environment)
        {
            psi.Environment[name] = value;
        }

        var process = Process.Start(psi)!;
        process.StandardInput.Close();
        return process;
    }
}
