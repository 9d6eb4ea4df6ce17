using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchflow.Protocol;

namespace Orchflow.Server.Tests;

/// <summary>
/// The kernel's own interfaces and shared kernel objects, attacked from B: kernel settings (a daemon running as root
/// gives B uid 0, which the kernel checks for /proc/sys, capabilities or not), the kernel log, modules, mounts, the
/// control groups that hold B's limits, other workspaces' named and abstract Unix sockets, System V shared memory and
/// the kernel keyrings. Each is judged on the host: the host's sysctl value, the attacker's control groups and mounts
/// read from the host's /proc, the test's own listeners, segment and key (whose secrets B's scripts are never told).
/// Whatever an attack changes on the host is put back by its cleanup, even when it fails; no attack writes a trigger
/// to /proc/sysrq-trigger, dumps a core or forks without bound.
/// </summary>
public sealed partial class IsolationEscapeTests
{
    private static readonly Attack[] KernelAttacks =
    [
        new("core-pattern", "kernel_interfaces", Custom: lab => SysctlAsync(lab, "core-pattern", "kernel/core_pattern", """
            evil="$B/work/core-$MARK.sh"; printf '#!/bin/sh\ntouch "%s"\n' "$B/work/pwned-core-$MARK" > "$evil"; chmod +x "$evil"
            out=$( { printf '|%s %%p' "$evil" > /proc/sys/kernel/core_pattern; } 2>&1 ) && escaped "set kernel.core_pattern to $(cat /proc/sys/kernel/core_pattern): the host would run $evil as root at the next crash" || blocked "$out"
            """)),
        new("sysctl-uid-checked", "kernel_interfaces", Custom: lab => SysctlAsync(lab, "sysctl-uid-checked", "fs/lease-break-time", """
            f=/proc/sys/fs/lease-break-time; v=$(cat $f)
            out=$( { echo $((v + 1)) > $f; } 2>&1 ) && escaped "set fs.lease-break-time from $v to $(cat $f) (checked by uid, not capability)" || blocked "$out"
            """)),
        new("sysrq-trigger", "kernel_interfaces", """
            # Never written: opening it for writing is the whole probe (a written character would act on the host).
            [ -e /proc/sysrq-trigger ] || blocked "/proc/sysrq-trigger does not exist here (kernel without magic SysRq)"
            out=$(perl -e 'use Fcntl; sysopen(my $t, "/proc/sysrq-trigger", O_WRONLY) or die "open for writing: $!\n"; close $t; print "opened for writing (nothing written)\n"' 2>&1) && escaped "/proc/sysrq-trigger $out" || blocked "$out"
            """),
        new("kernel-log", "kernel_interfaces", """
            # /dev/kmsg and syslog(2) READ_ALL do not consume the log; /proc/kmsg would, so it is only opened.
            out=$(perl -e '
              use Fcntl; my @got;
              if (sysopen(my $k, "/dev/kmsg", O_RDONLY|O_NONBLOCK)) { my $n = sysread($k, my $rec, 8192); push @got, "/dev/kmsg: " . substr($rec, 0, 60) if $n && $n > 0; push @why, "/dev/kmsg read: $!" unless $n && $n > 0 } else { push @why, "/dev/kmsg: $!" }
              if (sysopen(my $p, "/proc/kmsg", O_RDONLY|O_NONBLOCK)) { push @got, "/proc/kmsg opened" } else { push @why, "/proc/kmsg: $!" }
              my $buf = "\0" x 4096; my $n = syscall(103, 3, $buf, 4096); if ($n > 0) { push @got, "syslog(2) read " . substr($buf, 0, 60) } else { push @why, "syslog(2): $!" }
              if (@got) { print join("; ", @got), "\n"; exit 0 } print join("; ", @why), "\n"; exit 1' 2>&1)
            [ $? = 0 ] && escaped "read the kernel log: ${out//[^[:print:]]/ }" || blocked "$out"
            """),
        new("kernel-modules", "kernel_interfaces", """
            # Harmless with the right: /dev/null is no module, and no module has this name. EPERM means no right.
            out=$(perl -e '
              open(my $f, "<", "/dev/null") or die "$!\n"; my $empty = ""; my $name = "orchflow_none_$ARGV[0]";
              my $r1 = syscall(313, fileno($f), $empty, 0); my $e1 = $! + 0; my $m1 = "$!";
              my $r2 = syscall(176, $name, 0); my $e2 = $! + 0; my $m2 = "$!";
              print "finit_module: $m1; delete_module: $m2\n"; exit((($e1 == 1 || $e1 == 38) && ($e2 == 1 || $e2 == 38)) ? 1 : 0)' "$MARK" 2>&1)
            # EPERM: no right; ENOSYS: a kernel without loadable modules.
            [ $? = 0 ] && escaped "passed the module loader's permission check ($out)" || blocked "$out"
            """),
        new("remount", "kernel_interfaces", Custom: RemountAsync, Cleanup: lab => Unmount(Path.Combine(lab.Work, "mnt-" + lab.Mark))),
        new("cgroup-leave", "control_groups", Custom: CgroupLeaveAsync, Cleanup: lab => KillMarked(lab.Mark)),
        new("cgroup-raise-limit", "control_groups", Custom: CgroupRaiseLimitAsync),
        new("cgroup-fork-bomb", "control_groups", Custom: ForkBombAsync, RootDaemonOnly: ForkBombNeedsCgroups, Cleanup: lab =>
        {
            KillMarked(lab.Mark);
            File.WriteAllText(lab.BConfigPath, lab.BConfig());
        }),
        new("cgroup-clone3", "control_groups", Custom: Clone3Async, Cleanup: lab => KillMarked(lab.Mark)),
        new("unix-socket-named", "unix_sockets", Custom: NamedSocketAsync),
        new("unix-socket-abstract", "network", Custom: AbstractSocketAsync),
        new("sysv-shm", "ipc", Custom: SharedMemoryAsync),
        new("keyring", "ipc", Custom: KeyringAsync),
    ];

    /// <summary>
    /// Runs a script that writes a sysctl from B and judges by the host's value of that sysctl, which the cleanup puts
    /// back (written again only when it changed).
    /// </summary>
    private static async Task<Outcome> SysctlAsync(IsolationLab lab, string name, string sysctl, string script)
    {
        var path = "/proc/sys/" + sysctl;
        var before = File.ReadAllText(path);
        return await RunAsync(lab, new Attack(name, "kernel_interfaces", script,
            HostEvidence: _ => Task.FromResult(File.ReadAllText(path) != before),
            Cleanup: _ =>
            {
                if (File.ReadAllText(path) != before)
                {
                    File.WriteAllText(path, before.TrimEnd('\n'));
                }
            }));
    }

    /// <summary>Mounts (and remounts read-write what the sandbox made read-only), judged by the attacker's mount table read from the host.</summary>
    private static async Task<Outcome> RemountAsync(IsolationLab lab)
    {
        var mnt = Path.Combine(lab.Work, "mnt-" + lab.Mark);
        Directory.CreateDirectory(mnt);
        return await HeldAsync(lab, "remount", $$"""
            out=$(mount -t tmpfs "orchflow-$MARK" "{{mnt}}" 2>&1) && say "mounted a tmpfs on {{mnt}}" || say "$out"
            # Only what is read-only where B stands (its sandbox's own mounts): a remount of the host's, at standard, would change the host.
            for m in $(awk '$5 ~ /^\/(proc\/sys|sys)(\/|$)/ && $6 ~ /^ro(,|$)/ { print $5 }' /proc/self/mountinfo | sort -u); do
              out=$(mount -o remount,bind,rw "$m" 2>&1) && say "remounted $m read-write" || say "$m: $out"
            done
            unshare -rm sh -c 'mount -o remount,bind,rw /proc/sys && echo x > /proc/sys/fs/lease-break-time' 2>/dev/null && say "remounted /proc/sys in a nested namespace"
            """,
            (pid, _) =>
            {
                // The mount on top at each mount point (a later line covers an earlier one at the same place).
                var mounts = File.ReadAllLines($"/proc/{pid}/mountinfo").Select(l => l.Split(' ')).Where(f => f.Length > 5)
                    .GroupBy(f => f[4], StringComparer.Ordinal).Select(g => g.Last()).ToList();
                if (mounts.Any(f => f[4] == mnt))
                {
                    return new Outcome(true, $"a file system was mounted on {mnt} in B's mount namespace");
                }

                // A kernel interface that the sandbox made read-only (a mount of its own) and that is now read-write.
                var writable = mounts.Where(f => (f[4] == "/proc/sys" || f[4].StartsWith("/sys", StringComparison.Ordinal)) && f[5].Split(',').Contains("rw")).Select(f => f[4]).ToList();
                var sandboxMade = mounts.Any(f => f[4] == "/proc/sys");
                return sandboxMade && writable.Count > 0
                    ? new Outcome(true, $"read-write in B's mount namespace: {string.Join(", ", writable)}")
                    : null;
            });
    }

    /// <summary>Writes its own pid into the top group of every hierarchy; judged by its control groups on the host, against a process of B that stayed.</summary>
    private static Task<Outcome> CgroupLeaveAsync(IsolationLab lab) => HeldAsync(lab, "cgroup-leave", """
        ( exec -a "cgref-$MARK" sleep 60 ) &
        sleep 0.2
        moved=""; refused=""
        for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do
          [ -e "$f" ] || continue
          out=$( { echo $$ > "$f"; } 2>&1 ) && moved="$moved ${f%/cgroup.procs}" || refused="$refused; $f: ${out##*: }"
        done
        say "moved itself into:${moved:- none}; refused${refused:-: none}"
        """,
        (pid, lab) => LeftGroups(pid, lab));

    /// <summary>Raises its own group's process limit; judged by pids.max of B's group on the host, put back by the cleanup.</summary>
    private static async Task<Outcome> CgroupRaiseLimitAsync(IsolationLab lab)
    {
        string? limitFile = null;
        string? before = null;
        try
        {
            return await HeldAsync(lab, "cgroup-raise-limit", """
                ( exec -a "cgref-$MARK" sleep 60 ) &
                sleep 0.2
                me=$BASHPID; dir=""
                for d in $(find /sys/fs/cgroup/pids/ /sys/fs/cgroup/ -maxdepth 6 -name cgroup.procs 2>/dev/null); do grep -qx "$me" "$d" 2>/dev/null && { dir=${d%/cgroup.procs}; break; }; done
                [ -n "$dir" ] || dir=/sys/fs/cgroup/pids
                out=$( { echo max > "$dir/pids.max"; } 2>&1 ) && say "raised $dir/pids.max to max" || say "$dir/pids.max: ${out##*: }"
                """,
                (_, lab) =>
                {
                    var reference = Marked("cgref-" + lab.Mark).FirstOrDefault();
                    var group = reference == 0 ? null : CgroupOf(reference).FirstOrDefault(g => g.Controllers.Contains("pids"));
                    if (group is null)
                    {
                        return new Outcome(false, "B's processes are in no pids group here (no process_limit by the kernel)");
                    }

                    if (!File.Exists(CgroupFile(group, "pids.max")))
                    {
                        // The hierarchy's root (a daemon without control groups, as an unprivileged one here): no limit to raise.
                        return new Outcome(false, "B's processes are in the root pids group here (no process_limit by the kernel)");
                    }

                    limitFile = CgroupFile(group, "pids.max");
                    before = lab.WorkspaceB.Metadata.ResourceLimits.ProcessLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var now = File.ReadAllText(limitFile).Trim();
                    return now == before ? null : new Outcome(true, $"{limitFile} is {now}, process_limit is {before}");
                });
        }
        finally
        {
            KillMarked(lab.Mark);
            if (limitFile is not null && before is not null && File.ReadAllText(limitFile).Trim() != before)
            {
                File.WriteAllText(limitFile, before);
            }
        }
    }

    /// <summary>Why the fork bomb is judged only with a root daemon (measured: 30 and 40 of 40 processes ran in the unprivileged rows).</summary>
    private const string ForkBombNeedsCgroups = "it judges process_limit as the kernel keeps it (never more processes than the limit, counted at any instant); an unprivileged daemon has no control groups here (cgroup v1 directories are root's), so its watchdog holds the limit on its next sample instead, after the processes started";

    /// <summary>
    /// With B's process_limit at 20: leaves the groups, then starts 40 sleeping processes (a bounded fork bomb, killed by
    /// the cleanup). Escaped when more processes run than the limit allows, counted on the host.
    /// </summary>
    private static async Task<Outcome> ForkBombAsync(IsolationLab lab)
    {
        const int limit = 20;
        var config = JsonNode.Parse(lab.BConfig())!;
        config["workspace"]!["resources"] = new JsonObject { ["process_limit"] = limit };
        File.WriteAllText(lab.BConfigPath, config.ToJsonString());
        await Poll.UntilAsync(
            async () => (await lab.Client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = "b" })).Metadata.ResourceLimits.ProcessLimit == limit,
            "the daemon took B's process_limit of 20",
            intervalMs: 100,
            deadline: IsolationLab.Deadline);

        return await HeldAsync(lab, "cgroup-fork-bomb", """
            for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do [ -e "$f" ] && { echo 0 > "$f"; } 2>/dev/null; done
            out=$(perl -e 'my $n = 0; for (1..40) { my $p = fork; last unless defined $p; if (!$p) { open(STDOUT, ">", "/dev/null"); open(STDERR, ">", "/dev/null"); exec {"sleep"} "bomb-$ARGV[0]", "60"; exit 127 } $n++ } print "started $n of 40 (process_limit 20)\n"' "$MARK" 2>&1)
            say "$out"
            """,
            (_, lab) =>
            {
                int running = Marked("bomb-" + lab.Mark).Count;
                return new Outcome(running > limit, $"{running} of 40 processes ran under process_limit {limit}");
            });
    }

    /// <summary>clone3 with CLONE_INTO_CGROUP into the top group of each cgroup v2 mount (a read-only mount does not stop it); judged by the child's groups on the host.</summary>
    private static Task<Outcome> Clone3Async(IsolationLab lab) => HeldAsync(lab, "cgroup-clone3", """
        ( exec -a "cgref-$MARK" sleep 60 ) &
        sleep 0.2
        for m in $(awk '$3 == "cgroup2" { print $2 }' /proc/self/mounts); do
          out=$(perl -e '
            use Fcntl; sysopen(my $d, $ARGV[0], O_RDONLY | O_DIRECTORY) or die "open $ARGV[0]: $!\n";
            my $args = pack("Q11", 0x200000000, 0, 0, 0, 17, 0, 0, 0, 0, 0, fileno($d));
            my $pid = syscall(435, $args, length $args);
            if ($pid == 0) { open(STDOUT, ">", "/dev/null"); open(STDERR, ">", "/dev/null"); exec {"sleep"} "cgout-$ARGV[1]", "60"; exit 127 }
            die "clone3: $!\n" if $pid < 0; print "started $pid in $ARGV[0]\n"' "$m" "$MARK" 2>&1)
          say "$out"
        done
        say "cgroup v2 mounts: $(awk '$3 == "cgroup2" { print $2 }' /proc/self/mounts | tr '\n' ' ')"
        """,
        (_, lab) => Marked("cgout-" + lab.Mark) is [var child, ..] ? LeftGroups(child, lab) : new Outcome(false, "no child was started"));

    /// <summary>A listener on a named socket in A's root (the host's); escaped when it accepts a connection from B.</summary>
    private static async Task<Outcome> NamedSocketAsync(IsolationLab lab)
    {
        var path = Path.Combine(lab.A, $"s-{lab.Mark}.sock");
        using var probe = SocketProbe.Listen(new UnixDomainSocketEndPoint(path));
        lab.Own(path); // A's process would be the daemon's user: the socket is that user's, as A's would be
        try
        {
            return await ConnectAsync(lab, "unix-socket-named", path, probe);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A listener on an abstract socket of the host's network namespace; escaped when it accepts a connection from B.</summary>
    private static async Task<Outcome> AbstractSocketAsync(IsolationLab lab)
    {
        var name = "\0orchflow-test-" + lab.Mark;
        using var probe = SocketProbe.Listen(new UnixDomainSocketEndPoint(name));
        return await ConnectAsync(lab, "unix-socket-abstract", name, probe);
    }

    private static async Task<Outcome> ConnectAsync(IsolationLab lab, string name, string address, SocketProbe probe)
    {
        // The address goes in a file: an abstract name starts with a NUL, which no command line can carry.
        var addressFile = Path.Combine(lab.Work, $"{name}-{lab.Mark}.addr");
        File.WriteAllText(addressFile, address);
        var outcome = await RunAsync(lab, new Attack(name, "unix_sockets", $"""
            out=$(perl -MIO::Socket::UNIX -e 'open(my $f, "<", $ARGV[0]) or die "$!\n"; local $/; my $a = <$f>; my $s = IO::Socket::UNIX->new(Peer => $a) or die "connect: $!\n"; print "connected\n"' "{addressFile}" 2>&1) && escaped "$out" || blocked "$out"
            """,
            HostEvidence: _ => Poll.WithinAsync(() => probe.Accepted > 0, TimeSpan.FromSeconds(1), intervalMs: 20)));
        File.Delete(addressFile);
        return outcome;
    }

    /// <summary>A System V shared memory segment made on the host with a secret B's script is not told; escaped when B's output shows the secret.</summary>
    private static async Task<Outcome> SharedMemoryAsync(IsolationLab lab)
    {
        var secret = "SHM-SECRET-" + Guid.NewGuid().ToString("N");
        // Made as the daemon's user, as A's processes would make it.
        var id = HostPerl(lab.User, """use IPC::SysV qw(IPC_PRIVATE IPC_CREAT); my $id = shmget(IPC_PRIVATE, 4096, 0600 | IPC_CREAT) // die "shmget: $!\n"; shmwrite($id, $ARGV[0], 0, length $ARGV[0]) or die "shmwrite: $!\n"; print $id;""", secret);
        try
        {
            return await ReadSecretAsync(lab, "sysv-shm", secret, """
                ids=$(awk 'NR > 1 { print $2 }' /proc/sysvipc/shm 2>/dev/null)
                [ -n "$ids" ] || blocked "no System V segment is listed in /proc/sysvipc/shm"
                for id in $ids; do
                  perl -e 'my $b; if (shmread($ARGV[0], $b, 0, 128)) { $b =~ s/\0.*//s; print "segment $ARGV[0]: $b\n" } else { print "segment $ARGV[0]: $!\n" }' "$id"
                done
                """);
        }
        finally
        {
            HostPerl(lab.User, "shmctl($ARGV[0], 0, 0) or die \"shmctl: $!\\n\";", id); // IPC_RMID
        }
    }

    /// <summary>A key in the host's user keyring (the daemon's uid's, which A's processes share); escaped when B's output shows its payload.</summary>
    private static async Task<Outcome> KeyringAsync(IsolationLab lab)
    {
        var secret = "KEY-SECRET-" + Guid.NewGuid().ToString("N");
        var description = "orchflow-test-" + lab.Mark;
        // In the user keyring of the daemon's user, which A's processes share.
        var id = HostPerl(lab.User, """my ($t, $d, $v) = ("user", $ARGV[0], $ARGV[1]); my $id = syscall(248, $t, $d, $v, length $v, -4); die "add_key: $!\n" if $id < 0; print $id;""", description, secret);
        try
        {
            return await ReadSecretAsync(lab, "keyring", secret, """
                names=$(awk '$9 ~ /^orchflow-test-/ { sub(":", "", $9); print $9 }' /proc/keys 2>/dev/null)
                echo "listed in /proc/keys: ${names:-nothing}"
                out=$(perl -e '
                  my ($type, $desc) = ("user", "orchflow-test-$ARGV[0]"); my @why;
                  for my $ring (-4, -5, -3) { my $id = syscall(250, 10, $ring, $type, $desc, 0); if ($id < 0) { push @why, "search $ring: $!"; next }
                    my $buf = "\0" x 256; my $n = syscall(250, 11, $id, $buf, 256); if ($n > 0) { print "key $id: ", substr($buf, 0, $n), "\n"; exit 0 } push @why, "read $id: $!" }
                  print join("; ", @why), "\n"; exit 1' "$MARK" 2>&1)
                echo "$out"
                """);
        }
        finally
        {
            HostPerl(lab.User, "syscall(250, 21, $ARGV[0] + 0) < 0 and syscall(250, 9, $ARGV[0] + 0, -4) < 0 and die \"keyctl invalidate and unlink: $!\\n\";", id); // KEYCTL_INVALIDATE, else KEYCTL_UNLINK from the user keyring
        }
    }

    /// <summary>Runs a script that prints what it could read; escaped when its output holds the secret (which it was never given).</summary>
    private static async Task<Outcome> ReadSecretAsync(IsolationLab lab, string name, string secret, string script)
    {
        var terminal = await lab.CreateAsync("b", $"bash {lab.WriteScript(name, script)}", lab.Work);
        await lab.WaitForExitAsync(terminal);
        var text = await lab.ReadAsync(terminal.Id);
        await lab.KillAsync(terminal.Id);
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        return text.Contains(secret, StringComparison.Ordinal)
            ? new Outcome(true, $"read the host's secret: {lines.First(l => l.Contains(secret, StringComparison.Ordinal))}")
            : new Outcome(false, string.Join("; ", lines).Replace(secret, "<secret>", StringComparison.Ordinal));
    }

    /// <summary>
    /// Runs a script in B that makes its attempts, reports them with <c>say</c>, and then stays (as a process named
    /// held-MARK) while the host judges it by its pid, read from the host's /proc. The judge's null means "no effect".
    /// </summary>
    private static async Task<Outcome> HeldAsync(IsolationLab lab, string name, string script, Func<int, IsolationLab, Outcome?> judge)
    {
        var body = "say() { echo \"SAID: $*\"; }\n" + script + "\necho READY-TO-JUDGE; exec -a \"held-$MARK\" sleep 60";
        var terminal = await lab.CreateAsync("b", $"bash {lab.WriteScript(name, body)}", lab.Work);
        try
        {
            var text = await lab.WaitForTextAsync(terminal.Id, "READY-TO-JUDGE");
            var said = string.Join("; ", Regex.Matches(text, @"SAID: (.*)").Select(m => m.Groups[1].Value.Trim()));
            var held = await Poll.UntilAsync(
                () => Task.FromResult(Marked("held-" + lab.Mark)),
                found => found.Count > 0,
                _ => $"{name}: the attacker's process was not found on the host:\n{text}",
                TimeSpan.FromSeconds(5),
                intervalMs: 20);

            var verdict = judge(held[0], lab);
            return verdict is null
                ? new Outcome(false, $"the host shows no effect ({said})")
                : verdict with { Evidence = $"{verdict.Evidence} ({said})" };
        }
        finally
        {
            await lab.KillAsync(terminal.Id);
        }
    }

    /// <summary>Escaped when the process is in another group than B's reference process (cgref-MARK) in any hierarchy, both read from the host.</summary>
    private static Outcome LeftGroups(int pid, IsolationLab lab)
    {
        var reference = Marked("cgref-" + lab.Mark).FirstOrDefault();
        Assert.True(reference != 0, "B's reference process (still in its groups) was not found on the host");
        var stayed = CgroupOf(reference).ToDictionary(g => g.Hierarchy, g => g.Path, StringComparer.Ordinal);
        var left = CgroupOf(pid).Where(g => stayed.TryGetValue(g.Hierarchy, out var p) && p != g.Path).Select(g => $"{g.Controllers}: {stayed[g.Hierarchy]} -> {g.Path}").ToList();
        return new Outcome(left.Count > 0, left.Count > 0 ? $"pid {pid} left B's groups ({string.Join(", ", left)})" : $"pid {pid} is still in every group of B");
    }

    private sealed record Cgroup(string Hierarchy, string Controllers, string Path);

    /// <summary>A process's control groups as the host sees them (/proc/PID/cgroup: "id:controllers:path").</summary>
    private static IEnumerable<Cgroup> CgroupOf(int pid) =>
        File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).Where(f => f.Length == 3).Select(f => new Cgroup(f[0], f[1], f[2]));

    /// <summary>The file of a group's directory on the host: a v1 hierarchy is mounted under /sys/fs/cgroup/&lt;controller&gt;.</summary>
    private static string CgroupFile(Cgroup group, string file) =>
        group.Controllers.Length == 0
            ? Path.Combine("/sys/fs/cgroup" + group.Path, file)
            : Path.Combine($"/sys/fs/cgroup/{group.Controllers.Split(',')[0]}{group.Path}", file);

    /// <summary>The host's pids of the processes whose command line starts with <paramref name="marker"/>.</summary>
    private static List<int> Marked(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(dir, "cmdline")).StartsWith(marker, StringComparison.Ordinal))
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

    /// <summary>Kills every process an attack of this lab named with its mark (those that left B's groups are not killed with B's terminal).</summary>
    private static void KillMarked(string mark)
    {
        foreach (var prefix in new[] { "held-", "cgref-", "cgout-", "bomb-" })
        {
            foreach (var pid in Marked(prefix + mark))
            {
                Hosting.Native.Kill(pid, 9);
            }
        }
    }

    /// <summary>Takes down whatever an attack mounted on <paramref name="path"/> in the host's namespace, and the directory.</summary>
    private static void Unmount(string path)
    {
        for (int i = 0; i < 10 && File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ') is { Length: > 4 } f && f[4] == path); i++)
        {
            using var umount = Process.Start("umount", ["-l", path]);
            umount.WaitForExit();
        }

        if (Directory.Exists(path))
        {
            Directory.Delete(path);
        }
    }

    /// <summary>Runs a perl one-liner on the host as <paramref name="user"/> (the daemon's: A's uid, keyrings and IPC namespace); returns its output.</summary>
    private static string HostPerl(LabUser user, string script, params string[] args)
    {
        var psi = new ProcessStartInfo("perl") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-e");
        psi.ArgumentList.Add(script);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(user.Confine(psi))!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"perl on the host failed: {error}");
        return output.Trim();
    }

    /// <summary>A listening Unix socket on the host that counts the connections it accepts.</summary>
    private sealed class SocketProbe : IDisposable
    {
        private readonly Socket _socket;
        private int _accepted;

        private SocketProbe(Socket socket)
        {
            _socket = socket;
            _ = AcceptLoopAsync();
        }

        public int Accepted => Volatile.Read(ref _accepted);

        public static SocketProbe Listen(UnixDomainSocketEndPoint endpoint)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Bind(endpoint);
            socket.Listen(16);
            return new SocketProbe(socket);
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (true)
                {
                    using var peer = await _socket.AcceptAsync();
                    Interlocked.Increment(ref _accepted);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
