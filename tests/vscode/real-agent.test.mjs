// The real Claude Code (tests/agents/node_modules/.bin/claude, the pinned version) inside a real VS Code
// (code-server + headless Chromium), against the real daemon and a local stand-in of the Anthropic API
// (tests/agents/standins.mjs). The ground is the `agents` tier's (tests/agents/harness.mjs makeWorld): a fresh user
// HOME whose Claude Code has done its onboarding but trusts no folder yet, the CLI on the daemon's PATH, the key and
// base URL in the user's environment and passed to the workspace's agents by its agents.env_passthrough.
//
// A person spawns the built-in `claude` type (interactive, no override) from the command palette with a task. Claude
// first asks whether it may trust the folder: VS Code shows that question as the needs-input notification, quoting
// it, with Claude's choices as its buttons. Clicking "Yes, I trust this folder" answers it through the daemon; Claude
// goes on, the scripted model calls each Orchflow MCP tool once plus a bad call, then report_status done, and the
// Workspaces tree shows the agent done.
//
// Every wait is on a signal (a toast, a tree row, the daemon's view of the agent, the stand-in's requests); none is a
// sleep. The screenshot of the notification goes to artifacts/screenshots/real-agent.png; with
// ORCHFLOW_DOCS_SCREENSHOTS=1 also to docs/screenshots/real-agent.png (the README's; off by default so that a test
// run leaves the checkout as it was).
// Skipped, saying why, when the pinned CLI is not installed (cd tests/agents && npm ci).
// Run: npm run package && node --test tests/vscode/real-agent.test.mjs
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cliBin, installedVersion, makeWorld } from '../agents/harness.mjs';
import { FINAL_TEXT, SCRIPT, transcript } from '../agents/standins.mjs';
import { REPO, pollUntil, startVSCode, terminalTabs, waitForDescription } from './harness.mjs';

const VSIX = path.join(REPO, 'out', 'orchflow.vsix');
const ORCHFLOW = path.join(REPO, 'dist', 'server', 'orchflow');
const SCREENSHOT = path.join(REPO, 'artifacts', 'screenshots', 'real-agent.png');
const DOCS_SCREENSHOT = path.join(REPO, 'docs', 'screenshots', 'real-agent.png');

/** Deadlines in milliseconds: a cold daemon and a cold Claude Code (a 200 MB Node bundle) on 2 busy cores. */
const TIMEOUTS = {
  firstTreeRows: 90_000,
  question: 120_000,
  run: 240_000,
  ui: 30_000,
};

const TASK = 'Use every Orchflow tool once, then report done.';
const MISSING = existsSync(path.join(cliBin, 'claude'))
  ? null
  : `Claude Code is not installed in tests/agents (no ${path.join(cliBin, 'claude')}); run: cd tests/agents && npm ci`;
const CLAUDE = `claude ${installedVersion('claude')}`;

let world;
let vsc;
/** The workspace's name as the daemon shows it (the project folder's name; makeWorld gives it the id "demo"). */
let workspaceName;
/** The spawned agent's id, once the daemon lists it. */
let agentId;
/** The question and choices the daemon reported, as the notification showed them. */
let asked;

/** The daemon's view of the agent (`orchflow agent show --json`). */
const show = () => world.json(['agent', 'show', agentId]);

/** The scripted steps the stand-in has answered with a call (0 .. SCRIPT.length - 1), in order, without repeats. */
function stepsCalled() {
  const steps = world.standins.claude.requests.filter((r) => r.decision?.kind === 'call' && typeof r.decision.step === 'number').map((r) => r.decision.step);
  return [...new Set(steps)].sort((a, b) => a - b);
}

/** What a failure needs: the CLI's version, the daemon's view of the agent, and what the stand-in answered. */
function context() {
  let info;
  try {
    info = agentId ? show() : undefined;
  } catch (error) {
    info = { error: error.message };
  }
  return `${CLAUDE}; agent: ${JSON.stringify(info && { state: info.state, question: info.question, choices: info.choices, message: info.message, lastLine: info.lastLine, doneAt: info.doneAt, mcpConnectedAt: info.mcpConnectedAt })}; `
    + `model requests: ${JSON.stringify(world ? transcript(world.standins.claude) : [], null, 1)}`;
}

/** The visible notification toast whose message contains `text`. */
async function toast(text, timeoutMs) {
  const t = vsc.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  try {
    await t.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch (err) {
    err.message += `; toasts: ${JSON.stringify(await vsc.notifications())}; ${context()}`;
    throw err;
  }
  return t;
}

before(async () => {
  if (MISSING) return;
  for (const [what, file] of [['the packaged extension', VSIX], ['the backend', ORCHFLOW]]) {
    assert.ok(existsSync(file), `${what} is missing at ${file}; run npm run package`);
  }
  // The daemon starts with the user's environment (the stand-in's key and URL, Claude's HOME, the CLI on PATH) and
  // knows the project as workspace "demo" (named after its folder); VS Code, given the same environment, connects to it.
  world = await makeWorld({ types: ['claude'], label: 'vscode-real-agent' });
  workspaceName = world.json(['workspace', 'show', 'demo']).name;
  vsc = await startVSCode({ open: world.project, env: world.env, vsix: VSIX, name: 'real-agent' });
});

after(async () => {
  if (agentId) world.run(['agent', 'stop', agentId], { check: false });
  await vsc?.close();
  await world?.close();
});

test('Spawn Agent starts the real Claude Code, in a folder it does not trust yet', { skip: MISSING ?? false, timeout: TIMEOUTS.firstTreeRows + TIMEOUTS.ui * 2 }, async () => {
  const claudeJson = JSON.parse(readFileSync(path.join(world.home, '.claude.json'), 'utf8'));
  assert.equal(claudeJson.projects?.[world.project]?.hasTrustDialogAccepted, undefined, 'Claude trusts the folder already: the test would see no question');

  await vsc.openView('Orchflow');
  await vsc.waitForTreeItem('Workspaces', workspaceName, TIMEOUTS.firstTreeRows);
  await vsc.waitForTreeItem('Workspaces', 'Agents (0)', TIMEOUTS.firstTreeRows);
  // Wide enough for the rows' descriptions in the screenshots.
  await vsc.widenSideBar(700);

  await vsc.runCommand('Orchflow: Spawn Agent...');
  await vsc.quickPick(workspaceName);
  await vsc.waitForText('.quick-input-widget .quick-input-list', 'Claude Code', TIMEOUTS.ui);
  await vsc.quickPick('Claude Code');
  await vsc.inputBox(TASK);
  // The project is no git repository: no question where to work.
  await vsc.waitForTreeItem('Workspaces', TASK, TIMEOUTS.ui);

  const agents = world.json(['agent', 'list']);
  const list = agents.agents ?? agents;
  assert.deepEqual(list.map((a) => [a.workspaceId, a.type, a.mode ?? 'interactive', a.task]), [['demo', 'claude', 'interactive', TASK]]);
  agentId = list[0].id;
});

test('its trust question is the needs-input notification, quoting it, with Claude\'s choices as buttons', { skip: MISSING ?? false, timeout: TIMEOUTS.question + TIMEOUTS.ui }, async () => {
  assert.ok(agentId, 'no agent was spawned (see the test before)');
  const asking = await toast('asks: "', TIMEOUTS.question);
  // A toast with the pointer over it stays until it is clicked (VS Code hides a warning's toast after 12 s otherwise).
  await asking.locator('.notification-list-item-message').hover();
  const info = show();
  assert.equal(info.state, 'needsInput', context());
  assert.match(info.question ?? '', /trust/i, `the daemon's question is not Claude's trust question. ${context()}`);
  assert.ok((info.choices ?? []).length >= 2, `the daemon read no menu under the question. ${context()}`);
  asked = { question: info.question, choices: info.choices.map((c) => c.label) };

  const message = (await asking.locator('.notification-list-item-message').innerText()).trim();
  assert.ok(message.includes(`${workspaceName} › "${TASK}" (${agentId}) asks: "${asked.question}"`), `the notification does not quote the question: ${JSON.stringify(message)}`);
  const buttons = (await asking.locator('.notification-list-item-buttons-container .monaco-button').allInnerTexts()).map((b) => b.trim());
  assert.deepEqual(buttons, [...asked.choices, 'Show Terminal'], 'the buttons are the choices, in order, then Show Terminal');
  assert.ok(asked.choices.some((c) => /^yes\b.*trust/i.test(c)), `no "Yes, trust" choice among ${JSON.stringify(asked.choices)}`);
  assert.deepEqual(stepsCalled(), [], 'no scripted call before the folder is trusted');

  // The tree says it waits; then the picture for the README: the question with its buttons.
  await waitForDescription(vsc.page, TASK, (d) => d.startsWith('claude · needs input'), 'say it needs input', TIMEOUTS.ui);
  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await vsc.page.screenshot({ path: SCREENSHOT });
  if (process.env.ORCHFLOW_DOCS_SCREENSHOTS === '1') {
    await mkdir(path.dirname(DOCS_SCREENSHOT), { recursive: true });
    await copyFile(SCREENSHOT, DOCS_SCREENSHOT);
  }
});

test('clicking "Yes, I trust this folder" answers Claude: the scripted tool calls reach Orchflow and the tree shows done', { skip: MISSING ?? false, timeout: TIMEOUTS.run + TIMEOUTS.ui * 2 }, async () => {
  assert.ok(asked, 'the notification of the previous test was not seen');
  const yes = asked.choices.find((c) => /^yes\b.*trust/i.test(c));
  const requestsBefore = world.standins.claude.requests.filter((r) => r.kind === 'messages').length;
  const asking = await toast('asks: "', TIMEOUTS.ui);
  await asking.locator('.notification-list-item-buttons-container .monaco-button', { hasText: yes }).click();

  // Claude recorded the person's yes in its own settings, as its dialog does.
  await pollUntil('Claude to record the folder as trusted', TIMEOUTS.ui, () => {
    const projects = JSON.parse(readFileSync(path.join(world.home, '.claude.json'), 'utf8')).projects ?? {};
    return { ok: projects[world.project]?.hasTrustDialogAccepted === true, detail: `projects: ${JSON.stringify(projects)}; ${context()}` };
  });

  // The run goes on: the model is asked again, and every scripted step is called. A turn without Orchflow's tools
  // (the task typed before Claude had them) ends the script there, so it fails at once rather than at the deadline.
  const turns = () => world.standins.claude.requests.filter((r) => r.kind === 'messages' && r.decision && !r.side);
  await pollUntil('every scripted Orchflow tool call', TIMEOUTS.run, () => {
    assert.ok(!turns().some((r) => r.withoutOrchflowTools), `a turn went to the model without Orchflow's tools (the MCP server was not connected yet). ${context()}`);
    const steps = stepsCalled();
    return { ok: steps.length === SCRIPT.length, detail: `steps called: ${JSON.stringify(steps)}; ${context()}` };
  });
  const main = world.standins.claude.requests.filter((r) => r.kind === 'messages');
  assert.ok(main.length > requestsBefore, `no model request after the click. ${context()}`);
  assert.deepEqual(stepsCalled(), SCRIPT.map((_, i) => i), `not every scripted call was made. ${context()}`);
  const results = main.flatMap((r) => r.toolResults ?? []).map((r) => r.text ?? '');
  assert.ok(results.some((t) => /"value":\s*"hello from the stand-in"/.test(t)), `memory_get did not return the stored value. ${context()}`);
  assert.ok(results.some((t) => /memory_get has no argument 'workspace'/.test(t)), `the bad call was not refused with the reason. ${context()}`);

  // Orchflow shows it done: the daemon's record, and the row in the Workspaces tree.
  const info = await pollUntil('the daemon to record the agent done', TIMEOUTS.ui, () => {
    const a = show();
    return { ok: !!a.doneAt, value: a, detail: context() };
  });
  assert.match(info.value.message ?? '', /Scripted run finished/, context());
  const description = await waitForDescription(vsc.page, TASK, (d) => /^claude · (running|needs input) · done\b/.test(d), 'say done', TIMEOUTS.ui);
  assert.match(description, /· done · CPU /);

  // Its terminal: Claude's own account of the calls, and the model's last words.
  await vsc.runCommand('Orchflow: Show Agent Terminal');
  await vsc.quickPick(TASK);
  await pollUntil('the agent\'s terminal with the tool calls', TIMEOUTS.ui, async () => {
    const tabs = await terminalTabs(vsc.page);
    const text = await vsc.terminalText();
    return { ok: tabs.some((t) => t.includes(agentId)) && /Called orchflow \d+ times/.test(text) && text.includes(FINAL_TEXT), detail: `tabs: ${JSON.stringify(tabs)}; terminal: ${JSON.stringify(text)}` };
  });
  await vsc.page.screenshot({ path: path.join(path.dirname(SCREENSHOT), 'real-agent-done.png') });
});
