// Dialog drawn → needs-input reported, through the real daemon (issue 12). Figures, not pass/fail.
//
// Recorded: every dialog of the screen fixtures (tests/Orchflow.Server.Tests/Fixtures/screens: the real CLIs'
// recordings in screens.json and the synthetic ones in synthetic-labels.json), cut where the dialog is fully drawn,
// written into an agent's terminal by `head -c`; the script writes the wall-clock time to a file the moment the bytes
// are written, and the orchflow/agent/changed notification with state needsInput is timed on the same clock.
// Live: each real CLI (pinned in tests/agents) in a folder it does not trust yet, against its stand-in API: a client
// attached to the agent's terminal times the first output that shows the trust question and the needsInput
// notification, both arriving on the same connection.
// Run: node bench/dialogs.mjs (after scripts/build-server.sh and scripts/setup.sh); `npm run bench` runs it.
// Environment: BENCH_DIALOG_RUNS (replays of each recorded dialog, default 5), BENCH_LIVE_RUNS (live runs per CLI, default 3).
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { quantile, fmt, writeSection, machine, repo, os, connect, until } from './lib.mjs';
import { makeWorld, installedVersion, missingPrerequisite } from '../tests/agents/harness.mjs';

const RUNS = Number(process.env.BENCH_DIALOG_RUNS ?? 5);
const LIVE_RUNS = Number(process.env.BENCH_LIVE_RUNS ?? 3);
const FIXTURES = path.join(repo, 'tests', 'Orchflow.Server.Tests', 'Fixtures', 'screens');
const wallMs = () => performance.timeOrigin + performance.now();
const dist = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), max: s[s.length - 1] };
};
const latency = (d) => (d.n ? `p50 ${fmt(d.p50, 1)} ms, worst ${fmt(d.max, 1)} ms (n=${d.n})` : 'not measured');

/** The dialogs of the fixtures: file, the byte count at which the dialog is fully drawn, and where it came from. */
function dialogs() {
  const list = [];
  const real = JSON.parse(readFileSync(path.join(FIXTURES, 'screens.json'), 'utf8')).screens;
  for (const s of real) if (s.question && s.drawnAt) list.push({ file: s.file, bytes: s.drawnAt, origin: `${s.vendor} ${s.version}, recorded`, dialog: s.dialog });
  const synthetic = JSON.parse(readFileSync(path.join(FIXTURES, 'synthetic-labels.json'), 'utf8')).fixtures;
  for (const f of synthetic) {
    const q = f.frames.find((fr) => fr.expect === 'question');
    if (q) list.push({ file: f.file, bytes: q.end, origin: `${f.vendor}, synthetic`, dialog: f.file.replace(/^synthetic-[a-z]+-|\.bin$/g, '') });
  }
  return list;
}

/** The first moment each agent was reported in each state, by id (notifications can precede the spawn's response). */
function watchStates(conn) {
  const seen = new Map();
  conn.onNotification('orchflow/agent/changed', (n) => {
    if (!n.agent) return;
    let s = seen.get(n.id);
    if (!s) { s = new Map(); seen.set(n.id, s); }
    if (!s.has(n.agent.state)) s.set(n.agent.state, { wall: wallMs(), agent: n.agent });
  });
  return seen;
}

const rows = [];
const note = (metric, value, detail) => { rows.push(`| ${metric} | ${value} | ${detail} |`); console.log(`${metric}: ${value} ${detail}`); };
const missing = missingPrerequisite();
const loadBefore = os.loadavg()[0];

// 1. Recorded dialogs replayed through the daemon.
const recorded = { all: [], real: [], synthetic: [], missed: [] };
{
  const w = await makeWorld({ types: [], label: 'bench-dialogs' });
  const c = await connect({ home: w.orchHome });
  try {
    const seen = watchStates(c.conn);
    const cut = path.join(w.root, 'cut');
    mkdirSync(cut);
    const list = dialogs();
    for (let i = 0; i < RUNS + 1; i++) {
      for (const d of list) {
        const file = path.join(cut, `${d.file}.${d.bytes}`);
        if (!existsSync(file)) writeFileSync(file, readFileSync(path.join(FIXTURES, d.file)).subarray(0, d.bytes));
        const stamp = path.join(cut, `${d.file}.${i}.t`);
        const task = `sleep 0.2; head -c ${d.bytes} '${file}'; date +%s%N > '${stamp}'; exec sleep 600`;
        const a = await c.conn.sendRequest('orchflow/agent/spawn', { workspaceId: 'demo', type: 'command', task });
        try {
          await until(() => seen.get(a.id)?.has('needsInput') || seen.get(a.id)?.has('failed'), 5000, `${a.id} (${d.file}) needsInput`, 2);
        } catch {
          if (i > 0) recorded.missed.push(d.file);
        }
        const at = seen.get(a.id)?.get('needsInput');
        if (at && i > 0) {
          await until(() => existsSync(stamp) && readFileSync(stamp, 'utf8').trim().length > 0, 5000, `${stamp}`, 2);
          const written = Number(BigInt(readFileSync(stamp, 'utf8').trim()) / 1000n) / 1000;
          const ms = at.wall - written;
          recorded.all.push(ms);
          (d.origin.endsWith('recorded') ? recorded.real : recorded.synthetic).push(ms);
          if (!at.agent.question) recorded.missed.push(`${d.file} (needsInput without the question)`);
        }
        await c.conn.sendRequest('orchflow/agent/remove', { id: a.id }).catch(() => {});
        seen.delete(a.id);
      }
    }
    const n = dialogs().length;
    note('Recorded dialogs of the real CLIs → `needsInput`', latency(dist(recorded.real)),
      `${dialogs().filter((d) => d.origin.endsWith('recorded')).length} dialogs (${dialogs().filter((d) => d.origin.endsWith('recorded')).map((d) => `${d.origin.split(',')[0]} ${d.dialog}`).join(', ')}), ${RUNS} replays each after one warm-up; from \`head -c\` having written the bytes up to where the dialog is fully drawn to the orchflow/agent/changed notification with state needsInput`);
    note('Synthetic dialogs (trust, approval, edit, plan of the three vendors) → `needsInput`', latency(dist(recorded.synthetic)), `${n - dialogs().filter((d) => d.origin.endsWith('recorded')).length} dialogs, same method`);
    note('All recorded dialogs → `needsInput`', latency(dist(recorded.all)),
      `${recorded.missed.length === 0 ? 'every replay reported, each with its question' : `not reported within 5 s or without the question: ${[...new Set(recorded.missed)].join(', ')}`}`);
  } finally {
    c.close();
    await w.close();
  }
}

// 2. Live: each real CLI's trust question in a folder it does not trust yet.
if (missing) {
  note('Live trust dialogs', 'not measured', missing);
} else {
  for (const type of ['claude', 'codex', 'gemini']) {
    const samples = [];
    const notes = [];
    for (let i = 0; i < LIVE_RUNS; i++) {
      const w = await makeWorld({ types: [type], label: `bench-live-${type}` });
      // A folder under version control, where people run these CLIs (Codex asks for trust only there).
      execFileSync('git', ['init', '-q', w.project]);
      const c = await connect({ home: w.orchHome });
      try {
        const seen = watchStates(c.conn);
        let drawn = null;
        let text = '';
        let terminalId = null;
        c.conn.onNotification('orchflow/terminal/output', (n) => {
          if (n.id !== terminalId) return;
          c.conn.sendNotification('orchflow/terminal/ack', { id: n.id, seq: n.seq });
          text += n.data;
          if (drawn === null && /trust/i.test(text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ' '))) drawn = wallMs();
        });
        const a = await c.conn.sendRequest('orchflow/agent/spawn', { workspaceId: 'demo', type, task: 'Use every Orchflow tool once, then report done.' });
        terminalId = a.terminalId;
        if (terminalId) await c.conn.sendRequest('orchflow/terminal/attach', { id: terminalId });
        try {
          await until(() => seen.get(a.id)?.has('needsInput') || seen.get(a.id)?.has('failed') || seen.get(a.id)?.has('succeeded'), 60_000, `${type} needsInput`, 2);
        } catch (e) {
          notes.push(e.message);
        }
        const at = seen.get(a.id)?.get('needsInput');
        if (at && drawn !== null && /trust/i.test(at.agent.question ?? '')) samples.push(at.wall - drawn);
        else notes.push(at ? `needsInput with question ${JSON.stringify(at.agent.question)}` : 'no needsInput');
        await c.conn.sendRequest('orchflow/agent/stop', { id: a.id }).catch(() => {});
      } finally {
        c.close();
        await w.close();
      }
    }
    note(`Live: ${type} ${installedVersion(type)} trust question → \`needsInput\``, samples.length ? latency(dist(samples)) : 'not measured',
      samples.length === LIVE_RUNS
        ? `interactive, untrusted folder, stand-in API; from the first output showing "trust" reaching an attached client to the needsInput notification on the same connection (the rest of the dialog is drawn in between)`
        : `${samples.length} of ${LIVE_RUNS} runs showed the trust question as needsInput; the others: ${[...new Set(notes)].join('; ')}`);
  }
}

writeSection('dialogs', `## Agents: dialog drawn → needs-input reported

Command: \`node bench/dialogs.mjs\` (also run by \`npm run bench\`; BENCH_DIALOG_RUNS=${RUNS}, BENCH_LIVE_RUNS=${LIVE_RUNS}), ${new Date().toISOString().slice(0, 10)}, on ${machine()}; load average ${fmt(loadBefore)} at the start, ${fmt(os.loadavg()[0])} at the end.
Each dialog is decided on the agent's visible screen (the screen model of its terminal): a question anywhere on it, with footers and spinners understood. The line detector that came before reported none of the real CLIs' dialogs (it read the last non-empty line, which for these TUIs is a footer such as \`Esc to cancel\`).

| Metric | Result | Detail |
| --- | --- | --- |
${rows.join('\n')}`);
