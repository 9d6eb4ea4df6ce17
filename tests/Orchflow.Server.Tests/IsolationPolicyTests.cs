using Orchflow.Protocol;
using Orchflow.Server.Security;

namespace Orchflow.Server.Tests;

/// <summary>The pure parts of the security layer: allowed_commands on command lines, and the truthful report per tier and machine.</summary>
public sealed class IsolationPolicyTests
{
    private static readonly string[] Allowed = ["cargo", "git", "/usr/bin/make"];

    /// <summary>A stand-in PATH: cargo and git in /usr/bin, everything else nowhere; paths resolve to themselves.</summary>
    private static string? Resolve(string program) => program switch
    {
        "cargo" or "/usr/bin/cargo" => "/usr/bin/cargo",
        "git" or "/usr/bin/git" => "/usr/bin/git",
        "/usr/bin/make" or "make" => "/usr/bin/make",
        _ when program.Contains('/') => program,
        _ => null,
    };

    private static void Check(string line, string? refusalFragment)
    {
        var refusal = CommandPolicy.CheckLine(line, Allowed, Resolve);
        if (refusalFragment is null)
        {
            Assert.True(refusal is null, $"`{line}` was refused: {refusal}");
        }
        else
        {
            Assert.NotNull(refusal);
            Assert.Contains(refusalFragment, refusal, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("cargo build")]
    [InlineData("cargo build && cargo test")]
    [InlineData("cargo build; git status || git diff")]
    [InlineData("RUST_LOG=debug cargo run -- --flag")]
    [InlineData("cargo test > out.txt 2>&1")]
    [InlineData("cargo test 2>/dev/null | git apply")]
    [InlineData("cd sub && cargo build")]
    [InlineData("exec cargo run")]
    [InlineData("echo '$(curl x)' && cargo build")]
    [InlineData("/usr/bin/cargo build")]
    [InlineData("/usr/bin/make all")]
    [InlineData("make all")]
    [InlineData("cargo build \\\n  --release")]
    public void Allowed_command_lines(string line) => Check(line, null);

    [Theory]
    [InlineData("curl http://x", "'curl' is not in security.allowed_commands")]
    [InlineData("cargo build; curl x", "'curl'")]
    [InlineData("cargo build & python3 -c 1", "'python3'")]
    [InlineData("sh -c 'cargo build'", "'sh'")]
    [InlineData("echo $(curl x)", "command substitution")]
    [InlineData("echo \"`curl x`\"", "command substitution")]
    [InlineData("cat <(curl x)", "process substitution")]
    [InlineData("(curl x)", "a subshell")]
    [InlineData("if true; then curl x; fi", "control structure")]
    [InlineData("$TOOL build", "expanded when it runs")]
    [InlineData("c* build", "expanded when it runs")]
    [InlineData("./cargo build", "'./cargo'")]
    [InlineData("/tmp/cargo build", "'/tmp/cargo'")]
    [InlineData("eval cargo build", "'eval'")]
    [InlineData("cargo 'unclosed", "unclosed single quote")]
    public void Refused_command_lines(string line, string fragment) => Check(line, fragment);

    private static SecurityPolicy Policy(SecurityTier tier, NetworkPolicy network = NetworkPolicy.None, string[]? restricted = null) => new()
    {
        Tier = tier,
        AllowedCommands = ["cargo"],
        RestrictedPaths = restricted ?? [],
        Network = network,
        AllowedHosts = network == NetworkPolicy.Allowlist ? ["example.com"] : [],
    };

    private sealed class FakeBackend(bool available) : IIsolationBackend
    {
        public IsolationMechanism Mechanism => IsolationMechanism.Bubblewrap;

        public bool Available => available;

        public string Description => available ? "bubblewrap 9.9" : "bubblewrap unavailable (not installed)";

        public IReadOnlyList<string> Launcher(SandboxSpec spec) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(SecurityTier.Standard, true, SecurityTier.Standard, "standard: enforced by the daemon (no operating-system sandbox)")]
    [InlineData(SecurityTier.Enhanced, true, SecurityTier.Enhanced, "enhanced: enforced by bubblewrap 9.9")]
    [InlineData(SecurityTier.Strict, true, SecurityTier.Strict, "strict: enforced by bubblewrap 9.9")]
    [InlineData(SecurityTier.Enhanced, false, SecurityTier.Standard, "enhanced requested: NOT enforced, bubblewrap unavailable (not installed); standard in force")]
    [InlineData(SecurityTier.Strict, false, SecurityTier.Standard, "strict requested: NOT enforced, bubblewrap unavailable (not installed); standard in force")]
    public void The_report_says_what_the_machine_enforces(SecurityTier requested, bool bubblewrap, SecurityTier enforced, string summary)
    {
        var report = IsolationPlanner.Report(Policy(requested, restricted: ["/secret"]), new FakeBackend(bubblewrap));
        Assert.Equal(requested, report.RequestedTier);
        Assert.Equal(enforced, report.EnforcedTier);
        Assert.Equal(summary, report.Summary);
        Assert.Equal(bubblewrap && requested > SecurityTier.Standard ? IsolationMechanism.Bubblewrap : IsolationMechanism.None, report.Mechanism);

        // Whatever is not enforced says NOT; a tier below the requested one leads the reasons.
        Assert.All(report.Features.Where(f => !f.Enforced), f => Assert.Contains("NOT enforced", f.Detail, StringComparison.Ordinal));
        if (enforced < requested)
        {
            Assert.StartsWith($"{requested.ToString().ToLowerInvariant()} was requested but only standard is enforced", report.Reasons[0], StringComparison.Ordinal);
        }

        if (enforced == SecurityTier.Standard)
        {
            Assert.Contains(report.Reasons, r => r.StartsWith("No operating-system sandbox", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void An_allowlist_network_is_enforced_as_none_and_says_so()
    {
        var report = IsolationPlanner.Report(Policy(SecurityTier.Strict, NetworkPolicy.Allowlist), new FakeBackend(true));
        var network = report.Features.Single(f => f.Name == "network");
        Assert.True(network.Enforced);
        Assert.Contains("enforced as none", network.Detail, StringComparison.Ordinal);
        Assert.Equal(SecurityTier.Strict, report.EnforcedTier);
    }

    [Fact]
    public void Settings_of_a_higher_tier_are_reported_not_enforced_at_standard()
    {
        var report = IsolationPlanner.Report(Policy(SecurityTier.Standard, restricted: ["/secret"]), new FakeBackend(true));
        Assert.False(report.Features.Single(f => f.Name == "allowed_commands").Enforced);
        Assert.False(report.Features.Single(f => f.Name == "restricted_paths").Enforced);
        Assert.Contains("applies at tier strict", report.Features.Single(f => f.Name == "network").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Bubblewrap_arguments_keep_job_control_drop_capabilities_and_hide_after_binding()
    {
        var host = new HostIsolation { BubblewrapAvailable = true, BubblewrapPath = "/usr/bin/bwrap", BubblewrapVersion = "0.8.0" };
        var args = new BubblewrapBackend(host).Launcher(new SandboxSpec
        {
            WorkspaceId = "b",
            Level = SandboxLevel.Strict,
            Root = "/p/b",
            WorkingDirectory = "/p/b/src",
            ReadOnly = ["/p/b/.orchflow"],
            Writable = ["/data/workspaces/b"],
            Hidden = ["/data", "/p/a"],
            PrivateTmp = "/data/sandbox/b/tmp",
            Network = NetworkPolicy.None,
            DeniedFile = "/data/sandbox/denied",
        });
        var line = string.Join(' ', args);
        Assert.Equal("/usr/bin/bwrap", args[0]);
        Assert.DoesNotContain("--new-session", args);
        Assert.DoesNotContain("--share-net", args);
        Assert.Contains("--cap-drop ALL", line, StringComparison.Ordinal);
        Assert.Contains("--unshare-user", args);
        Assert.Contains("--disable-userns", args);
        Assert.EndsWith("--chdir /p/b/src --", line, StringComparison.Ordinal);

        // Order matters to bwrap: the root before what hides inside it, writable binds inside hidden places before those are made read-only.
        int Index(string s) => line.IndexOf(s, StringComparison.Ordinal);
        Assert.True(Index("--ro-bind / /") < Index("--bind /p/b /p/b"));
        Assert.True(Index("--tmpfs /data") < Index("--bind /data/workspaces/b /data/workspaces/b"));
        Assert.True(Index("--bind /data/workspaces/b") < Index("--remount-ro /data"));
        Assert.True(Index("--bind /p/b /p/b") < Index("--ro-bind /p/b/.orchflow /p/b/.orchflow"));
    }
}
