using Orchflow.Protocol;
using Orchflow.Server.Security;

namespace Orchflow.Server.Tests;

/// <summary>The pure parts of the security layer: allowed_commands on command lines, and the truthful report per tier and machine.</summary>
[Trait("Tier", "unit")]
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

    /// <summary>Workspace b at /p/b, strict, with this network policy: the launcher tests vary the rest with <c>with</c>.</summary>
    private static SandboxSpec StrictSpec(NetworkPolicy network) => new()
    {
        WorkspaceId = "b",
        Level = SandboxLevel.Strict,
        Root = "/p/b",
        WorkingDirectory = "/p/b",
        Network = network,
        DeniedFile = "/d",
    };

    private static SecurityPolicy Policy(SecurityTier tier, NetworkPolicy network = NetworkPolicy.None, string[]? restricted = null) => new()
    {
        Tier = tier,
        AllowedCommands = ["cargo"],
        RestrictedPaths = restricted ?? [],
        Network = network,
        AllowedHosts = network == NetworkPolicy.Allowlist ? ["example.com"] : [],
    };

    private static BubblewrapBackend FakeBackend(bool available) => new(new HostIsolation
    {
        BubblewrapAvailable = available,
        BubblewrapPath = available ? "/usr/bin/bwrap" : null,
        BubblewrapVersion = available ? "9.9" : null,
        BubblewrapProblem = available ? null : "not installed",
    });

    private static LandlockBackend Landlock(int abi, Func<string, IEnumerable<string>>? children = null) => new(
        new HostIsolation { BubblewrapAvailable = false, BubblewrapProblem = "user namespaces refused", LandlockAbi = abi, LandlockAvailable = true, LandlockLauncher = "/opt/orchflow/orchflow-landlock" },
        children);

    [Theory]
    [InlineData(SecurityTier.Standard, true, SecurityTier.Standard, "standard: enforced by the daemon (no operating-system sandbox)")]
    [InlineData(SecurityTier.Enhanced, true, SecurityTier.Enhanced, "enhanced: enforced by bubblewrap 9.9")]
    [InlineData(SecurityTier.Strict, true, SecurityTier.Strict, "strict: enforced by bubblewrap 9.9")]
    [InlineData(SecurityTier.Enhanced, false, SecurityTier.Standard, "enhanced requested: NOT enforced, bubblewrap unavailable (not installed); standard in force")]
    [InlineData(SecurityTier.Strict, false, SecurityTier.Standard, "strict requested: NOT enforced, bubblewrap unavailable (not installed); standard in force")]
    public void The_report_says_what_the_machine_enforces(SecurityTier requested, bool bubblewrap, SecurityTier enforced, string summary)
    {
        var report = IsolationPlanner.Report(Policy(requested, restricted: ["/secret"]), FakeBackend(bubblewrap));
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
        var report = IsolationPlanner.Report(Policy(SecurityTier.Strict, NetworkPolicy.Allowlist), FakeBackend(true));
        var network = report.Features.Single(f => f.Name == "network");
        Assert.True(network.Enforced);
        Assert.Contains("enforced as none", network.Detail, StringComparison.Ordinal);
        Assert.Equal(SecurityTier.Strict, report.EnforcedTier);
    }

    [Fact]
    public void Settings_of_a_higher_tier_are_reported_not_enforced_at_standard()
    {
        var report = IsolationPlanner.Report(Policy(SecurityTier.Standard, restricted: ["/secret"]), FakeBackend(true));
        Assert.False(report.Features.Single(f => f.Name == "allowed_commands").Enforced);
        Assert.False(report.Features.Single(f => f.Name == "restricted_paths").Enforced);
        Assert.Contains("applies at tier strict", report.Features.Single(f => f.Name == "network").Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Enhanced_says_that_files_processes_and_terminals_are_kept_only_at_strict(bool landlock)
    {
        // The escape suite's attacks on these succeed at enhanced: the report must say so, with or without a sandbox.
        var report = IsolationPlanner.Report(Policy(SecurityTier.Enhanced, restricted: ["/secret"]), landlock ? Landlock(7) : FakeBackend(true));
        Assert.Equal(SecurityTier.Enhanced, report.EnforcedTier);
        foreach (var name in new[] { "filesystem", "processes", "terminals", "network" })
        {
            var f = report.Features.Single(f => f.Name == name);
            Assert.False(f.Enforced, name);
            Assert.Contains("applies at tier strict", f.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bubblewrap_arguments_keep_job_control_drop_capabilities_and_hide_after_binding()
    {
        var host = new HostIsolation { BubblewrapAvailable = true, BubblewrapPath = "/usr/bin/bwrap", BubblewrapVersion = "0.8.0" };
        var args = new BubblewrapBackend(host, kernelFilter: null).Launcher(new SandboxSpec
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

    [Fact]
    public void Landlock_keeps_enhanced_but_says_strict_is_not_whole()
    {
        var enhanced = IsolationPlanner.Report(Policy(SecurityTier.Enhanced, restricted: ["/secret"]), Landlock(7));
        Assert.Equal("enhanced: enforced by Landlock ABI 7", enhanced.Summary);
        Assert.Equal(IsolationMechanism.Landlock, enhanced.Mechanism);

        var strict = IsolationPlanner.Report(Policy(SecurityTier.Strict, restricted: ["/secret"]), Landlock(7));
        Assert.Equal(SecurityTier.Enhanced, strict.EnforcedTier);
        Assert.Equal(IsolationMechanism.Landlock, strict.Mechanism);
        Assert.StartsWith("strict requested: NOT enforced, Landlock ABI 7 does not keep processes, unix_sockets; enhanced in force", strict.Summary, StringComparison.Ordinal);
        Assert.True(strict.Features.Single(f => f.Name == "filesystem").Enforced);
        Assert.True(strict.Features.Single(f => f.Name == "terminals").Enforced);
        var processes = strict.Features.Single(f => f.Name == "processes");
        Assert.False(processes.Enforced);
        Assert.Contains("listed in /proc", processes.Detail, StringComparison.Ordinal);
        var network = strict.Features.Single(f => f.Name == "network");
        Assert.True(network.Enforced);
        Assert.StartsWith("none: no network socket can be made (a seccomp filter", network.Detail, StringComparison.Ordinal);
        Assert.Contains("TCP bind and connect are also refused by Landlock ABI 7", network.Detail, StringComparison.Ordinal);
        var allowlist = IsolationPlanner.Report(Policy(SecurityTier.Strict, NetworkPolicy.Allowlist), Landlock(7)).Features.Single(f => f.Name == "network");
        Assert.True(allowlist.Enforced);
        Assert.StartsWith("allowlist requested (example.com): enforced as none", allowlist.Detail, StringComparison.Ordinal);
        Assert.All(strict.Features.Where(f => !f.Enforced), f => Assert.Contains("NOT enforced", f.Detail, StringComparison.Ordinal));

        // Before ABI 6 signals cannot be scoped, and the report says so.
        var old = IsolationPlanner.Report(Policy(SecurityTier.Strict), Landlock(5));
        Assert.Contains("can be signalled", old.Features.Single(f => f.Name == "processes").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Landlock_rules_carve_hidden_places_out_by_granting_their_siblings()
    {
        var tree = new Dictionary<string, string[]>
        {
            ["/"] = ["/usr", "/etc", "/tmp", "/dev", "/home", "/bin"],
            ["/home"] = ["/home/u", "/home/v"],
            ["/home/u"] = ["/home/u/.ssh", "/home/u/notes.txt", "/home/u/orchflow"],
            ["/home/u/orchflow"] = ["/home/u/orchflow/data", "/home/u/orchflow/logs"],
            ["/home/u/orchflow/data"] = ["/home/u/orchflow/data/orchflow.db", "/home/u/orchflow/data/workspaces"],
            ["/tmp"] = ["/tmp/a", "/tmp/b", "/tmp/other"],
            ["/tmp/b"] = ["/tmp/b/.orchflow", "/tmp/b/src"],
        };
        IEnumerable<string> Children(string dir) => tree.GetValueOrDefault(dir, []);
        var spec = new SandboxSpec
        {
            WorkspaceId = "b",
            Level = SandboxLevel.Strict,
            Root = "/tmp/b",
            WorkingDirectory = "/tmp/b",
            ReadOnly = ["/tmp/b/.orchflow", "/home/u/orchflow/data/mcp/agent-1"],
            Writable = ["/home/u/orchflow/data/workspaces/b"],
            Hidden = ["/home/u/orchflow", "/tmp/a"],
            Restricted = ["/home/u/.ssh"],
            PrivateTmp = "/home/u/orchflow/data/sandbox/b/tmp",
            Network = NetworkPolicy.None,
            DeniedFile = "/home/u/orchflow/data/sandbox/denied",
        };
        var rules = LandlockRules.Plan(LandlockBackend.Layers(spec), Children).Select(r => $"{r.Access} {r.Path}").ToList();

        // Readable: what is not on the way to a hidden place, granted whole.
        Assert.Contains("Read /usr", rules);
        Assert.Contains("Read /etc", rules);
        Assert.Contains("Read /home/v", rules);
        Assert.Contains("Read /home/u/notes.txt", rules);
        Assert.Contains("Read /bin", rules);

        // Writable: the root's entries (the root itself only readable: its .orchflow/ must stay read-only), the private
        // /tmp, the shell history; shown: the MCP directory.
        Assert.Contains("Read /tmp/b", rules);
        Assert.Contains("Write /tmp/b/src", rules);
        Assert.DoesNotContain(rules, r => r.StartsWith("Write /tmp/b/.orchflow", StringComparison.Ordinal) || r == "Write /tmp/b");
        Assert.Contains("Write /home/u/orchflow/data/sandbox/b/tmp", rules);
        Assert.Contains("Write /home/u/orchflow/data/workspaces/b", rules);
        Assert.Contains("Read /home/u/orchflow/data/mcp/agent-1", rules);

        // Nothing grants a hidden place, a restricted one, another root, the rest of /tmp or /dev, or any of their ancestors.
        string[] closed = ["/", "/home", "/home/u", "/home/u/orchflow", "/home/u/orchflow/data", "/home/u/orchflow/data/orchflow.db", "/home/u/orchflow/logs", "/home/u/.ssh", "/tmp", "/tmp/a", "/tmp/other", "/dev"];
        foreach (var path in closed)
        {
            Assert.DoesNotContain(rules, r => r.EndsWith(" " + path, StringComparison.Ordinal));
        }

        // No rule sits above a closed place (a rule grants its whole hierarchy).
        foreach (var rule in rules.Select(r => r[(r.IndexOf(' ', StringComparison.Ordinal) + 1)..]))
        {
            Assert.DoesNotContain(closed.Where(c => c != "/"), c => c.StartsWith(rule + "/", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Landlock_confined_level_grants_everything_but_the_policy_and_restricted_paths()
    {
        var tree = new Dictionary<string, string[]>
        {
            ["/"] = ["/usr", "/srv"],
            ["/srv"] = ["/srv/secret", "/srv/www"],
            ["/usr"] = ["/usr/b", "/usr/lib"],
            ["/usr/b"] = ["/usr/b/.orchflow", "/usr/b/src", "/usr/b/README.md"],
        };
        var spec = new SandboxSpec
        {
            WorkspaceId = "b",
            Level = SandboxLevel.Confined,
            Root = "/usr/b",
            WorkingDirectory = "/usr/b",
            ReadOnly = ["/usr/b/.orchflow"],
            Restricted = ["/srv/secret"],
            DeniedFile = "/d",
        };
        var rules = LandlockRules.Plan(LandlockBackend.Layers(spec), d => tree.GetValueOrDefault(d, [])).Select(r => $"{r.Access} {r.Path}").Order(StringComparer.Ordinal);

        // The policy directory is only readable, so its ancestors are readable and their other children writable;
        // the restricted path's siblings are writable and it gets nothing, nor does / above it; /proc and /sys (the
        // kernel's settings and control groups) are only readable.
        Assert.Equal(["Read /proc", "Read /sys", "Read /usr", "Write /srv/www", "Write /usr/b/README.md", "Write /usr/b/src", "Write /usr/lib"], rules);
    }

    [Fact]
    public void Landlock_does_not_grant_the_entries_of_a_crowded_directory_one_by_one_where_they_stay_readable()
    {
        var crowd = Enumerable.Range(0, LandlockRules.MaxSiblingRules + 1).Select(i => $"/tmp/x{i}").Append("/tmp/b").ToArray();
        var tree = new Dictionary<string, string[]> { ["/"] = ["/tmp", "/usr"], ["/tmp"] = crowd, ["/tmp/b"] = ["/tmp/b/.orchflow", "/tmp/b/src"] };
        var spec = new SandboxSpec { WorkspaceId = "b", Level = SandboxLevel.Confined, Root = "/tmp/b", WorkingDirectory = "/tmp/b", ReadOnly = ["/tmp/b/.orchflow"], DeniedFile = "/d" };
        var rules = LandlockRules.Plan(LandlockBackend.Layers(spec), d => tree.GetValueOrDefault(d, [])).Select(r => $"{r.Access} {r.Path}").Order(StringComparer.Ordinal);

        // /tmp is readable as a whole (its entries too); the way to the root is still planned, and the root's own entries are writable.
        Assert.Equal(["Read /", "Write /tmp/b/src", "Write /usr"], rules);
    }

    [Fact]
    public void Landlock_launcher_arguments_apply_the_network_policy_scope_and_private_tmp()
    {
        var backend = Landlock(7, _ => []);
        var args = backend.Launcher(StrictSpec(NetworkPolicy.None) with { PrivateTmp = "/data/sandbox/b/tmp", DeniedFile = "/data/sandbox/denied" });
        var line = string.Join(' ', args);
        Assert.Equal("/opt/orchflow/orchflow-landlock", args[0]);
        Assert.Equal("--", args[^1]);
        Assert.Contains("--net-none", args);
        Assert.Contains("--scope", args);
        Assert.Contains("--own-tty", args);
        Assert.Contains("--dev /dev/null", line, StringComparison.Ordinal);
        Assert.Contains("--setenv TMPDIR /data/sandbox/b/tmp", line, StringComparison.Ordinal);
        Assert.Contains("--rw /p/b", line, StringComparison.Ordinal); // not listed by the (empty) directory lister, but on the way

        var full = Landlock(7, _ => []).Launcher(StrictSpec(NetworkPolicy.Full));
        Assert.DoesNotContain("--net-none", full);
        // Before Landlock's network rules (ABI 4) the seccomp filter alone keeps "none"; before ABI 6 nothing is scoped.
        var old = Landlock(3, _ => []).Launcher(StrictSpec(NetworkPolicy.None));
        Assert.Contains("--net-none", old);
        Assert.DoesNotContain("--scope", old);
        var allowlist = Landlock(7, _ => []).Launcher(StrictSpec(NetworkPolicy.Allowlist));
        Assert.Contains("--net-none", allowlist);
    }

    [Theory]
    [InlineData("api.github.com", 443, true)]
    [InlineData("API.GitHub.com", 22, true)]
    [InlineData("github.com", 443, false)]
    [InlineData("a.example.com", 443, true)]
    [InlineData("b.a.example.com", 8443, true)]
    [InlineData("example.com", 443, false)]
    [InlineData("badexample.com", 443, false)]
    [InlineData("10.0.0.5", 5432, true)]
    [InlineData("10.0.0.5", 5433, false)]
    [InlineData("registry.npmjs.org", 443, true)]
    [InlineData("registry.npmjs.org", 80, false)]
    public void Allow_list_entries_match_names_wildcards_addresses_and_ports(string host, int port, bool allowed)
    {
        string[] list = ["api.github.com", "*.example.com", "10.0.0.5:5432", "registry.npmjs.org:443"];
        var refusal = HostAllowList.Check(list, host.ToLowerInvariant(), port);
        Assert.Equal(allowed, refusal is null);
        if (!allowed)
        {
            Assert.Contains("not in security.allowed_hosts", refusal, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("CONNECT api.github.com:443 HTTP/1.1\r\n\r\n", true, "api.github.com", 443)]
    [InlineData("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", true, "2001:db8::1", 443)]
    [InlineData("GET http://Example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n", false, "example.com", 80)]
    [InlineData("GET http://example.com:8080 HTTP/1.0\r\n\r\n", false, "example.com", 8080)]
    public void Proxy_requests_name_their_host_and_port(string head, bool connect, string host, int port) =>
        Assert.Equal(new ProxyRequest(connect, host, port), ProxyRequest.Parse(System.Text.Encoding.ASCII.GetBytes(head)));

    [Theory]
    [InlineData("CONNECT api.github.com HTTP/1.1\r\n\r\n")] // no port
    [InlineData("GET /relative HTTP/1.1\r\n\r\n")]
    [InlineData("GET https://example.com/ HTTP/1.1\r\n\r\n")]
    [InlineData("GET http://user@evil.com/ HTTP/1.1\r\n\r\n")]
    [InlineData("CONNECT a.com:99999 HTTP/1.1\r\n\r\n")]
    [InlineData("SSH-2.0-OpenSSH\r\n\r\n")]
    public void Anything_else_is_not_a_proxy_request(string head) =>
        Assert.Null(ProxyRequest.Parse(System.Text.Encoding.ASCII.GetBytes(head)));

    [Fact]
    public void An_allowlist_network_is_enforced_through_the_relay_where_it_was_built()
    {
        var backend = new BubblewrapBackend(new HostIsolation { BubblewrapAvailable = true, BubblewrapPath = "/usr/bin/bwrap", BubblewrapVersion = "9.9", NetworkRelay = "/opt/orchflow/orchflow-netproxy" });
        var network = IsolationPlanner.Report(Policy(SecurityTier.Strict, NetworkPolicy.Allowlist), backend).Features.Single(f => f.Name == "network");
        Assert.True(network.Enforced);
        Assert.StartsWith("allowlist: only example.com, through Orchflow's proxy", network.Detail, StringComparison.Ordinal);

        var args = string.Join(' ', backend.Launcher(StrictSpec(NetworkPolicy.Allowlist) with
        {
            PrivateTmp = "/data/sandbox/b/tmp",
            ProxySocket = "/data/sandbox/b/tmp/.orchflow-proxy.sock",
        }));
        Assert.DoesNotContain("--share-net", args, StringComparison.Ordinal);
        Assert.Contains("--ro-bind /opt/orchflow/orchflow-netproxy /tmp/.orchflow-netproxy", args, StringComparison.Ordinal);
        Assert.EndsWith("-- /tmp/.orchflow-netproxy 3128 /tmp/.orchflow-proxy.sock --", args, StringComparison.Ordinal);
    }
}
