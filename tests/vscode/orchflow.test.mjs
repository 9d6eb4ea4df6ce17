// The Orchflow extension inside a real VS Code (code-server + headless Chromium), against the real daemon.
// Opens the two-folder demo with a fresh ORCHFLOW_HOME, waits for both workspaces in the Orchflow view,
// switches between them through the command palette while watching the status bar follow, and checks that the
// CLI talks to the same daemon. Then workspace memory: entries stored through the CLI show in the Memory row,
// Browse Memory searches them as one types and opens one read-only, its Delete button deletes one, and Export
// Memory writes the JSON lines. Then isolation: each workspace's Isolation row and promises say what
// `orchflow workspace show --json` says, the Resources row follows a terminal's measured figures, Suspend and Resume
// Workspace (from the palette, and from the notice of a suspension made by the CLI) agree with the daemon, Set Secret
// keeps the value out of sight while the daemon keeps it masked, and the audit log records it all, newest last.
// Every wait is on a signal (a tree row, a status bar text, a quick pick row); none is a sleep.
// With ORCHFLOW_DOCS_SCREENSHOTS=1 it also rewrites docs/screenshots/isolation.png.
// Screenshots of each step go to artifacts/screenshots/orchflow-e2e-*.png.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  REPO,
  childRowDescription,
  demoWorkspace,
  expandRowAt,
  pollUntil,
  quickPickLabels,
  rowDescription,
  startVSCode,
  waitForChildDescription,
  waitForDescription,
  waitForRowAt,
} from './harness.mjs';

const DEMO = path.join(REPO, 'demo');
const CODE_WORKSPACE = path.join(DEMO, 'orchflow-demo.code-workspace');
const VSIX = path.join(REPO, 'out', 'orchflow.vsix');
const ORCHFLOW = path.join(REPO, 'dist', 'server', 'orchflow');

/** Deadlines in milliseconds: the first activation also starts the daemon (a cold .NET start on 2 busy cores). */
const TIMEOUTS = {
  firstTreeRows: 90_000,
  statusBar: 30_000,
  cli: 30_000,
  ui: 30_000,
};

const shop = demoWorkspace('shop-api');
const cli = demoWorkspace('cli-tool');

let home;
let vsc;

function orchflow(args) {
  return promisify(execFile)(ORCHFLOW, args, { env: { ...process.env, ORCHFLOW_HOME: home }, timeout: TIMEOUTS.cli });
}

/** Waits until a status bar item shows `name` as the active workspace. */
async function waitForActive(name) {
  try {
    await vsc.waitForText('.statusbar .statusbar-item', name, TIMEOUTS.statusBar);
  } catch (err) {
    err.message += `; status bar: ${JSON.stringify(await vsc.statusBarText())}`;
    throw err;
  }
}

before(async () => {
  for (const [what, file] of [['the packaged extension', VSIX], ['the backend', ORCHFLOW], ['the demo', CODE_WORKSPACE]]) {
    assert.ok(existsSync(file), `${what} is missing at ${file}; run npm run package (and scripts/setup.sh for the demo)`);
  }
  home = await mkdtemp(path.join(os.tmpdir(), 'orchflow-e2e-home-'));
  vsc = await startVSCode({ open: CODE_WORKSPACE, env: { ORCHFLOW_HOME: home }, vsix: VSIX, name: 'orchflow-e2e' });
});

after(async () => {
  await vsc?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

test('both demo folders appear as workspaces in the Orchflow view', async () => {
  await vsc.openView('Orchflow');
  await vsc.waitForTreeItem('Workspaces', shop.name, TIMEOUTS.firstTreeRows);
  await vsc.waitForTreeItem('Workspaces', cli.name, TIMEOUTS.firstTreeRows);
  const rows = await vsc.treeItems('Workspaces');
  assert.ok(rows.includes(shop.name) && rows.includes(cli.name), `rows: ${JSON.stringify(rows)}`);
  // The window's first folder is shop-api, so with nothing active before, its workspace becomes the active one.
  await waitForActive(shop.name);
  await waitForDescription(vsc.page, shop.name, (d) => d.includes('● active'), 'be marked active', TIMEOUTS.statusBar);
  assert.match(await rowDescription(vsc.page, cli.name), /^rust · /);
  await vsc.screenshot('01-tree');
});

test('switching through the command palette moves the status bar to the other workspace', async () => {
  await vsc.runCommand('Orchflow: Switch Workspace...');
  await vsc.screenshot('02-switcher');
  await vsc.quickPick(cli.name);
  await waitForActive(cli.name);
  await waitForDescription(vsc.page, cli.name, (d) => d.includes('● active'), 'be marked active', TIMEOUTS.statusBar);
  await waitForDescription(vsc.page, shop.name, (d) => !d.includes('● active'), 'lose its active mark', TIMEOUTS.statusBar);
  const items = await vsc.statusBarText();
  assert.ok(!items.some((t) => t.includes(shop.name)), `status bar still shows ${shop.name}: ${JSON.stringify(items)}`);
  await vsc.screenshot('03-switched-to-cli-tool');
});

test('switching back follows too', async () => {
  await vsc.runCommand('Orchflow: Switch Workspace...');
  await vsc.quickPick(shop.name);
  await waitForActive(shop.name);
  await waitForDescription(vsc.page, shop.name, (d) => d.includes('● active'), 'be marked active', TIMEOUTS.statusBar);
  await vsc.screenshot('04-switched-back');
});

test('the CLI sees the same daemon and both workspaces', async () => {
  const ensured = JSON.parse((await orchflow(['daemon', 'ensure', '--json'])).stdout);
  assert.equal(ensured.started, false, 'VS Code started the daemon; the CLI must reuse it, not start a second one');
  const { stdout } = await orchflow(['workspace', 'list', '--json']);
  const list = JSON.parse(stdout);
  const byId = new Map(list.workspaces.map((w) => [w.id, w]));
  for (const ws of [shop, cli]) {
    assert.ok(byId.has(ws.id), `workspace list lacks ${ws.id}: ${[...byId.keys()].join(', ')}`);
    assert.equal(byId.get(ws.id).name, ws.name);
    assert.equal(byId.get(ws.id).rootPath, ws.root);
  }
});

/** Waits until the open quick pick lists exactly these labels (the daemon's answer to the last search typed). */
async function waitForPickLabels(expected, what) {
  const want = JSON.stringify(expected);
  await pollUntil(what, TIMEOUTS.ui, async () => {
    const labels = await quickPickLabels(vsc.page);
    return { ok: JSON.stringify(labels) === want, detail: `rows: ${JSON.stringify(labels)}` };
  });
}

/** Types into the open quick pick's input (replacing what is there) without accepting anything. */
async function typeInQuickPick(text) {
  const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
  await input.fill(text);
}

/**
 * Types a path into code-server's file dialog (a quick input holding a path, which lists folders as the path is
 * typed) and waits until it lists the path's folder, which holds `marker`. The dialog first lists its start folder
 * and may put its own path back while doing so, so the path is typed again until the dialog shows it.
 */
async function typeInFileDialog(file, marker) {
  const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
  await pollUntil('the file dialog to list its start folder', TIMEOUTS.ui, async () => {
    const labels = await quickPickLabels(vsc.page);
    return { ok: labels.includes('..'), detail: `rows: ${JSON.stringify(labels)}` };
  });
  await pollUntil(`the file dialog to list ${path.dirname(file)}`, TIMEOUTS.ui, async () => {
    const value = await input.inputValue();
    if (value !== file) {
      await input.fill(file);
    }
    const labels = await quickPickLabels(vsc.page);
    return { ok: value === file && labels.includes(marker), detail: `input: ${JSON.stringify(value)}; rows: ${JSON.stringify(labels)}` };
  });
}

async function memoryEntries(workspace) {
  const { stdout } = await orchflow(['memory', 'list', '--workspace', workspace, '--json']);
  return JSON.parse(stdout).entries;
}

test('the Memory row of a workspace counts the entries the CLI stores, and follows the daemon', async () => {
  await waitForChildDescription(vsc.page, shop.name, 'Memory', (d) => d.startsWith('no entries · up to 10,000 entries'), 'say it is empty', TIMEOUTS.ui);
  await orchflow(['memory', 'set', 'decisions/db', 'Postgres 16, one schema per tenant', '--workspace', shop.id, '--tags', 'decision,db']);
  await orchflow(['memory', 'set', 'api/limits', '{"rps": 50, "burst": 100}', '--workspace', shop.id, '--json-value']);
  const described = await waitForChildDescription(vsc.page, shop.name, 'Memory', (d) => d.startsWith('2 entries · '), 'count 2 entries', TIMEOUTS.ui);
  // Two small entries: the entry capacity is the closer one.
  assert.equal(described, '2 entries · <1% of 10,000 entries');
  // Nothing crosses workspaces: the other one still holds nothing.
  assert.match(await childRowDescription(vsc.page, cli.name, 'Memory'), /^no entries · /);
  await vsc.screenshot('05-memory-row');
});

test('Browse Memory searches as one types (text, #tag, prefix*) and opens an entry read-only, JSON pretty-printed', async () => {
  await vsc.runCommand('Orchflow: Browse Memory...');
  await vsc.quickPick(shop.name);
  await waitForPickLabels(['api/limits', 'decisions/db'], 'both entries, in key order');
  await vsc.screenshot('06-browse-memory');
  const detail = await vsc.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'decisions/db' }).first().innerText();
  assert.match(detail, /#decision #db/);
  assert.match(detail, /written by .* \(CLI\) at /);
  assert.match(detail, /Postgres 16, one schema per tenant/);

  await typeInQuickPick('postgres');
  await waitForPickLabels(['decisions/db'], 'the entry whose value contains "postgres"');
  await typeInQuickPick('#decision');
  await waitForPickLabels(['decisions/db'], 'the entry tagged #decision');
  await typeInQuickPick('nothing-like-this');
  await waitForPickLabels(['No entry matches: containing "nothing-like-this"'], 'the reason nothing shows');
  await typeInQuickPick('api/*');
  await waitForPickLabels(['api/limits'], 'the entry whose key starts with "api/"');
  await vsc.screenshot('07-browse-search');
  await vsc.page.keyboard.press('Enter');

  await vsc.waitForText('.tabs-container .tab', 'api\u2215limits', TIMEOUTS.ui);
  const lines = vsc.page.locator('.editor-instance .monaco-editor .view-lines').first();
  await pollUntil('the pretty-printed value in the editor', TIMEOUTS.ui, async () => {
    const text = (await lines.innerText()).replace(/\u00a0/g, ' ');
    return { ok: /"rps": 50,\s*\n\s*"burst": 100/.test(text), detail: JSON.stringify(text) };
  });
  const before = await lines.innerText();
  await lines.click();
  await vsc.page.keyboard.type('x');
  await vsc.waitForText('.monaco-editor-overlaymessage', 'read-only', TIMEOUTS.ui);
  assert.equal(await lines.innerText(), before, 'the entry is a read-only document');
  await vsc.screenshot('08-memory-entry');
  // Opening it was a read: the daemon counted it.
  const opened = (await memoryEntries(shop.id)).find((e) => e.key === 'api/limits');
  assert.equal(opened.accessCount, 1);
});

test('the Delete Entry button of Browse Memory asks, deletes, and the Memory row says 1 entry', async () => {
  await vsc.runCommand('Orchflow: Browse Memory...');
  await vsc.quickPick(shop.name);
  await waitForPickLabels(['api/limits', 'decisions/db'], 'both entries');
  const row = vsc.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'decisions/db' }).first();
  await row.hover();
  const button = row.locator('.action-label[aria-label="Delete Entry"]');
  await button.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
  await button.click();
  const confirm = vsc.page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Delete' }).first();
  await confirm.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
  assert.match(await vsc.page.locator('.monaco-dialog-box').first().innerText(), /Delete "decisions\/db" from the memory of Shop API\?/);
  await vsc.screenshot('09-delete-confirm');
  await confirm.click();
  // The list stays open and follows the deletion.
  await waitForPickLabels(['api/limits'], 'the list without the deleted entry');
  await vsc.waitForText('.quick-input-widget .quick-input-title', 'Shop API › Memory (1 entry)', TIMEOUTS.ui);
  await vsc.page.keyboard.press('Escape');
  await waitForChildDescription(vsc.page, shop.name, 'Memory', (d) => d.startsWith('1 entry · '), 'count 1 entry', TIMEOUTS.ui);
  assert.deepEqual((await memoryEntries(shop.id)).map((e) => e.key), ['api/limits']);
  await vsc.screenshot('10-memory-after-delete');
});

test('Export Memory writes the entries as JSON lines to the file chosen in the save dialog', async () => {
  const folder = path.join(home, 'exported');
  const target = path.join(folder, 'shop-memory.jsonl');
  // A file already there, for the dialog to list once it has caught up with the typed path.
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'earlier-export.jsonl'), '');
  await vsc.runCommand('Orchflow: Export Memory...');
  await vsc.quickPick(shop.name);
  // code-server's save dialog: type the path, and accept once the dialog has caught up with it (it ignores Enter
  // while it reads a folder).
  await typeInFileDialog(target, 'earlier-export.jsonl');
  await vsc.screenshot('11-export-dialog');
  await vsc.page.keyboard.press('Enter');
  await vsc.waitForText('.notifications-toasts .notification-toast', "Exported 1 entry of Shop API's memory", TIMEOUTS.ui);
  const lines = readFileSync(target, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((e) => [e.key, e.kind, JSON.parse(e.value)]), [['api/limits', 'json', { rps: 50, burst: 100 }]]);
  // Written by the daemon, readable only by its owner: entries may hold secrets.
  assert.equal(statSync(target).mode & 0o777, 0o600);
  await vsc.screenshot('12-memory-exported');
});

test('Import Memory merges the entries of a JSON-lines file, and the Memory row follows', async () => {
  const folder = path.join(home, 'exported');
  const source = path.join(folder, 'backup.jsonl');
  await writeFile(source, `${JSON.stringify({ key: 'notes/imported', value: 'from a backup', tags: ['backup'] })}\n`);
  await vsc.runCommand('Orchflow: Import Memory...');
  await vsc.quickPick(shop.name);
  // The open dialog works as the save dialog does.
  await typeInFileDialog(source, 'earlier-export.jsonl');
  await vsc.screenshot('13-import-dialog');
  await vsc.page.keyboard.press('Enter');
  await vsc.waitForText('.quick-input-widget .quick-input-list', 'Replace every entry', TIMEOUTS.ui);
  await vsc.screenshot('14-import-mode');
  await vsc.quickPick('Merge into the current entries');
  await vsc.waitForText('.notifications-toasts .notification-toast', "Imported 1 entry into Shop API's memory", TIMEOUTS.ui);
  await waitForChildDescription(vsc.page, shop.name, 'Memory', (d) => d.startsWith('2 entries · '), 'count 2 entries again', TIMEOUTS.ui);
  const entries = await memoryEntries(shop.id);
  assert.deepEqual(entries.map((e) => [e.key, e.tags]), [['api/limits', []], ['notes/imported', ['backup']]]);
  await vsc.screenshot('15-memory-imported');
});

// ---- Isolation, resources, hibernation and secrets ----

const DOCS_SCREENSHOT = path.join(REPO, 'docs', 'screenshots', 'isolation.png');

/** The terminal the Resources test starts in shop-api, killed once the hibernation tests are done with it. */
let sleeperId;

async function showWorkspace(id) {
  return JSON.parse((await orchflow(['workspace', 'show', id, '--json'])).stdout);
}

/** The visible notification toast whose message contains `text`. */
async function toast(text) {
  const t = vsc.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  try {
    await t.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
  } catch (err) {
    err.message += `; toasts: ${JSON.stringify(await vsc.notifications())}`;
    throw err;
  }
  return t;
}

test('the Isolation row of each workspace says what the daemon says it enforces, and each promise as the daemon reports it', async () => {
  // Wide enough for the summaries; done first so that the resize has settled before the screenshots.
  await vsc.widenSideBar(760);
  for (const ws of [shop, cli]) {
    const { isolation } = await showWorkspace(ws.id);
    assert.ok(isolation.summary.length > 0, `${ws.id} has an isolation summary`);
    const shown = await waitForChildDescription(vsc.page, ws.name, 'Isolation', (d) => d === isolation.summary, `show "${isolation.summary}"`, TIMEOUTS.ui);
    assert.equal(shown, isolation.summary);
  }
  // Each promise of cli-tool's tier (enhanced), enforced or not, exactly as `workspace show` reports it.
  const { isolation } = await showWorkspace(cli.id);
  await expandRowAt(vsc.page, [cli.name, 'Isolation'], TIMEOUTS.ui);
  for (const f of isolation.features) {
    // The row does not repeat a "NOT enforced:" the daemon starts its reason with.
    const expected = f.enforced ? `enforced — ${f.detail}` : `NOT enforced — ${f.detail.replace(/^NOT enforced:\s*/, '')}`;
    await waitForRowAt(vsc.page, [cli.name, 'Isolation', f.name], (d) => d === expected, `say "${expected.slice(0, 40)}…"`, TIMEOUTS.ui);
  }
  await vsc.screenshot('16-isolation-rows');
});

test('the Resources row shows the figures the daemon measures for a workspace\'s running terminal', async () => {
  await waitForChildDescription(vsc.page, cli.name, 'Resources', (d) => d === 'nothing running', 'say nothing runs', TIMEOUTS.ui);
  const { stdout } = await orchflow(['terminal', 'create', '--workspace', shop.id, '--name', 'sleeper', '--cmd', 'sleep 600', '--json']);
  const terminal = JSON.parse(stdout);
  // CPU is shown once the daemon sampled the terminal twice; the memory limit of the demo's config is 2 GiB.
  const figures = await waitForChildDescription(
    vsc.page,
    shop.name,
    'Resources',
    (d) => /^CPU [0-9.]+% · [0-9.]+ (KiB|MiB) of 2 GiB · [1-9][0-9]* process(es)?$/.test(d),
    'show measured figures',
    TIMEOUTS.ui,
  );
  assert.equal(await childRowDescription(vsc.page, cli.name, 'Resources'), 'nothing running', 'figures do not cross workspaces');
  await vsc.screenshot('17-resources-row');
  sleeperId = terminal.id;
});

test('Suspend Workspace from the palette: the row says suspended, the daemon agrees, its notice offers Resume; Resume brings it back', async () => {
  await vsc.runCommand('Notifications: Clear All Notifications');
  await vsc.runCommand('Orchflow: Suspend Workspace');
  await vsc.quickPick(shop.name);
  await waitForDescription(vsc.page, shop.name, (d) => /^node · shop · suspended\b/.test(d), 'say suspended', TIMEOUTS.ui);
  const suspended = await showWorkspace(shop.id);
  assert.equal(suspended.hibernation?.by, 'vscode');
  assert.ok(suspended.hibernation?.processes >= 1, `the sleeping terminal's process is stopped: ${JSON.stringify(suspended.hibernation)}`);
  const notice = await toast(`Workspace '${shop.id}' suspended by vscode`);
  assert.ok(await notice.locator('.monaco-button', { hasText: 'Resume Workspace' }).isVisible(), 'the notice offers Resume Workspace');
  await vsc.page.mouse.move(1100, 300);
  const shot = await vsc.screenshot('18-suspended');
  if (process.env.ORCHFLOW_DOCS_SCREENSHOTS === '1') {
    await mkdir(path.dirname(DOCS_SCREENSHOT), { recursive: true });
    await copyFile(shot, DOCS_SCREENSHOT);
  }

  // Only suspended workspaces are offered to Resume.
  await vsc.runCommand('Orchflow: Resume Workspace');
  await vsc.waitForText('.quick-input-widget .quick-input-list', shop.name, TIMEOUTS.ui);
  const offered = await quickPickLabels(vsc.page);
  assert.equal(offered.length, 1, `offered: ${JSON.stringify(offered)}`);
  await vsc.quickPick(shop.name);
  await waitForDescription(vsc.page, shop.name, (d) => !d.includes('suspended'), 'no longer say suspended', TIMEOUTS.ui);
  assert.equal((await showWorkspace(shop.id)).hibernation ?? null, null);
  await toast(`Workspace '${shop.id}' resumed by vscode`);
});

test('a workspace suspended from the CLI shows here at once, and the notice\'s Resume Workspace button resumes it', async () => {
  await vsc.runCommand('Notifications: Clear All Notifications');
  await orchflow(['workspace', 'suspend', cli.id]);
  await waitForDescription(vsc.page, cli.name, (d) => /^rust · cli · suspended\b/.test(d), 'say suspended', TIMEOUTS.ui);
  const notice = await toast(`Workspace '${cli.id}' suspended by orchflow-cli`);
  await notice.locator('.monaco-button', { hasText: 'Resume Workspace' }).click();
  await waitForDescription(vsc.page, cli.name, (d) => !d.includes('suspended'), 'no longer say suspended', TIMEOUTS.ui);
  assert.equal((await showWorkspace(cli.id)).hibernation ?? null, null);
  if (sleeperId) await orchflow(['terminal', 'kill', sleeperId]);
});

test('Set Secret takes the value in a password box, and the daemon keeps it masked; List Secrets shows only the mask', async () => {
  const value = `e2e-${randomBytes(12).toString('hex')}`;
  await vsc.runCommand('Notifications: Clear All Notifications');
  await vsc.runCommand('Orchflow: Set Secret...');
  await vsc.quickPick(shop.name);
  await vsc.inputBox('E2E_TOKEN');
  const input = vsc.page.locator('.quick-input-widget .quick-input-box input');
  await pollUntil('the value box to be a password box', TIMEOUTS.ui, async () => (await input.getAttribute('type')) === 'password');
  await vsc.screenshot('19-secret-value');
  await vsc.inputBox(value);
  const done = await toast('Set secret E2E_TOKEN of Shop API');

  const { secrets } = JSON.parse((await orchflow(['secret', 'list', '--workspace', shop.id, '--json'])).stdout);
  const secret = secrets.find((s) => s.name === 'E2E_TOKEN');
  assert.ok(secret, `secret list: ${JSON.stringify(secrets)}`);
  assert.equal(secret.source, 'daemon');
  assert.ok(!secret.masked.includes(value), `masked: ${secret.masked}`);
  assert.match(secret.masked, new RegExp(`\\(${value.length} characters\\)$`));
  assert.ok((await done.innerText()).includes(secret.masked), 'the message shows the daemon\'s mask');

  await vsc.runCommand('Orchflow: List Secrets');
  await vsc.quickPick(shop.name);
  await vsc.waitForText('.quick-input-widget .quick-input-list', 'E2E_TOKEN', TIMEOUTS.ui);
  const row = await vsc.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'E2E_TOKEN' }).first().innerText();
  assert.ok(row.includes(secret.masked), `row: ${row}`);
  await vsc.screenshot('20-list-secrets');
  await vsc.page.keyboard.press('Escape');
  // Nowhere on the page: not in a row, a message or a leftover input.
  assert.ok(!(await vsc.page.evaluate(() => document.body.innerText)).includes(value), 'the value is shown nowhere');
  assert.ok(!(await vsc.page.evaluate((v) => [...document.querySelectorAll('input, textarea')].some((el) => el.value.includes(v)), value)), 'no input holds the value');
});

test('Show Audit Log opens the workspace\'s audit log read-only, newest last', async () => {
  await vsc.runCommand('Orchflow: Show Audit Log');
  await vsc.quickPick(shop.name);
  await vsc.waitForText('.tabs-container .tab', `${shop.id}-audit.log`, TIMEOUTS.ui);
  const lines = vsc.page.locator('.editor-instance .monaco-editor .view-lines').first();
  const text = (await pollUntil('the audit entries in the editor', TIMEOUTS.ui, async () => {
    const t = (await lines.innerText()).replace(/\u00a0/g, ' ');
    return { ok: t.includes('Secret E2E_TOKEN set'), value: t, detail: JSON.stringify(t) };
  })).value;
  const suspendedAt = text.indexOf(`Workspace '${shop.id}' suspended by vscode`);
  const resumedAt = text.indexOf(`Workspace '${shop.id}' resumed by vscode`);
  const secretAt = text.indexOf('Secret E2E_TOKEN set');
  assert.ok(suspendedAt >= 0 && suspendedAt < resumedAt && resumedAt < secretAt, `oldest first: ${text}`);
  await vsc.screenshot('21-audit-log');

  // An entry written by someone else (the CLI) shows in the open document: the daemon announces every new entry.
  await orchflow(['secret', 'rm', '--workspace', shop.id, 'E2E_TOKEN']);
  await pollUntil('the CLI\'s removal in the open audit log', TIMEOUTS.ui, async () => {
    await lines.click();
    await vsc.page.keyboard.press('Control+End'); // the newest entry is the last line
    const t = (await lines.innerText()).replace(/\u00a0/g, ' ');
    return { ok: t.includes('Secret E2E_TOKEN removed'), detail: JSON.stringify(t.slice(-400)) };
  });
});
