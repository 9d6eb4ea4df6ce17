using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Orchflow.Protocol;
using Orchflow.Server.Cli;
using Orchflow.Server.Security;
using Xunit.Abstractions;

namespace Orchflow.Server.Tests;

/// <summary>
/// Isolation claims, tested by attacking them: from processes in workspace B, every attempt of the issue's list against
/// workspace A, for each tier of B. Each attack names the promise of the isolation report it tests, and its outcome is
/// decided on the host where possible (did A's file move, did the listener see a connection, did A's terminal receive
/// the injected line), not on the attacker's word. Every row runs with the daemon as root and as an unprivileged user
/// (<see cref="LabUser"/>); a row whose sandbox or user this machine cannot provide is skipped, saying why. The rules:
/// <list type="bullet">
/// <item>An attack that escapes must be against a promise the workspace's report lists as NOT enforced, or, where the
/// report says there is no operating-system sandbox at all, against a promise only a sandbox keeps
/// (<see cref="SandboxPromises"/>): the report never claims what an attack can break, nor leaves it unsaid.</item>
/// <item>At strict on a machine with bubblewrap, every promise is reported enforced and every attack fails.</item>
/// <item>With Landlock (bubblewrap made unavailable), what Landlock cannot keep is reported not enforced, and every
/// attack on what it keeps fails, Orchflow's socket included.</item>
/// <item>Where the machine cannot enforce the tier (neither mechanism available), the report says so.</item>
/// </list>
/// </summary>
[Collection(IsolationCollection.Name)]
[Trait("Tier", "slow")]
public sealed partial class IsolationEscapeTests(ITestOutputHelper output)
{
    /// <summary>
    /// The (tier, sandbox) pairs of the escape suite. The suite runs each pair for both users, one
    /// <see cref="EscapeRowAttribute"/> per row, and the tamper suite (PolicyTamperTests) each pair with the daemon as
    /// root; both are checked against this list.
    /// </summary>
    public static TheoryData<string, string> Tiers => new()
    {
        { "standard", "bubblewrap" },
        { "enhanced", "bubblewrap" },
        { "strict", "bubblewrap" },
        { "enhanced", "landlock" },
        { "strict", "landlock" },
        { "strict", "none" },
    };

    /// <summary>
    /// The promises only an operating-system sandbox keeps: those the planner itself reports NOT enforced for a strict
    /// workspace (restricted paths, network none) on a machine with no sandbox. A report that says there is no sandbox
    /// at all need not list them one by one; every other escape needs its own NOT enforced line.
    /// </summary>
    public static readonly IReadOnlySet<string> SandboxPromises = IsolationPlanner.Report(
        new SecurityPolicy { Tier = SecurityTier.Strict, AllowedCommands = ["bash"], RestrictedPaths = ["/restricted"], Network = NetworkPolicy.None, AllowedHosts = [] },
        backend: null).Features.Where(f => !f.Enforced).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);

    [RootBubblewrapFact]
    public async Task A_strict_agent_reaches_its_own_MCP_directory_and_socket_and_nothing_else_of_Orchflow()
    {
        await using var lab = await IsolationLab.StartAsync("strict", "bubblewrap");
        Assert.Equal(SecurityTier.Strict, lab.WorkspaceB.Isolation.EnforcedTier);
        var data = lab.Home.Paths.DataDirectory;
        var task = string.Join("; ",
            "cat \"$ORCHFLOW_MCP_CONFIG\" >/dev/null && echo CONFIG-READABLE",
            "test -S \"$ORCHFLOW_MCP_SOCKET\" && echo SOCKET-THERE",
            $"cat {data}/orchflow.db >/dev/null 2>&1 || echo DATABASE-HIDDEN",
            $"cat {lab.Home.Paths.SocketPath} >/dev/null 2>&1; test -S {lab.Home.Paths.SocketPath} || echo MAIN-SOCKET-HIDDEN",
            "echo END-OF-CHECKS");
        var agent = await lab.Client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "b", Type = "command", Task = task });
        var text = await lab.WaitForTextAsync(agent.TerminalId!, "END-OF-CHECKS");
        output.WriteLine(text);
        Assert.Contains("CONFIG-READABLE", text, StringComparison.Ordinal);
        Assert.Contains("SOCKET-THERE", text, StringComparison.Ordinal);
        Assert.Contains("DATABASE-HIDDEN", text, StringComparison.Ordinal);
        Assert.Contains("MAIN-SOCKET-HIDDEN", text, StringComparison.Ordinal);
    }

    [RootBubblewrapFact]
    public async Task A_strict_allow_list_reaches_only_its_listed_host_and_only_through_the_proxy()
    {
        await using var lab = await IsolationLab.StartAsync("strict", "bubblewrap", allowlist: true);
        var network = lab.WorkspaceB.Isolation.Features.Single(f => f.Name == "network");
        output.WriteLine(network.Detail);
        Assert.True(network.Enforced);
        Assert.StartsWith($"allowlist: only 127.0.0.1:{lab.Port}, through Orchflow's proxy", network.Detail, StringComparison.Ordinal);

        // A second host listener, not in the list: nothing may reach it.
        var denied = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        denied.Start();
        try
        {
            int deniedPort = ((System.Net.IPEndPoint)denied.LocalEndpoint).Port;
            var accepted = denied.AcceptSocketAsync();
            int before = lab.Connections;
            var script = lab.WriteScript("allowlist", $$"""
                echo "PROXY=$HTTPS_PROXY"
                exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\n' "$PORT" >&3 && read -r l <&3 && echo "ALLOWED:$l"
                exec 4<>/dev/tcp/127.0.0.1/3128 && printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\n' "{{deniedPort}}" >&4 && read -r l <&4 && echo "DENIED:$l"
                exec 5<>/dev/tcp/127.0.0.1/3128 && printf 'GET http://127.0.0.1:%s/ HTTP/1.1\r\nHost: x\r\n\r\n' "{{deniedPort}}" >&5 && read -r l <&5 && echo "PLAIN:$l"
                exec 6<>/dev/tcp/127.0.0.1/3128 && printf 'CONNECT localhost:%s HTTP/1.1\r\n\r\n' "$PORT" >&6 && read -r l <&6 && echo "BYNAME:$l"
                ( exec 7<>/dev/tcp/127.0.0.1/$PORT ) 2>/dev/null && echo "DIRECT:connected" || echo "DIRECT:refused"
                echo END-OF-CHECKS
                """);
            var terminal = await lab.CreateAsync("b", $"bash {script}", lab.Work);
            var text = await lab.WaitForTextAsync(terminal.Id, "END-OF-CHECKS");
            output.WriteLine(text);
            Assert.Contains("PROXY=http://127.0.0.1:3128", text, StringComparison.Ordinal);
            Assert.Contains("ALLOWED:HTTP/1.1 200", text, StringComparison.Ordinal);
            Assert.Contains("DENIED:HTTP/1.1 403", text, StringComparison.Ordinal);
            Assert.Contains("PLAIN:HTTP/1.1 403", text, StringComparison.Ordinal);
            Assert.Contains("BYNAME:HTTP/1.1 403", text, StringComparison.Ordinal); // "localhost" is not the listed address
            Assert.Contains("DIRECT:refused", text, StringComparison.Ordinal); // the sandbox's loopback is not the host's

            // The host saw the allowed connection, and nothing on the other port.
            await Poll.WithinAsync(() => lab.Connections > before, IsolationLab.Deadline, intervalMs: 20);
            Assert.True(lab.Connections > before, "the allowed host saw no connection");
            Assert.False(accepted.IsCompleted, "a host that is not in allowed_hosts was reached");

            var audit = await lab.Client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = "b", Limit = 1000 });
            Assert.Contains(audit.Entries, e => e.Kind == AuditKind.Refused && e.Rule == "security.allowed_hosts" && e.Message.Contains($"127.0.0.1:{deniedPort}", StringComparison.Ordinal));
        }
        finally
        {
            denied.Stop();
        }
    }

    [Theory]
    [EscapeRow("standard", "bubblewrap", LabUser.RootLabel)]
    [EscapeRow("enhanced", "bubblewrap", LabUser.RootLabel)]
    [EscapeRow("strict", "bubblewrap", LabUser.RootLabel)]
    [EscapeRow("enhanced", "landlock", LabUser.RootLabel)]
    [EscapeRow("strict", "landlock", LabUser.RootLabel)]
    [EscapeRow("strict", "none", LabUser.RootLabel)]
    [EscapeRow("standard", "bubblewrap", LabUser.UnprivilegedLabel)]
    [EscapeRow("enhanced", "bubblewrap", LabUser.UnprivilegedLabel)]
    [EscapeRow("strict", "bubblewrap", LabUser.UnprivilegedLabel)]
    [EscapeRow("enhanced", "landlock", LabUser.UnprivilegedLabel)]
    [EscapeRow("strict", "landlock", LabUser.UnprivilegedLabel)]
    [EscapeRow("strict", "none", LabUser.UnprivilegedLabel)]
    public async Task Escape_attempts_from_B_against_A(string tier, string sandbox, string user)
    {
        var row = Stopwatch.StartNew();
        var runAs = LabUser.For(user);
        await using var lab = await IsolationLab.StartAsync(tier, sandbox, user: runAs);
        var started = row.Elapsed;
        var report = lab.WorkspaceB.Isolation;
        var status = await lab.Client.InvokeAsync<StatusResult>(Methods.Status, new StatusParams());
        int daemonPid = int.Parse(File.ReadAllText(lab.Home.Paths.PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"daemon: {runAs}, pid {daemonPid}; cgroups: {status.Isolation.Cgroups} ({status.Isolation.CgroupsDetail})");
        output.WriteLine($"B: {report.Summary}");
        foreach (var f in report.Features)
        {
            output.WriteLine($"  {(f.Enforced ? "enforced" : "NOT enforced"),-13}{f.Name}: {f.Detail}");
        }

        // The daemon, and so every workspace process, runs as the row's user: its ids, and no capability unless root.
        var daemon = File.ReadAllLines($"/proc/{daemonPid}/status");
        Assert.Equal($"Uid:\t{runAs.Uid}\t{runAs.Uid}\t{runAs.Uid}\t{runAs.Uid}", daemon.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)));
        if (!runAs.IsRoot)
        {
            Assert.Equal("CapEff:\t0000000000000000", daemon.Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal)));
        }

        var results = new List<(Attack Attack, Outcome Outcome)>();
        var (run, skipped) = AttacksFor(runAs.IsRoot);
        foreach (var (attack, why) in skipped)
        {
            output.WriteLine($"{"skipped",-8} {attack.Name,-22} {why}");
        }

        foreach (var attack in run)
        {
            var clock = Stopwatch.StartNew();
            var outcome = await RunAsync(lab, attack);
            results.Add((attack, outcome));
            output.WriteLine($"{(outcome.Escaped ? "ESCAPED" : "blocked"),-8} {attack.Name,-22} {clock.ElapsedMilliseconds,6} ms [{attack.PromiseFor(report)}] {outcome.Evidence}");
        }

        int escaped = results.Count(r => r.Outcome.Escaped);
        output.WriteLine($"{results.Count} attacks, {escaped} escaped, {results.Count - escaped} blocked, {skipped.Count} skipped; {row.Elapsed.TotalSeconds:0.0} s ({started.TotalSeconds:0.0} s to start the lab)");

        // The report never claims what an attack broke, and never leaves it unsaid: an escape is allowed only against a
        // promise the report lists as NOT enforced, or, where the report says there is no operating-system sandbox at
        // all, against one of the promises only a sandbox keeps.
        bool noSandbox = report.Mechanism == IsolationMechanism.None && report.Reasons.Any(r => r.StartsWith("No operating-system sandbox", StringComparison.Ordinal));
        var unsaid = new List<string>();
        foreach (var (attack, outcome) in results.Where(r => r.Outcome.Escaped))
        {
            var promise = attack.PromiseFor(report);
            var claim = report.Features.FirstOrDefault(f => f.Name == promise);
            if (claim is { Enforced: true })
            {
                unsaid.Add($"the report says '{promise}' is enforced, but {attack.Name} escaped: {outcome.Evidence}");
            }
            else if (claim is null && !(noSandbox && SandboxPromises.Contains(promise)))
            {
                unsaid.Add($"{attack.Name} escaped, and the report does not list '{promise}' as NOT enforced{(noSandbox ? $" ('{promise}' is not one of the promises only a sandbox keeps: {string.Join(", ", SandboxPromises)})" : "")}: {outcome.Evidence}");
            }
        }

        Assert.True(unsaid.Count == 0, $"The report of B ({report.Summary}) is not honest:\n" + string.Join("\n", unsaid));

        // Limits the kernel does not hold (no usable control groups: cgroup v1 directories belong to root, so an
        // unprivileged daemon has none here) are said to be held by the daemon's watchdog, and CPU weights not at all.
        if (status.Isolation.Cgroups == "none")
        {
            Assert.Contains("by the daemon's watchdog", report.Features.Single(f => f.Name == "process_limit").Detail, StringComparison.Ordinal);
            Assert.False(report.Features.Single(f => f.Name == "cpu").Enforced);
        }

        if (sandbox == "bubblewrap" && tier != "standard")
        {
            // The row runs only where bubblewrap made a trial sandbox as this user: the daemon must find the same.
            Assert.Equal(IsolationMechanism.Bubblewrap, report.Mechanism);
        }

        if (tier == "strict" && sandbox == "bubblewrap")
        {
            Assert.StartsWith("strict: enforced by bubblewrap", report.Summary, StringComparison.Ordinal);
            Assert.Equal(SecurityTier.Strict, report.EnforcedTier);
            // Every promise enforced; for an unprivileged daemon without control groups, CPU weights cannot be (said above).
            Assert.All(report.Features.Where(f => runAs.IsRoot || status.Isolation.Cgroups != "none" || f.Name != "cpu"), f => Assert.True(f.Enforced, $"{f.Name}: {f.Detail}"));
            Assert.True(escaped == 0, "attacks escaped at strict: " + string.Join("; ", results.Where(r => r.Outcome.Escaped).Select(r => $"{r.Attack.Name}: {r.Outcome.Evidence}")));
        }

        if (sandbox == "landlock")
        {
            // The row runs only where the Landlock launcher confined a trial process as this user: the daemon must use it.
            // What Landlock keeps, it keeps against every attack (the rule above); Orchflow's socket refuses B's processes.
            Assert.Equal(IsolationMechanism.Landlock, report.Mechanism);
            Assert.Equal(SecurityTier.Enhanced, report.EnforcedTier);
            Assert.All(results.Where(r => r.Attack.Promise is "restricted_paths" or "policy_file"), r => Assert.False(r.Outcome.Escaped, $"{r.Attack.Name}: {r.Outcome.Evidence}"));
            if (tier == "strict")
            {
                Assert.All(results.Where(r => r.Attack.PromiseFor(report) is "filesystem" or "terminals"), r => Assert.False(r.Outcome.Escaped, $"{r.Attack.Name}: {r.Outcome.Evidence}"));
                Assert.Matches(@"^strict requested: NOT enforced, Landlock ABI \d+ does not keep processes, unix_sockets; enhanced in force$", report.Summary);
                Assert.False(report.Features.Single(f => f.Name == "processes").Enforced);
                foreach (var name in new[] { "proc-environ", "secret-in-environ", "proc-cwd", "proc-root", "signal", "ptrace", "setuid-copy", "network-none", "network-udp", "orchflow-socket" })
                {
                    var r = results.Single(r => r.Attack.Name == name);
                    Assert.False(r.Outcome.Escaped, $"{name}: {r.Outcome.Evidence}");
                }

                var audit = await lab.Client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = "b", Limit = 1000 });
                Assert.Contains(audit.Entries, e => e.Kind == AuditKind.Refused && e.Message.StartsWith("Refused a connection to Orchflow's socket", StringComparison.Ordinal));
            }
            else
            {
                Assert.StartsWith("enhanced: enforced by Landlock ABI", report.Summary, StringComparison.Ordinal);
            }
        }

        if (tier == "strict" && sandbox == "none")
        {
            Assert.StartsWith("strict requested: NOT enforced, bubblewrap unavailable", report.Summary, StringComparison.Ordinal);
            Assert.Contains("Landlock unavailable (turned off by ORCHFLOW_LANDLOCK=off)", report.Summary, StringComparison.Ordinal);
            Assert.Equal(SecurityTier.Standard, report.EnforcedTier);
            Assert.Contains(report.Reasons, r => r.StartsWith("No operating-system sandbox", StringComparison.Ordinal));
            foreach (var promise in new[] { "filesystem", "processes", "terminals", "network" })
            {
                Assert.False(report.Features.Single(f => f.Name == promise).Enforced, promise);
            }

            // Every launch under less isolation than requested is in B's audit log.
            var audit = await lab.Client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = "b", Limit = 1000 });
            Assert.Contains(audit.Entries, e => e.Kind == AuditKind.NotEnforced);
        }

        if (tier is "enhanced" or "strict")
        {
            // allowed_commands is the daemon's own check: refused at every machine, and each refusal is audited.
            Assert.All(results.Where(r => r.Attack.Promise == "allowed_commands"), r => Assert.False(r.Outcome.Escaped, r.Attack.Name));
            var audit = await lab.Client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = "b", Limit = 1000 });
            Assert.Contains(audit.Entries, e => e.Kind == AuditKind.Refused && e.Rule == "security.allowed_commands" && e.Message.Contains("perl", StringComparison.Ordinal));
        }

        if (tier == "standard")
        {
            Assert.Equal("standard: enforced by the daemon (no operating-system sandbox)", report.Summary);
            Assert.Contains(report.Reasons, r => r.StartsWith("No operating-system sandbox", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The attacks a row runs for the daemon's user, and the ones it skips with the reason, which the row prints: a
    /// root daemon runs every attack. An unprivileged one runs the sandbox and kernel attacks (whose host-side checks
    /// read /proc and the control groups as the test's root, and whose host objects are made as the daemon's user, as
    /// A's would be) but those that say why they need a root daemon (<see cref="Attack.RootDaemonOnly"/>); the daemon
    /// and tool attacks were written against a root daemon and are skipped, saying so.
    /// </summary>
    private static (IReadOnlyList<Attack> Run, IReadOnlyList<(Attack Attack, string Why)> Skipped) AttacksFor(bool daemonIsRoot)
    {
        if (daemonIsRoot)
        {
            return (Attacks, []);
        }

        const string Why = "written against a root daemon: its host-side checks (the daemon's files, sockets and /proc, the tools' state) are not ready for an unprivileged one";
        return ([.. SandboxAttacks, .. KernelAttacks.Where(a => a.RootDaemonOnly is null)],
            [.. KernelAttacks.Where(a => a.RootDaemonOnly is not null).Select(a => (a, a.RootDaemonOnly!)), .. DaemonAttacks.Concat(ToolAttacks).Select(a => (a, Why))]);
    }

    /// <summary>No attack is silently absent from a row: each is run or skipped with its reason, for either user.</summary>
    [Fact]
    public void Every_attack_runs_or_is_skipped_with_its_reason_in_every_row()
    {
        foreach (var daemonIsRoot in new[] { true, false })
        {
            var (run, skipped) = AttacksFor(daemonIsRoot);
            Assert.Equal(Attacks.Select(a => a.Name).Order(StringComparer.Ordinal), run.Concat(skipped.Select(s => s.Attack)).Select(a => a.Name).Order(StringComparer.Ordinal));
            Assert.All(skipped, s => Assert.False(string.IsNullOrWhiteSpace(s.Why), s.Attack.Name));
        }

        Assert.Empty(AttacksFor(daemonIsRoot: true).Skipped);
        Assert.Superset(KernelAttacks.Where(a => a.RootDaemonOnly is null).Select(a => a.Name).ToHashSet(StringComparer.Ordinal), AttacksFor(daemonIsRoot: false).Run.Select(a => a.Name).ToHashSet(StringComparer.Ordinal));
    }

    [Fact]
    public void The_escape_suite_runs_every_pair_of_Tiers_as_root_and_as_the_unprivileged_user()
    {
        var rows = typeof(IsolationEscapeTests).GetMethod(nameof(Escape_attempts_from_B_against_A))!.GetCustomAttributes<EscapeRowAttribute>()
            .Select(r => $"{r.Tier}/{r.Sandbox}/{r.User}");
        var pairs = Tiers.Select(p => $"{p[0]}/{p[1]}");
        var expected = pairs.SelectMany(p => new[] { LabUser.RootLabel, LabUser.UnprivilegedLabel }.Select(u => $"{p}/{u}"));
        Assert.Equal(expected.Order(StringComparer.Ordinal), rows.Order(StringComparer.Ordinal));
    }

    // ---- The attacks ----

    /// <param name="Promise">The report's feature the attack tests.</param>
    /// <param name="Script">A bash script run in a terminal of B; it ends with "RESULT: ESCAPED …" or "RESULT: BLOCKED …".</param>
    /// <param name="Custom">An attack driven from outside (launch requests, races), instead of a script.</param>
    /// <param name="HostEvidence">Decides the outcome on the host, after the script ran: true when the attack had its effect.</param>
    /// <param name="WhenReady">Done by the test when the script prints READY (typing into A while B listens).</param>
    /// <param name="SandboxedPromise">The promise at stake instead when B runs in a sandbox, whose view is then the wall.</param>
    /// <param name="RootDaemonOnly">Why the attack is judged only with a root daemon; the unprivileged rows skip it, saying this.</param>
    public sealed record Attack(
        string Name,
        string Promise,
        string? Script = null,
        Func<IsolationLab, Task<Outcome>>? Custom = null,
        Func<IsolationLab, Task<bool>>? HostEvidence = null,
        Func<IsolationLab, Task>? WhenReady = null,
        Action<IsolationLab>? Cleanup = null,
        string? SandboxedPromise = null,
        string? RootDaemonOnly = null)
    {
        /// <summary>The promise at stake for a workspace with this report (some attacks meet another wall inside a sandbox).</summary>
        public string PromiseFor(WorkspaceIsolation report) =>
            SandboxedPromise is not null && report.Mechanism != IsolationMechanism.None ? SandboxedPromise : Promise;
    }

    public sealed record Outcome(bool Escaped, string Evidence);

    /// <summary>
    /// Every attack, grouped by the boundary of docs/threat-model.md it tries: the workspace's own view of files,
    /// processes, terminals and network (here), the daemon and the tools it runs, and the kernel's own interfaces
    /// (IsolationEscapeTests.*.cs).
    /// </summary>
    private static Attack[] Attacks => [.. SandboxAttacks, .. DaemonAttacks, .. KernelAttacks, .. ToolAttacks];

    private static readonly Attack[] SandboxAttacks =
    [
        new("read-absolute", "filesystem", """
            c=$(cat "$A/secret.txt" 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "read $A/secret.txt" || blocked "$c"
            """),
        new("write-absolute", "filesystem", """
            out=$( { echo pwned > "$A/pwned-abs"; } 2>&1 ) && escaped "wrote $A/pwned-abs" || blocked "$out"
            """, HostEvidence: lab => Task.FromResult(File.Exists(Path.Combine(lab.A, "pwned-abs")))),
        new("dotdot-traversal", "filesystem", """
            c=$(cat ../../A/secret.txt 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "read ../../A/secret.txt" || blocked "$c"
            """),
        new("symlink", "filesystem", """
            ln -sfn "$A/secret.txt" link-secret 2>/dev/null
            c=$(cat link-secret 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "read through a symlink in B" || blocked "$c"
            """),
        new("hard-link", "filesystem", """
            out=$(ln -f "$A/secret.txt" hard-secret 2>&1) || blocked "$out"
            c=$(cat hard-secret 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "read through a hard link in B" || blocked "$c"
            """),
        new("rename-into-B", "filesystem", """
            out=$(mv "$A/rename-me.txt" ./stolen 2>&1) && escaped "moved A's file into B" || blocked "$out"
            """,
            HostEvidence: lab => Task.FromResult(!File.Exists(Path.Combine(lab.A, "rename-me.txt"))),
            Cleanup: lab =>
            {
                if (!File.Exists(Path.Combine(lab.A, "rename-me.txt")))
                {
                    File.WriteAllText(Path.Combine(lab.A, "rename-me.txt"), lab.FileSecret + "\n");
                    lab.Own(Path.Combine(lab.A, "rename-me.txt"));
                }
            }),
        new("proc-environ", "processes", """
            e=$(grep -lz "^A_TOKEN=$ENV_SECRET" /proc/[0-9]*/environ 2>/dev/null | head -1)
            [ -n "$e" ] && escaped "read A's environment in $e" || blocked "no readable environment holds A's token"
            """),
        new("secret-in-own-env", "secrets", """
            env | grep -q -e "$DAEMON_SECRET" -e "$ENV_SECRET" && escaped "A's secret is in B's own environment" || blocked "B's environment holds no secret of A"
            """),
        new("secret-in-environ", "processes", """
            e=$(grep -lz -e "$DAEMON_SECRET" /proc/[0-9]*/environ 2>/dev/null | head -1)
            [ -n "$e" ] && escaped "read A's daemon secret in $e" || blocked "no readable environment holds A's daemon secret"
            """),
        new("secret-in-files", "filesystem", """
            hit=$(grep -rls --exclude-dir=attacks -e "$DAEMON_SECRET" "$DATA" "$(dirname "$B")" 2>/dev/null | head -1)
            [ -n "$hit" ] && escaped "A's daemon secret is readable in $hit" || blocked "no readable file holds A's daemon secret"
            """),
        new("proc-cwd", "processes", """
            c=$(cat "/proc/$ECHOER_PID/cwd/secret.txt" 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "read through /proc/$ECHOER_PID/cwd" || blocked "$c"
            """),
        new("proc-root", "processes", """
            c=$(cat "/proc/$ECHOER_PID/root$A/secret.txt" 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "read through /proc/$ECHOER_PID/root" || blocked "$c"
            """),
        new("proc-fd", "terminals", """
            t=$(readlink "/proc/$ECHOER_PID/fd/0" 2>&1); [[ $t == /dev/pts/* ]] && escaped "A's terminal is $t, through /proc/$ECHOER_PID/fd/0" || blocked "$t"
            """),
        new("open-other-pts", "terminals", """
            mine=$(readlink /proc/self/fd/0)
            for p in /dev/pts/[0-9]*; do
              [ -e "$p" ] && [ "$p" != "$mine" ] || continue
              if { exec 3<>"$p"; } 2>/dev/null; then exec 3>&-; escaped "opened $p"; fi
            done
            blocked "no other terminal can be opened; /dev/pts holds: $(ls /dev/pts | tr '\n' ' ')"
            """),
        new("read-typed-input", "terminals", """
            pts=$(readlink "/proc/$SLEEPER_PID/fd/0" 2>/dev/null)
            [[ $pts == /dev/pts/* ]] || blocked "A's terminal cannot be found (${pts:-no link})"
            ( timeout 5 cat "$pts" > "cap.$MARK" 2>"caperr.$MARK" & )
            sleep 0.3; echo READY
            for i in $(seq 50); do grep -q "TYPED-$MARK" "cap.$MARK" 2>/dev/null && escaped "read what was typed into A's $pts"; sleep 0.1; done
            blocked "read nothing typed into A: $(cat "caperr.$MARK" 2>/dev/null)"
            """,
            WhenReady: lab => lab.TypeAsync(lab.Sleeper.Id, $"TYPED-{lab.Mark}\r")),
        new("inject-input", "terminals", """
            pts=$(readlink "/proc/$ECHOER_PID/fd/0" 2>/dev/null)
            [[ $pts == /dev/pts/* ]] || blocked "A's terminal cannot be found (${pts:-no link})"
            out=$(perl -e 'open(my $t, "+<", $ARGV[0]) or die "open $ARGV[0]: $!\n"; for my $c (split //, "INJECTED-$ARGV[1]\n") { ioctl($t, 0x5412, $c) or die "TIOCSTI: $!\n" } print "pushed input into $ARGV[0]\n"' "$pts" "$MARK" 2>&1) && escaped "$out" || blocked "$out"
            """,
            HostEvidence: async lab =>
            {
                // The echoer prints each line it reads, in order: the injected line shows there only if it reached A's
                // input, and it would have been read before a line typed into A after the attack ended.
                var after = "AFTER-" + Guid.NewGuid().ToString("N");
                await lab.TypeAsync(lab.Echoer.Id, after + "\r");
                var text = await lab.WaitForTextAsync(lab.Echoer.Id, "got:" + after);
                return text.Contains($"got:INJECTED-{lab.Mark}", StringComparison.Ordinal);
            }),
        new("signal", "processes", """
            out=$(kill -0 "$SLEEPER_PID" 2>&1) && escaped "kill -0 $SLEEPER_PID succeeded" || blocked "$out"
            """),
        new("ptrace", "processes", """
            out=$(perl -e 'my $r = syscall(101, 0x4206, $ARGV[0] + 0, 0, 0); if ($r == 0) { print "seized\n"; exit 0 } print "ptrace: $!\n"; exit 1' "$SLEEPER_PID" 2>&1) && escaped "PTRACE_SEIZE of $SLEEPER_PID: $out" || blocked "$out"
            """),
        new("orchflow-data", "filesystem", """
            out=$(ls -A "$DATA" 2>&1); [[ $out == *orchflow.db* ]] && escaped "listed $DATA: $(echo $out)" || blocked "$(echo $out)"
            """),
        new("orchflow-socket", "filesystem", """
            out=$(perl -MIO::Socket::UNIX -e '
              my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
              my $body = q({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"attacker"}}});
              print $s "Content-Length: " . length($body) . "\r\n\r\n" . $body; $s->flush;
              my $r = ""; while (sysread($s, my $chunk, 65536)) { $r .= $chunk; last if $r =~ /\r\n\r\n.*\}\s*$/s; }
              if ($r =~ /"result"/) { print "the daemon served initialize\n"; exit 0 }
              $r =~ s/^.*?\r\n\r\n//s; print "refused: ", substr($r, 0, 240), "\n"; exit 1' "$SOCK" 2>&1) && escaped "$SOCK: $out" || blocked "$out"
            """),
        new("network-none", "network", """
            out=$( { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>&1 ) && escaped "connected to 127.0.0.1:$PORT" || blocked "$out"
            """),
        new("network-udp", "network", """
            out=$( { echo "$MARK" > "/dev/udp/127.0.0.1/$UDP_PORT"; } 2>&1 ) && escaped "sent a datagram to 127.0.0.1:$UDP_PORT" || blocked "$out"
            """),
        new("setuid-copy", "processes", """
            cp /bin/bash ./suid-bash 2>/dev/null && chmod u+s ./suid-bash 2>/dev/null
            cap=$(./suid-bash -p -c 'grep CapEff /proc/self/status' 2>&1)
            [[ $cap == *CapEff:*0000000000000000* ]] && blocked "a setuid copy runs without capabilities ($cap)" || escaped "a setuid copy runs with ${cap//$'\t'/ }"
            """),
        new("unmount-hiding", "filesystem", """
            if [ "$(readlink /proc/self/ns/mnt)" = "$HOST_MNT" ]; then
              c=$(cat "$A/secret.txt" 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "nothing hides A (same mount namespace as the host)" || blocked "$c"
            fi
            umount -l "$A" 2>/dev/null; umount -l /tmp 2>/dev/null
            unshare -rm sh -c "umount -l /tmp; cat '$A/secret.txt'" 2>/dev/null | grep -q "$FILE_SECRET" && escaped "read A after unmounting in a nested namespace"
            c=$(cat "$A/secret.txt" 2>&1); [[ $c == *"$FILE_SECRET"* ]] && escaped "read A after unmounting" || blocked "$c"
            """),
        new("restricted-path", "restricted_paths", """
            c=$(cat "$R/secret.txt" 2>&1); [[ $c == *R-SECRET-* ]] && escaped "read restricted $R/secret.txt" || blocked "$c"
            """),
        new("command-directly", "allowed_commands", Custom: lab => LaunchAsync(lab, "perl -e 'print 42'")),
        new("command-via-shell", "allowed_commands", Custom: lab => LaunchAsync(lab, "sh -c \"perl -e 'print 42'\"")),
        new("command-substitution", "allowed_commands", Custom: lab => LaunchAsync(lab, "cat $(perl -e 'print 42')")),
        new("command-agent", "allowed_commands", Custom: SpawnAgentAsync),
        new("symlink-swap-cwd", "cwd", Custom: SwapCwdAsync, SandboxedPromise: "filesystem"),
        new("leftover-process", "processes", Custom: LeftoverAsync),
        new("edit-own-policy", "policy_file", """
            out=$( { echo '{"workspace":{"id":"b","security":{"tier":"standard"}}}' > "$B/.orchflow/workspace.json"; } 2>&1 ) && escaped "rewrote .orchflow/workspace.json" || e1=$out
            out=$( { rm -f "$B/.orchflow/workspace.json" && echo '{}' > "$B/.orchflow/workspace.json"; } 2>&1 ) && escaped "replaced .orchflow/workspace.json" || e2=$out
            out=$(mv "$B/.orchflow" "$B/.orchflow-moved" 2>&1) && escaped "moved .orchflow away" || blocked "$e1; $e2; $out"
            """,
            HostEvidence: lab => Task.FromResult(!File.Exists(lab.BConfigPath) || File.ReadAllText(lab.BConfigPath) != lab.BConfig()),
            Cleanup: lab =>
            {
                var moved = Path.Combine(lab.B, ".orchflow-moved");
                if (Directory.Exists(moved))
                {
                    Directory.Delete(Path.Combine(lab.B, ".orchflow"), recursive: true);
                    Directory.Move(moved, Path.Combine(lab.B, ".orchflow"));
                }

                File.WriteAllText(lab.BConfigPath, lab.BConfig());
                lab.Own(lab.BConfigPath);
            }),
    ];

    private static async Task<Outcome> RunAsync(IsolationLab lab, Attack attack)
    {
        try
        {
            if (attack.Custom is not null)
            {
                return await attack.Custom(lab);
            }

            int connectionsBefore = lab.Connections;
            var script = lab.WriteScript(attack.Name, attack.Script!.Replace("$HOST_MNT", HostMountNamespace(), StringComparison.Ordinal));
            var terminal = await lab.CreateAsync("b", $"bash {script}", lab.Work);
            if (attack.WhenReady is not null)
            {
                var shown = await lab.WaitForTextAsync(terminal.Id, "RE"); // READY, or RESULT when it gave up early
                if (shown.Contains("READY", StringComparison.Ordinal))
                {
                    await attack.WhenReady(lab);
                }
            }

            await lab.WaitForExitAsync(terminal);
            var text = await lab.ReadAsync(terminal.Id);
            var verdict = Regex.Match(text, @"RESULT: (ESCAPED|BLOCKED) ?(.*)");
            Assert.True(verdict.Success, $"{attack.Name} printed no verdict; the attack did not run as written:\n{text}");
            bool escaped = verdict.Groups[1].Value == "ESCAPED";
            string evidence = verdict.Groups[2].Value.Trim();
            if (attack.Name == "network-none")
            {
                // The listener decides: a "connection" to a loopback of the sandbox's own is not one to the host.
                bool reached = lab.Connections > connectionsBefore;
                escaped = reached;
                evidence = reached ? evidence : $"the host's listener saw no connection ({evidence})";
            }
            else if (attack.Name == "network-udp")
            {
                // Likewise the host's socket: a datagram sent on a loopback of the sandbox's own never arrives there.
                bool reached = await lab.DatagramReceivedAsync(lab.Mark);
                evidence = reached ? evidence : $"the host's socket received no datagram ({evidence})";
                escaped = reached;
            }
            else if (attack.HostEvidence is not null)
            {
                bool effect = await attack.HostEvidence(lab);
                evidence = effect == escaped ? evidence : $"the host shows {(effect ? "the effect" : "no effect")} ({evidence})";
                escaped = effect;
            }

            await lab.KillAsync(terminal.Id);
            return new Outcome(escaped, evidence);
        }
        finally
        {
            attack.Cleanup?.Invoke(lab);
        }
    }

    /// <summary>Asks the daemon to launch a --cmd terminal in B; escaping is being allowed to start.</summary>
    private static async Task<Outcome> LaunchAsync(IsolationLab lab, string command)
    {
        try
        {
            var t = await lab.CreateAsync("b", command);
            await lab.KillAsync(t.Id);
            return new Outcome(true, $"`{command}` was launched");
        }
        catch (RemoteFailure e) when (e.Code == ErrorCodes.NotAllowed)
        {
            return new Outcome(false, e.Message);
        }
    }

    private static async Task<Outcome> SpawnAgentAsync(IsolationLab lab)
    {
        try
        {
            var agent = await lab.Client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "b", Type = "command", Task = "perl -e 'print 42'" });
            await lab.Client.InvokeAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = agent.Id });
            return new Outcome(true, $"agent {agent.Id} running `perl` was spawned");
        }
        catch (RemoteFailure e) when (e.Code == ErrorCodes.NotAllowed)
        {
            return new Outcome(false, e.Message);
        }
    }

    /// <summary>
    /// Swaps B/work/sw between a directory and a symlink to A as fast as it can, while terminals are requested with cwd B/work/sw:
    /// one that starts in A (and can read its secret) escaped the check that the directory is inside B.
    /// </summary>
    private static async Task<Outcome> SwapCwdAsync(IsolationLab lab)
    {
        var script = lab.WriteScript("swapper", """
            end=$((SECONDS + 20))
            while [ $SECONDS -lt $end ]; do
              rm -rf sw; mkdir sw; sleep 0.001; rm -rf sw; ln -s "$A" sw; sleep 0.001
            done
            """);
        var swapper = await lab.CreateAsync("b", $"bash {script}", lab.Work);
        int started = 0, refused = 0;
        try
        {
            for (int i = 0; i < 40; i++)
            {
                TerminalInfo t;
                try
                {
                    t = await lab.CreateAsync("b", "cat secret.txt", Path.Combine(lab.Work, "sw"));
                }
                catch (RemoteFailure)
                {
                    refused++;
                    continue;
                }

                started++;
                await lab.WaitForExitAsync(t);
                var text = await lab.ReadAsync(t.Id);
                await lab.KillAsync(t.Id);
                if (text.Contains(lab.FileSecret, StringComparison.Ordinal))
                {
                    return new Outcome(true, $"a terminal asked for B/work/sw started in A and read its secret (try {i + 1})");
                }
            }
        }
        finally
        {
            await lab.KillAsync(swapper.Id);
        }

        return new Outcome(false, $"40 tries: {refused} refused (outside B or swapped while starting), {started} started, none inside A");
    }

    /// <summary>A daemonized process (new session, double fork, renamed) that should not survive its terminal.</summary>
    private static async Task<Outcome> LeftoverAsync(IsolationLab lab)
    {
        var marker = "leftover-" + lab.Mark;
        var script = lab.WriteScript("leftover", $"""
            ( setsid bash -c 'exec -a {marker} sleep 100000' & )
            sleep 0.3; echo READY; sleep 100000
            """);
        var t = await lab.CreateAsync("b", $"bash {script}");
        await lab.WaitForTextAsync(t.Id, "READY");
        var started = Find(marker);
        Assert.NotEmpty(started); // it did start

        // Killing is synchronous (the session, and the workspace's control group where there is one), and a namespace's
        // processes die with its init. Allow the kernel a moment to deliver the kill, and longer to tear a namespace
        // down: a process in the test's own PID namespace has nothing left that could still end it.
        bool ownNamespace = started.All(pid => new FileInfo($"/proc/{pid}/ns/pid").LinkTarget == new FileInfo("/proc/self/ns/pid").LinkTarget);
        await lab.KillAsync(t.Id);
        await Poll.WithinAsync(() => Find(marker).Count == 0, TimeSpan.FromSeconds(ownNamespace ? 0.5 : 3));
        var left = Find(marker);
        foreach (var pid in left)
        {
            Hosting.Native.Kill(pid, 9);
        }

        return left.Count > 0
            ? new Outcome(true, $"pid {string.Join(", ", left)} ({marker}) still ran after B's terminal was killed")
            : new Outcome(false, "nothing of B's terminal survived it");

        static List<int> Find(string marker)
        {
            var found = new List<int>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out var pid))
                {
                    try
                    {
                        var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                        if (cmdline.StartsWith(marker, StringComparison.Ordinal))
                        {
                            found.Add(pid);
                        }
                    }
                    catch (IOException)
                    {
                    }
                }
            }

            return found;
        }
    }

    private static string HostMountNamespace()
    {
        var link = new FileInfo("/proc/self/ns/mnt").LinkTarget ?? "";
        return link;
    }

    /// <summary>
    /// One row of the escape suite: B's tier, the sandbox the daemon may use, and who runs the daemon. Skipped, with the
    /// reason, where this machine cannot give the row its sandbox or its user (measured by <see cref="LabUser.MissingFor"/>),
    /// so a missing backend never shows as a passing row.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    private sealed class EscapeRowAttribute : Xunit.Sdk.DataAttribute
    {
        public EscapeRowAttribute(string tier, string sandbox, string user)
        {
            Tier = tier;
            Sandbox = sandbox;
            User = user;
            Skip = LabUser.MissingFor(sandbox, user);
        }

        public string Tier { get; }

        public string Sandbox { get; }

        public string User { get; }

        public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[Tier, Sandbox, User]];
    }

    /// <summary>Runs where the root daemon gets bubblewrap sandboxes; skipped, saying why, elsewhere.</summary>
    private sealed class RootBubblewrapFactAttribute : FactAttribute
    {
        public RootBubblewrapFactAttribute()
        {
            Skip = LabUser.MissingFor("bubblewrap", LabUser.RootLabel);
        }
    }
}

/// <summary>The isolation tests start daemons and many sandboxes: one at a time, not beside each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolationCollection
{
    public const string Name = "isolation";
}
