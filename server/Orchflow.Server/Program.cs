using Orchflow.Server.Cli;

namespace Orchflow.Server;

public static class Program
{
    public static Task<int> Main(string[] args) => CliApp.RunAsync(args);
}
