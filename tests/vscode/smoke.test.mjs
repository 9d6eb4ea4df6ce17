// Proves the harness works, independently of Orchflow: a plain code-server on an empty folder, no extension.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startVSCode } from './harness.mjs';

let vsc;
let folder;

before(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'orchflow-smoke-'));
  await writeFile(path.join(folder, 'hello.txt'), 'hello from the harness smoke test\n');
  vsc = await startVSCode({ open: folder, name: 'smoke' });
});

after(async () => {
  await vsc?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

test('the workbench shows the opened folder in the Explorer', async () => {
  await vsc.openView('Explorer');
  await vsc.waitForTreeItem(path.basename(folder), 'hello.txt');
  assert.ok((await vsc.treeItems(path.basename(folder))).includes('hello.txt'));
  assert.ok((await vsc.statusBarText()).length > 0, 'the status bar has items');
  assert.ok(Array.isArray(await vsc.notifications()));
});

test('a command from the palette opens a terminal that runs a shell command', async () => {
  await vsc.runCommand('View: Toggle Terminal');
  await vsc.page.locator('.terminal-wrapper .xterm').first().waitFor({ state: 'visible', timeout: 30_000 });
  // The shell's arithmetic proves the line ran: the typed text itself never shows "42".
  await vsc.page.locator('.terminal-wrapper .xterm').first().click();
  await vsc.page.keyboard.type('echo "smoke-$((6 * 7))"\n');
  await vsc.waitForText('.terminal-wrapper .xterm-rows', 'smoke-42');
  assert.match(await vsc.terminalText(), /^smoke-42$/m);
  const shot = await vsc.screenshot('terminal');
  assert.ok((await stat(shot)).size > 0);
});

test('close() ends code-server and its process group', async () => {
  const pid = vsc.pid;
  await vsc.close();
  assert.throws(() => process.kill(-pid, 0), { code: 'ESRCH' });
});
