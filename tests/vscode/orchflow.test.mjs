// The Orchflow extension inside a real VS Code (code-server + headless Chromium), against the real daemon.
// Opens the two-folder demo with a fresh ORCHFLOW_HOME, waits for both workspaces in the Orchflow view,
// switches between them through the command palette while watching the status bar follow, and checks that the
// CLI talks to the same daemon. Every wait is on a signal (a tree row, a status bar text); none is a sleep.
// Screenshots of each step go to artifacts/screenshots/orchflow-e2e-*.png.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO, demoWorkspace, rowDescription, startVSCode, waitForDescription } from './harness.mjs';

const DEMO = path.join(REPO, 'demo');
const CODE_WORKSPACE = path.join(DEMO, 'orchflow-demo.code-workspace');
const VSIX = path.join(REPO, 'out', 'orchflow.vsix');
const ORCHFLOW = path.join(REPO, 'dist', 'server', 'orchflow');

/** Deadlines in milliseconds: the first activation also starts the daemon (a cold .NET start on 2 busy cores). */
const TIMEOUTS = {
  firstTreeRows: 90_000,
  statusBar: 30_000,
  cli: 30_000,
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
