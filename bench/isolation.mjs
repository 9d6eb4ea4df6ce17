// Isolation benchmarks (issue: isolation you can trust): what each security tier costs at spawn against no sandbox in
// the same run, keystroke echo latency in workspace A while workspace B runs a fork bomb and a memory hog, and what an
// idle and a hibernated workspace cost. Figures, not pass/fail. Run with `npm run bench` (or `node bench/isolation.mjs`
// after scripts/build-server.sh); it rewrites its section of docs/benchmarks.md. Environment: BENCH_RUNS (default 30),
// BENCH_ECHO (keystrokes per phase, default 200), BENCH_IDLE_WORKSPACES (default 10).
import { quantile, ms, fmt, freshHome, cleanup, cli, connect, rssBytes, daemonPid, writeSection, machine, path, os } from './lib.mjs';
import { mkdirSync, writeFileSync, readFileSync, existsSync, readdirSync as readdir } from 'node:fs';
import { createHash } from 'node:crypto';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 5;
const ECHO = Number(process.env.BENCH_ECHO ?? 200);
const IDLE_N = Number(process.env.BENCH_IDLE_WORKSPACES ?? 10);
const TICKS = 100; // USER_HZ: /proc/<pid>/stat times are in 1/100 s on Linux

const rows = [];
const note = (metric, value, detail = '') => { rows.push([metric, value, detail]); console.log(`${metric}: ${value} ${detail}`); };
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const now = () => process.hrtime.bigint();
const dist = (samples) => {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), max: s[s.length - 1] };
};
const lat = (d) => `p50 ${fmt(d.p50)} ms, p90 ${fmt(d.p90)} ms`;

async function until(predicate, timeoutMs, what) {
  const t0 = Date.now();
  while (!(await predicate())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** A daemon with its own home, projects given as { id: workspace.json's "workspace" object }, and a client. */
async function lab(label, projects, env = {}) {
  const h = freshHome(label);
  const userHome = path.join(h.root, 'userhome');
  mkdirSync(userHome, { recursive: true });
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
  for (const [id, workspace] of Object.entries(projects)) {
    const dir = path.join(h.root, 'p', id);
    mkdirSync(path.join(dir, '.orchflow'), { recursive: true });
    writeFileSync(path.join(dir, '.orchflow', 'workspace.json'), JSON.stringify({ workspace: { id, ...workspace } }));
    ws[id] = await c.conn.sendRequest('orchflow/workspace/create', { path: dir });
  }
  const text = (id) => terms.get(id)?.text ?? '';
  return {
    h, c, ws, text,
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
const projects = Object.fromEntries(Array.from({ length: IDLE_N }, (_, i) => [`w${i}`, { security: { tier: 'strict' } }]));
const idle = await lab('idle', projects);
const rssEmpty = rssBytes(idle.pid);
const shells = [];
for (const id of Object.keys(projects)) {
  const t = await idle.create(id, 'exec bash --norc --noprofile -i', false);
  shells.push(t);
}
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
for (const id of Object.keys(projects)) await idle.c.conn.sendRequest('orchflow/workspace/suspend', { id });
const cgroupCpu = (id) => { const v = cgroupValue(idle, 'cpuacct', id, 'cpuacct.usage'); return v === null ? null : Number(v); };
const before = Object.keys(projects).map(cgroupCpu);
const cpuHibernated = await daemonCpu(10);
const after = Object.keys(projects).map(cgroupCpu);
const wsCpu = before.every((v) => v !== null) ? after.reduce((a, v, i) => a + (v - before[i]), 0) / 1e9 / 10 * 100 : null;
const rssHibernated = rssBytes(idle.pid);
const resumeT0 = now();
for (const id of Object.keys(projects)) await idle.c.conn.sendRequest('orchflow/workspace/resume', { id });
const resumeMs = ms(now() - resumeT0) / IDLE_N;
const share = (rssIdle - rssEmpty) / IDLE_N / shellRss * 100;
note(`Daemon RSS, ${IDLE_N} strict workspaces each with an idle bash`, `${fmt(rssEmpty / 2 ** 20, 1)} → ${fmt(rssIdle / 2 ** 20, 1)} MiB`,
  `(≈ ${fmt((rssIdle - rssEmpty) / IDLE_N / 2 ** 10, 0)} KiB of daemon memory per workspace with a terminal; each workspace's own processes (bwrap + bash) ${fmt(shellRss / 2 ** 20, 1)} MiB RSS, so the daemon's share is ${fmt((rssIdle - rssEmpty) / IDLE_N / shellRss * 100, 1)}% of it)`);
note(`Daemon CPU with ${IDLE_N} idle workspaces`, `${fmt(cpuIdle, 2)}% of one core`, '(over 10 s: the 1 s resource sampler, the limits check and the config poll)');
note(`Daemon CPU with the ${IDLE_N} workspaces hibernated`, `${fmt(cpuHibernated, 2)}% of one core`, `(over 10 s; RSS ${fmt(rssHibernated / 2 ** 20, 1)} MiB)`);
note('CPU of the hibernated workspaces themselves', wsCpu === null ? 'not measured' : `${fmt(wsCpu, 3)}% of one core, all ${IDLE_N} together`,
  wsCpu === null ? `(no cgroup cpuacct: ${hostOffDetail()})` : '(cpuacct.usage of their groups over the same 10 s, frozen by the cgroup freezer)');
note('Suspend → resume of a workspace', `${fmt(resumeMs, 2)} ms per resume`, `(mean over ${IDLE_N}; orchflow/workspace/resume round trip, thawing the freezer group)`);
idle.close();
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

const doc = `## Isolation: tiers, noisy neighbours, idle and hibernated workspaces

Command: \`node bench/isolation.mjs\` (also run by \`npm run bench\`), ${new Date().toISOString().slice(0, 10)}, on ${machine()}; load average ${fmt(loadBefore, 2)} at the start, ${fmt(os.loadavg()[0], 2)} at the end.
Sandbox: ${host.bubblewrapAvailable ? `bubblewrap ${host.bubblewrapVersion}` : `none (${host.bubblewrapProblem})`}; limits: ${host.cgroups === 'none' ? `watchdog (${host.cgroupsDetail})` : host.cgroupsDetail}; the comparison daemon ran with ${hostOff.cgroupsDetail}.
Figures are seen by a Node client speaking the protocol over the daemon's socket (vscode-jsonrpc), as VS Code does.

| Metric | Result | Detail |
| --- | --- | --- |
${rows.map((r) => `| ${r.map((x) => String(x).replaceAll('|', '\\|')).join(' | ')} |`).join('\n')}

The two quiet phases bracket the noisy one because this shared machine's own load moves between phases; compare the noisy figure with both.
In the runs so far echo was faster while the neighbours kept both cores busy than when the machine was quieter; a likely cause (not measured) is the wake-up latency of idle cores, which dominates a round trip of about a millisecond. What the figures do show is that neither neighbour made A's echo slower.
The spec asks for "<10% overhead per workspace": the daemon's memory per workspace with a terminal is compared with that workspace's own processes above (${fmt(share, 1)}% in this run: ${share < 10 ? 'within' : 'above'} the target by this measure).
The daemon adopts and reaps its workspaces' orphans, so a killed fork bomb leaves no zombie counting against B's process_limit even though this machine's PID 1 does not reap.
`;
writeSection('isolation', doc);
console.log('wrote the isolation section of docs/benchmarks.md');
process.exit(0);
