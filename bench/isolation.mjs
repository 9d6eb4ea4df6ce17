// Isolation benchmarks (issue: isolation you can trust): what each security tier costs at spawn against no sandbox in
// the same run, keystroke echo latency in workspace A while workspace B runs a fork bomb and a memory hog, and what an
// idle and a hibernated workspace cost. Figures, not pass/fail. Run with `npm run bench` (or `node bench/isolation.mjs`
// after scripts/build-server.sh); it rewrites its section of docs/benchmarks.md. Environment: BENCH_RUNS (default 30),
// BENCH_ECHO (keystrokes per phase, default 200), BENCH_IDLE_WORKSPACES (default 10), BENCH_WARMUP_WORKSPACES (created
// before the memory baseline, default 5), BENCH_RETAINED_WORKSPACES (steps of the retained-memory measure, default 20).
import { quantile, ms, fmt, freshHome, cleanup, cli, connect, rssBytes, daemonPid, writeSection, machine, path, os, sleep, until } from './lib.mjs';
import { mkdirSync, writeFileSync, readFileSync, existsSync, readdirSync as readdir } from 'node:fs';
import { createHash } from 'node:crypto';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 5;
const ECHO = Number(process.env.BENCH_ECHO ?? 200);
const IDLE_N = Number(process.env.BENCH_IDLE_WORKSPACES ?? 10);
const WARM_N = Number(process.env.BENCH_WARMUP_WORKSPACES ?? 5);
const RETAINED_N = Number(process.env.BENCH_RETAINED_WORKSPACES ?? 20);
const TICKS = 100; // USER_HZ: /proc/<pid>/stat times are in 1/100 s on Linux

const rows = [];
const note = (metric, value, detail = '') => { rows.push([metric, value, detail]); console.log(`${metric}: ${value} ${detail}`); };
const now = () => process.hrtime.bigint();
const dist = (samples) => {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), max: s[s.length - 1] };
};
const lat = (d) => `p50 ${fmt(d.p50)} ms, p90 ${fmt(d.p90)} ms`;

/** A daemon with its own home, projects given as { id: workspace.json's "workspace" object }, and a client. */
async function lab(label, projects, env = {}) {
  const h = freshHome(label);
  const userHome = path.join(h.root, 'userhome');
  mkdirSync(userHome, { recursive: true });
  mkdirSync(path.join(h.home, 'config'), { recursive: true });
  writeFileSync(path.join(h.home, 'config', 'orchflow.toml'), '[orchestration]\nmax_workspaces = 250\n');
  h.env = { ...h.env, HOME: userHome, SHELL: '/bin/sh', ...env };
  cli(h, ['daemon', 'start']);
  const c = await connect(h);
  const terms = new Map();
  c.conn.onNotification('orchflow/terminal/output', (n) => {
    if (n.seq - n.data.length === 0) terms.delete(n.id); // ids are reused after removal
    const t = terms.get(n.id) ?? { text: '', waiters: [] };
    t.text += n.data;
    terms.set(n.id, t);
    for (const w of t.waiters.splice(0)) w();
    if (t.text.length > 100_000) t.text = t.text.slice(-10_000);
  });
  const ws = {};
  const add = async (id, workspace) => {
    const dir = path.join(h.root, 'p', id);
    mkdirSync(path.join(dir, '.orchflow'), { recursive: true });
    writeFileSync(path.join(dir, '.orchflow', 'workspace.json'), JSON.stringify({ workspace: { id, ...workspace } }));
    ws[id] = await c.conn.sendRequest('orchflow/workspace/create', { path: dir });
  };
  for (const [id, workspace] of Object.entries(projects)) await add(id, workspace);
  const text = (id) => terms.get(id)?.text ?? '';
  return {
    h, c, ws, text, add,
    pid: daemonPid(h),
    async create(workspaceId, command, attach = true) {
      return c.conn.sendRequest('orchflow/terminal/create', { workspaceId, command, attach });
    },
    async waitFor(id, match, timeoutMs = 10_000) {
      await until(() => text(id).includes(match), timeoutMs, `"${match}" from ${id} (it printed ${JSON.stringify(text(id).slice(-300))})`);
    },
    async kill(id) {
      await c.conn.sendRequest('orchflow/terminal/kill', { id });
      terms.delete(id);
    },
    close() { c.close(); cleanup(h); },
  };
}

const status = async (l) => l.c.conn.sendRequest('orchflow/status', {});
const loadBefore = os.loadavg()[0];

// 1. Spawn → first output per tier, interleaved round by round so every tier sees the same noise.
const tiers = await lab('tiers', {
  standard: { security: { tier: 'standard' } },
  enhanced: { security: { tier: 'enhanced' } },
  strict: { security: { tier: 'strict', network: 'none' } },
  strictnet: { security: { tier: 'strict', network: 'full' } },
});
const off = await lab('nocg', { standard: { security: { tier: 'standard' } } }, { ORCHFLOW_CGROUPS: 'off' });
// The Landlock fallback, as on a machine where bubblewrap cannot run.
const landlock = await lab('landlock', {
  enhanced: { security: { tier: 'enhanced' } },
  strict: { security: { tier: 'strict', network: 'none' } },
}, { ORCHFLOW_BWRAP: '/nonexistent/bwrap' });
const host = (await status(tiers)).isolation;
const hostOff = (await status(off)).isolation;
async function firstOutput(l, ws) {
  const t0 = now();
  const info = await l.create(ws, 'echo hi');
  await l.waitFor(info.id, 'hi');
  const elapsed = ms(now() - t0);
  await l.kill(info.id);
  return elapsed;
}
const contenders = {
  'standard, no cgroup (no sandbox, no launcher)': () => firstOutput(off, 'standard'),
  'standard (joins its cgroups)': () => firstOutput(tiers, 'standard'),
  'enhanced (bubblewrap: PID and mount namespaces)': () => firstOutput(tiers, 'enhanced'),
  'strict, network none (bubblewrap, all namespaces)': () => firstOutput(tiers, 'strict'),
  'strict, network full': () => firstOutput(tiers, 'strictnet'),
  'enhanced (Landlock fallback)': () => firstOutput(landlock, 'enhanced'),
  'strict, network none (Landlock fallback)': () => firstOutput(landlock, 'strict'),
};
const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
for (let i = 0; i < WARMUP + RUNS; i++) {
  for (const [k, f] of Object.entries(contenders)) {
    const v = await f();
    if (i >= WARMUP) samples[k].push(v);
  }
}
const base = dist(samples[Object.keys(contenders)[0]]);
for (const [k, s] of Object.entries(samples)) {
  const d = dist(s);
  const ratio = k === Object.keys(contenders)[0] ? '' : `; ${fmt(d.p50 / base.p50)}× the unsandboxed p50, +${fmt(d.p50 - base.p50)} ms`;
  note(`Spawn → first output, ${k}`, lat(d), `(n=${d.n} after ${WARMUP} warm-up, interleaved${ratio})`);
}
off.close();
landlock.close();

// 2. Keystroke echo in A (the terminal's own echo through the daemon) while its neighbours B runs a fork bomb and C a
// memory hog, each against its own limits. Quiet figures are taken before and after the noise.
const noisy = await lab('noisy', {
  a: { security: { tier: 'standard' } },
  b: { security: { tier: 'standard' }, resources: { process_limit: 300 } },
  c: { security: { tier: 'standard' }, resources: { memory_limit: '256MB' } },
});
const echoer = await noisy.create('a', 'exec cat');
await sleep(200);
async function echoLatency(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const mark = `k${i}x`;
    const t0 = now();
    await noisy.c.conn.sendRequest('orchflow/terminal/input', { id: echoer.id, data: mark });
    await noisy.waitFor(echoer.id, mark, 30_000);
    out.push(ms(now() - t0));
  }
  await noisy.c.conn.sendRequest('orchflow/terminal/input', { id: echoer.id, data: '\r' });
  return dist(out);
}
await echoLatency(20); // warm-up
const quiet = await echoLatency(ECHO);
// A bomb that never gives up: every process loops forking. A hog that is killed at its limit and starts again.
// bash, not the daemon's /bin/sh: dash gives up at the first refused fork, bash retries and goes on.
const bomb = await noisy.create('b', "exec bash -c 'f(){ while :; do f & done; }; f'", false);
const hog = await noisy.create('c', "while :; do perl -e 'my @a; while (1) { push @a, \"a\" x (16 << 20) }' 2>/dev/null; done", false);
await sleep(2000);
const pidsOfB = cgroupValue(noisy, 'pids', 'b', 'pids.current');
const loud = await echoLatency(ECHO);
const load = os.loadavg()[0];
await noisy.kill(bomb.id);
await noisy.kill(hog.id);
const quietAfter = await echoLatency(ECHO);
const auditB = await noisy.c.conn.sendRequest('orchflow/workspace/audit', { id: 'b', limit: 1000 });
const auditC = await noisy.c.conn.sendRequest('orchflow/workspace/audit', { id: 'c', limit: 1000 });
const oomKills = auditC.entries.filter((e) => e.message.includes('The kernel killed')).map((e) => Number(/killed (\d+)/.exec(e.message)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
const refusals = auditB.entries.filter((e) => e.rule === 'resources.process_limit').length;
note('Keystroke echo in A, quiet (before the noise)', lat(quiet), `(n=${quiet.n} after 20 warm-up; terminal/input of one keystroke until its echo arrives as an output notification; A's terminal runs \`cat\`)`);
note('Keystroke echo in A while B fork-bombs and C memory-hogs', lat(loud),
  `(n=${loud.n}; against quiet before: ${fmt(loud.p50 / quiet.p50)}× at p50, ${fmt(loud.p90 / quiet.p90)}× at p90; against quiet after: ${fmt(loud.p50 / quietAfter.p50)}× at p50, ${fmt(loud.p90 / quietAfter.p90)}× at p90; max ${fmt(loud.max)} ms; B at process_limit 300 held ${pidsOfB ?? 'n/a'} pids (cgroup pids.current), ${refusals} refused-fork notice(s); C at memory_limit 256 MB: the kernel killed its hog ${oomKills} time(s); 1-minute load average ${fmt(load, 1)} on ${os.cpus().length} cores)`);
note('Keystroke echo in A, quiet (after the noise was killed)', lat(quietAfter), `(n=${quietAfter.n})`);
noisy.close();

// 3. What an idle and a hibernated workspace cost: daemon memory and CPU, each workspace's CPU while suspended.
// First-use costs are not a workspace's: WARM_N workspaces, each with a terminal, are created and left running before
// the baseline (code run for the first time, the first sandbox and group set-up, the daemon's own start), and the
// baseline is taken 3 s later. The daemon is a .NET process: its RSS also holds garbage not collected yet (up to a gen0
// budget of many MiB, whatever the number of workspaces) and code compiled while it runs, which a growth over a few seconds
// counts too; the retained figures below (3b) take those out.
const strict = { security: { tier: 'strict' } };
const SHELL_CMD = 'exec bash --norc --noprofile -i';
const idle = await lab('idle', {});
for (let i = 0; i < WARM_N; i++) {
  await idle.add(`warm${i}`, strict);
  await idle.create(`warm${i}`, SHELL_CMD, false);
}
const measured = Array.from({ length: IDLE_N }, (_, i) => `w${i}`);
const everyWs = [...Array.from({ length: WARM_N }, (_, i) => `warm${i}`), ...measured];
await sleep(3000);
const rssEmpty = rssBytes(idle.pid);
for (const id of measured) await idle.add(id, strict);
await sleep(3000);
const rssWorkspaces = rssBytes(idle.pid);
const shells = [];
for (const id of measured) shells.push(await idle.create(id, SHELL_CMD, false));
await sleep(3000);
const procStat = (pid) => { const t = readFileSync(`/proc/${pid}/stat`, 'utf8'); return t.slice(t.lastIndexOf(')') + 2).split(' '); };
const cpuTicks = (pid) => { const f = procStat(pid); return Number(f[11]) + Number(f[12]); };
async function daemonCpu(seconds) {
  const t0 = cpuTicks(idle.pid);
  await sleep(seconds * 1000);
  return ((cpuTicks(idle.pid) - t0) / TICKS / seconds) * 100;
}
const rssIdle = rssBytes(idle.pid);
const pids = () => readdir('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
const sessionRss = (sid) => {
  let sum = 0;
  for (const p of pids()) {
    try {
      if (Number(procStat(p)[3]) === sid) sum += rssBytes(p);
    } catch { /* it ended */ }
  }
  return sum;
};
const perShell = shells.map((t) => sessionRss(t.pid));
const shellRss = perShell.reduce((a, b) => a + b, 0) / shells.length;
const cpuIdle = await daemonCpu(10);
const rssBeforeSuspend = rssBytes(idle.pid);
for (const id of everyWs) await idle.c.conn.sendRequest('orchflow/workspace/suspend', { id });
const cgroupCpu = (id) => { const v = cgroupValue(idle, 'cpuacct', id, 'cpuacct.usage'); return v === null ? null : Number(v); };
const before = everyWs.map(cgroupCpu);
const cpuHibernated = await daemonCpu(10);
const after = everyWs.map(cgroupCpu);
const wsCpu = before.every((v) => v !== null) ? after.reduce((a, v, i) => a + (v - before[i]), 0) / 1e9 / 10 * 100 : null;
const rssHibernated = rssBytes(idle.pid);
const resumeT0 = now();
for (const id of everyWs) await idle.c.conn.sendRequest('orchflow/workspace/resume', { id });
const resumeMs = ms(now() - resumeT0) / everyWs.length;
const kib = (bytes) => fmt(bytes / 2 ** 10, 0);
const perWsGrowth = (rssWorkspaces - rssEmpty) / IDLE_N;
const perWsTermGrowth = (rssIdle - rssEmpty) / IDLE_N;
const shareGrowth = perWsTermGrowth / shellRss * 100;
note(`Daemon RSS growth, ${IDLE_N} strict workspaces without a terminal`, `${fmt(rssEmpty / 2 ** 20, 1)} → ${fmt(rssWorkspaces / 2 ** 20, 1)} MiB`,
  `(≈ ${kib(perWsGrowth)} KiB per workspace; after ${WARM_N} warm-up workspaces with a terminal each; /proc/PID/statm 3 s after the last create; includes garbage not collected yet and code compiled meanwhile)`);
note(`Daemon RSS growth, the same ${IDLE_N} workspaces each with an idle bash`, `${fmt(rssEmpty / 2 ** 20, 1)} → ${fmt(rssIdle / 2 ** 20, 1)} MiB`,
  `(≈ ${kib(perWsTermGrowth)} KiB per workspace with a terminal, ${kib(perWsTermGrowth - perWsGrowth)} KiB of it after the terminal started; each workspace's own processes (bwrap + bash) ${fmt(shellRss / 2 ** 20, 1)} MiB RSS, so this is ${fmt(shareGrowth, 1)}% of it)`);
const signed = (bytes) => `${bytes >= 0 ? '+' : '−'}${kib(Math.abs(bytes))} KiB`;
note(`Daemon RSS, all ${everyWs.length} workspaces hibernated`, `${fmt(rssBeforeSuspend / 2 ** 20, 1)} → ${fmt(rssHibernated / 2 ** 20, 1)} MiB`,
  `(${signed((rssHibernated - rssBeforeSuspend) / everyWs.length)} per workspace over the 10 s after orchflow/workspace/suspend, against ${signed((rssBeforeSuspend - rssIdle) / everyWs.length)} per workspace over the 10 s just before, with nothing done; a hibernated workspace keeps its terminals, frozen, and the daemon keeps their state, so hibernation frees no daemon memory)`);
note(`Daemon CPU with ${everyWs.length} idle workspaces`, `${fmt(cpuIdle, 2)}% of one core`, '(over 10 s: the 1 s resource sampler, the limits check and the config poll)');
note(`Daemon CPU with the ${everyWs.length} workspaces hibernated`, `${fmt(cpuHibernated, 2)}% of one core`, '(over 10 s)');
note('CPU of the hibernated workspaces themselves', wsCpu === null ? 'not measured' : `${fmt(wsCpu, 3)}% of one core, all ${everyWs.length} together`,
  wsCpu === null ? `(no cgroup cpuacct: ${hostOffDetail()})` : '(cpuacct.usage of their groups over the same 10 s, frozen by the cgroup freezer)');
note('Suspend → resume of a workspace', `${fmt(resumeMs, 2)} ms per resume`, `(mean over ${everyWs.length}; orchflow/workspace/resume round trip, thawing the freezer group)`);
idle.close();

// 3b. What the daemon retains per workspace and per terminal: a daemon started with ORCHFLOW_LOG_MEMORY=collect (for
// measuring only) runs a full, compacting collection after each workspace and terminal it creates and logs its managed
// heap, threads and RSS; the median step between two consecutive creates of the same kind is what one more costs, with
// garbage collected and one-off jumps (code compiled, a new GC region) left out by the median.
const retained = await lab('retained', {}, { ORCHFLOW_LOG_MEMORY: 'collect' });
for (let i = 0; i < WARM_N; i++) {
  await retained.add(`warm${i}`, strict);
  await retained.create(`warm${i}`, SHELL_CMD, false);
}
const retainedIds = Array.from({ length: RETAINED_N }, (_, i) => `r${i}`);
for (const id of retainedIds) await retained.add(id, strict);
for (const id of retainedIds) await retained.create(id, SHELL_CMD, false);
const traces = readFileSync(path.join(retained.h.home, 'logs', 'daemon.log'), 'utf8').split('\n')
  .map((l) => /memory \(ORCHFLOW_LOG_MEMORY=collect\) after (workspace|terminal) (\S+): managed heap (\d+) KiB.*threads (\d+), RSS (\d+) KiB/.exec(l))
  .filter(Boolean).map((m) => ({ kind: m[1], id: m[2], heap: Number(m[3]), threads: Number(m[4]), rss: Number(m[5]) }));
const stepsOf = (kind) => {
  const out = { heap: [], threads: [], rss: [] };
  for (let i = 1; i < traces.length; i++) {
    const [a, b] = [traces[i - 1], traces[i]];
    if (a.kind !== kind || b.kind !== kind || a.id.startsWith('warm') || b.id.startsWith('warm')) continue;
    for (const f of Object.keys(out)) out[f].push(b[f] - a[f]);
  }
  return Object.fromEntries(Object.entries(out).map(([f, v]) => [f, { n: v.length, p50: quantile([...v].sort((x, y) => x - y), 0.5), mean: v.reduce((x, y) => x + y, 0) / v.length }]));
};
const rWs = stepsOf('workspace');
const rTerm = stepsOf('terminal');
if (rWs.rss.n === 0 || rTerm.rss.n === 0) throw new Error(`no ORCHFLOW_LOG_MEMORY lines in ${retained.h.home}/logs/daemon.log`);
const retainedPair = (rWs.rss.p50 + rTerm.rss.p50) * 1024;
const shareRetained = retainedPair / shellRss * 100;
note('Daemon memory retained per idle workspace, no terminal', `RSS +${rWs.rss.p50} KiB, managed heap +${rWs.heap.p50} KiB (medians)`,
  `(n=${rWs.rss.n} steps; means with the one-off jumps: RSS +${fmt(rWs.rss.mean, 0)} KiB, heap +${fmt(rWs.heap.mean, 0)} KiB; threads +${rWs.threads.p50}; after a full collection at each create, ${WARM_N} warm-up workspaces first)`);
note('Daemon memory retained per terminal (idle bash, strict)', `RSS +${rTerm.rss.p50} KiB, managed heap +${rTerm.heap.p50} KiB (medians)`,
  `(n=${rTerm.rss.n} steps; means: RSS +${fmt(rTerm.rss.mean, 0)} KiB, heap +${fmt(rTerm.heap.mean, 0)} KiB; threads +${rTerm.threads.p50}: the PTY's reader and its waiter; their stacks and runtime state are most of the RSS)`);
note('Daemon memory retained per workspace with a terminal, against its own processes', `${kib(retainedPair)} KiB, ${fmt(shareRetained, 1)}%`,
  `(the two medians above, against the ${fmt(shellRss / 2 ** 20, 1)} MiB RSS of a strict workspace's bwrap + bash measured in 3)`);
retained.close();
tiers.close();

/** A value from a workspace's control group (this user's daemons: orchflow-<hash of the data directory>), or null. */
function cgroupValue(l, controller, workspaceId, file) {
  const key = `orchflow-${createHash('sha256').update(path.join(l.h.home, 'data')).digest('hex').slice(0, 12)}`;
  const roots = [`/sys/fs/cgroup/${controller}`];
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[1]?.split(',').includes(controller));
  if (own && own[2] !== '/') roots.unshift(`/sys/fs/cgroup/${controller}${own[2]}`);
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const f = `${root}/${key}/${workspaceId}/${file}`;
    if (existsSync(f)) return readFileSync(f, 'utf8').trim();
  }
  return null;
}
function hostOffDetail() { return host.cgroupsDetail ?? 'unknown'; }

const tmpEntries = (await import('node:fs')).readdirSync(os.tmpdir()).length;
const doc = `## Isolation: tiers, noisy neighbours, idle and hibernated workspaces

Command: \`node bench/isolation.mjs\` (also run by \`npm run bench\`), ${new Date().toISOString().slice(0, 10)}, on ${machine()}; load average ${fmt(loadBefore, 2)} at the start, ${fmt(os.loadavg()[0], 2)} at the end.
Sandbox: ${host.bubblewrapAvailable ? `bubblewrap ${host.bubblewrapVersion}` : `none (${host.bubblewrapProblem})`}; limits: ${host.cgroups === 'none' ? `watchdog (${host.cgroupsDetail})` : host.cgroupsDetail}; the comparison daemon ran with ${hostOff.cgroupsDetail}.
Figures are seen by a Node client speaking the protocol over the daemon's socket (vscode-jsonrpc), as VS Code does.

| Metric | Result | Detail |
| --- | --- | --- |
${rows.map((r) => `| ${r.map((x) => String(x).replaceAll('|', '\\|')).join(' | ')} |`).join('\n')}

The Landlock rows are the fallback for machines where bubblewrap cannot run (here forced by pointing ORCHFLOW_BWRAP at nothing). Its launcher adds one kernel rule per place it grants. At enhanced everything is writable except the workspace's \`.orchflow/\` (and restricted paths), and Landlock rules grant whole hierarchies, so the entries of each directory on the way to \`.orchflow/\` get rules of their own, up to 256 per directory; a more crowded one keeps its entries readable but not writable instead. These workspaces live in ${os.tmpdir()}, which held ${tmpEntries} entries during this run: granting each (as a first version did) cost about 75 ms per spawn. At strict, / is read-only and /tmp is closed, so only the way to hidden places is split.
The two quiet phases bracket the noisy one because this shared machine's own load moves between phases; compare the noisy figure with both.
In the runs so far echo was faster while the neighbours kept both cores busy than when the machine was quieter; a likely cause (not measured) is the wake-up latency of idle cores, which dominates a round trip of about a millisecond. What the figures do show is that neither neighbour made A's echo slower.
The spec asks for "<10% overhead per workspace". What the daemon retains per workspace with a terminal is ${fmt(shareRetained, 1)}% of that workspace's own processes in this run (${shareRetained < 10 ? 'within' : 'above'} the target); its RSS growth while the workspaces were created, measured over a few seconds, is ${fmt(shareGrowth, 1)}% (${shareGrowth < 10 ? 'within' : 'above'}). The difference is memory the daemon holds whatever the number of workspaces: garbage not collected yet (an idle daemon still allocates: its once-a-second checks read /proc and the control groups; the runtime collected once per 10 to 20 MiB allocated in our runs) and code compiled as paths get hot; both are real RSS, and neither is held per workspace (the allocation rate grows a little with each workspace, the garbage held is bounded by the collector). \`ORCHFLOW_LOG_MEMORY=collect\` is a measuring switch: it makes the daemon collect after every create.
Method: the baseline comes after ${WARM_N} warm-up workspaces with a terminal each and 3 s of quiet. Until 2026-11-24 it was taken right after the daemon started, with no warm-up, so the daemon's start-up and the first terminal's one-off costs were divided among the measured workspaces (1385 KiB per workspace, 18.8%, in the last run of that method).
The daemon adopts and reaps its workspaces' orphans, so a killed fork bomb leaves no zombie counting against B's process_limit even though this machine's PID 1 does not reap.
`;
writeSection('isolation', doc);
console.log('wrote the isolation section of docs/benchmarks.md');
process.exit(0);
