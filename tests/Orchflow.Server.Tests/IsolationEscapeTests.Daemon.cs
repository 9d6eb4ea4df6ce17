using System.Text.RegularExpressions;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Tests;

/// <summary>
/// The daemon as attack surface (docs/threat-model.md): its sockets, its files, its process and the .NET runtime's own
/// endpoints, attacked from B as an agent gone wrong would, each against the report's promise "daemon". Every attack
/// that can be judged on the host is: did A get a terminal, did A's memory get the key, did the test's listener see a
/// connection through another workspace's proxy.
/// </summary>
public sealed partial class IsolationEscapeTests
{
    private static readonly Attack[] DaemonAttacks =
    [
        new("diagnostics-daemon", "daemon", Custom: lab => DiagnosticsAsync(lab, "diagnostics-daemon", lab.DaemonPid)),
        new("diagnostics-mcp-of-A", "daemon", Custom: async lab => await DiagnosticsAsync(lab, "diagnostics-mcp-of-A", await lab.McpServerOfAAsync())),
        new("main-socket", "daemon", Custom: MainSocketAsync),
        new("proxy-socket-of-C", "daemon", Custom: ProxySocketAsync),
        new("mcp-forged-token", "daemon", Custom: lab => McpTokenAsync(lab, stolen: false)),
        new("mcp-stolen-token", "daemon", Custom: lab => McpTokenAsync(lab, stolen: true)),
        new("daemon-files", "daemon", Custom: DaemonFilesAsync),
        new("daemon-proc", "daemon", Custom: DaemonProcAsync),
        new("socket-hijack", "daemon", Custom: SocketHijackAsync),
        new("pid-file", "daemon", Custom: PidFileAsync),
    ];

    /// <summary>
    /// No Orchflow process has a diagnostics endpoint, judged on the host: not the daemon (started here from an environment
    /// that asks for diagnostics), not an agent's <c>orchflow mcp</c>. The test process itself has one, which shows that
    /// the check finds them.
    /// </summary>
    [Fact]
    public async Task No_Orchflow_process_has_a_dotnet_diagnostics_endpoint_whatever_its_environment_says()
    {
        await using var lab = await IsolationLab.StartAsync("standard", "bubblewrap");
        if (!RuntimeDiagnostics.IsClosed)
        {
            Assert.NotEmpty(RuntimeDiagnostics.Endpoints(Environment.ProcessId));
        }

        Assert.Empty(RuntimeDiagnostics.Endpoints(lab.DaemonPid));
        AssertDiagnosticsClosed(await lab.McpServerOfAAsync());

        // A daemon started by a CLI whose environment turns diagnostics on, and the other variables that open them.
        await using var other = new DaemonHome();
        var started = await Orchflow.RunWithAsync(other.Home, null, new Dictionary<string, string>
        {
            [RuntimeDiagnostics.Variable] = "1",
            ["DOTNET_EnableDiagnostics_IPC"] = "1",
            ["COMPlus_EnableDiagnostics"] = "1",
        }, "daemon", "start");
        Assert.True(started.ExitCode == 0, started.Stderr);
        int pid = int.Parse(File.ReadAllText(other.Home.Paths.PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        AssertDiagnosticsClosed(pid);
    }

    /// <summary>An Orchflow process started by Orchflow: no diagnostics endpoint, and the variable that closes them in its environment.</summary>
    private static void AssertDiagnosticsClosed(int pid)
    {
        Assert.Empty(RuntimeDiagnostics.Endpoints(pid));
        Assert.Contains($"{RuntimeDiagnostics.Variable}=0", File.ReadAllText($"/proc/{pid}/environ").Split('\0'));
    }

    /// <summary>
    /// The main socket's check of who connects, apart from the hiding that keeps Orchflow's sandboxes away from it: a
    /// process in another PID namespace, and one carrying no_new_privs, are refused wherever they reach the socket from
    /// (here, its real path), while an ordinary client is served.
    /// </summary>
    [PeerCheckFact]
    public async Task The_main_socket_refuses_a_process_in_another_PID_namespace_or_with_no_new_privs_however_it_reaches_it()
    {
        await using var d = new DaemonHome();
        var started = await Orchflow.RunAsync(d.Home, "daemon", "start");
        Assert.True(started.ExitCode == 0, started.Stderr);

        Assert.Contains("\"result\"", await InitializeFromAsync(d, []), StringComparison.Ordinal);
        var otherNamespace = await InitializeFromAsync(d, ["unshare", "--pid", "--fork"]);
        Assert.Contains("(its PID namespace pid:[", otherNamespace, StringComparison.Ordinal); // the JSON escapes the apostrophes around
        var marked = await InitializeFromAsync(d, ["setpriv", "--no-new-privs"]);
        Assert.Contains("it carries no_new_privs", marked, StringComparison.Ordinal);
        var log = File.ReadAllText(d.Home.Paths.LogFile);
        Assert.Equal(2, log.Split('\n').Count(l => l.Contains("Refused a connection to Orchflow's socket from a process of no known workspace", StringComparison.Ordinal)));
    }

    /// <summary>
    /// Without control groups (which name a process's workspace), a refused client is still written into its workspace's
    /// audit log: the daemon finds the workspace by the process's ancestry, up to the terminal it runs in.
    /// </summary>
    [LandlockFact]
    public async Task A_refused_sandboxed_client_is_audited_in_its_workspace_without_control_groups()
    {
        await using var d = new DaemonHome();
        var started = await Orchflow.RunWithAsync(d.Home, null, new Dictionary<string, string>
        {
            [Security.HostProbe.BubblewrapVariable] = "/nonexistent/bwrap",
            [Limits.CgroupProbe.Variable] = "off",
        }, "daemon", "start");
        Assert.True(started.ExitCode == 0, started.Stderr);
        var b = d.Home.Project("B", (".orchflow/workspace.json", """{"workspace":{"id":"b","security":{"tier":"enhanced"}}}"""), ("work/.keep", ""));
        await using var client = await Cli.DaemonClient.ConnectAsync(d.Home.Paths, autoStart: false, "audit-test");
        var ws = await client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = b });
        Assert.Equal(IsolationMechanism.Landlock, ws.Isolation.Mechanism);
        var terminal = await client.InvokeAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams
        {
            WorkspaceId = "b",
            Cwd = Path.Combine(b, "work"),
            Command = $"{InitializeScript} '{d.Home.Paths.SocketPath}'; sleep 100000",
        });

        await Poll.UntilAsync(
            () => client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = "b", Limit = 100 }),
            audit => audit.Entries.Any(e => e.Kind == AuditKind.Refused && e.Message.StartsWith("Refused a connection to Orchflow's socket: process ", StringComparison.Ordinal)),
            async _ => "B's audit log has no refused connection; B's terminal shows:\n"
                + (await client.InvokeAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = terminal.Id })).Text,
            IsolationLab.Deadline);

        await client.InvokeAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = terminal.Id });
    }

    /// <summary>
    /// A daemon that carries no_new_privs itself (started from a service with NoNewPrivileges, say) cannot tell Landlock's
    /// sandboxes from anyone else at its socket. The report says so, with the tier that follows, and it is true: a process
    /// of B is served.
    /// </summary>
    [LandlockFact]
    public async Task Under_Landlock_a_daemon_that_carries_no_new_privs_itself_reports_its_socket_open_to_sandboxes()
    {
        await using var d = new DaemonHome();
        var psi = Orchflow.StartInfo(d.Home, ["daemon", "start"]);
        psi.ArgumentList.Insert(0, psi.FileName);
        psi.ArgumentList.Insert(0, "--no-new-privs");
        psi.FileName = "setpriv";
        psi.Environment[Security.HostProbe.BubblewrapVariable] = "/nonexistent/bwrap";
        using (var start = System.Diagnostics.Process.Start(psi)!)
        {
            using var cts = new CancellationTokenSource(IsolationLab.Deadline);
            await start.WaitForExitAsync(cts.Token);
            Assert.True(start.ExitCode == 0, await start.StandardError.ReadToEndAsync());
        }

        var b = d.Home.Project("B", (".orchflow/workspace.json", """{"workspace":{"id":"b","security":{"tier":"enhanced"}}}"""), ("work/.keep", ""));
        await using var client = await Cli.DaemonClient.ConnectAsync(d.Home.Paths, autoStart: false, "marked-daemon-test");
        var ws = await client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceCreate, new WorkspaceCreateParams { Path = b });
        var promise = ws.Isolation.Features.Single(f => f.Name == "daemon");
        Assert.False(promise.Enforced, promise.Detail);
        Assert.StartsWith("NOT enforced, the daemon itself runs with no_new_privs", promise.Detail, StringComparison.Ordinal);
        Assert.Equal(SecurityTier.Standard, ws.Isolation.EnforcedTier);

        var terminal = await client.InvokeAsync<TerminalInfo>(Methods.TerminalCreate, new TerminalCreateParams
        {
            WorkspaceId = "b",
            Cwd = Path.Combine(b, "work"),
            Command = $"{InitializeScript} '{d.Home.Paths.SocketPath}'; echo END-OF-CHECK; sleep 100000",
        });
        var text = await Poll.UntilAsync(
            async () => (await client.InvokeAsync<TerminalReadResult>(Methods.TerminalRead, new TerminalReadParams { Id = terminal.Id })).Text,
            shown => shown.Contains("END-OF-CHECK", StringComparison.Ordinal),
            shown => shown,
            IsolationLab.Deadline);

        Assert.Contains("\"result\"", text, StringComparison.Ordinal);
        await client.InvokeAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = terminal.Id });
    }

    [Theory]
    [InlineData(true, false, "pid:[1]", "pid:[1]", null)]
    [InlineData(true, true, "pid:[1]", "pid:[1]", "carries no_new_privs")]
    [InlineData(true, false, "pid:[2]", "pid:[1]", "its PID namespace pid:[2] is not the daemon's pid:[1]")]
    [InlineData(true, false, null, "pid:[1]", "cannot be read")]
    [InlineData(false, false, "pid:[1]", "pid:[1]", "ended before it could be checked")]
    [InlineData(true, null, "pid:[1]", "pid:[1]", "ended before it could be checked")]
    public void A_peer_is_judged_by_its_marks(bool stillThere, bool? noNewPrivs, string? pidNamespace, string daemonPidNamespace, string? refusal)
    {
        var judged = Security.SandboxedPeers.Judge(42, stillThere, noNewPrivs, pidNamespace, daemonPidNamespace);
        if (refusal is null)
        {
            Assert.Null(judged);
        }
        else
        {
            Assert.Contains(refusal, judged, StringComparison.Ordinal);
        }
    }

    /// <summary>Sends initialize on the socket named by its argument and prints the answer.</summary>
    private const string InitializeScript = """perl -MIO::Socket::UNIX -e 'my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n"; my $b = q({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}); print $s "Content-Length: " . length($b) . "\r\n\r\n" . $b; $s->flush; my $r = ""; while (sysread($s, my $c, 65536)) { $r .= $c; last if $r =~ /\r\n\r\n\{.*\}\s*$/s } print "$r\n"'""";

    private static async Task<string> InitializeFromAsync(DaemonHome d, string[] prefix)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"{string.Join(' ', prefix)} {InitializeScript} '{d.Home.Paths.SocketPath}' 2>&1");
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(IsolationLab.Deadline);
        await p.WaitForExitAsync(cts.Token);
        return output;
    }

    /// <summary>Needs a sandbox mechanism (the check applies only where there are sandboxes), unshare and setpriv.</summary>
    private sealed class PeerCheckFactAttribute : FactAttribute
    {
        public PeerCheckFactAttribute()
        {
            var host = Security.HostProbe.Current();
            if (!host.BubblewrapAvailable && !host.LandlockAvailable)
            {
                Skip = "neither bubblewrap nor Landlock can run here, so the daemon has no sandboxes and checks no peers";
            }
            else if (!File.Exists("/usr/bin/unshare") || !File.Exists("/usr/bin/setpriv"))
            {
                Skip = "unshare and setpriv (util-linux) are needed to make the peers";
            }
        }
    }

    /// <summary>Needs the Landlock launcher and a kernel with Landlock.</summary>
    private sealed class LandlockFactAttribute : FactAttribute
    {
        public LandlockFactAttribute()
        {
            var host = Security.HostProbe.For(null, Path.Combine(AppContext.BaseDirectory, Security.HostProbe.LandlockLauncherName));
            if (!host.LandlockAvailable)
            {
                Skip = $"Landlock cannot run here: {host.LandlockProblem}";
            }
        }
    }

    /// <summary>
    /// Finds the target's diagnostics socket as an attacker does (its name from the start time in /proc/&lt;pid&gt;/stat, or
    /// by listing /tmp where /proc does not show the target) and sends a real diagnostics IPC request (ProcessInfo); the
    /// runtime's answer is the escape. The debugger's pipe, which a debugger writes to, counts too.
    /// </summary>
    private static Task<Outcome> DiagnosticsAsync(IsolationLab lab, string name, int pid) => RunAsync(lab, new Attack(name, "daemon", $$$"""
        PID={{{pid}}}
        st=$(sed 's/.*) //' "/proc/$PID/stat" 2>/dev/null | cut -d' ' -f20)
        found=""
        for s in ${st:+/tmp/dotnet-diagnostic-$PID-$st-socket} /tmp/dotnet-diagnostic-$PID-*-socket; do
          [ -S "$s" ] || continue
          found="$found $s"
          out=$(perl -MIO::Socket::UNIX -e '
            my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
            print $s "DOTNET_IPC_V1\0" . pack("vCCv", 20, 0x04, 0x00, 0); $s->flush;
            my $r = ""; while (length($r) < 20 && sysread($s, my $c, 65536)) { $r .= $c }
            die "no answer (" . length($r) . " bytes)\n" unless length($r) >= 20 && substr($r, 0, 14) eq "DOTNET_IPC_V1\0";
            my ($size, $set, $id) = unpack("vCC", substr($r, 14, 4));
            while (length($r) < $size && sysread($s, my $c, 65536)) { $r .= $c }
            die sprintf("the runtime answered command set 0x%02x, id 0x%02x\n", $set, $id) unless $set == 0xFF && $id == 0;
            my ($n) = unpack("V", substr($r, 44, 4)); my $cmd = substr($r, 48, 2 * $n); $cmd =~ s/\0//g;
            printf "the runtime answered ProcessInfo: pid %d, command line %s\n", unpack("Q<", substr($r, 20, 8)), $cmd' "$s" 2>&1) && escaped "$s: $out" || last="$s: $out"
        done
        for p in /tmp/clr-debug-pipe-$PID-*-in; do
          [ -p "$p" ] || continue
          found="$found $p"
          perl -e 'use Fcntl; sysopen(my $f, $ARGV[0], O_WRONLY | O_NONBLOCK) or die "$!\n"' "$p" 2>/dev/null && escaped "opened the debugger pipe $p, which the runtime reads"
        done
        blocked "${last:-no diagnostics socket or debugger pipe of pid $PID is visible${found:+ (found:$found)}}"
        """));

    /// <summary>
    /// Orchflow's own CLI from inside B, run the way a person would (`orchflow terminal create --workspace a`), then the
    /// same request written by hand, with and without initialize, on every path to the socket. Judged on the host: did A
    /// get a terminal.
    /// </summary>
    private static async Task<Outcome> MainSocketAsync(IsolationLab lab)
    {
        var dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        int before = await lab.TerminalCountAsync("a");
        var outcome = await RunAsync(lab, new Attack("main-socket", "daemon", $$$"""
            out=$(ORCHFLOW_HOME='{{{lab.Home.Home}}}' timeout 60 '{{{dotnet}}}' '{{{Orchflow.Dll}}}' terminal create --workspace a --cmd 'sleep 4242' 2>&1) && escaped "the CLI created a terminal in A: $(echo $out | tail -c 200)"
            out=$(echo $out | tail -c 300)
            for path in "$SOCK" "/proc/{{{lab.DaemonPid}}}/root$SOCK"; do
              raw=$(perl -MIO::Socket::UNIX -e '
                my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect $ARGV[0]: $!\n";
                sub call { my ($id, $method, $params) = @_; my $b = qq({"jsonrpc":"2.0","id":$id,"method":"$method","params":$params}); print $s "Content-Length: " . length($b) . "\r\n\r\n" . $b; $s->flush;
                  my $r = ""; while (sysread($s, my $c, 65536)) { $r .= $c; last if $r =~ /\r\n\r\n(\{.*\})\s*$/s } $r =~ s/^.*?\r\n\r\n//s; return $r }
                my $create = q({"workspaceId":"a","command":"sleep 4343"});
                my $r1 = call(1, "{{{Methods.TerminalCreate}}}", $create);
                my $r2 = call(2, "{{{Methods.Initialize}}}", q({"clientInfo":{"name":"attacker"}}));
                my $r3 = call(3, "{{{Methods.TerminalCreate}}}", $create);
                for ($r1, $r3) { if (/"result"/) { print "terminal created: ", substr($_, 0, 200), "\n"; exit 0 } }
                print "refused: ", substr($r1, 0, 160), " / ", substr($r2, 0, 240), "\n"; exit 1' "$path" 2>&1) && escaped "$path: $raw" || last="$last $path: $raw;"
            done
            blocked "the CLI: $(echo $out); by hand:$last"
            """,
            HostEvidence: async l => await l.TerminalCountAsync("a") > before));
        foreach (var t in (await lab.Client.InvokeAsync<TerminalListResult>(Methods.TerminalList, new TerminalListParams { WorkspaceId = "a" })).Terminals.Skip(before))
        {
            await lab.KillAsync(t.Id);
        }

        return outcome;
    }

    /// <summary>
    /// Another workspace's network proxy (C, strict with an allow-list naming the test's listener), asked to relay to
    /// that listener: by the path the daemon uses, and by listing Orchflow's sandbox directory. Judged by the listener.
    /// </summary>
    private static async Task<Outcome> ProxySocketAsync(IsolationLab lab)
    {
        var socket = await lab.ProxySocketOfCAsync();
        var known = socket ?? Path.Combine(lab.Home.Paths.DataDirectory, "sandbox", "c", "tmp", Security.NetworkProxy.SocketName);
        int before = lab.Connections;
        return await RunAsync(lab, new Attack("proxy-socket-of-C", "daemon", $$$"""
            for s in '{{{known}}}' "$DATA"/sandbox/*/tmp/{{{Security.NetworkProxy.SocketName}}}; do
              [[ $s == */sandbox/b/* ]] && continue
              [ -S "$s" ] || { last="$last $s: $(stat -c %F "$s" 2>&1);"; continue; }
              out=$(perl -MIO::Socket::UNIX -e '
                my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
                print $s "CONNECT 127.0.0.1:$ARGV[1] HTTP/1.1\r\n\r\n"; $s->flush; my $l = <$s>; print $l // "no answer\n"; exit($l =~ / 200 / ? 0 : 1)' "$s" "$PORT" 2>&1) && escaped "$s relayed: $out" || last="$last $s: $out;"
            done
            blocked "{{{(socket is null ? "no proxy socket exists on this machine (no bubblewrap relay); " : "")}}}$last"
            """,
            HostEvidence: l => Task.FromResult(l.Connections > before)));
    }

    /// <summary>
    /// The MCP socket, as an agent of B (which is given the MCP socket and its own token): a store into memory with a
    /// forged token, or with the token of A's agent read from Orchflow's data directory. Judged by A's (and B's) memory.
    /// </summary>
    private static Task<Outcome> McpTokenAsync(IsolationLab lab, bool stolen)
    {
        var name = stolen ? "mcp-stolen-token" : "mcp-forged-token";
        var key = $"pwned-{name}-{lab.Mark}";
        var token = stolen
            ? """
              token=$(cat "$DATA"/agents/a/*.mcp/token 2>/dev/null | head -1)
              [ -n "$token" ] || blocked "no token of A's agents is readable: $(ls "$DATA/agents/a" 2>&1 | head -3)"
              """
            : "token=forged-$MARK";
        return RunAsAgentAsync(lab, new Attack(name, "daemon", $$$"""
            {{{token}}}
            sock=${ORCHFLOW_MCP_SOCKET:-'{{{lab.Home.Paths.McpSocketPath}}}'}
            out=$(perl -MIO::Socket::UNIX -e '
              my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect $ARGV[0]: $!\n";
              sub call { my ($id, $method, $params) = @_; my $b = qq({"jsonrpc":"2.0","id":$id,"method":"$method","params":$params}); print $s "Content-Length: " . length($b) . "\r\n\r\n" . $b; $s->flush;
                my $r = ""; while (sysread($s, my $c, 65536)) { $r .= $c; last if $r =~ /\r\n\r\n(\{.*\})\s*$/s } $r =~ s/^.*?\r\n\r\n//s; return $r }
              call(1, "{{{Methods.Initialize}}}", q({"clientInfo":{"name":"attacker"}}));
              my $r = call(2, "{{{Methods.McpMemoryStore}}}", qq({"token":"$ARGV[1]","key":"{{{key}}}","value":"stolen"}));
              if ($r =~ /"result"/) { print "stored: ", substr($r, 0, 200), "\n"; exit 0 } print "refused: ", substr($r, 0, 240), "\n"; exit 1' "$sock" "$token" 2>&1) && escaped "$out" || blocked "$out"
            """,
            HostEvidence: async l => await l.MemoryHasAsync("a", key) || await l.MemoryHasAsync("b", key)));
    }

    /// <summary>The daemon's log and database, read where they are: their content proves the read (its pid, A's root).</summary>
    private static Task<Outcome> DaemonFilesAsync(IsolationLab lab) => RunAsync(lab, new Attack("daemon-files", "daemon", $$$"""
        log='{{{lab.Home.Paths.LogFile}}}'
        c=$(cat "$log" 2>&1); [[ $c == *"starting, pid {{{lab.DaemonPid}}}"* ]] && hits="$hits read the daemon's log $log;" || why="$why $(echo "$c" | head -c 120);"
        cat "$DATA"/orchflow*.db 2>/dev/null | grep -qaF -- "$A" && hits="$hits read A's root in $DATA/orchflow.db;" || why="$why $(head -c 1 "$DATA/orchflow.db" 2>&1 >/dev/null | head -c 120);"
        [ -n "$hits" ] && escaped "$hits" || blocked "$why"
        """));

    /// <summary>The daemon's process through /proc: its environment, its descriptors (the database it holds open) and its memory (its stack, where the environment lives).</summary>
    private static Task<Outcome> DaemonProcAsync(IsolationLab lab) => RunAsync(lab, new Attack("daemon-proc", "daemon", $$$"""
        P=/proc/{{{lab.DaemonPid}}}; HOMEVAR='ORCHFLOW_HOME={{{lab.Home.Home}}}'
        tr '\0' '\n' < $P/environ 2>/dev/null | grep -qxF "$HOMEVAR" && hits="$hits environ holds $HOMEVAR;" || why="$why environ: $(head -c 1 $P/environ 2>&1 >/dev/null);"
        ls -l $P/fd/ 2>/dev/null | grep -q 'orchflow\.db' && hits="$hits fd holds orchflow.db;" || why="$why fd: $(ls $P/fd 2>&1 >/dev/null | head -c 100);"
        m=$(perl -e '
          open(my $maps, "<", "$ARGV[0]/maps") or die "maps: $!\n"; my ($lo, $hi);
          while (<$maps>) { ($lo, $hi) = (hex($1), hex($2)) if /^([0-9a-f]+)-([0-9a-f]+) r.*\[stack\]/ }
          defined $lo or die "no stack in maps\n";
          open(my $mem, "<", "$ARGV[0]/mem") or die "mem: $!\n"; sysseek($mem, $lo, 0) or die "seek: $!\n";
          my $n = sysread($mem, my $buf, $hi - $lo) or die "read: $!\n";
          index($buf, $ARGV[1]) >= 0 or die "read $n bytes without the environment\n"; print "read $n bytes of its stack\n"' $P "$HOMEVAR" 2>&1) && hits="$hits mem: $m;" || why="$why mem: $m;"
        [ -n "$hits" ] && escaped "$hits" || blocked "$why"
        """));

    /// <summary>
    /// Orchflow's socket moved aside and another bound in its place: the next VS Code window or CLI call would talk to B
    /// (and hand it, say, the value of <c>orchflow secret set</c>). Judged on the host: does a new client still reach the
    /// daemon at the socket's path. The daemon's socket is put back afterwards.
    /// </summary>
    private static async Task<Outcome> SocketHijackAsync(IsolationLab lab)
    {
        var socket = lab.Home.Paths.SocketPath;
        var aside = $"{socket}.aside-{lab.Mark}";
        return await RunAsync(lab, new Attack("socket-hijack", "daemon", $$$"""
            aside='{{{aside}}}'
            out=$(mv "$SOCK" "$aside" 2>&1) || blocked "$out"
            perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die "bind: $!\n"' "$SOCK" 2>/dev/null \
              && escaped "moved Orchflow's socket aside to $aside and bound $SOCK in its place: the next client talks to B" \
              || escaped "moved Orchflow's socket aside to $aside: no new client reaches the daemon"
            """,
            HostEvidence: async _ => !await DaemonAnswersAtAsync(socket),
            Cleanup: _ =>
            {
                if (File.Exists(aside))
                {
                    File.Delete(socket);
                    File.Move(aside, socket);
                }
            }));
    }

    /// <summary>The daemon's pid file rewritten, so that <c>orchflow daemon stop</c> would signal another process. Judged by the file; put back afterwards.</summary>
    private static async Task<Outcome> PidFileAsync(IsolationLab lab)
    {
        var pidFile = lab.Home.Paths.PidFile;
        var real = File.ReadAllText(pidFile);
        return await RunAsync(lab, new Attack("pid-file", "daemon", $$$"""
            out=$( { echo 1 > '{{{pidFile}}}'; } 2>&1 ) && escaped "rewrote {{{pidFile}}}: orchflow daemon stop would now signal pid 1" || blocked "$out"
            """,
            HostEvidence: _ => Task.FromResult(File.ReadAllText(pidFile) != real),
            Cleanup: _ => File.WriteAllText(pidFile, real)));
    }

    /// <summary>Whether a new client at <paramref name="socketPath"/> reaches Orchflow's daemon (it answers initialize as "orchflow").</summary>
    private static async Task<bool> DaemonAnswersAtAsync(string socketPath)
    {
        try
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath), cts.Token);
            var body = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}""";
            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n{body}"), cts.Token);
            var answer = new System.Text.StringBuilder();
            var buffer = new byte[65536];
            int n;
            while (!answer.ToString().Contains("\"serverInfo\"", StringComparison.Ordinal) && (n = await socket.ReceiveAsync(buffer, cts.Token)) > 0)
            {
                answer.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, n));
            }

            return answer.ToString().Contains("\"name\":\"orchflow\"", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Runs an attack script as an agent of B (command type), which the daemon gives what agents get: its MCP directory and socket, its token.</summary>
    private static async Task<Outcome> RunAsAgentAsync(IsolationLab lab, Attack attack)
    {
        var script = lab.WriteScript(attack.Name, attack.Script!);
        var agent = await lab.Client.InvokeAsync<AgentInfo>(Methods.AgentSpawn, new AgentSpawnParams { WorkspaceId = "b", Type = "command", Task = $"bash {script}" });
        try
        {
            var verdict = await Poll.UntilAsync(
                async () => Regex.Match(await lab.ReadAsync(agent.TerminalId!), @"RESULT: (ESCAPED|BLOCKED) ?(.*?)\r?\n"),
                match => match.Success,
                async _ => $"{attack.Name} printed no verdict; the attack did not run as written:\n{await lab.ReadAsync(agent.TerminalId!)}",
                IsolationLab.Deadline);

            bool escaped = verdict.Groups[1].Value == "ESCAPED";
            string evidence = verdict.Groups[2].Value.Trim();
            if (attack.HostEvidence is not null)
            {
                bool effect = await attack.HostEvidence(lab);
                evidence = effect == escaped ? evidence : $"the host shows {(effect ? "the effect" : "no effect")} ({evidence})";
                escaped = effect;
            }

            return new Outcome(escaped, evidence);
        }
        finally
        {
            await lab.Client.InvokeAsync<AgentRemoveResult>(Methods.AgentRemove, new AgentRef { Id = agent.Id });
        }
    }
}
