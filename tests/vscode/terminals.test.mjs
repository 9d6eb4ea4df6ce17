// Orchflow terminals inside a real VS Code (code-server + headless Chromium), against the real daemon.
// Opens the two-folder demo with a fresh ORCHFLOW_HOME, starts a workspace terminal from the command palette,
// types a command and sees its output, sees it in the Workspaces view, opens the workspace's terminal group,
// reloads the window and sees the terminals come back with their scrollback, and kills one.
// Every wait is on a signal (a tree row, terminal text, a tab); none is a sleep.
// Screenshots of each step go to artifacts/screenshots/terminals-e2e-*.png.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO, demoWorkspace, pollUntil, rowDescription, startVSCode, terminalTabs, typeInTerminal, visibleTerminalTexts } from './harness.mjs';

const DEMO = path.join(REPO, 'demo');
const CODE_WORKSPACE = path.join(DEMO, 'orchflow-demo.code-workspace');
const VSIX = path.join(REPO, 'out', 'orchflow.vsix');
const ORCHFLOW = path.join(REPO, 'dist', 'server', 'orchflow');

/** Deadlines in milliseconds: the first activation also starts the daemon (a cold .NET start on 2 busy cores). */
const TIMEOUTS = {
  firstTreeRows: 90_000,
  terminal: 30_000,
  reload: 90_000,
  cli: 30_000,
};

const shop = demoWorkspace('shop-api');
const BUILD_NAME = 'build watch';

let home;
let vsc;
/** The shell terminal the first test creates, as the daemon lists it. */
let shell;

async function orchflow(args) {
  const { stdout } = await promisify(execFile)(ORCHFLOW, args, { env: { ...process.env, ORCHFLOW_HOME: home }, timeout: TIMEOUTS.cli });
  return stdout;
}

async function listTerminals() {
  return JSON.parse(await orchflow(['terminal', 'list', '--workspace', shop.id, '--json'])).terminals;
}

const stripSpace = (s) => s.replace(/\s+/g, '');

/**
 * "Developer: Reload Window" through the command palette, then waits for the reloaded workbench. The harness's
 * runCommand waits for the quick input to close, which a page that reloads never reports, so this does its own.
 */
async function reloadWindow() {
  const page = vsc.page;
  const title = 'Developer: Reload Window';
  await page.keyboard.press('F1');
  const box = page.locator('.quick-input-widget .quick-input-box input');
  await box.waitFor({ state: 'visible', timeout: TIMEOUTS.terminal });
  await box.fill(`>${title}`);
  const index = await pollUntil(`"${title}" in the command palette`, TIMEOUTS.terminal, () =>
    page.evaluate((want) => {
      const rows = [...document.querySelectorAll('.quick-input-widget .quick-input-list .monaco-list-row')];
      const row = rows.find((r) => r.querySelector('.label-name')?.textContent?.trim() === want);
      return row ? row.dataset.index : null;
    }, title),
  );
  const loaded = page.waitForEvent('load', { timeout: TIMEOUTS.reload });
  await page.locator(`.quick-input-widget .quick-input-list .monaco-list-row[data-index="${index}"]`).click();
  await loaded;
  await page.waitForSelector('.monaco-workbench', { timeout: TIMEOUTS.reload });
}

before(async () => {
  for (const [what, file] of [['the packaged extension', VSIX], ['the backend', ORCHFLOW], ['the demo', CODE_WORKSPACE]]) {
    assert.ok(existsSync(file), `${what} is missing at ${file}; run npm run package (and scripts/setup.sh for the demo)`);
  }
  home = await mkdtemp(path.join(os.tmpdir(), 'orchflow-terminals-home-'));
  // A known shell, so that the prompt and the arithmetic below behave the same on every machine.
  vsc = await startVSCode({ open: CODE_WORKSPACE, env: { ORCHFLOW_HOME: home, SHELL: '/bin/bash' }, vsix: VSIX, name: 'terminals-e2e' });
});

after(async () => {
  await vsc?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

test('New Terminal in Workspace opens "Shop API › <name>" in the terminal panel, and what is typed runs there', async () => {
  await vsc.openView('Orchflow');
  await vsc.waitForTreeItem('Workspaces', shop.name, TIMEOUTS.firstTreeRows);
  await vsc.waitForTreeItem('Workspaces', 'Terminals (0)', TIMEOUTS.firstTreeRows);

  await vsc.runCommand('Orchflow: New Terminal in Workspace...');
  await vsc.quickPick(shop.name);
  await vsc.screenshot('01-purpose-pick');
  await vsc.quickPick('Shell');

  const [created] = await pollUntil('the daemon to list the new terminal', TIMEOUTS.terminal, async () => {
    const list = await listTerminals();
    return list.length === 1 ? list : null;
  });
  shell = created;
  assert.equal(shell.purpose, 'shell');
  assert.equal(shell.cwd, shop.root);
  const title = `${shop.name} › ${shell.name}`;
  await pollUntil(`a terminal tab named "${title}"`, TIMEOUTS.terminal, async () => {
    const tabs = await terminalTabs(vsc.page);
    return { ok: tabs.some((t) => t.includes(title)), detail: `tabs: ${JSON.stringify(tabs)}` };
  });

  // The shell's arithmetic proves the line ran: the typed text itself never shows "42".
  await typeInTerminal(vsc.page, 'echo "orchflow-$((6 * 7))"\n');
  await vsc.waitForText('.terminal-wrapper .xterm-rows', 'orchflow-42', TIMEOUTS.terminal);
  assert.match(await vsc.terminalText(), /^orchflow-42$/m);
  // The prompt shows the workspace root: the terminal runs there.
  assert.ok((await vsc.terminalText()).includes(shop.root), await vsc.terminalText());
  await vsc.screenshot('02-terminal-output');
});

test('the Workspaces view lists the terminal under "Terminals (1)", running', async () => {
  await vsc.waitForTreeItem('Workspaces', 'Terminals (1)', TIMEOUTS.terminal);
  await vsc.waitForTreeItem('Workspaces', shell.name, TIMEOUTS.terminal);
  await pollUntil(`the row "${shell.name}" to say running`, TIMEOUTS.terminal, async () => {
    const d = await rowDescription(vsc.page, shell.name);
    return { ok: d === 'running', detail: `description: ${JSON.stringify(d)}` };
  });
  await vsc.screenshot('03-tree');
});

test('Open Terminal Group shows the workspace\'s terminals side by side, each with the workspace context', async () => {
  // A terminal started elsewhere (the CLI) reaches the tree through a notification.
  await orchflow(['terminal', 'create', '--workspace', shop.id, '--purpose', 'build', '--name', BUILD_NAME]);
  await vsc.waitForTreeItem('Workspaces', 'Terminals (2)', TIMEOUTS.terminal);
  await vsc.waitForTreeItem('Workspaces', BUILD_NAME, TIMEOUTS.terminal);

  await vsc.runCommand('Orchflow: Open Terminal Group');
  await vsc.quickPick(shop.name);
  const header = `── ${shop.name} · ${shop.root} · namespace shop · 2 terminals ──`;
  const texts = await pollUntil('two terminals side by side, each starting with the workspace context', TIMEOUTS.terminal, async () => {
    const all = await visibleTerminalTexts(vsc.page);
    // A narrow split wraps the header; compare without white space.
    const withHeader = all.filter((t) => stripSpace(t).startsWith(stripSpace(header)));
    return { ok: withHeader.length === 2 ? withHeader : null, detail: `visible terminals: ${JSON.stringify(all)}` };
  });
  assert.ok(texts.ok.some((t) => t.includes('orchflow-42')), 'the shell terminal keeps its output in the group');
  const tabs = await terminalTabs(vsc.page);
  for (const name of [shell.name, BUILD_NAME]) {
    assert.ok(tabs.some((t) => t.includes(`${shop.name} › ${name}`)), `tabs: ${JSON.stringify(tabs)}`);
  }
  await vsc.screenshot('04-group');
});

test('after a window reload the running terminals reappear with their scrollback and still take input', async () => {
  await reloadWindow();
  // The extension shows them again by itself: both tabs come back without any command.
  await pollUntil('both Orchflow terminals to reappear', TIMEOUTS.reload, async () => {
    const tabs = await terminalTabs(vsc.page);
    const ok = [shell.name, BUILD_NAME].every((name) => tabs.some((t) => t.includes(`${shop.name} › ${name}`)));
    return { ok, detail: `tabs: ${JSON.stringify(tabs)}` };
  });
  await vsc.runCommand('Orchflow: Show Terminal');
  await vsc.quickPick(shell.name);
  await pollUntil('the scrollback of the shell terminal', TIMEOUTS.terminal, async () => {
    const text = await vsc.terminalText();
    return { ok: /^orchflow-42$/m.test(text), detail: `terminal: ${JSON.stringify(text)}` };
  });
  await typeInTerminal(vsc.page, 'echo "after-reload-$((40 + 2))"\n');
  await vsc.waitForText('.terminal-wrapper .xterm-rows', 'after-reload-42', TIMEOUTS.terminal);
  await vsc.screenshot('05-after-reload');

  await vsc.openView('Orchflow');
  await vsc.waitForTreeItem('Workspaces', 'Terminals (2)', TIMEOUTS.firstTreeRows);
  await vsc.waitForTreeItem('Workspaces', shell.name, TIMEOUTS.terminal);
  await vsc.screenshot('06-tree-after-reload');
  const list = await listTerminals();
  assert.deepEqual(list.map((t) => t.status), ['running', 'running'], 'the reload ended no terminal');
});

test('Kill Terminal asks first, then ends the terminal, removes it and closes its tab', async () => {
  await vsc.runCommand('Orchflow: Kill Terminal...');
  await vsc.quickPick(BUILD_NAME);
  const kill = vsc.page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Kill' }).first();
  await kill.waitFor({ state: 'visible', timeout: TIMEOUTS.terminal });
  await vsc.screenshot('07-kill-confirm');
  await kill.click();
  await vsc.waitForTreeItem('Workspaces', 'Terminals (1)', TIMEOUTS.terminal);
  await pollUntil('the killed terminal\'s tab to close', TIMEOUTS.terminal, async () => {
    const tabs = await terminalTabs(vsc.page);
    return { ok: !tabs.some((t) => t.includes(BUILD_NAME)), detail: `tabs: ${JSON.stringify(tabs)}` };
  });
  const list = await listTerminals();
  assert.deepEqual(list.map((t) => t.name), [shell.name]);
});

/** The terminal the profile test creates. */
let fromProfile;

/**
 * Picks a profile from the terminal panel's "+" dropdown (Launch Profile...). VS Code fills that menu from its
 * list of contributed profiles, which it can refresh a moment after an extension registers: the entry may be
 * missing, or the menu may be rebuilt under the pointer (Playwright then finds the entry "not stable" or
 * detached). Either way an attempt closes the menu and opens it again; only a click that went through ends it.
 */
async function launchProfile(title) {
  const page = vsc.page;
  const dropdown = page.locator('.panel .action-item [aria-label^="Launch Profile"]').first();
  const entry = page.locator('.monaco-menu .action-item', { hasText: title }).first();
  let shot = false;
  await pollUntil(`"${title}" in the "+" menu of the terminal panel to take a click`, TIMEOUTS.terminal, async () => {
    await dropdown.click();
    try {
      await entry.waitFor({ state: 'visible', timeout: 2_000 });
      if (!shot) {
        await vsc.screenshot('08-plus-menu');
        shot = true;
      }
      await entry.click({ timeout: 2_000 });
      return true;
    } catch (error) {
      const items = await page.locator('.monaco-menu .action-item').allTextContents();
      await page.keyboard.press('Escape');
      const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return { ok: false, detail: `${why}; menu: ${JSON.stringify(items.filter(Boolean))}` };
    }
  });
}

test('the "Orchflow workspace terminal" profile in the terminal panel\'s "+" menu starts a shell in the active workspace', async () => {
  await launchProfile('Orchflow workspace terminal');
  const list = await pollUntil('the daemon to list the terminal from the profile', TIMEOUTS.terminal, async () => {
    const terminals = await listTerminals();
    return { ok: terminals.length === 2 ? terminals : null, detail: `terminals: ${JSON.stringify(terminals.map((t) => t.name))}` };
  });
  fromProfile = list.ok.find((t) => t.id !== shell.id);
  assert.equal(fromProfile.purpose, 'shell');
  await pollUntil(`a tab named "${shop.name} › ${fromProfile.name}"`, TIMEOUTS.terminal, async () => {
    const tabs = await terminalTabs(vsc.page);
    return { ok: tabs.some((t) => t.includes(`${shop.name} › ${fromProfile.name}`)), detail: `tabs: ${JSON.stringify(tabs)}` };
  });
  await typeInTerminal(vsc.page, 'echo "profile-$((5 * 5))"\n');
  await vsc.waitForText('.terminal-wrapper .xterm-rows', 'profile-25', TIMEOUTS.terminal);
  await vsc.screenshot('09-profile');
});

test('Rename Terminal renames it in the daemon, the tree and the tab', async () => {
  await vsc.runCommand('Orchflow: Rename Terminal...');
  // Picked by a part of its name: the input box that follows starts with the whole name, and the harness tells
  // that the pick was accepted by the text changing.
  const part = fromProfile.name.split(' ').at(-1);
  assert.ok(!shell.name.includes(part), `"${part}" must pick only ${fromProfile.name}`);
  await vsc.quickPick(part);
  await vsc.inputBox('api server');
  await vsc.waitForTreeItem('Workspaces', 'api server', TIMEOUTS.terminal);
  await pollUntil('the tab to follow the rename', TIMEOUTS.terminal, async () => {
    const tabs = await terminalTabs(vsc.page);
    return { ok: tabs.some((t) => t.includes(`${shop.name} › api server`)), detail: `tabs: ${JSON.stringify(tabs)}` };
  });
  const renamed = (await listTerminals()).find((t) => t.id === fromProfile.id);
  assert.equal(renamed.name, 'api server');
});

test('closing a terminal\'s tab detaches: the terminal keeps running, and Show brings it back with its output', async () => {
  await vsc.runCommand('Orchflow: Show Terminal');
  await vsc.quickPick('api server');
  await vsc.runCommand('Terminal: Kill the Active Terminal Instance');
  await pollUntil('the tab to close', TIMEOUTS.terminal, async () => {
    const tabs = await terminalTabs(vsc.page);
    return { ok: !tabs.some((t) => t.includes('api server')), detail: `tabs: ${JSON.stringify(tabs)}` };
  });
  const detached = await pollUntil('the daemon to see the terminal detached', TIMEOUTS.terminal, async () => {
    const t = (await listTerminals()).find((x) => x.id === fromProfile.id);
    return { ok: t?.attachedClients === 0 ? t : null, detail: JSON.stringify(t) };
  });
  assert.equal(detached.ok.status, 'running');
  await vsc.waitForTreeItem('Workspaces', 'api server', TIMEOUTS.terminal);

  await vsc.runCommand('Orchflow: Show Terminal');
  await vsc.quickPick('api server');
  await pollUntil('the shown terminal to replay its output', TIMEOUTS.terminal, async () => {
    const text = await vsc.terminalText();
    return { ok: /^profile-25$/m.test(text), detail: `terminal: ${JSON.stringify(text)}` };
  });
  await vsc.screenshot('10-shown-again');
});
