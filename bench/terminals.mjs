// Terminal benchmarks (issue: terminals owned by the daemon): Orchflow against node-pty and tmux, side by side in
// one run on one machine. Figures, not pass/fail. Run with `npm run bench` (or `node bench/terminals.mjs`); it
// rewrites its section of docs/benchmarks.md. Environment: BENCH_RUNS (latency runs, default 30),
// BENCH_TP_RUNS (throughput runs, default 3), BENCH_TP_BYTES (default 200000000), BENCH_FLOOD_BYTES (default 1 GiB).
import {
  quantile, ms, fmt, freshHome, cleanup, cli, connect, rssBytes, daemonPid, has, spawnSync, writeSection, machine, path, os, sleep, until,
} from './lib.mjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 5;
const TP_RUNS = Number(process.env.BENCH_TP_RUNS ?? 3);
const TP_BYTES = Number(process.env.BENCH_TP_BYTES ?? 200_000_000);
const FLOOD_BYTES = Number(process.env.BENCH_FLOOD_BYTES ?? 2 ** 30);
const ACK_EVERY = 5000; // VS Code acknowledges terminal output in chunks of 5,000 characters.
const PROMPT = 'READY$ ';
const PROMPT_CMD = 'exec bash --norc --noprofile -i';
// The trailing sleep keeps the PTY open until the reader has everything: node-pty can drop the last few KB of a
// child that exits at once (seen here: 10 KB of 200 MB). Each flood ends when the last character arrives.
const floodCmd = (bytes) => `head -c ${bytes} /dev/zero | tr '\\0' 'x'; sleep 60`;

const rows = [];
const notes = [];
const note = (metric, value, detail = '') => { rows.push([metric, value, detail]); console.log(`${metric}: ${value} ${detail}`); };
const notMeasured = (metric, reason) => note(metric, 'not measured', reason);
const now = () => process.hrtime.bigint();
const dist = (samples) => {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), min: s[0], max: s[s.length - 1] };
};
const latency = (s) => `p50 ${fmt(s.p50)} ms, p90 ${fmt(s.p90)} ms`;

// node-pty, when it is installed and its native module loads.
let pty = null;
let ptyWhy = '';
try {
  pty = createRequire(import.meta.url)('node-pty');
} catch (e) {
  ptyWhy = `node-pty did not load: ${String(e.message).split('\n')[0]}`;
}

// One environment for every contender: the same shell (/bin/sh, which Orchflow runs commands with as $SHELL -c),
// an empty HOME (no rc files), the same TERM. Orchflow builds its terminals' environment from an allowlist of the
// daemon's, plus the workspace's shared_env (which carries PS1 here).
const h = freshHome('term');
const userHome = path.join(h.root, 'userhome');
const project = path.join(h.root, 'project'); // the default daemon's workspace; node-pty and tmux start there too
mkdirSync(userHome, { recursive: true });
const childEnv = { PATH: process.env.PATH, HOME: userHome, SHELL: '/bin/sh', TERM: 'xterm-256color', COLORTERM: 'truecolor', LANG: process.env.LANG ?? 'C.UTF-8', PS1: PROMPT };

let cleaned = false;
const tmuxSock = path.join(h.root, 'tmux.sock');
process.on('exit', () => {
  if (!cleaned) {
    spawnSync('tmux', ['-S', tmuxSock, 'kill-server'], { stdio: 'ignore' });
    cleanup(h);
  }
});
const loadBefore = os.loadavg()[0];

/**
 * A daemon with its own home and one workspace (PS1 from its shared_env), and a client attached to it. Two run side by
 * side: the default one, whose terminals join their workspace's control groups before they run, and one started with
 * ORCHFLOW_CGROUPS=off, whose terminals do not (no kernel limits: the watchdog alone).
 */
async function orchflowDaemon(home, extraEnv = {}) {
  const dir = path.join(home.root, 'project');
  mkdirSync(path.join(dir, '.orchflow'), { recursive: true });
  writeFileSync(path.join(dir, '.orchflow', 'workspace.json'), JSON.stringify({ workspace: { shared_env: { PS1: PROMPT } } }));
  home.env = { ...home.env, HOME: userHome, SHELL: '/bin/sh', ...extraEnv };
  cli(home, ['daemon', 'start']);
  const c = await connect(home);
  const ws = await c.conn.sendRequest('orchflow/workspace/create', { path: dir });
  const status = await c.conn.sendRequest('orchflow/status', {});

  // Every terminal's output, by id. Output arrives before the create response (attach: true), so what to look for is
  // set before the request, and the moment of each notification is taken as it arrives. The daemon reuses the id of a
  // removed terminal, so a notification that starts at sequence 0 starts a new record.
  const terms = new Map();
  let lookFor = null;
  let keepText = true;
  const term = (id) => {
    let t = terms.get(id);
    if (!t) {
      t = { text: '', chars: 0, seq: 0, acked: 0, firstMatch: null, match: lookFor, keepText };
      terms.set(id, t);
    }
    return t;
  };
  const exitedAt = new Map();
  c.conn.onNotification('orchflow/terminal/changed', (n) => {
    if (n.kind === 'exited') exitedAt.set(`${n.id}@${n.terminal?.createdAt}`, now()); // ids are reused after removal
  });
  c.conn.onNotification('orchflow/terminal/output', (n) => {
    if (n.seq - n.data.length === 0) terms.delete(n.id);
    const t = term(n.id);
    t.chars += n.data.length;
    t.seq = n.seq;
    if (t.keepText) {
      t.text += n.data;
      if (t.firstMatch === null && t.match && t.text.includes(t.match)) t.firstMatch = now();
    }
    if (t.seq - t.acked >= ACK_EVERY) {
      t.acked = t.seq;
      c.conn.sendNotification('orchflow/terminal/ack', { id: n.id, seq: n.seq });
    }
  });

  const d = {
    h: home, c, ws, pid: daemonPid(home), term, terms, exitedAt,
    cgroups: status.isolation?.cgroupsDetail ?? 'unknown',
    /** create responses since the last reset, in ms */
    responses: [],
    set watch(match) { lookFor = match; keepText = match !== null; },
    /** Creates an attached terminal and resolves with the time from the request until its output first contains `match`. */
    async first(command, match) {
      d.watch = match;
      const t0 = now();
      const info = await c.conn.sendRequest('orchflow/terminal/create', { workspaceId: ws.id, command, attach: true });
      d.responses.push(ms(now() - t0));
      await until(() => term(info.id).firstMatch !== null, 10000, `"${match}" from ${info.id} (it printed ${JSON.stringify(term(info.id).text.slice(0, 300))})`, 0);
      const t = term(info.id);
      const elapsed = ms(t.firstMatch - t0);
      await c.conn.sendRequest('orchflow/terminal/kill', { id: info.id });
      terms.delete(info.id);
      return elapsed;
    },
  };
  return d;
}

const hOff = freshHome('term-nocg');
let offCleaned = false;
process.on('exit', () => { if (!offCleaned) cleanup(hOff); });
const main = await orchflowDaemon(h);
const off = await orchflowDaemon(hOff, { ORCHFLOW_CGROUPS: 'off' });
const { c, ws, pid, term, terms, exitedAt } = main;

function nodePtyFirst(args, match) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    let text = '';
    let done = false;
    const p = pty.spawn('/bin/sh', args, { name: 'xterm-256color', cols: 80, rows: 24, cwd: project, env: childEnv });
    const timer = setTimeout(() => { p.kill(); reject(new Error(`node-pty: no "${match}"`)); }, 10000);
    p.onData((d) => {
      text += d;
      if (!done && text.includes(match)) {
        done = true;
        const elapsed = ms(now() - t0);
        clearTimeout(timer);
        p.onExit(() => resolve(elapsed));
        p.kill('SIGKILL');
      }
    });
  });
}

/**
 * Runs the contenders in turn, one sample each per round (after WARMUP rounds), so that they all see the same
 * noise of this shared machine; returns each one's distribution.
 */
async function interleaved(contenders) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    if (i === WARMUP) {
      main.responses.length = 0;
      off.responses.length = 0;
    }
    for (const n of names) {
      const v = await contenders[n]();
      if (i >= WARMUP) samples[n].push(v);
    }
  }
  return Object.fromEntries(names.map((n) => [n, dist(samples[n])]));
}

let tmux = null;
const polls = [];
if (has('tmux')) {
  const run = (...args) => spawnSync('tmux', ['-S', tmuxSock, ...args], { env: { ...childEnv, TMUX: '' }, encoding: 'utf8' });
  run('new-session', '-d', '-s', 'keep', '-x', '80', '-y', '24', 'sleep 3600'); // a running server, as in normal use
  let k = 0;
  tmux = {
    run,
    async first() {
      const s = `b${k++}`;
      const t0 = now();
      const r = run('new-session', '-d', '-s', s, '-x', '80', '-y', '24', "sh -c 'echo hi; sleep 1'");
      if (r.status !== 0) throw new Error(`tmux new-session: ${r.stderr}`);
      let elapsed = null;
      while (elapsed === null) {
        const p0 = now();
        const out = run('capture-pane', '-p', '-t', s).stdout ?? '';
        polls.push(ms(now() - p0));
        if (out.includes('hi')) elapsed = ms(now() - t0);
        if (ms(now() - t0) > 10000) throw new Error('tmux: no "hi"');
      }
      run('kill-session', '-t', s);
      return elapsed;
    },
  };
}

// 1. Spawn to first output of `sh -c 'echo hi'`, with and without control groups, against the peers.
const echo = await interleaved({
  orchflow: () => main.first('echo hi', 'hi'),
  orchflowOff: () => off.first('echo hi', 'hi'),
  ...(pty ? { nodePty: () => nodePtyFirst(['-c', 'echo hi'], 'hi') } : {}),
  ...(tmux ? { tmux: () => tmux.first() } : {}),
});
echo.response = dist(main.responses);
echo.responseOff = dist(off.responses);
const vsPty = (o) => (pty ? `; ${fmt(o.p50 / echo.nodePty.p50)}× node-pty at p50, ${fmt(o.p90 / echo.nodePty.p90)}× at p90` : '');
note('Spawn → first output, Orchflow (`sh -c \'echo hi\'`), with control groups (default)', latency(echo.orchflow),
  `(n=${echo.orchflow.n} after ${WARMUP} warm-up, interleaved with the rows below; from sending terminal/create with attach:true over the socket to the output notification containing "hi"; the create response itself came at p50 ${fmt(echo.response.p50)} ms${vsPty(echo.orchflow)})`);
note('Spawn → first output, Orchflow without control groups (ORCHFLOW_CGROUPS=off, a second daemon)', latency(echo.orchflowOff),
  `(n=${echo.orchflowOff.n}, same rounds; create response at p50 ${fmt(echo.responseOff.p50)} ms${vsPty(echo.orchflowOff)}; joining the groups cost +${fmt(echo.orchflow.p50 - echo.orchflowOff.p50)} ms at p50)`);
if (pty) {
  note('Spawn → first output, node-pty (same command)', latency(echo.nodePty), `(n=${echo.nodePty.n}; pty.spawn until onData sees "hi", in-process)`);
  note('Ratio Orchflow / node-pty, first output', `${fmt(echo.orchflow.p50 / echo.nodePty.p50)}× at p50 with control groups, ${fmt(echo.orchflowOff.p50 / echo.nodePty.p50)}× without`, '(aim: within 1.2×)');
} else {
  notMeasured('Spawn → first output, node-pty', ptyWhy);
}

if (tmux) {
  const poll = dist(polls);
  tmux.run('kill-server');
  note('Spawn → first output, tmux (same command)', latency(echo.tmux),
    `(n=${echo.tmux.n}; \`tmux new-session -d\` on a private socket with its server running, then \`capture-pane -p\` polled until "hi": granularity one capture-pane call, p50 ${fmt(poll.p50)} ms, so figures are late by up to that)`);
  note('Ratio Orchflow / tmux, first output', `${fmt(echo.orchflow.p50 / echo.tmux.p50)}× at p50 with control groups, ${fmt(echo.orchflowOff.p50 / echo.tmux.p50)}× without`, '');
} else {
  notMeasured('Spawn → first output, tmux', 'tmux is not installed');
}

// 2. Spawn to the first prompt of an interactive bash, with and without control groups, against node-pty.
const prompt = await interleaved({
  orchflow: () => main.first(PROMPT_CMD, PROMPT),
  orchflowOff: () => off.first(PROMPT_CMD, PROMPT),
  ...(pty ? { nodePty: () => nodePtyFirst(['-c', PROMPT_CMD], PROMPT) } : {}),
});
prompt.response = dist(main.responses);
prompt.responseOff = dist(off.responses);
const vsPtyPrompt = (o) => (pty ? `; ${fmt(o.p50 / prompt.nodePty.p50)}× node-pty at p50, ${fmt(o.p90 / prompt.nodePty.p90)}× at p90` : '');
note(`Spawn → first prompt, Orchflow (\`${PROMPT_CMD}\`, PS1='${PROMPT}'), with control groups (default)`, latency(prompt.orchflow),
  `(n=${prompt.orchflow.n}, interleaved with the rows below; PS1 from the workspace's shared_env; create response at p50 ${fmt(prompt.response.p50)} ms${vsPtyPrompt(prompt.orchflow)})`);
note('Spawn → first prompt, Orchflow without control groups (ORCHFLOW_CGROUPS=off)', latency(prompt.orchflowOff),
  `(n=${prompt.orchflowOff.n}, same rounds; create response at p50 ${fmt(prompt.responseOff.p50)} ms${vsPtyPrompt(prompt.orchflowOff)}; joining the groups cost +${fmt(prompt.orchflow.p50 - prompt.orchflowOff.p50)} ms at p50)`);
if (pty) {
  note('Spawn → first prompt, node-pty (same command, PS1 in env)', latency(prompt.nodePty), `(n=${prompt.nodePty.n})`);
  note('Ratio Orchflow / node-pty, first prompt', `${fmt(prompt.orchflow.p50 / prompt.nodePty.p50)}× at p50 with control groups, ${fmt(prompt.orchflowOff.p50 / prompt.nodePty.p50)}× without`, '(aim: within 1.2×)');
} else {
  notMeasured('Spawn → first prompt, node-pty', ptyWhy);
}
off.c.close();
cleanup(hOff);
offCleaned = true;

// 3. Throughput: the same flood through the daemon to this client (acking as VS Code does) and read raw by node-pty.
async function orchflowFlood(bytes, onTick) {
  main.watch = null;
  const t0 = now();
  const info = await c.conn.sendRequest('orchflow/terminal/create', { workspaceId: ws.id, command: floodCmd(bytes), attach: true });
  let last = 0;
  let lastAt = Date.now();
  for (let t = term(info.id); t.chars < bytes; t = term(info.id)) {
    if (t.chars !== last) {
      last = t.chars;
      lastAt = Date.now();
    } else if (Date.now() - lastAt > 10000) {
      throw new Error(`flood stalled after ${t.chars} of ${bytes} characters`);
    }

    onTick?.();
    await sleep(t.chars > 0 ? 5 : 0);
  }
  const seconds = ms(now() - t0) / 1000;
  await c.conn.sendRequest('orchflow/terminal/kill', { id: info.id });
  terms.delete(info.id);
  return seconds;
}

function nodePtyFlood(bytes) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    let chars = 0;
    const p = pty.spawn('/bin/sh', ['-c', floodCmd(bytes)], { name: 'xterm-256color', cols: 80, rows: 24, cwd: project, env: childEnv });
    let seconds = null;
    p.onData((d) => {
      chars += d.length;
      if (seconds === null && chars >= bytes) {
        seconds = ms(now() - t0) / 1000;
        p.kill('SIGKILL');
      }
    });
    p.onExit(() => (seconds === null ? reject(new Error(`node-pty flood ended after ${chars} of ${bytes}`)) : resolve(seconds)));
  });
}

const mbps = (bytes, seconds) => bytes / 1e6 / seconds;
const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const daemonCpu = () => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks; // utime + stime
};
const clientCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
/** Runs fn() and returns [its result, daemon CPU seconds, this process's CPU seconds]. */
async function withCpu(fn) {
  const d0 = daemonCpu();
  const c0 = clientCpu();
  const r = await fn();
  return [r, daemonCpu() - d0, clientCpu() - c0];
}
const alone = async (bytes) => {
  // The daemon's own read path, with no client attached: PTY → decoder → scrollback, until the exit notification.
  const t0 = now();
  const info = await c.conn.sendRequest('orchflow/terminal/create', { workspaceId: ws.id, command: `head -c ${bytes} /dev/zero | tr '\\0' 'x'` });
  const key = `${info.id}@${info.createdAt}`;
  await until(() => exitedAt.has(key), 120000, `${info.id} to exit`, 0);
  const seconds = ms(exitedAt.get(key) - t0) / 1000;
  await c.conn.sendRequest('orchflow/terminal/kill', { id: info.id });
  return seconds;
};
await orchflowFlood(10_000_000); // warm the paths
await alone(10_000_000);
if (pty) await nodePtyFlood(10_000_000);
const tp = { orchflow: [], alone: [], nodePty: [] };
const cpu = { daemon: 0, client: 0, nodePty: 0 };
for (let i = 0; i < TP_RUNS; i++) {
  const [seconds, d, cl] = await withCpu(() => orchflowFlood(TP_BYTES));
  tp.orchflow.push(mbps(TP_BYTES, seconds));
  cpu.daemon += d / seconds / TP_RUNS;
  cpu.client += cl / seconds / TP_RUNS;
  tp.alone.push(mbps(TP_BYTES, await alone(TP_BYTES)));
  if (pty) {
    const [secondsPty, , clPty] = await withCpu(() => nodePtyFlood(TP_BYTES));
    tp.nodePty.push(mbps(TP_BYTES, secondsPty));
    cpu.nodePty += clPty / secondsPty / TP_RUNS;
  }
}
const tpO = dist(tp.orchflow);
note(`Throughput, Orchflow → Node client (\`${floodCmd(TP_BYTES)}\`)`, `${fmt(tpO.p50, 1)} MB/s median`,
  `(n=${tpO.n}, min ${fmt(tpO.min, 1)}, max ${fmt(tpO.max, 1)}, interleaved with the rows below; PTY → daemon → JSON-RPC notifications over the Unix socket → vscode-jsonrpc, acking every ${ACK_EVERY} chars; MB = 10^6 bytes; CPU busy: daemon ${fmt(cpu.daemon * 100, 0)}%, Node client ${fmt(cpu.client * 100, 0)}% of one core)`);
const tpA = dist(tp.alone);
note('Throughput, daemon with no client attached (same bytes)', `${fmt(tpA.p50, 1)} MB/s median`, `(n=${tpA.n}, min ${fmt(tpA.min, 1)}, max ${fmt(tpA.max, 1)}; create until the exit notification: the PTY read path alone, output kept only in the scrollback)`);
if (pty) {
  const tpN = dist(tp.nodePty);
  note('Throughput, raw PTY read by node-pty (same command)', `${fmt(tpN.p50, 1)} MB/s median`, `(n=${tpN.n}, min ${fmt(tpN.min, 1)}, max ${fmt(tpN.max, 1)}; CPU busy: node-pty process ${fmt(cpu.nodePty * 100, 0)}% of one core)`);
  note('Ratio Orchflow / raw PTY, throughput', `${fmt(tpO.p50 / tpN.p50)}×`, '(aim: ≥ 0.8×)');
} else {
  notMeasured('Throughput, raw PTY read by node-pty', ptyWhy);
}

// 4. Daemon RSS during a 1 GiB flood to an acking client, sampled every 100 ms.
{
  global.gc?.();
  await sleep(1000);
  const baseline = rssBytes(pid);
  let peak = baseline;
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 100);
  const seconds = await orchflowFlood(FLOOD_BYTES);
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(pid));
  await sleep(1000);
  const after = rssBytes(pid);
  const mib = (b) => fmt(b / 2 ** 20, 1);
  note(`Daemon RSS during a ${fmt(FLOOD_BYTES / 2 ** 30, 2)} GiB flood`, `baseline ${mib(baseline)} MiB, peak ${mib(peak)} MiB, peak − baseline ${mib(peak - baseline)} MiB`,
    `(/proc/<daemon pid>/statm every 100 ms; the flood took ${fmt(seconds, 1)} s = ${fmt(mbps(FLOOD_BYTES, seconds), 1)} MB/s; ${mib(after)} MiB 1 s after the terminal was killed)`);
}

c.close();
cleanup(h);
cleaned = true;
if (pty === null) notes.push(`node-pty: ${ptyWhy}.`);
notes.push(`Control groups: the default daemon ran with ${main.cgroups}; the second with ${off.cgroups}. With control groups every terminal first joins its workspace's groups, through a \`/bin/sh\` launcher that writes its own pid into each group before it runs the command, so limits hold from the first instruction; on cgroup v1 each migration waits for the kernel's RCU grace period, which is most of the difference between the two daemons' rows (+${fmt(echo.orchflow.p50 - echo.orchflowOff.p50)} ms at p50 to first output, +${fmt(prompt.orchflow.p50 - prompt.orchflowOff.p50)} ms to first prompt, in this run). The second daemon measures the rest of Orchflow's path, not a configuration to run: without groups, limits are only checked once a second. The isolation section measures each security tier's spawn cost.`);
notes.push('Floods end with `; sleep 60` and are timed to their last character: node-pty dropped the last 10 KB of 200 MB once when the child exited right after writing. The tmux figures include starting a tmux client process per call, as its CLI does.');

const table = ['| Metric | Result | Detail |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`)].join('\n');
writeSection('terminals', `## Terminals: Orchflow against node-pty and tmux

Command: \`npm run bench\` (runs \`node bench/terminals.mjs\`), ${new Date().toISOString().slice(0, 10)}, on ${machine()}; load average ${fmt(loadBefore, 2)} at the start, ${fmt(os.loadavg()[0], 2)} at the end.
Every contender runs the same command line under \`/bin/sh -c\` (Orchflow runs commands with \`$SHELL -c\`; the daemon was started with SHELL=/bin/sh), with an empty HOME. Orchflow figures are seen by a Node client speaking the protocol (vscode-jsonrpc over the daemon's socket), as VS Code does; node-pty figures are in-process.

${table}
${notes.length ? `\n${notes.join('\n')}\n` : ''}`);
