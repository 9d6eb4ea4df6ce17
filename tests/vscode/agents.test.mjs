// Orchflow agents inside a real VS Code (code-server + headless Chromium), against the real daemon.
// A copy of the demo (each project a git repository) and a fresh ORCHFLOW_HOME whose orchflow.toml defines agent
// types that run the scripted fake agent (tests/Orchflow.Server.Tests/Fixtures/fake-agent.sh). The test spawns
// an agent from the command palette, sees it in the Workspaces view, gets the needs-input notification, clicks
// its "Show Terminal", answers in the terminal and sees the agent succeed; then delegates several tasks from one
// document, opens a failed agent's log, pauses and resumes from the tree, and answers through the status bar; last,
// an agent whose screen shows a menu (Fixtures/menu-agent.sh) is answered by notification buttons and Answer Agent....
// The daemon's own agent list is read over its socket to check what was (and was not) spawned.
// Every wait is on a signal (a tree row, a toast, terminal text); none is a sleep.
// Screenshots go to artifacts/screenshots/agents-e2e-*.png. With ORCHFLOW_DOCS_SCREENSHOTS=1 the one of the tree
// with agents also replaces docs/screenshots/agents.png (the README's; off by default so that a test run leaves the
// checkout as it was).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import rpc from 'vscode-jsonrpc/node.js';
import { REPO, pollUntil, quickPickLabels, rowDescription, startVSCode, terminalTabs, typeInTerminal, waitForDescription } from './harness.mjs';

const VSIX = path.join(REPO, 'out', 'orchflow.vsix');
const ORCHFLOW = path.join(REPO, 'dist', 'server', 'orchflow');
const FAKE_AGENT = path.join(REPO, 'tests', 'Orchflow.Server.Tests', 'Fixtures', 'fake-agent.sh');
const MENU_AGENT = path.join(REPO, 'tests', 'Orchflow.Server.Tests', 'Fixtures', 'menu-agent.sh');
const DOCS_SCREENSHOT = path.join(REPO, 'docs', 'screenshots', 'agents.png');

/** Deadlines in milliseconds: the first activation also starts the daemon (a cold .NET start on 2 busy cores). */
const TIMEOUTS = {
  firstTreeRows: 90_000,
  agent: 45_000,
  ui: 30_000,
  cli: 30_000,
};

const SHOP = { id: 'shop-api', name: 'Shop API' };
const CLI = { id: 'cli-tool', name: 'CLI Tool' };
const FIRST_TASK = 'add a health check endpoint';
const BUSY_TASK = 'keep the build green';
const CLI_TASK = 'profile the argument parser';
const FAILING_TASK = 'reproduce the flaky test';
const SECOND_ASK_TASK = 'write the changelog';
const MENU_TASK = 'tidy the imports';
/** The file whose creation in the workspace root makes the menu agent replace its dialog with another question. */
const MENU_SWITCH = 'menu-switch';

let tmp;
let home;
let demo;
let vsc;

/** The agent types of this test, in the global config of its ORCHFLOW_HOME: the fake agent in three scripts, and the menu agent. */
function globalConfig() {
  const command = `/bin/bash '${FAKE_AGENT}' {task}`;
  return [
    '[agents.types.fake-ask]',
    `command = "${command}"`,
    'purpose = "The test fixture: prints its task, asks Proceed? [y/n] and waits for the answer."',
    '',
    '[agents.types.fake-busy]',
    `command = "${command}"`,
    'purpose = "The test fixture: works for ten minutes without asking."',
    'env = { FAKE_ASK = "", FAKE_WORK = "600" }',
    '',
    '[agents.types.fake-fail]',
    `command = "${command}"`,
    'purpose = "The test fixture: fails at once with exit code 3."',
    'env = { FAKE_ASK = "", FAKE_EXIT = "3" }',
    '',
    '[agents.types.menu-ask]',
    `command = "/bin/bash '${MENU_AGENT}' {task}"`,
    'purpose = "The test fixture: asks Do you want to proceed? with a numbered menu, then another question once menu-switch exists."',
    `env = { MENU_SWITCH = "${MENU_SWITCH}" }`,
    '',
  ].join('\n');
}

/** A copy of the demo outside the repository (agents write into their workspace), each project a git repository. */
async function makeDemo(target) {
  await cp(path.join(REPO, 'demo'), target, { recursive: true });
  // The scripted agent runs under bash; the copy of cli-tool's enhanced tier allows it beside cargo and git.
  const cliConfig = path.join(target, 'cli-tool', '.orchflow', 'workspace.json');
  const config = JSON.parse(readFileSync(cliConfig, 'utf8'));
  config.workspace.security.allowed_commands = [...config.workspace.security.allowed_commands, 'bash'];
  writeFileSync(cliConfig, JSON.stringify(config, null, 2));
  const git = (cwd, ...args) => promisify(execFile)('git', ['-C', cwd, ...args], { timeout: TIMEOUTS.cli });
  for (const project of ['shop-api', 'cli-tool']) {
    const dir = path.join(target, project);
    await git(dir, 'init', '-q', '-b', 'main');
    await git(dir, 'add', '-A');
    await git(dir, '-c', 'user.name=Orchflow test', '-c', 'user.email=test@orchflow.invalid', 'commit', '-q', '-m', 'demo');
  }
  return path.join(target, 'orchflow-demo.code-workspace');
}

/** The daemon's agent list, read over its socket as a client of its own (the CLI has no agent commands). */
async function daemonAgents() {
  const { stdout } = await promisify(execFile)(ORCHFLOW, ['daemon', 'status', '--json'], { env: { ...process.env, ORCHFLOW_HOME: home }, timeout: TIMEOUTS.cli });
  const { socket: socketPath } = JSON.parse(stdout);
  assert.ok(socketPath, `daemon status names no socket: ${stdout}`);
  const socket = net.connect(socketPath);
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const connection = rpc.createMessageConnection(new rpc.SocketMessageReader(socket), new rpc.SocketMessageWriter(socket));
  connection.listen();
  try {
    await connection.sendRequest('initialize', { processId: process.pid, clientInfo: { name: 'agents-e2e' }, folders: [] });
    await connection.sendNotification('initialized', {});
    const { agents } = await connection.sendRequest('orchflow/agent/list', {});
    await connection.sendRequest('shutdown');
    return agents;
  } finally {
    connection.dispose();
    socket.destroy();
  }
}

/** The visible notification toast whose message contains `text`. */
async function toast(text) {
  const t = vsc.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  try {
    await t.waitFor({ state: 'visible', timeout: TIMEOUTS.agent });
  } catch (err) {
    err.message += `; toasts: ${JSON.stringify(await vsc.notifications())}`;
    throw err;
  }
  return t;
}

/**
 * Clicks the inline action (the icon shown on hover) of the tree row with this label until the row's description
 * satisfies `done`. The row is re-rendered whenever its figures change (every second or two for a busy agent), and
 * VS Code's tree replaces the row's action buttons then: a click whose press and release straddle that lands on two
 * different elements and runs nothing (CI saw Resume do nothing for 45 s). So a click that changed nothing within a
 * few seconds is tried again; one that did is never repeated, since the row then offers other actions.
 */
async function clickInlineActionUntil(label, title, done, what) {
  const row = vsc.page.locator('.pane .monaco-list-row').filter({ has: vsc.page.locator('.label-name', { hasText: label }) }).first();
  const action = row.locator(`.actions .action-label[aria-label="${title}"]`);
  await pollUntil(`"${title}" on the row "${label}" to ${what}`, TIMEOUTS.agent, async () => {
    const before = await rowDescription(vsc.page, label);
    if (before !== null && done(before)) return true;
    try {
      await row.hover({ timeout: 2_000 });
      await action.click({ timeout: 2_000 });
    } catch (error) {
      return { ok: false, detail: `description: ${JSON.stringify(before)}; ${error instanceof Error ? error.message.split('\n')[0] : error}` };
    }
    const after = await pollUntil(`the click on "${title}" to show`, 4_000, async () => {
      const d = await rowDescription(vsc.page, label);
      return { ok: d !== null && done(d), detail: `description: ${JSON.stringify(d)}` };
    }).catch((error) => ({ ok: false, detail: error.message }));
    return after;
  });
}

async function waitForTerminalText(pattern, what) {
  return pollUntil(what, TIMEOUTS.agent, async () => {
    const text = await vsc.terminalText();
    return { ok: pattern.test(text), detail: `terminal: ${JSON.stringify(text)}` };
  });
}

async function clearNotifications() {
  await vsc.runCommand('Notifications: Clear All Notifications');
}

before(async () => {
  for (const [what, file] of [['the packaged extension', VSIX], ['the backend', ORCHFLOW], ['the fake agent', FAKE_AGENT], ['the menu agent', MENU_AGENT]]) {
    assert.ok(existsSync(file), `${what} is missing at ${file}; run npm run package`);
  }
  tmp = await mkdtemp(path.join(os.tmpdir(), 'orchflow-agents-e2e-'));
  home = path.join(tmp, 'home');
  await mkdir(path.join(home, 'config'), { recursive: true });
  writeFileSync(path.join(home, 'config', 'orchflow.toml'), globalConfig());
  demo = path.join(tmp, 'demo');
  const codeWorkspace = await makeDemo(demo);
  vsc = await startVSCode({ open: codeWorkspace, env: { ORCHFLOW_HOME: home, SHELL: '/bin/bash' }, vsix: VSIX, name: 'agents-e2e' });
});

after(async () => {
  await vsc?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('Spawn Agent asks for the workspace, the type, the task and where to work, and the agent appears under its workspace', async () => {
  await vsc.openView('Orchflow');
  await vsc.waitForTreeItem('Workspaces', SHOP.name, TIMEOUTS.firstTreeRows);
  await vsc.waitForTreeItem('Workspaces', 'Agents (0)', TIMEOUTS.firstTreeRows);

  await vsc.runCommand('Orchflow: Spawn Agent...');
  await vsc.quickPick(SHOP.name);
  // The types of the workspace: the three of orchflow.toml (installed: bash is found) and the built-ins.
  await vsc.waitForText('.quick-input-widget .quick-input-list', 'fake-busy', TIMEOUTS.ui);
  await vsc.screenshot('01-type-pick');
  await vsc.quickPick('fake-ask');
  await vsc.inputBox(FIRST_TASK);
  // The demo copy is a git repository, so the agent may work in a worktree; this one works in the root.
  await vsc.waitForText('.quick-input-widget .quick-input-list', 'In a new git worktree', TIMEOUTS.ui);
  await vsc.quickPick('In the workspace root');

  await vsc.waitForTreeItem('Workspaces', 'Agents (1)', TIMEOUTS.agent);
  await vsc.waitForTreeItem('Workspaces', FIRST_TASK, TIMEOUTS.agent);
  const agents = await daemonAgents();
  assert.deepEqual(agents.map((a) => [a.workspaceId, a.type, a.task, a.worktree ?? null]), [[SHOP.id, 'fake-ask', FIRST_TASK, null]]);
  assert.equal(agents[0].cwd, path.join(demo, 'shop-api'));
});

test('the needs-input notification\'s Show Terminal opens the agent\'s terminal; the answer typed there lets it succeed', async () => {
  const asking = await toast('needs input');
  assert.match(await asking.innerText(), new RegExp(`${SHOP.name} › "${FIRST_TASK}" \\(shop-a1\\) needs input: Proceed\\? \\[y/n\\]`));
  await waitForDescription(vsc.page, FIRST_TASK, (d) => d.startsWith('fake-ask · needs input · CPU '), 'say it needs input, with its figures', TIMEOUTS.agent);
  await vsc.waitForText('.statusbar .statusbar-item', '1 needs input', TIMEOUTS.ui);
  await vsc.screenshot('02-needs-input');

  await asking.locator('.monaco-button', { hasText: 'Show Terminal' }).click();
  await pollUntil('the agent\'s terminal tab', TIMEOUTS.ui, async () => {
    const tabs = await terminalTabs(vsc.page);
    return { ok: tabs.some((t) => t.includes(`${SHOP.name} › fake-ask · shop-a1`)), detail: `tabs: ${JSON.stringify(tabs)}` };
  });
  await waitForTerminalText(/Proceed\? \[y\/n\]/, 'the question in the agent\'s terminal');
  await typeInTerminal(vsc.page, 'y\n');
  await waitForTerminalText(/got answer 'y'/, 'the agent to read the answer');

  await waitForDescription(vsc.page, FIRST_TASK, (d) => d === 'fake-ask · succeeded', 'say succeeded', TIMEOUTS.agent);
  await toast('finished');
  await vsc.screenshot('03-succeeded');
  assert.equal(readFileSync(path.join(demo, 'shop-api', 'agent-output.txt'), 'utf8'), `${FIRST_TASK}\n`, 'the agent did its work in the workspace root');
  const [agent] = await daemonAgents();
  assert.equal(agent.state, 'succeeded');
  assert.equal(agent.exitCode, 0);
  // Nothing waits for input any more: the status bar item is gone.
  await pollUntil('the status bar to drop the needs-input count', TIMEOUTS.ui, async () => {
    const items = await vsc.statusBarText();
    return { ok: !items.some((t) => t.includes('need')), detail: JSON.stringify(items) };
  });
});

test('Delegate Tasks checks every line first, then spawns one agent per line', async () => {
  await clearNotifications();
  await vsc.runCommand('Orchflow: Delegate Tasks...');
  const lens = vsc.page.locator('.monaco-editor .codelens-decoration');
  await vsc.waitForText('.monaco-editor .codelens-decoration', 'Delegate: add', TIMEOUTS.ui);
  const editorText = vsc.page.locator('.monaco-editor .view-lines').first();
  assert.match((await editorText.innerText()).replace(/\u00a0/g, " "), /Orchflow: Delegate Tasks/);

  // A line naming no workspace: the editor marks it, and Delegate starts nothing.
  await editorText.click();
  await vsc.page.keyboard.press('Control+End');
  await vsc.page.keyboard.insertText('nowhere: fix everything');
  await vsc.waitForText('.monaco-editor .codelens-decoration', 'fix 1 line first', TIMEOUTS.ui);
  await vsc.runCommand('Orchflow: Delegate the Tasks in This Editor');
  const refused = await toast('Nothing was delegated');
  assert.match(await refused.innerText(), /Line 9: there is no workspace "nowhere" \(known: /);
  assert.equal((await daemonAgents()).length, 1, 'a bad line stops every line');
  await vsc.screenshot('04-delegate-refused');

  await vsc.page.keyboard.press('Control+A');
  await vsc.page.keyboard.insertText(
    [`shop [fake-busy]: ${BUSY_TASK}`, `cli [fake-busy]: ${CLI_TASK}`, `Shop API [fake-fail]: ${FAILING_TASK}`].join('\n'),
  );
  await vsc.waitForText('.monaco-editor .codelens-decoration', 'Delegate 3 tasks', TIMEOUTS.ui);
  await vsc.screenshot('05-delegate-ready');
  await lens.getByText('Delegate 3 tasks').click();

  const summary = await toast('Delegated 3 tasks');
  assert.match(await summary.innerText(), /Delegated 3 tasks: shop-a2 in Shop API, cli-a1 in CLI Tool, shop-a3 in Shop API/);
  const agents = await daemonAgents();
  assert.deepEqual(
    agents.filter((a) => a.id !== 'shop-a1').map((a) => [a.workspaceId, a.type, a.task]).sort(),
    [[CLI.id, 'fake-busy', CLI_TASK], [SHOP.id, 'fake-busy', BUSY_TASK], [SHOP.id, 'fake-fail', FAILING_TASK]].sort(),
  );
  await vsc.waitForTreeItem('Workspaces', 'Agents (3)', TIMEOUTS.agent);
  await vsc.waitForTreeItem('Workspaces', 'Agents (1)', TIMEOUTS.agent);
  await vsc.waitForTreeItem('Workspaces', CLI_TASK, TIMEOUTS.agent);
});

test('a failed agent is announced with its exit code, and Open Log shows its output read-only', async () => {
  const failed = await toast('failed (exit 3)');
  assert.match(await failed.innerText(), new RegExp(`"${FAILING_TASK}" \\(shop-a3\\) failed \\(exit 3\\)`));
  await waitForDescription(vsc.page, FAILING_TASK, (d) => d === 'fake-fail · failed (exit 3)', 'say failed (exit 3)', TIMEOUTS.agent);
  await failed.locator('.monaco-button', { hasText: 'Open Log' }).click();
  await vsc.waitForText('.tabs-container .tab', 'shop-a3.log', TIMEOUTS.ui);
  await vsc.waitForText('.editor-instance .monaco-editor .view-lines', `fake-agent: working on: ${FAILING_TASK}`, TIMEOUTS.ui);
  // Typing into it changes nothing: VS Code says the editor is read-only.
  const lines = vsc.page.locator('.editor-instance .monaco-editor .view-lines').first();
  const before = await lines.innerText();
  await lines.click();
  await vsc.page.keyboard.type('x');
  await vsc.waitForText('.monaco-editor-overlaymessage', 'read-only', TIMEOUTS.ui);
  assert.equal(await lines.innerText(), before, 'the log is a read-only document');
  await vsc.screenshot('06-log');
});

test('Pause and Resume from the row\'s inline actions, with the figures the daemon measured', async () => {
  await waitForDescription(vsc.page, BUSY_TASK, (d) => /^fake-busy · running · CPU [0-9.]+% · [0-9.]+ (KiB|MiB)$/.test(d), 'show running with measured figures', TIMEOUTS.agent);
  await clickInlineActionUntil(BUSY_TASK, 'Pause Agent', (d) => d.startsWith('fake-busy · paused'), 'say paused');
  assert.equal((await daemonAgents()).find((a) => a.task === BUSY_TASK).state, 'paused');
  await clickInlineActionUntil(BUSY_TASK, 'Resume Agent', (d) => d.startsWith('fake-busy · running'), 'say running again');
});

test('the status bar counts the agents needing input; a click picks one, and Send Input answers it', async () => {
  // Wide enough for the descriptions in the screenshot below; done first so that the resize has settled by then.
  await vsc.widenSideBar(720);
  await clearNotifications();
  await vsc.runCommand('Orchflow: Spawn Agent...');
  await vsc.quickPick(SHOP.name);
  await vsc.quickPick('fake-ask');
  await vsc.inputBox(SECOND_ASK_TASK);
  await vsc.quickPick('In the workspace root');
  await waitForDescription(vsc.page, SECOND_ASK_TASK, (d) => d.startsWith('fake-ask · needs input'), 'say it needs input', TIMEOUTS.agent);
  await vsc.waitForText('.statusbar .statusbar-item', '1 needs input', TIMEOUTS.ui);
  // The workspace row sums up its live agents.
  await waitForDescription(vsc.page, SHOP.name, (d) => d.includes('2 agents, 1 needs input'), 'note its agents', TIMEOUTS.agent);
  await waitForDescription(vsc.page, `Agents (4)`, (d) => d === '1 needs input · 1 running · 1 failed · 1 succeeded', 'count its agents by state', TIMEOUTS.agent);

  await vsc.page.locator('.statusbar .statusbar-item', { hasText: '1 needs input' }).first().click();
  await vsc.quickPick(SECOND_ASK_TASK);
  await waitForTerminalText(new RegExp(`working on: ${SECOND_ASK_TASK}[\\s\\S]*Proceed\\? \\[y/n\\]`), 'the second agent\'s terminal with its question');

  // The tree as the README shows it: every state at once, the figures measured, the question in the terminal.
  await waitForDescription(vsc.page, CLI_TASK, (d) => /CPU [0-9.]+% · [0-9.]+ (KiB|MiB)$/.test(d), 'show measured figures', TIMEOUTS.agent);
  await vsc.page.mouse.move(1100, 300);
  const shot = await vsc.screenshot('07-tree');
  if (process.env.ORCHFLOW_DOCS_SCREENSHOTS === '1') {
    await mkdir(path.dirname(DOCS_SCREENSHOT), { recursive: true });
    await copyFile(shot, DOCS_SCREENSHOT);
  }

  await vsc.runCommand('Orchflow: Send Input to Agent...');
  await vsc.quickPick(SECOND_ASK_TASK);
  await vsc.inputBox('n');
  await waitForDescription(vsc.page, SECOND_ASK_TASK, (d) => d === 'fake-ask · succeeded', 'say succeeded', TIMEOUTS.agent);
  await waitForTerminalText(/got answer 'n'/, 'the answer in its terminal');
  assert.ok(!readFileSync(path.join(demo, 'shop-api', 'agent-output.txt'), 'utf8').includes(SECOND_ASK_TASK), 'answered no: it changed nothing');
  await pollUntil('the status bar to drop the needs-input count', TIMEOUTS.ui, async () => {
    const items = await vsc.statusBarText();
    return { ok: !items.some((t) => t.includes('need')), detail: JSON.stringify(items) };
  });
  await vsc.screenshot('08-answered');
});

test('a menu on the agent\'s screen: its choices are the buttons, a new question is a new notification, a stale answer is refused, and Answer Agent picks one', async () => {
  await clearNotifications();
  await vsc.runCommand('Orchflow: Spawn Agent...');
  await vsc.quickPick(SHOP.name);
  await vsc.quickPick('menu-ask');
  await vsc.inputBox(MENU_TASK);
  await vsc.quickPick('In the workspace root');

  const first = await toast('asks: "Do you want to proceed?"');
  const agent = (await daemonAgents()).find((a) => a.task === MENU_TASK);
  assert.match(await first.innerText(), new RegExp(`${SHOP.name} › "${MENU_TASK}" \\(${agent.id}\\) asks: "Do you want to proceed\\?"`));
  const buttons = (t) => t.locator('.notification-list-item-buttons-container .monaco-button').allInnerTexts();
  assert.deepEqual(await buttons(first), ['Yes', "Yes, and don't ask again for echo", 'No', 'Show Terminal']);
  await waitForDescription(vsc.page, MENU_TASK, (d) => d.startsWith('menu-ask · needs input'), 'say it needs input', TIMEOUTS.agent);

  // The screen asks something else before anyone answered: a notification of its own, with its own choices.
  writeFileSync(path.join(demo, 'shop-api', MENU_SWITCH), '');
  const second = await toast('asks: "Do you want to make this edit to notes.md?"');
  assert.deepEqual(await buttons(second), ['Yes', 'No', 'Show Terminal']);

  // The first notification's answer is refused by the daemon (its question is gone), with its reason and hint.
  await first.locator('.monaco-button', { hasText: 'No' }).first().click();
  const refused = await toast('The question changed');
  assert.match(await refused.innerText(), /it now asks "Do you want to make this edit to notes\.md\?" .*not "Do you want to proceed\?"\. Read it with `orchflow agent show/);
  assert.deepEqual(await buttons(refused), ['Show Terminal']);
  assert.equal(readFileSync(path.join(demo, 'shop-api', 'keys.log'), 'utf8'), '', 'nothing was typed into the agent');

  // Answer Agent... from the palette: the agents waiting on a menu, then the choices under the question.
  await clearNotifications();
  await vsc.runCommand('Orchflow: Answer Agent...');
  await vsc.quickPick(MENU_TASK);
  await vsc.waitForText('.quick-input-widget', 'Do you want to make this edit to notes.md?', TIMEOUTS.ui);
  assert.deepEqual(await quickPickLabels(vsc.page), ['Yes', 'No']);
  await vsc.screenshot('09-answer-agent');
  await vsc.quickPick('Yes');
  await waitForDescription(vsc.page, MENU_TASK, (d) => d === 'menu-ask · succeeded', 'say succeeded', TIMEOUTS.agent);
  assert.equal(readFileSync(path.join(demo, 'shop-api', 'answer.txt'), 'utf8'), 'chosen 1: Yes\n');
});
