// The `agents` tier: the real agent CLIs (pinned in tests/agents/package.json) run by the real daemon, each against a
// local stand-in of its vendor's API (standins.mjs), spawned exactly as a user spawns them: the built-in type, no
// override, the vendor's key and base URL passed from the user's environment by the workspace's
// agents.env_passthrough. Each run: spawn with a task, the MCP server connects before the first model turn, the
// scripted model calls every Orchflow tool once plus one bad call, then report_status done, and Orchflow shows done.
// Run: node --test tests/agents/ (after scripts/build-server.sh and scripts/setup.sh; the `agents` tier does both).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import {
  makeWorld, trustProject, waitAgent, installedVersion, missingPrerequisite, unprivilegedUser, cliBin,
} from './harness.mjs';
import { SCRIPT, transcript } from './standins.mjs';

const missing = missingPrerequisite();
const worlds = new Set();
after(async () => { for (const w of worlds) await w.close(); });

const FINAL = ['succeeded', 'failed', 'stopped', 'interrupted'];
const TASK = 'Use every Orchflow tool once, then report done.';

/** A fresh world for one test, closed (daemon stopped, files removed) when the test ends. */
async function world(t, opts) {
  const w = await makeWorld(opts);
  worlds.add(w);
  t.after(async () => { worlds.delete(w); await w.close(); });
  return w;
}

/** What a failure message needs: the CLI and its version, Orchflow's view, and what the stand-in saw. */
function context(w, type, mode, info) {
  return `${type} ${installedVersion(type)} (${mode}${w.user ? `, user ${w.user.name}` : ', root'}): state ${info?.state}, `
    + `message ${JSON.stringify(info?.message)}, last line ${JSON.stringify(info?.lastLine)}\n`
    + `model requests: ${JSON.stringify(transcript(w.standins[type]), null, 1)}`;
}

/**
 * Answers a vendor's trust dialog through Orchflow, as a person would: waits until `agent show` says it needs input
 * with a menu, picks the choice whose label says yes or trust, and answers it for the question it read.
 * @returns the question that was answered, or null when none came within 60 s
 */
async function answerTrust(w, type, agent) {
  const info = await waitAgent(w, agent.id, (a) => (a.state === 'needsInput' && a.choices?.length > 0) || FINAL.includes(a.state), 60_000);
  if (info.state !== 'needsInput' || !info.choices?.length) return null;
  const n = info.choices.findIndex((c) => /\b(yes|trust)\b/i.test(c.label) && !/\b(no|don't|do not)\b/i.test(c.label)) + 1;
  assert.ok(n > 0, `${type} ${installedVersion(type)}: no choice says yes or trust: ${JSON.stringify(info.choices)}`);
  const answered = w.json(['agent', 'answer', agent.id, String(n), '--question', info.question]);
  assert.notEqual(answered.state, 'needsInput', `${type}: still waits after the answer`);
  return info.question;
}

async function scenario(w, type, mode, { trusted = true } = {}) {
  if (trusted) trustProject(w, type);
  const standin = w.standins[type];
  const spawned = w.json(['agent', 'spawn', '--workspace', 'demo', '--type', type, ...(mode === 'batch' ? ['--mode', 'batch'] : []), TASK]);
  if (!trusted && mode === 'interactive') {
    const question = await answerTrust(w, type, spawned);
    assert.ok(question, `${type} ${installedVersion(type)}: no trust question with choices within 60 s in an untrusted folder`);
    assert.match(question, /trust|folder/i, `${type}: the question answered was not the trust question`);
  }
  let info = await waitAgent(w, spawned.id, (a) => a.doneAt || FINAL.includes(a.state), 240_000);
  const ctx = context(w, type, mode, info);
  assert.ok(info.doneAt, `Orchflow does not show done. ${ctx}`);
  assert.match(info.message ?? '', /Scripted run finished/, ctx);

  // `orchflow mcp` told the daemon when the CLI listed the tools (what Claude's typed first turn waits for).
  assert.ok(info.mcpConnectedAt, `Orchflow did not see the CLI connect to its MCP server. ${ctx}`);

  const main = standin.requests.filter((r) => r.decision && !r.side);
  assert.ok(main.length > 0, `the CLI made no model request. ${ctx}`);
  assert.equal(main[0].withoutOrchflowTools, false, `the first turn went to the model without Orchflow's tools (the MCP server was not connected yet). ${ctx}`);
  const steps = main.filter((r) => r.decision.kind === 'call' && typeof r.decision.step === 'number').map((r) => r.decision.step);
  assert.deepEqual([...new Set(steps)].sort((a, b) => a - b), SCRIPT.map((_, i) => i), `not every scripted call was made. ${ctx}`);

  // What each call returned, as the model received it.
  const results = main.flatMap((r) => r.toolResults ?? []).map((r) => r.text ?? '');
  // Gemini CLI hands a tool's result back inside a JSON string ({"output": "…"}), so its quotes arrive escaped: match both forms.
  const unescaped = (t) => t.replace(/\\n/g, '\n').replace(/\\"/g, '"');
  const has = (re) => results.some((t) => re.test(t) || re.test(unescaped(t)));
  assert.ok(has(/"value":\s*"hello from the stand-in"/), `memory_get did not return the stored value. ${ctx}`);
  assert.ok(has(/"deleted":\s*true/), `memory_delete did not delete. ${ctx}`);
  assert.ok(has(/"id":\s*"demo"/), `workspace_info did not name the workspace. ${ctx}`);
  // Refused by Orchflow with its reason, or (Gemini CLI) by the client itself against the schema's additionalProperties: false.
  assert.ok(has(/memory_get has no argument 'workspace'|must NOT have additional properties/), `the bad call was not refused with the reason. ${ctx}`);
  assert.ok(!results.some((t) => /\\u0022/.test(t)), `a result reached the model with \\u0022 escapes. ${ctx}`);

  // Orchflow's own record: the done event came from the MCP client, and the entry is gone from the workspace.
  const events = w.json(['agent', 'events', '--workspace', 'demo']).events ?? w.json(['agent', 'events', '--workspace', 'demo']);
  assert.ok(events.some((e) => e.agentId === spawned.id && e.kind === 'done'), `no done event. ${ctx}`);
  assert.notEqual(w.run(['memory', 'get', 'agents-e2e/greeting', '--workspace', 'demo'], { check: false }).status, 0, `the deleted entry is still there. ${ctx}`);

  if (mode === 'batch') {
    info = await waitAgent(w, spawned.id, (a) => FINAL.includes(a.state), 60_000);
    assert.equal(info.state, 'succeeded', `the batch run did not exit 0. ${context(w, type, mode, info)}`);
  } else {
    assert.ok(['running', 'needsInput'].includes(info.state), `the interactive CLI ended after its task. ${ctx}`);
    w.run(['agent', 'stop', spawned.id]);
  }
  return { info, standin };
}

// Claude Code's TUI sends a task given in its argv before its MCP servers have connected (2.1.337, even with
// MCP_CONNECTION_NONBLOCKING=false and CLAUDE_CODE_MCP_STARTUP_WAIT_MS=30000), so Orchflow starts it without the task
// and types the task at its first prompt once `orchflow mcp` reports that Claude listed the tools.
for (const type of ['claude', 'codex', 'gemini']) {
  for (const mode of ['batch', 'interactive']) {
    test(`${type} ${mode}: MCP connected before the first turn, every tool once plus a bad call, done`, { skip: missing ?? false, timeout: 420_000 }, async (t) => {
      const w = await world(t, { types: [type], label: `${type}-${mode}` });
      await scenario(w, type, mode);
    });
  }
}

test('claude interactive in an untrusted folder: its trust question is answered through Orchflow, then the run goes on', { skip: missing ?? false, timeout: 420_000 }, async (t) => {
  const w = await world(t, { types: ['claude'], label: 'claude-untrusted' });
  await scenario(w, 'claude', 'interactive', { trusted: false });
});

// Codex CLI asks for trust only in a folder under version control, where people run it; Gemini CLI in any folder.
for (const type of ['codex', 'gemini']) {
  test(`${type} interactive in an untrusted folder: its trust question is answered through Orchflow, then the run goes on`, { skip: missing ?? false, timeout: 420_000 }, async (t) => {
    const w = await world(t, { types: [type], label: `${type}-untrusted` });
    execFileSync('git', ['init', '-q', w.project]);
    await scenario(w, type, 'interactive', { trusted: false });
  });
}

test('gemini batch in an untrusted folder ends failed with Gemini\'s own reason', { skip: missing ?? false, timeout: 300_000 }, async (t) => {
  const w = await world(t, { types: ['gemini'], label: 'gemini-untrusted' });
  const a = w.json(['agent', 'spawn', '--workspace', 'demo', '--type', 'gemini', '--mode', 'batch', TASK]);
  const info = await waitAgent(w, a.id, (x) => FINAL.includes(x.state), 180_000);
  assert.equal(info.state, 'failed', context(w, 'gemini', 'batch', info));
  assert.match(info.message, /exit 55\. Its last output: .*(trusted directory|trust this directory)/, context(w, 'gemini', 'batch', info));
});

for (const type of ['gemini', 'claude']) {
  test(`${type} as an unprivileged user (batch, trusted folder): configured without root-owned files`, { timeout: 420_000 }, async (t) => {
    if (missing) return t.skip(missing);
    const { user, reason } = unprivilegedUser();
    if (!user) return t.skip(reason);
    const w = await world(t, { types: [type], label: `${type}-user`, user });
    await scenario(w, type, 'batch');
  });
}

test('a missing CLI is refused at spawn, naming its npm package', { skip: missing ?? false, timeout: 120_000 }, async (t) => {
  const w = await world(t, { types: ['claude'], label: 'missing' });
  w.env.PATH = w.env.PATH.replace(`${cliBin}:`, '');
  w.run(['daemon', 'stop']);
  w.run(['daemon', 'start']);
  const r = w.run(['agent', 'spawn', '--workspace', 'demo', '--type', 'claude', TASK], { check: false });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Claude Code \(`claude`\) is not installed: install it with `npm install -g @anthropic-ai\/claude-code`/);
});

test('a CLI older than the minimum is refused at spawn, naming both versions', { skip: missing ?? false, timeout: 120_000 }, async (t) => {
  const w = await world(t, { types: ['codex'], label: 'old' });
  const bin = path.join(w.root, 'old-bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'codex'), '#!/bin/sh\necho "codex-cli 0.1.0"\n');
  chmodSync(path.join(bin, 'codex'), 0o755);
  w.env.PATH = `${bin}:${w.env.PATH}`;
  w.run(['daemon', 'stop']);
  w.run(['daemon', 'start']);
  const r = w.run(['agent', 'spawn', '--workspace', 'demo', '--type', 'codex', TASK], { check: false });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Codex CLI 0\.1\.0 \(.*old-bin\/codex\) is older than 0\.171\.0/);
  assert.match(r.stderr, /npm install -g @openai\/codex@latest/);
});

test('credentials: a vendor key reaches that vendor\'s agents of the allowing workspace only', { skip: missing ?? false, timeout: 240_000 }, async (t) => {
  const w = await world(t, { types: ['claude'], label: 'creds' });
  // Another workspace, without a passthrough list.
  const other = path.join(w.root, 'other');
  mkdirSync(path.join(other, '.orchflow'), { recursive: true });
  writeFileSync(path.join(other, '.orchflow', 'workspace.json'), JSON.stringify({ workspace: { id: 'other' } }));
  w.run(['workspace', 'create', other]);

  // A batch Claude in the other workspace has no key: refused before it starts, saying how to give it one.
  const refused = w.run(['agent', 'spawn', '--workspace', 'other', '--type', 'claude', '--mode', 'batch', TASK], { check: false });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /The claude CLI has no credentials here: none of ANTHROPIC_API_KEY/);
  assert.match(refused.stderr, /add "ANTHROPIC_API_KEY" to agents\.env_passthrough in .*other\/\.orchflow\/workspace\.json/);

  // In the allowing workspace, a non-Claude agent and a terminal do not get the Anthropic key; the other workspace's agents neither.
  const probe = 'printf "key=%s\\n" "${ANTHROPIC_API_KEY:-none}"; sleep 1';
  for (const ws of ['demo', 'other']) {
    const a = w.json(['agent', 'spawn', '--workspace', ws, '--type', 'command', probe]);
    const done = await waitAgent(w, a.id, (x) => FINAL.includes(x.state), 60_000);
    assert.equal(done.state, 'succeeded');
    assert.match(w.run(['agent', 'logs', a.id]).stdout, /key=none/, `${ws}: a command agent got the Anthropic key`);
  }
});

test('aider is a built-in type with its argv only (not on npm): no task in the argv, typed at its first prompt', { skip: missing ?? false }, async (t) => {
  const w = await world(t, { types: [], label: 'aider' });
  const types = w.json(['agent', 'types', '--workspace', 'demo']);
  const list = types.types ?? types;
  const aider = list.find((t) => t.name === 'aider');
  assert.equal(aider.command, 'aider');
  assert.match(aider.purpose ?? '', /Not on npm/);
});

