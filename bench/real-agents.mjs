// Real agent CLIs (pinned in tests/agents) against the local stand-ins of their vendors' APIs: per vendor and mode,
// the time from `orchflow agent spawn` to its MCP client connected (mcpConnectedAt), to the CLI's first model request
// that carries Orchflow's MCP tools, and to Orchflow showing the agent done after the scripted conversation (every
// tool once, a bad call, report_status done). Batch mode (claude -p, codex exec, gemini -p) and the interactive TUI,
// in a trusted folder, as root. Median over BENCH_REAL_RUNS runs (default 3). Figures, not pass/fail.
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
    for (const mode of ['batch', 'interactive']) {
      const connected = [];
      const firstTurn = [];
      const done = [];
      for (let i = 0; i < RUNS; i++) {
        const w = await makeWorld({ types: [type], label: `bench-${type}` });
        try {
          trustProject(w, type);
          const t0 = Date.now();
          const a = w.json(['agent', 'spawn', '--workspace', 'demo', '--type', type, ...(mode === 'batch' ? ['--mode', 'batch'] : []), 'Use every Orchflow tool once, then report done.']);
          const info = await waitAgent(w, a.id, (x) => x.doneAt || ['failed', 'succeeded', 'stopped'].includes(x.state), 300_000);
          const first = w.standins[type].requests.find((r) => r.decision && !r.side && !r.withoutOrchflowTools);
          if (!info.doneAt || !first || !info.mcpConnectedAt) throw new Error(`${type} ${installedVersion(type)} ${mode} did not finish: ${info.state} ${info.message ?? ''} (MCP connected: ${info.mcpConnectedAt ?? 'never'})`);
          connected.push(Date.parse(info.mcpConnectedAt) - t0);
          firstTurn.push(first.at - t0);
          done.push(Date.parse(info.doneAt) - t0);
          console.log(`${type} ${mode} run ${i + 1}: MCP connected after ${Date.parse(info.mcpConnectedAt) - t0} ms, first turn with its tools after ${first.at - t0} ms, done after ${Date.parse(info.doneAt) - t0} ms`);
          if (mode === 'interactive') w.run(['agent', 'stop', a.id], { check: false });
        } finally {
          await w.close();
        }
      }
      rows.push(`| ${type} ${installedVersion(type)} | ${mode} | ${fmt(median(connected), 0)} ms | ${fmt(median(firstTurn), 0)} ms | ${fmt(median(done), 0)} ms | ${RUNS} |`);
    }
  }
  writeSection('real-agents', `## Real agent CLIs: spawn to MCP connected

\`node bench/real-agents.mjs\` (stand-in APIs on 127.0.0.1, trusted folder, root; median of ${RUNS} runs), ${new Date().toISOString().slice(0, 10)}.
"MCP connected": from \`orchflow agent spawn\` to the CLI listing Orchflow's tools (\`mcpConnectedAt\`, reported by \`orchflow mcp\`).
"First turn with MCP tools": to the CLI's first model request that carries Orchflow's tools (Claude Code's interactive task is typed at its prompt once its MCP server is connected).
"Done": to Orchflow showing the agent done after every tool call (7 model turns, each answered at once).

| CLI | mode | MCP connected | first turn with MCP tools | done | runs |
|---|---|---|---|---|---|
${rows.join('\n')}

Machine: ${machine()}.`);
  console.log(rows.join('\n'));
}
