using System.Diagnostics;
using System.Text.Json;
using Orchflow.Protocol;

namespace Orchflow.Server.Tests;

/// <summary>
/// <c>orchflow workspace confirm-policy</c> and <c>workspace update --accept-root</c> against a real daemon: what a
/// person is shown, the y/N question on a terminal (a real one, made by <c>script</c>), --yes and --reject for
/// scripts, and the refusal when the CLI runs inside a terminal Orchflow started.
/// </summary>
[Trait("Tier", "e2e")]
public sealed class PolicyCliTests
{
    private static string Config(string id, string security) => "{\"workspace\":{\"id\":\"" + id + "\",\"security\":{" + security + "}}}";

    private static string Strict => Config("b", "\"tier\":\"strict\",\"network\":\"none\",\"allowed_commands\":[\"bash\",\"cat\"]");

    private static string Standard => Config("b", "\"tier\":\"standard\",\"network\":\"none\",\"allowed_commands\":[\"bash\",\"cat\"]");

    [Theory]
    [InlineData("Missing workspace ID", "workspace", "confirm-policy")]
    [InlineData("pass one of them", "workspace", "confirm-policy", "b", "--yes", "--reject")]
    [InlineData("Unknown option --force", "workspace", "confirm-policy", "b", "--force")]
    public Task Usage_errors_are_one_line_with_exit_code_2(string fragment, params string[] args) =>
        CliAssert.UsageErrorAsync(fragment, args);

    [Fact]
    public async Task A_person_sees_the_change_and_applies_or_keeps_it()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("B", (".orchflow/workspace.json", Strict));
        Ok(await Orchflow.RunAsync(d.Home, "workspace", "create", root));
        File.WriteAllText(Path.Combine(root, ".orchflow", "workspace.json"), Standard);
        Ok(await Orchflow.RunAsync(d.Home, "workspace", "reload", "b"));

        var show = Ok(await Orchflow.RunAsync(d.Home, "workspace", "show", "b"));
        Assert.Contains("security:      tier strict, network none, allowed commands: bash cat", show.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Workspace 'b' (B): {root}/.orchflow/workspace.json asks for a weaker policy (seen ", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("  - lowers its tier strict → standard", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("Apply it with `orchflow workspace confirm-policy b`", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("b (policy pending)", Ok(await Orchflow.RunAsync(d.Home, "workspace", "list")).Stdout, StringComparison.Ordinal);

        // Standard input is not a terminal: nobody can be asked.
        var unasked = await Orchflow.RunAsync(d.Home, "workspace", "confirm-policy", "b");
        Assert.Equal(2, unasked.ExitCode);
        Assert.Contains("Standard input is not a terminal, so nobody can be asked. Pass --yes to apply the change, or --reject to keep the current policy.", unasked.Stderr, StringComparison.Ordinal);

        // On a terminal, "n" (or just Enter) applies nothing.
        var no = await OnTerminalAsync(d.Home, "n\n", "workspace", "confirm-policy", "b");
        Assert.Equal(1, no.ExitCode);
        Assert.Contains("lowers its tier strict → standard", no.Output, StringComparison.Ordinal);
        Assert.Contains("In force until a person confirms: tier strict, network none, allowed commands: bash cat.", no.Output, StringComparison.Ordinal);
        Assert.Contains("Apply it? [y/N] ", no.Output, StringComparison.Ordinal);
        Assert.Contains("Not applied: the current policy of 'b' holds.", no.Output, StringComparison.Ordinal);
        Assert.Equal(SecurityTier.Strict, (await ShowAsync(d.Home)).Security.Tier);

        // --reject keeps it, and says so; the change stays listed.
        var kept = Ok(await Orchflow.RunAsync(d.Home, "workspace", "confirm-policy", "b", "--reject"));
        Assert.Contains("Kept the current policy of 'b': tier strict, network none, allowed commands: bash cat.", kept.Stdout, StringComparison.Ordinal);
        var rejected = await ShowAsync(d.Home);
        Assert.Equal(SecurityTier.Strict, rejected.Security.Tier);
        Assert.StartsWith("orchflow-cli ", rejected.PendingPolicy!.RejectedBy, StringComparison.Ordinal);
        Assert.DoesNotContain("(policy pending)", Ok(await Orchflow.RunAsync(d.Home, "workspace", "list")).Stdout, StringComparison.Ordinal);

        // "y" on a terminal applies it.
        var yes = await OnTerminalAsync(d.Home, "y\n", "workspace", "confirm-policy", "b");
        Assert.True(yes.ExitCode == 0, yes.Output);
        Assert.Contains("Kept by orchflow-cli", yes.Output, StringComparison.Ordinal);
        Assert.Contains("Applied: the policy of 'b' is now tier standard, network none, allowed commands: bash cat (standard: enforced by the daemon", yes.Output, StringComparison.Ordinal);
        Assert.Equal(SecurityTier.Standard, (await ShowAsync(d.Home)).Security.Tier);

        // Nothing is pending any more.
        var nothing = await Orchflow.RunAsync(d.Home, "workspace", "confirm-policy", "b", "--yes");
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("Workspace 'b' has no pending policy change; its policy in force: tier standard", nothing.Stderr, StringComparison.Ordinal);

        // --yes for scripts, with --json: the workspace after the change on stdout, the change itself on stderr.
        File.WriteAllText(Path.Combine(root, ".orchflow", "workspace.json"), Config("b", "\"tier\":\"standard\",\"network\":\"full\""));
        Ok(await Orchflow.RunAsync(d.Home, "workspace", "reload", "b"));
        var scripted = Ok(await Orchflow.RunAsync(d.Home, "workspace", "confirm-policy", "b", "--yes", "--json"));
        Assert.Contains("  - widens network none → full", scripted.Stderr, StringComparison.Ordinal);
        var after = JsonSerializer.Deserialize<WorkspaceInfo>(scripted.Stdout, ProtocolJson.Options)!;
        Assert.Equal(NetworkPolicy.Full, after.Security.Network);
        Assert.Empty(after.Security.AllowedCommands);

        var audit = Ok(await Orchflow.RunAsync(d.Home, "workspace", "audit", "b"));
        Assert.Contains("kept the current policy", audit.Stdout, StringComparison.Ordinal);
        Assert.Contains("confirmed the config file's weaker policy, which lowers its tier strict → standard", audit.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_CLI_in_a_terminal_Orchflow_started_cannot_confirm()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("C", (".orchflow/workspace.json", Config("c", "\"tier\":\"standard\",\"network\":\"none\"")));
        Ok(await Orchflow.RunAsync(d.Home, "workspace", "create", root));
        File.WriteAllText(Path.Combine(root, ".orchflow", "workspace.json"), Config("c", "\"tier\":\"standard\",\"network\":\"full\""));
        Ok(await Orchflow.RunAsync(d.Home, "workspace", "reload", "c"));

        // A standard workspace has no sandbox: its terminal reaches the socket, with this very CLI.
        var cli = $"ORCHFLOW_HOME='{d.Home.Home}' '{Dotnet()}' '{Orchflow.Dll}' workspace confirm-policy c --yes; echo \"EXIT=$?\"";
        var created = Ok(await Orchflow.RunAsync(d.Home, "terminal", "create", "--workspace", "c", "--cmd", cli, "--json"));
        var id = JsonDocument.Parse(created.Stdout).RootElement.GetProperty("id").GetString()!;
        string text = "";
        await Poll.UntilAsync(async () => (text = (await Orchflow.RunAsync(d.Home, "terminal", "read", id)).Stdout).Contains("EXIT=", StringComparison.Ordinal), "the CLI in the terminal ended");
        Assert.Contains("Only a person can confirm a workspace's weaker policy: process ", text, StringComparison.Ordinal);
        Assert.Contains("was started by Orchflow", text, StringComparison.Ordinal);
        Assert.Contains("EXIT=1", text, StringComparison.Ordinal);
        Assert.Equal(NetworkPolicy.None, (await ShowAsync(d.Home, "c")).Security.Network);
    }

    [Fact]
    public async Task A_replaced_root_is_shown_refused_and_adopted_with_accept_root()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("B", (".orchflow/workspace.json", Strict));
        Ok(await Orchflow.RunAsync(d.Home, "workspace", "create", root));
        Directory.Move(root, root + ".aside");
        d.Home.Project("B", (".orchflow/workspace.json", Standard));
        Ok(await Orchflow.RunAsync(d.Home, "workspace", "reload", "b"));

        var message = $"root replaced: the folder at {root} is not the one registered (device:inode changed); run `orchflow workspace update b --accept-root` to adopt it, as a person";
        Assert.Contains($"root state:    {message}", Ok(await Orchflow.RunAsync(d.Home, "workspace", "show", "b")).Stdout, StringComparison.Ordinal);
        Assert.Contains("b (root replaced)", Ok(await Orchflow.RunAsync(d.Home, "workspace", "list")).Stdout, StringComparison.Ordinal);

        var launch = await Orchflow.RunAsync(d.Home, "terminal", "create", "--workspace", "b", "--cmd", "cat /dev/null");
        Assert.Equal(1, launch.ExitCode);
        Assert.Contains(message, launch.Stderr, StringComparison.Ordinal);
        var confirm = await Orchflow.RunAsync(d.Home, "workspace", "confirm-policy", "b", "--yes");
        Assert.Equal(1, confirm.ExitCode);
        Assert.Contains(message, confirm.Stderr, StringComparison.Ordinal);

        var adopted = Ok(await Orchflow.RunAsync(d.Home, "workspace", "update", "b", "--accept-root"));
        Assert.DoesNotContain("root state:", adopted.Stdout, StringComparison.Ordinal);
        Assert.Contains("  - lowers its tier strict → standard", adopted.Stdout, StringComparison.Ordinal);
        Assert.Contains("security:      tier strict", adopted.Stdout, StringComparison.Ordinal);
        Ok(await Orchflow.RunAsync(d.Home, "terminal", "create", "--workspace", "b", "--cmd", "cat /dev/null"));
    }

    private static CliRun Ok(CliRun run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}{run.Stdout}");
        return run;
    }

    private static async Task<WorkspaceInfo> ShowAsync(TempHome home, string id = "b")
    {
        var run = Ok(await Orchflow.RunAsync(home, "workspace", "show", id, "--json"));
        return JsonSerializer.Deserialize<WorkspaceInfo>(run.Stdout, ProtocolJson.Options)!;
    }

    private static string Dotnet() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "dotnet")).FirstOrDefault(File.Exists) ?? "dotnet";

    /// <summary>Runs the CLI on a real terminal (util-linux <c>script</c> makes one), typing <paramref name="typed"/>; stdout and stderr come back mixed, as a person sees them.</summary>
    private static async Task<(int ExitCode, string Output)> OnTerminalAsync(TempHome home, string typed, params string[] args)
    {
        var cli = string.Join(' ', new[] { Dotnet(), Orchflow.Dll }.Concat(args).Select(a => $"'{a}'"));
        var psi = Orchflow.StartInfo(home, []);
        psi.FileName = "script";
        psi.ArgumentList.Clear();
        foreach (var a in new[] { "-q", "-e", "-c", cli, "/dev/null" })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(typed);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, (await stdout + await stderr).Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
