namespace Orchflow.Server.Tests;

/// <summary>
/// The workspace a CLI command acts in when it names none: --workspace, else ORCHFLOW_WORKSPACE, else the registered
/// root containing the current directory, else the workspace last switched to (which outlasts the daemon), else default.
/// Each rule is checked by where a memory entry lands.
/// </summary>
[Trait("Tier", "e2e")]
public sealed class CurrentWorkspaceTests
{
    [Fact]
    public async Task Each_rule_in_its_order_and_switch_says_where_later_commands_go()
    {
        await using var d = new DaemonHome();
        var shop = d.Home.Project("shop");
        var cli = d.Home.Project("cli");
        var nested = Directory.CreateDirectory(Path.Combine(shop, "src", "deep")).FullName;
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", shop)).ExitCode);
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", cli)).ExitCode);
        var outside = d.Home.Root;

        // Nothing switched to, outside every root: default.
        Assert.Equal("default", await WhereAsync(d.Home, outside, "k1"));

        // Inside a root, also deep inside it: that workspace.
        Assert.Equal("shop", await WhereAsync(d.Home, nested, "k2"));

        // ORCHFLOW_WORKSPACE (an Orchflow terminal's) wins over the directory; --workspace wins over both.
        Assert.Equal("cli", await WhereAsync(d.Home, nested, "k3", environment: new() { ["ORCHFLOW_WORKSPACE"] = "cli" }));
        Assert.Equal("default", await WhereAsync(d.Home, nested, "k4", "--workspace", "default"));

        // Terminals and agents follow the same rules.
        var terminal = await Orchflow.RunInAsync(d.Home, nested, "terminal", "create", "--cmd", "sleep 30", "--json");
        Assert.True(terminal.ExitCode == 0, terminal.Stderr);
        Assert.Contains("\"workspaceId\": \"shop\"", terminal.Stdout, StringComparison.Ordinal);
        var agent = await Orchflow.RunWithAsync(d.Home, outside, new Dictionary<string, string> { ["ORCHFLOW_WORKSPACE"] = "cli" }, "agent", "spawn", "--type", "command", "true", "--json");
        Assert.True(agent.ExitCode == 0, agent.Stderr);
        Assert.Contains("\"workspaceId\": \"cli\"", agent.Stdout, StringComparison.Ordinal);

        // A switch from outside every root is where later commands go from there, and it says so.
        var switched = await Orchflow.RunInAsync(d.Home, outside, "workspace", "switch", "cli");
        Assert.True(switched.ExitCode == 0, switched.Stderr);
        Assert.Contains("Commands without --workspace go there from now on", switched.Stdout, StringComparison.Ordinal);
        Assert.Equal("cli", await WhereAsync(d.Home, outside, "k5"));

        // Inside another root, the root still wins, and a switch made there says so.
        var inShop = await Orchflow.RunInAsync(d.Home, shop, "workspace", "switch", "cli");
        Assert.Contains($"Commands run here without --workspace still go to 'shop': the current directory is inside its root {shop}. Elsewhere they go to 'cli'.", inShop.Stdout, StringComparison.Ordinal);
        Assert.Equal("shop", await WhereAsync(d.Home, shop, "k6"));

        // The switch outlasts the daemon.
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "daemon", "stop")).ExitCode);
        Assert.Equal("cli", await WhereAsync(d.Home, outside, "k7"));

        // `workspace show` without an id shows the workspace this call is in.
        var shown = await Orchflow.RunInAsync(d.Home, nested, "workspace", "show", "--json");
        Assert.Contains("\"id\": \"shop\"", shown.Stdout, StringComparison.Ordinal);

        // A deleted workspace is forgotten: default again, not an error.
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "rm", "cli")).ExitCode);
        Assert.Equal("default", await WhereAsync(d.Home, outside, "k8"));
        Assert.False(File.Exists(Cli.CurrentWorkspace.FileOf(d.Home.Paths)));
    }

    /// <summary>Sets <paramref name="key"/> without naming a workspace (unless <paramref name="extra"/> does) and returns the workspace that has it.</summary>
    private static async Task<string> WhereAsync(TempHome home, string cwd, string key, params string[] extra) =>
        await WhereAsync(home, cwd, key, environment: null, extra);

    private static async Task<string> WhereAsync(TempHome home, string cwd, string key, Dictionary<string, string>? environment, params string[] extra)
    {
        var set = await Orchflow.RunWithAsync(home, cwd, environment, ["memory", "set", key, "v", .. extra]);
        Assert.True(set.ExitCode == 0, set.Stderr);
        var holders = new List<string>();
        foreach (var ws in new[] { "default", "shop", "cli" })
        {
            if ((await Orchflow.RunAsync(home, "memory", "get", key, "--workspace", ws)).ExitCode == 0)
            {
                holders.Add(ws);
            }
        }

        return Assert.Single(holders);
    }
}
