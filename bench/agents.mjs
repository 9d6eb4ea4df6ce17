// Agent benchmarks (issue 4: agents in workspaces): how fast an agent is reported running and waiting for input,
// and what measuring 100 running agents costs the daemon. Figures, not pass/fail. Run with `npm run bench` (or
// `node bench/agents.mjs` after `bash scripts/build-server.sh`); it rewrites its section of docs/benchmarks.md.
// Environment: BENCH_RUNS (spawn runs, default 30), BENCH_PROMPT_RUNS (prompt runs per kind, default 20),
// BENCH_AGENTS (agents for the sampling cost, default 100), BENCH_WORKSPACES (default 5), BENCH_WINDOW_S (default 20).
import {
  quantile, fmt, freshHome, cleanup, cli, connect, rssBytes, daemonPid, spawnSync, writeSection, machine, path, os, sleep, until,
} from './lib.mjs';
import { mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PROMPT_RUNS = Number(process.env.BENCH_PROMPT_RUNS ?? 20);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const WORKSPACES = Number(process.env.BENCH_WORKSPACES ?? 5);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 20);
const WARMUP = 3;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

const rows = [];
const notes = [];
const note = (metric, value, detail = '') => { rows.push([metric, value, detail]); console.log(`${metric}: ${value} ${detail}`); };
const dist = (samples) => {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), min: s[0], max: s[s.length - 1] };
};
const latency = (s) => `p50 ${fmt(s.p50, 1)} ms, p90 ${fmt(s.p90, 1)} ms, worst ${fmt(s.max, 1)} ms`;
/** Wall-clock time in ms with sub-ms precision, comparable with `date +%s%N` written by a child. */
const wallMs = () => performance.timeOrigin + performance.now();
const mono = () => performance.now();

// Workspaces whose limits allow the sampling run (max_agents and terminal_limit raised), each with a type that
// recognizes the benchmark's prompt by a pattern. The `command` type has no patterns: its prompts are found by quiet.
const h = freshHome('agents');
const userHome = path.join(h.root, 'userhome');
mkdirSync(userHome, { recursive: true });
h.env = { ...h.env, HOME: userHome, SHELL: '/bin/sh' };
const perWorkspace = Math.ceil(AGENTS / WORKSPACES);
const projects = [];
for (let i = 0; i < WORKSPACES; i++) {
  const dir = path.join(h.root, 'projects', `agents-${i}`);
  mkdirSync(path.join(dir, '.orchflow'), { recursive: true });
  writeFileSync(path.join(dir, '.orchflow', 'workspace.json'), JSON.stringify({
    workspace: {
      resources: { max_agents: Math.max(perWorkspace, 8), terminal_limit: Math.max(perWorkspace + 8, 16) },
      agents: { types: { 'prompt-pattern': { command: '/bin/sh -c {task}', needs_input_patterns: ['^Proceed\\? \\[y/n\\]'] } } },
    },
  }));
  projects.push(dir);
}
const tsDir = path.join(h.root, 'ts');
mkdirSync(tsDir);

let cleaned = false;
process.on('exit', () => { if (!cleaned) cleanup(h); });
const loadBefore = os.loadavg()[0];
cli(h, ['daemon', 'start']);
const pid = daemonPid(h);
const c = await connect(h);
const ws = [];
for (const dir of projects) ws.push(await c.conn.sendRequest('orchflow/workspace/create', { path: dir }));
const w0 = ws[0].id;

// Every agent's state changes, by id: the first moment each state was reported. Notifications can come before the
// spawn response, so they are recorded for every id as they arrive.
const seen = new Map();
c.conn.onNotification('orchflow/agent/changed', (n) => {
  if (!n.agent) return;
  let s = seen.get(n.id);
  if (!s) { s = new Map(); seen.set(n.id, s); }
  if (!s.has(n.agent.state)) s.set(n.agent.state, { mono: mono(), wall: wallMs() });
});
const firstOutput = new Map();
c.conn.onNotification('orchflow/terminal/output', (n) => {
  if (!firstOutput.has(n.id) && n.data.includes('started')) firstOutput.set(n.id, mono());
});

const stateAt = (id, state) => seen.get(id)?.get(state);
async function removeAgent(id) {
  await c.conn.sendRequest('orchflow/agent/remove', { id });
  seen.delete(id);
}

// 1. Spawn → running, against the same command in a plain terminal (its first output) in the same run.
const responses = { agent: [], terminal: [] };
async function agentRunning() {
  const t0 = mono();
  const a = await c.conn.sendRequest('orchflow/agent/spawn', { workspaceId: w0, type: 'command', task: 'echo started; exec sleep 600' });
  responses.agent.push(mono() - t0);
  await until(() => stateAt(a.id, 'running'), 10000, `${a.id} running`);
  const elapsed = stateAt(a.id, 'running').mono - t0;
  await removeAgent(a.id);
  return elapsed;
}
async function terminalFirstOutput() {
  const t0 = mono();
  const t = await c.conn.sendRequest('orchflow/terminal/create', { workspaceId: w0, command: 'echo started; exec sleep 600', attach: true });
  responses.terminal.push(mono() - t0);
  await until(() => firstOutput.has(t.id), 10000, `${t.id} output`);
  const elapsed = firstOutput.get(t.id) - t0;
  firstOutput.delete(t.id);
  await c.conn.sendRequest('orchflow/terminal/kill', { id: t.id });
  return elapsed;
}
{
  const agent = [];
  const terminal = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    if (i === WARMUP) { responses.agent.length = 0; responses.terminal.length = 0; }
    const a = await agentRunning();
    const t = await terminalFirstOutput();
    if (i >= WARMUP) { agent.push(a); terminal.push(t); }
  }
  const a = dist(agent);
  const t = dist(terminal);
  note('Spawn → `running` reported, `command` agent (`echo started; exec sleep 600`)', latency(a),
    `(n=${a.n} after ${WARMUP} warm-up; from sending orchflow/agent/spawn to the orchflow/agent/changed notification with state running, over the socket)`);
  note('Peer: terminal/create → first output, same command line', latency(t), `(n=${t.n}, interleaved with the row above)`);
  const ar = dist(responses.agent);
  const tr = dist(responses.terminal);
  note('Response to orchflow/agent/spawn (same runs)', latency(ar),
    `(against p50 ${fmt(tr.p50, 1)} ms for terminal/create: a spawn also resolves the type on the workspace's PATH, opens the log, and commits five LiteDB transactions: the id counter, the agent when created and when started, and two events)`);
  note('Ratio agent running / terminal first output', `${fmt(a.p50 / t.p50)}× at p50`,
    `(the difference is the agent's bookkeeping: the spawn's LiteDB commits, and a detection pass woken by the first output, at most one per 10 ms)`);
}

// 2. Prompt written → needsInput reported. The script writes the wall-clock time to a file just before it prints
// the prompt (the `date` child has exited by then); the notification's arrival is taken on the same clock.
async function promptToNeedsInput(type, n) {
  const file = path.join(tsDir, `p${n}`);
  const script = `echo working; sleep 0.3; date +%s%N > '${file}'; printf 'Proceed? [y/n] '; read answer; echo "got $answer"`;
  const a = await c.conn.sendRequest('orchflow/agent/spawn', { workspaceId: w0, type, task: script });
  await until(() => stateAt(a.id, 'needsInput'), 15000, `${a.id} needsInput`);
  const reported = stateAt(a.id, 'needsInput').wall;
  const written = Number(BigInt(readFileSync(file, 'utf8').trim()) / 1000n) / 1000; // ns → ms, keeping µs
  await removeAgent(a.id);
  return reported - written;
}
{
  const quiet = [];
  const pattern = [];
  for (let i = 0; i < WARMUP + PROMPT_RUNS; i++) {
    const q = await promptToNeedsInput('command', `q${i}`);
    const p = await promptToNeedsInput('prompt-pattern', `p${i}`);
    if (i >= WARMUP) { quiet.push(q); pattern.push(p); }
  }
  const q = dist(quiet);
  const p = dist(pattern);
  note('Prompt printed → `needsInput` reported, by quiet (no pattern; `command` type)', latency(q),
    `(n=${q.n} after ${WARMUP} warm-up; prompt "Proceed? [y/n] " found because output stayed quiet 400 ms at a prompt-like line (NeedsInputDetector.QuietPeriod), checked every 100 ms and whenever output arrives)`);
  note('Prompt printed → `needsInput` reported, by a needs-input pattern', latency(p),
    `(n=${p.n}, interleaved with the row above; a type with needs_input_patterns ["^Proceed\\? \\[y/n\\]"]: reported by the detection pass its output wakes, at most one per 10 ms)`);
}

// 3. What measuring costs: daemon CPU over a window with N running agents against the same daemon idle.
function cpuTicks(p) {
  const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}
let resourceNotes = 0;
c.conn.onNotification('orchflow/resources/changed', () => { resourceNotes++; });
const processCount = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
async function window(label) {
  const procs = processCount();
  const t0 = cpuTicks(pid);
  const n0 = resourceNotes;
  const s0 = mono();
  await sleep(WINDOW_S * 1000);
  const seconds = (mono() - s0) / 1000;
  const busy = (cpuTicks(pid) - t0) / CLK_TCK;
  return { label, cpu: (busy / seconds) * 100, seconds, rss: rssBytes(pid), notifications: resourceNotes - n0, procs };
}
{
  await sleep(2000); // let the removals of the runs above settle: the last resources notification goes out
  const idle = await window('idle');
  const ids = [];
  const t0 = mono();
  for (let i = 0; i < AGENTS; i++) {
    const a = await c.conn.sendRequest('orchflow/agent/spawn', { workspaceId: ws[i % WORKSPACES].id, type: 'command', task: 'exec sleep 600' });
    ids.push(a.id);
  }
  const spawnedIn = (mono() - t0) / 1000;
  // A silent command counts as running one second after its start (AgentService.StartingGrace).
  await until(() => ids.every((id) => stateAt(id, 'running')), 60000, `all ${AGENTS} agents running`);
  const snapshot = await c.conn.sendRequest('orchflow/workspace/resources', {});
  const measured = snapshot.agents.filter((a) => a.memoryBytes != null).length;
  await sleep(2000); // past the start: every session has been sampled twice
  const busy = await window('agents');
  const mib = (b) => `${fmt(b / 2 ** 20, 1)} MiB`;
  note(`Daemon CPU, idle (0 agents, ${WORKSPACES} workspaces, one client connected)`, `${fmt(idle.cpu, 2)}% of one core`,
    `(utime+stime from \`/proc/<daemon pid>/stat\` over ${fmt(idle.seconds, 1)} s)`);
  note(`Daemon CPU, ${AGENTS} running \`command\` agents (\`exec sleep 600\`) across ${WORKSPACES} workspaces`, `${fmt(busy.cpu, 2)}% of one core`,
    `(same daemon, same client, over ${fmt(busy.seconds, 1)} s: resource sampling of ${AGENTS} sessions every second, the 100 ms quiet check, ${busy.notifications} resources/changed notifications sent to the client; ${measured} of ${AGENTS} agents had memory figures at the start of the window; each sample reads /proc/PID/stat of every process on the machine, ${busy.procs} then)`);
  note('Cost per running agent', `${fmt((busy.cpu - idle.cpu) / AGENTS, 3)}% of one core`, `((busy − idle) / ${AGENTS})`);
  note(`Daemon RSS, idle → ${AGENTS} agents`, `${mib(idle.rss)} → ${mib(busy.rss)}`,
    `(≈ ${fmt((busy.rss - idle.rss) / AGENTS / 1024, 0)} KiB per agent: its terminal, scrollback, detector, log writer; /proc/PID/statm)`);
  note(`Spawning ${AGENTS} agents`, `${fmt(spawnedIn, 2)} s`, `(one request after another from one client; ${fmt((spawnedIn * 1000) / AGENTS, 1)} ms each)`);
  for (const id of ids) await removeAgent(id);
}

c.close();
cleanup(h);
cleaned = true;
if (loadBefore > os.cpus().length) {
  notes.push(`The machine was shared with other work during this run (load average ${fmt(loadBefore, 2)} on ${os.cpus().length} cores): the p90 and worst figures carry that noise; the medians are the figures to compare.`);
}

const table = ['| Metric | Result | Detail |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`)].join('\n');
const counts = `BENCH_RUNS=${RUNS}, BENCH_PROMPT_RUNS=${PROMPT_RUNS}, BENCH_AGENTS=${AGENTS}, BENCH_WORKSPACES=${WORKSPACES}, BENCH_WINDOW_S=${WINDOW_S}`;
writeSection('agents', `## Agents: state reporting and the cost of measuring them

Command: \`npm run bench\` (runs \`node bench/agents.mjs\`; ${counts}), ${new Date().toISOString().slice(0, 10)}, on ${machine()}; load average ${fmt(loadBefore, 2)} at the start, ${fmt(os.loadavg()[0], 2)} at the end.
Figures are seen by a Node client speaking the protocol over the daemon's socket (vscode-jsonrpc), as VS Code does. The daemon is the published build (\`dist/server\`, ReadyToRun), started with SHELL=/bin/sh.

${table}
${notes.length ? `\n${notes.join('\n')}\n` : ''}`);

// The real agent CLIs against their vendors' stand-in APIs (bench/real-agents.mjs, its own section); BENCH_REAL_RUNS=0 skips it.
if (process.env.BENCH_REAL_RUNS !== '0') await import('./real-agents.mjs');
