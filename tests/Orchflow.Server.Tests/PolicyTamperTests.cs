using System.Text.RegularExpressions;
using Orchflow.Protocol;
using Orchflow.Server.Cli;
using Xunit.Abstractions;

namespace Orchflow.Server.Tests;

/// <summary>
/// Attacks on B's own policy, from a real terminal of B, at every tier and backend of the escape suite: the issue's
/// renamed root (B moves its root aside and puts a folder with a standard config at the old path), rewriting
/// .orchflow/workspace.json in place, and B answering its own pending change through Orchflow's socket (adopting the
/// new root, confirming the weaker policy), pretending to be VS Code. The rule does not depend on the sandbox: the
/// daemon keeps it, so every attack must fail at every tier. Each is judged on the host: B's policy in force (from the
/// daemon, after a reload and a redetect), whether the daemon still launches in the swapped root, and the audit log.
/// </summary>
[Collection(IsolationCollection.Name)]
[Trait("Tier", "slow")]
public sealed class PolicyTamperTests(ITestOutputHelper output)
{
    /// <summary>A JSON-RPC client in perl (B's allowed_commands are bash and cat; what bash runs is not checked): each METHOD PARAMS pair is one call, FINGERPRINT in PARAMS is the last one seen.</summary>
    private const string RpcClient = """
        rpc() {
          SOCK="$SOCK" perl -MIO::Socket::UNIX -e '
            my $s = IO::Socket::UNIX->new(Peer => $ENV{SOCK}) or do { print "no socket: $!\n"; exit 0 };
            my ($id, $buf) = (0, "");
            sub call {
              my ($m, $p) = @_; $id++;
              my $b = qq({"jsonrpc":"2.0","id":$id,"method":"$m","params":$p});
              print $s "Content-Length: " . length($b) . "\r\n\r\n" . $b; $s->flush;
              while (1) {
                if ((my $end = index($buf, "\r\n\r\n")) >= 0) {
                  my ($len) = substr($buf, 0, $end) =~ /Content-Length: (\d+)/i;
                  if (length($buf) >= $end + 4 + $len) {
                    my $msg = substr($buf, $end + 4, $len); $buf = substr($buf, $end + 4 + $len);
                    return $msg if $msg =~ /"id":$id[,}]/; next;
                  }
                }
                my $n = sysread($s, my $chunk, 65536) or return "connection closed";
                $buf .= $chunk;
              }
            }
            my $init = call("initialize", q({"clientInfo":{"name":"vscode","version":"1.99.0"}}));
            if ($init !~ /"result"/) { print "initialize refused: ", substr($init, 0, 300), "\n"; exit 0 }
            my $fp = "";
            while (my ($m, $p) = splice(@ARGV, 0, 2)) {
              $p =~ s/FINGERPRINT/$fp/g;
              my $r = call($m, $p);
              $fp = $1 if $r =~ /"fingerprint":"([0-9a-f]+)"/;
              print "$m: ", substr($r, 0, 400), "\n";
            }' "$@" 2>&1
        }

        """;

    [Theory]
    [TamperRow("standard", "bubblewrap")]
    [TamperRow("enhanced", "bubblewrap")]
    [TamperRow("strict", "bubblewrap")]
    [TamperRow("enhanced", "landlock")]
    [TamperRow("strict", "landlock")]
    [TamperRow("strict", "none")]
    public async Task Nothing_B_does_weakens_its_own_policy(string tier, string sandbox)
    {
        await using var lab = await IsolationLab.StartAsync(tier, sandbox);
        var before = lab.WorkspaceB;
        output.WriteLine($"B: {before.Isolation.Summary}");

        var renamed = await RenamedRootAsync(lab);
        output.WriteLine($"{(renamed.Escaped ? "ESCAPED" : "blocked"),-8} renamed-root      {renamed.Evidence}");
        var rewritten = await RewrittenPolicyAsync(lab);
        output.WriteLine($"{(rewritten.Escaped ? "ESCAPED" : "blocked"),-8} rewrite-and-confirm {rewritten.Evidence}");

        Assert.False(renamed.Escaped, renamed.Evidence);
        Assert.False(rewritten.Escaped, rewritten.Evidence);

        // The check is the daemon's, not the sandbox's, so a person outside Orchflow still can confirm: the lab's own
        // client is the test process, which Orchflow did not start.
        var now = await Show(lab);
        if (now.PendingPolicy is { } pending)
        {
            var confirmed = await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceConfirmPolicy, new WorkspacePolicyDecision { Id = "b", Fingerprint = pending.Fingerprint });
            Assert.Null(confirmed.PendingPolicy);
            var audit = await lab.Client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = "b", Limit = 1000 });
            Assert.Contains(audit.Entries, e => e.Rule == Workspaces.WorkspaceService.ConfirmationRule && e.Message.StartsWith("isolation-lab ", StringComparison.Ordinal) && e.Message.Contains(" confirmed ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_tamper_suite_runs_every_pair_of_Tiers()
    {
        var rows = typeof(PolicyTamperTests).GetMethod(nameof(Nothing_B_does_weakens_its_own_policy))!.GetCustomAttributes(typeof(TamperRowAttribute), inherit: false)
            .Cast<TamperRowAttribute>().Select(r => $"{r.Tier}/{r.Sandbox}");
        var pairs = IsolationEscapeTests.Tiers.Select(p => $"{p[0]}/{p[1]}");
        Assert.Equal(pairs.Order(StringComparer.Ordinal), rows.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The issue's hole 7: B moves its root aside, writes a standard config at the old path, and tries to adopt the
    /// new folder and confirm its policy itself. Escaped: B's tier lowered, or the daemon still launches at the path.
    /// </summary>
    private async Task<IsolationEscapeTests.Outcome> RenamedRootAsync(IsolationLab lab)
    {
        var aside = lab.B + ".aside";
        var script = lab.WriteScript("renamed-root", RpcClient + """
            cd /
            out=$(mv "$B" "$B.aside" 2>&1) || blocked "mv: $out"
            out=$( { mkdir -p "$B/.orchflow" && echo '{"workspace":{"id":"b","security":{"tier":"standard"}}}' > "$B/.orchflow/workspace.json"; } 2>&1) || blocked "moved the root aside, but: $out"
            rpc orchflow/workspace/update '{"id":"b","acceptRoot":true}' orchflow/workspace/show '{"id":"b"}' orchflow/workspace/confirmPolicy '{"id":"b","fingerprint":"FINGERPRINT"}'
            escaped "put a standard config at B's path"
            """);
        try
        {
            var text = await RunAsync(lab, script);
            bool swapped = Directory.Exists(aside);

            // What a person (or the poller) does next: reload the config, redetect. Neither may read the new folder.
            await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceReloadConfig, new WorkspaceRef { Id = "b" });
            string redetect;
            try
            {
                await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceUpdate, new WorkspaceUpdateParams { Id = "b", Redetect = true });
                redetect = "redetected";
            }
            catch (RemoteFailure e)
            {
                redetect = $"redetect refused ({e.Code})";
            }

            var ws = await Show(lab);
            string launch;
            try
            {
                var t = await lab.CreateAsync("b", "cat /dev/null");
                await lab.KillAsync(t.Id);
                launch = "launched";
            }
            catch (RemoteFailure e) when (e.Code == ErrorCodes.NotAllowed)
            {
                launch = e.Message;
            }

            var evidence = $"{Verdict(text)}; on the host: root {(swapped ? "swapped" : "in place")}, tier {Lower(ws.Security.Tier)} ({ws.Isolation.Summary}), {redetect}, launch: {launch}";
            bool lowered = ws.Security.Tier < lab.WorkspaceB.Security.Tier || ws.Isolation.EnforcedTier < lab.WorkspaceB.Isolation.EnforcedTier;
            if (!swapped)
            {
                return new(lowered, evidence);
            }

            // The folder was swapped: the daemon must say so, keep the policy, and refuse to launch there.
            var problem = ws.RootProblem;
            bool seen = problem is { Kind: RootProblemKind.Replaced }
                && problem.Message == $"root replaced: the folder at {lab.B} is not the one registered (device:inode changed); run `orchflow workspace update b --accept-root` to adopt it, as a person";
            bool refused = launch.Contains(problem?.Message ?? "root replaced", StringComparison.Ordinal) && redetect.StartsWith("redetect refused", StringComparison.Ordinal);
            var audit = await lab.Client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = "b", Limit = 1000 });
            bool audited = audit.Entries.Any(e => e.Rule == Workspaces.WorkspaceService.RootRule && e.Message.StartsWith("The root replaced", StringComparison.Ordinal))
                && audit.Entries.Any(e => e.Kind == AuditKind.Refused && e.Rule == Workspaces.WorkspaceService.RootRule);

            // B's own attempt to adopt the folder reached the daemon only where the socket is reachable; it must have been refused.
            bool adoptedByB = text.Contains("orchflow/workspace/update: ", StringComparison.Ordinal) && !text.Contains("Only a person can adopt", StringComparison.Ordinal);
            return new(lowered || !seen || !refused || !audited || adoptedByB,
                $"{evidence}; state {(seen ? "shown" : $"NOT shown ({problem?.Message ?? "none"})")}, {(audited ? "audited" : "NOT audited")}{(adoptedByB ? "; B adopted its own folder" : "")}");
        }
        finally
        {
            if (Directory.Exists(aside))
            {
                Directory.Delete(lab.B, recursive: true);
                Directory.Move(aside, lab.B);
            }

            await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceReloadConfig, new WorkspaceRef { Id = "b" });
            Assert.Null((await Show(lab)).RootProblem);
        }
    }

    /// <summary>
    /// B rewrites its config to the weakest policy (where .orchflow/ is writable to it) and then confirms the change
    /// itself through Orchflow's socket. Escaped: B's policy in force is weaker afterwards.
    /// </summary>
    private async Task<IsolationEscapeTests.Outcome> RewrittenPolicyAsync(IsolationLab lab)
    {
        var weakest = """{"workspace":{"id":"b","security":{"tier":"standard","network":"full"}}}""";
        var script = lab.WriteScript("rewrite-and-confirm", RpcClient + $$"""
            out=$( { echo '{{weakest}}' > "$B/.orchflow/workspace.json"; } 2>&1 ) && wrote="rewrote the config" || wrote="could not rewrite the config ($out)"
            sleep 1.5 # the daemon's poller reads it
            rpc orchflow/workspace/show '{"id":"b"}' orchflow/workspace/confirmPolicy '{"id":"b","fingerprint":"FINGERPRINT"}' orchflow/workspace/confirmPolicy '{"id":"b","fingerprint":"FINGERPRINT","reject":true}'
            escaped "$wrote"
            """);
        bool rewrote = false;
        try
        {
            var text = await RunAsync(lab, script);
            rewrote = File.ReadAllText(lab.BConfigPath).Contains("\"network\":\"full\"", StringComparison.Ordinal);
            var ws = await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceReloadConfig, new WorkspaceRef { Id = "b" });
            var held = lab.WorkspaceB.Security;
            bool weaker = Workspaces.PolicyChange.Weakenings(held, ws.Security).Count > 0;
            var evidence = $"{Verdict(text)}; on the host: config {(rewrote ? "rewritten" : "unchanged")}, policy in force {Workspaces.PolicyChange.Describe(ws.Security)}"
                + (ws.PendingPolicy is { } p ? $", pending: {string.Join("; ", p.Changes)}{(p.RejectedAt is null ? "" : $" (rejected by {p.RejectedBy})")}" : "");

            // Where B reached the daemon, it was told why not; and a change B wrote is shown, not applied.
            bool answeredByB = text.Contains("orchflow/workspace/confirmPolicy: ", StringComparison.Ordinal);
            bool refusedToB = !answeredByB || Regex.Matches(text, @"Only a person can (confirm a workspace(\\u0027|')s weaker policy|answer a workspace(\\u0027|')s policy change): process \d+ was started by Orchflow").Count == 2;
            bool shown = !rewrote || ws.PendingPolicy is { RejectedAt: null };
            return new(weaker || !refusedToB || !shown, evidence + (refusedToB ? "" : "; the daemon did not refuse B's confirmation") + (shown ? "" : "; the rewritten config is not shown as pending"));
        }
        finally
        {
            if (!rewrote)
            {
                // Where B could not write the file, the rest of the test needs a pending change: a person's edit.
                File.WriteAllText(lab.BConfigPath, weakest);
                await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceReloadConfig, new WorkspaceRef { Id = "b" });
            }
        }
    }

    private static async Task<string> RunAsync(IsolationLab lab, string script)
    {
        var terminal = await lab.CreateAsync("b", $"bash {script}", lab.Work);
        await lab.WaitForExitAsync(terminal);
        var text = await lab.ReadAsync(terminal.Id);
        await lab.KillAsync(terminal.Id);
        return text;
    }

    private static string Verdict(string text)
    {
        var verdict = Regex.Match(text, @"RESULT: (ESCAPED|BLOCKED) ?(.*)");
        Assert.True(verdict.Success, $"the attack printed no verdict; it did not run as written:\n{text}");
        var answers = Regex.Matches(text, @"^orchflow/workspace/\w+: .*$", RegexOptions.Multiline).Select(m => m.Value.Length > 200 ? m.Value[..200] + "…" : m.Value);
        var socket = Regex.Match(text, @"^(no socket|initialize refused).*$", RegexOptions.Multiline);
        return $"B says: {verdict.Groups[1].Value.ToLowerInvariant()} {verdict.Groups[2].Value.Trim()}"
            + (socket.Success ? $" | {socket.Value}" : "") + string.Concat(answers.Select(a => " | " + a));
    }

    private static Task<WorkspaceInfo> Show(IsolationLab lab) => lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "b" });

    private static string Lower(SecurityTier tier) => tier.ToString().ToLowerInvariant();

    /// <summary>
    /// One row of the tamper suite: B's tier and the sandbox the root daemon may use. Skipped, with the reason, where this
    /// machine cannot give the row its sandbox (<see cref="LabUser.MissingFor"/>): the daemon would fall back to another,
    /// and the row would pass for a sandbox it never ran.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    private sealed class TamperRowAttribute : Xunit.Sdk.DataAttribute
    {
        public TamperRowAttribute(string tier, string sandbox)
        {
            Tier = tier;
            Sandbox = sandbox;
            Skip = LabUser.MissingFor(sandbox, LabUser.RootLabel);
        }

        public string Tier { get; }

        public string Sandbox { get; }

        public override IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod) => [[Tier, Sandbox]];
    }
}
