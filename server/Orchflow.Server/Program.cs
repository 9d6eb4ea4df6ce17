using Orchflow.Server.Cli;
using Orchflow.Server.Hosting;

namespace Orchflow.Server;

public static class Program
{
    public static Task<int> Main(string[] args)
    {
        // Before anything else: no Orchflow process runs with the runtime's diagnostics endpoints open.
        RuntimeDiagnostics.EnsureClosed();
        return CliApp.RunAsync(args);
    }
}
