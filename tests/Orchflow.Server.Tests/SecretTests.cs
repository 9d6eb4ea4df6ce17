using System.Diagnostics;
using Nerdbank.Streams;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Rpc;
using Orchflow.Server.Security;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Tests;

/// <summary>Per-workspace secrets: set, listed masked, stored 0600 outside every root, injected only into their workspace's processes, never logged.</summary>
[Trait("Tier", "e2e")]
public sealed class SecretTests : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private const string Value = "s3cr3t-value-of-a-0123456789";
    private readonly TempHome _home = new();
    private readonly StringWriter _logText = new();
    private readonly OrchflowServer _server;

    public SecretTests()
    {
        _home.Paths.EnsureDirectories();
        _server = new OrchflowServer(_home.Paths, Database.InMemory(), new Log(_logText, LogLevel.Debug), socketPath: null, defaultWorkspaceRoot: Path.Combine(_home.Root, "userhome"));
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _home.Dispose();
    }

    private async Task<TestClient> ConnectAsync()
    {
        var (a, b) = FullDuplexStream.CreatePair();
        _server.Attach(a, a, "memory");
        var client = new TestClient(b);
        await client.InitializeAsync();
        return client;
    }

    [Fact]
    public async Task A_secret_reaches_its_workspace_processes_only_and_is_never_shown_or_logged()
    {
        using var c = await ConnectAsync();
        var a = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("a") });
        var b = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("b") });

        var set = await c.CallAsync<SecretInfo>(Methods.SecretSet, new SecretSetParams { WorkspaceId = a.Id, Name = "API_TOKEN", Value = Value });
        Assert.Equal("s3…89 (28 characters)", set.Masked);
        Assert.Equal(SecretSource.Daemon, set.Source);

        var list = await c.CallAsync<SecretListResult>(Methods.SecretList, new SecretListParams { WorkspaceId = a.Id });
        var only = Assert.Single(list.Secrets);
        Assert.Equal("API_TOKEN", only.Name);
        Assert.DoesNotContain(Value, System.Text.Json.JsonSerializer.Serialize(list, ProtocolJson.Options), StringComparison.Ordinal);
        Assert.Empty((await c.CallAsync<SecretListResult>(Methods.SecretList, new SecretListParams { WorkspaceId = b.Id })).Secrets);

        Assert.Equal(Value, await RunAsync(c, a.Id, "printf '%s' \"$API_TOKEN\""));
        Assert.Equal("unset", await RunAsync(c, b.Id, "printf '%s' \"${API_TOKEN-unset}\""));
        Assert.Null(Environment.GetEnvironmentVariable("API_TOKEN"));

        // Stored outside every root, private to the user.
        var file = _server.Isolation.Secrets.PathFor(a.Id);
        Assert.True(File.Exists(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        Assert.False(file.StartsWith(a.RootPath, StringComparison.Ordinal) || file.StartsWith(b.RootPath, StringComparison.Ordinal));

        // The audit log records the change, not the value; the daemon's log neither.
        var audit = await c.CallAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = a.Id });
        Assert.Contains(audit.Entries, e => e.Kind == AuditKind.Secret && e.Subject == "API_TOKEN");
        Assert.DoesNotContain(Value, File.ReadAllText(audit.Path), StringComparison.Ordinal);
        Assert.Contains("Secret API_TOKEN of workspace", _logText.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Value, _logText.ToString(), StringComparison.Ordinal);

        var removed = await c.CallAsync<SecretRemoveResult>(Methods.SecretRemove, new SecretRemoveParams { WorkspaceId = a.Id, Name = "API_TOKEN" });
        Assert.Equal("API_TOKEN", removed.Name);
        Assert.Equal("unset", await RunAsync(c, a.Id, "printf '%s' \"${API_TOKEN-unset}\""));
        ErrorAssert.Code(ErrorCodes.NotFound, await c.FailAsync(Methods.SecretRemove, new SecretRemoveParams { WorkspaceId = a.Id, Name = "API_TOKEN" }));
    }

    [Theory]
    [InlineData("1ABC", "not a valid secret name")]
    [InlineData("WITH-DASH", "not a valid secret name")]
    [InlineData("ORCHFLOW_WORKSPACE", "reserved")]
    [InlineData("", "not a valid secret name")]
    public async Task Bad_names_are_refused_with_what_to_do(string name, string fragment)
    {
        using var c = await ConnectAsync();
        var a = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("a") });
        var e = await c.FailAsync(Methods.SecretSet, new SecretSetParams { WorkspaceId = a.Id, Name = name, Value = "x" });
        ErrorAssert.Code(ErrorCodes.InvalidArgument, e, fragment);
        Assert.NotNull(ErrorAssert.Data(e).Hint);
    }

    [Fact]
    public async Task An_empty_value_is_refused()
    {
        using var c = await ConnectAsync();
        var a = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = _home.Project("a") });
        ErrorAssert.Code(ErrorCodes.InvalidArgument, await c.FailAsync(Methods.SecretSet, new SecretSetParams { WorkspaceId = a.Id, Name = "X", Value = "" }), "empty");
    }

    [Fact]
    public async Task A_secrets_file_in_the_root_is_read_daemon_secrets_override_it_and_bad_lines_are_reported()
    {
        using var c = await ConnectAsync();
        var root = _home.Project("a",
            (".orchflow/workspace.json", """{ "workspace": { "security": { "secrets_file": ".orchflow/secrets.env" } } }"""),
            (".orchflow/secrets.env", "# comment\nFROM_FILE=file-value-123\nexport QUOTED=\"with spaces\"\nSHADOWED=from-file\nnot a line\nORCHFLOW_X=1\n"));
        var a = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });
        await c.CallAsync<SecretInfo>(Methods.SecretSet, new SecretSetParams { WorkspaceId = a.Id, Name = "SHADOWED", Value = "from-daemon" });

        var list = await c.CallAsync<SecretListResult>(Methods.SecretList, new SecretListParams { WorkspaceId = a.Id });
        Assert.Equal(Path.Combine(root, ".orchflow", "secrets.env"), list.File);
        Assert.Equal(["FROM_FILE:File:False", "QUOTED:File:False", "SHADOWED:Daemon:False", "SHADOWED:File:True"], list.Secrets.Select(s => $"{s.Name}:{s.Source}:{s.Overridden}"));
        Assert.Equal([5, 6], list.Problems.Select(p => p.Line));

        Assert.Equal("file-value-123|with spaces|from-daemon", await RunAsync(c, a.Id, "printf '%s|%s|%s' \"$FROM_FILE\" \"$QUOTED\" \"$SHADOWED\""));
    }

    [Fact]
    public async Task A_secrets_file_that_leads_outside_the_root_is_not_read()
    {
        using var c = await ConnectAsync();
        var outside = _home.Project("elsewhere", ("stolen.env", "STOLEN=from-outside\n"));
        var root = _home.Project("a", (".orchflow/workspace.json", """{ "workspace": { "security": { "secrets_file": "link.env" } } }"""));
        File.CreateSymbolicLink(Path.Combine(root, "link.env"), Path.Combine(outside, "stolen.env"));
        var a = await c.CallAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = root });

        var list = await c.CallAsync<SecretListResult>(Methods.SecretList, new SecretListParams { WorkspaceId = a.Id });
        Assert.Empty(list.Secrets);
        Assert.Contains("outside the workspace root", Assert.Single(list.Problems).Message, StringComparison.Ordinal);
        Assert.Equal("unset", await RunAsync(c, a.Id, "printf '%s' \"${STOLEN-unset}\""));
    }

    [Fact]
    public void Masks_show_nothing_of_short_values()
    {
        Assert.Equal("•••• (6 characters)", SecretStore.Mask("abcdef"));
        Assert.Equal("ab…yz (26 characters)", SecretStore.Mask("abcdefghijklmnopqrstuvwxyz"));
    }

    [Fact]
    public async Task The_cli_reads_the_value_from_stdin_and_lists_it_masked()
    {
        await using var d = new DaemonHome();
        var root = d.Home.Project("a");
        Assert.Equal(0, (await Orchflow.RunAsync(d.Home, "workspace", "create", root)).ExitCode);
        var set = await RunCliWithInputAsync(d.Home, Value + "\n", "secret", "set", "--workspace", "a", "CLI_TOKEN");
        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Equal("Set secret CLI_TOKEN of workspace 'a' (s3…89 (28 characters)). Processes started from now on get it.", set.Stdout.Trim());

        var list = await Orchflow.RunAsync(d.Home, "secret", "list", "--workspace", "a");
        Assert.Matches(@"(?m)^CLI_TOKEN\s+daemon\s+s3…89 \(28 characters\)\s", list.Stdout);
        Assert.DoesNotContain(Value, list.Stdout, StringComparison.Ordinal);

        var empty = await RunCliWithInputAsync(d.Home, "", "secret", "set", "--workspace", "a", "EMPTY");
        Assert.Equal(2, empty.ExitCode);
        Assert.Contains("No value on standard input", empty.Stderr, StringComparison.Ordinal);

        // Without --workspace, inside a's root: a's secrets, and the output names the workspace.
        var here = await Orchflow.RunInAsync(d.Home, root, "secret", "list");
        Assert.True(here.ExitCode == 0, here.Stderr);
        Assert.Matches(@"(?m)^CLI_TOKEN\s", here.Stdout);
        Assert.Contains($"Secrets of workspace 'a' (the current directory is inside its root {root})", here.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, File.ReadAllText(d.Home.Paths.LogFile), StringComparison.Ordinal);
    }

    private static async Task<CliRun> RunCliWithInputAsync(TempHome home, string input, params string[] args)
    {
        using var p = Process.Start(Orchflow.StartInfo(home, args))!;
        await p.StandardInput.WriteAsync(input);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return new CliRun(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a command in a terminal of the workspace and returns what it printed.</summary>
    private static async Task<string> RunAsync(TestClient c, string workspace, string command)
    {
        var t = await c.CallAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams { WorkspaceId = workspace, Command = command });
        await Poll.UntilAsync(
            async () => (await c.CallAsync<TerminalInfo>(Methods.TerminalShow, new TerminalRef { Id = t.Id })).Status != TerminalStatus.Running,
            $"{command} ended",
            intervalMs: 20,
            deadline: Deadline);
        var text = (await c.CallAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = t.Id })).Text.Trim();
        await c.CallAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = t.Id });
        return text;
    }
}
