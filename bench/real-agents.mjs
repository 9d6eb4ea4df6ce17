// Real agent CLIs (pinned in tests/agents) against the local stand-ins of their vendors' APIs: per vendor, the time
// from `orchflow agent spawn` to the CLI's first model request that carries Orchflow's MCP tools (the MCP server is
// connected by then: the CLIs wait for it before the first turn), and to Orchflow showing the agent done after the
// scripted conversation (every tool once, a bad call, report_status done). Batch mode (claude -p, codex exec,
// gemini -p) in a trusted folder, as root. Median over BENCH_REAL_RUNS runs (default 3). Figures, not pass/fail.
// Run: node bench/real-agents.mjs (after scripts/build-server.sh and scripts/setup.sh); bench/agents.mjs runs it too.
// It rewrites its section of docs/benchmarks.md.
import { quantile, fmt, writeSection, machine } from './lib.mjs';
import { makeWorld, trustProject, waitAgent, installedVersion, missingPrerequisite } from '../tests/agents/harness.mjs';

const RUNS = Number(process.env.BENCH_REAL_RUNS ?? 3);
const median = (xs) => quantile([...xs].sort((a, b) => a - b), 0.5);

const missing = missingPrerequisite();
if (missing) {
  console.log(`real agents: not measured: ${missing}`);
} else {
  const rows = [];
  for (const type of ['claude', 'codex', 'gemini']) {
    const connected = [];
    const done = [];
    for (let i = 0; i < RUNS; i++) {
      const w = await makeWorld({ types: [type], label: `bench-${type}` });
      try {
        trustProject(w, type);
        const t0 = Date.now();
        const a = w.json(['agent', 'spawn', '--workspace', 'demo', '--type', type, '--mode', 'batch', 'Use every Orchflow tool once, then report done.']);
        const info = await waitAgent(w, a.id, (x) => x.doneAt || ['failed', 'succeeded', 'stopped'].includes(x.state), 300_000);
        const first = w.standins[type].requests.find((r) => r.decision && !r.side && !r.withoutOrchflowTools);
        if (!info.doneAt || !first) throw new Error(`${type} ${installedVersion(type)} did not finish: ${info.state} ${info.message ?? ''}`);
        connected.push(first.at - t0);
        done.push(Date.parse(info.doneAt) - t0);
        console.log(`${type} run ${i + 1}: MCP tools at the first turn after ${first.at - t0} ms, done after ${Date.parse(info.doneAt) - t0} ms`);
      } finally {
        await w.close();
      }
    }
    rows.push(`| ${type} ${installedVersion(type)} | ${fmt(median(connected), 0)} ms | ${fmt(median(done), 0)} ms | ${RUNS} |`);
  }
  writeSection('real-agents', `## Real agent CLIs: spawn to MCP connected

\`node bench/real-agents.mjs\` (batch mode, stand-in APIs on 127.0.0.1, trusted folder, root; median of ${RUNS} runs).
"First turn with MCP tools": from \`orchflow agent spawn\` to the CLI's first model request that lists Orchflow's tools.
"Done": to Orchflow showing the agent done after every tool call (7 model turns, each answered at once).

| CLI | first turn with MCP tools | done | runs |
|---|---|---|---|
${rows.join('\n')}

Machine: ${machine()}.`);
  console.log(rows.join('\n'));
}
