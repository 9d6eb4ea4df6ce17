// Terminal sessions (the logic behind each Orchflow Pseudoterminal) against the real daemon
// (dist/server/orchflow) over its real socket, with a private ORCHFLOW_HOME: create with attach, input, output,
// detach and attach again with the scrollback, flow control over a large output, exit, and kill.
// Skipped when the backend has not been built.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { OrchflowClient } from '../src/client/client';
import { NullLogger } from '../src/client/logger';
import type { TerminalChangedNotification, TerminalInfo, TerminalOutputNotification } from '../src/protocol/generated';
import { TerminalSession, type TerminalSink } from '../src/terminals/session';
import { builtServer, skipWithoutServer } from './realDaemonSupport';

const server = builtServer;
const skip = skipWithoutServer;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'orchflow-real-terminals-'));
const env = { ...process.env, ORCHFLOW_HOME: path.join(tmp, 'home'), SHELL: '/bin/bash' };
const project = path.join(tmp, 'projects', 'shop-api');
let client: OrchflowClient;
const sessions = new Map<string, TerminalSession>();
const early: TerminalOutputNotification[] = [];
const changes: TerminalChangedNotification[] = [];

class Sink implements TerminalSink {
  text = '';
  closed = false;
  private waiters: (() => void)[] = [];
  write(data: string): void {
    this.text += data;
    for (const w of this.waiters.splice(0)) {
      w();
    }
  }
  close(): void {
    this.closed = true;
    this.write('');
  }
  setName(): void {}
  /** Resolves when the written text satisfies `predicate`. */
  until(predicate: (text: string) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; text: ${JSON.stringify(this.text.slice(-400))}`)), timeoutMs);
      const check = (): void => {
        if (predicate(this.text)) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }
}

function session(info: TerminalInfo, sink: Sink): TerminalSession {
  const s = new TerminalSession(info, sink, {
    rpc: client,
    logger: NullLogger,
    title: (t) => `Shop API › ${t.name}`,
    closeAction: () => 'detach',
    onClosed: (closed) => {
      if (sessions.get(closed.id) === closed) {
        sessions.delete(closed.id);
      }
    },
  });
  sessions.set(info.id, s);
  for (const n of early.splice(0).filter((e) => e.id === info.id)) {
    s.output(n.seq, n.data);
  }
  return s;
}

async function waitForChange(predicate: (c: TerminalChangedNotification) => boolean, what: string, timeoutMs = 20_000): Promise<TerminalChangedNotification> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = changes.find(predicate);
    if (found) {
      return found;
    }
    if (Date.now() > deadline) {
      throw new Error(`no ${what}; saw ${JSON.stringify(changes.map((c) => [c.kind, c.id]))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

before(async () => {
  if (skip) {
    return;
  }
  mkdirSync(path.join(project, '.orchflow'), { recursive: true });
  writeFileSync(path.join(project, '.orchflow', 'workspace.json'), JSON.stringify({ workspace: { id: 'shop-api', name: 'Shop API', type: 'node' } }));
  client = new OrchflowClient({ serverPath: () => server, clientInfo: { name: 'vscode', version: 'test' }, folders: () => [project], logger: NullLogger, env });
  client.onTerminalOutput((n) => {
    const s = sessions.get(n.id);
    if (s) {
      s.output(n.seq, n.data);
    } else {
      early.push(n);
    }
  });
  client.onTerminalChanged((c) => {
    changes.push(c);
    if (c.kind === 'removed') {
      sessions.get(c.id)?.removed();
    } else if (c.terminal) {
      sessions.get(c.id)?.update(c.terminal);
    }
  });
  const connected = new Promise<void>((resolve) => client.onDidInitialize(() => resolve()));
  client.start();
  await connected;
  await client.request('orchflow/workspace/create', { path: project });
});

after(async () => {
  if (!skip) {
    await client.dispose();
    await promisify(execFile)(server, ['daemon', 'stop'], { env, timeout: 20_000 }).catch(() => undefined);
  }
  rmSync(tmp, { recursive: true, force: true });
});

test('a terminal created with attach shows its output from the first byte and runs what is typed', { skip }, async () => {
  const info = await client.request('orchflow/terminal/create', { workspaceId: 'shop-api', purpose: 'shell', attach: true, columns: 100, rows: 30 });
  const sink = new Sink();
  const s = session(info, sink);
  s.startAttachedFromCreate();
  s.open({ columns: 100, rows: 30 });
  s.input('echo "orchflow-$((6 * 7))"\r');
  await sink.until((t) => /^orchflow-42\r?$/m.test(t), 'the echo output');

  // Close (detach): the terminal goes on; a new session attaches and replays the scrollback.
  await s.close();
  const again = new Sink();
  const s2 = session(info, again);
  s2.open({ columns: 100, rows: 30 });
  await s2.attach();
  assert.match(again.text, /^orchflow-42\r?$/m, 'the scrollback replays the earlier output');
  s2.input('echo "second-$((2 + 3))"\r');
  await again.until((t) => /^second-5\r?$/m.test(t), 'output after the reattach');
  const listed = await client.request('orchflow/terminal/list', { workspaceId: 'shop-api' });
  assert.equal(listed.terminals.find((t) => t.id === info.id)?.status, 'running');

  await s2.release();
});

test('a large output arrives whole: acknowledgements keep the daemon from pausing the terminal for good', { skip }, async () => {
  const info = await client.request('orchflow/terminal/create', { workspaceId: 'shop-api', purpose: 'build', command: 'seq 1 60000; echo END-OF-OUTPUT', attach: true });
  const sink = new Sink();
  const s = session(info, sink);
  s.startAttachedFromCreate();
  s.open({ columns: 80, rows: 24 });
  await sink.until((t) => t.includes('END-OF-OUTPUT'), 'the end of the output', 60_000);
  // 60000 numbers: far above the 100,000-character high watermark, so the daemon paused and resumed on our acks.
  assert.ok(sink.text.length > 300_000, `only ${sink.text.length} characters`);
  assert.match(sink.text, /\r?\n59999\r?\n60000\r?\n/);
  await sink.until((t) => t.includes('[process exited with code 0]'), 'the exit notice');
  assert.equal(sink.closed, false, 'an exited terminal stays open until closed');
  await s.close();
});

test('an exit code reaches the terminal and the list; kill removes the terminal and closes its VS Code terminal', { skip }, async () => {
  const failing = await client.request('orchflow/terminal/create', { workspaceId: 'shop-api', purpose: 'test', command: 'echo failing; exit 3', attach: true });
  const sink = new Sink();
  const s = session(failing, sink);
  s.startAttachedFromCreate();
  s.open(undefined);
  await sink.until((t) => t.includes('[process exited with code 3]'), 'the exit notice');
  const exited = await waitForChange((c) => c.id === failing.id && c.kind === 'exited', 'exited notification');
  assert.equal(exited.terminal?.exitCode, 3);
  await s.close();

  const running = await client.request('orchflow/terminal/create', { workspaceId: 'shop-api', purpose: 'shell', attach: true });
  const runningSink = new Sink();
  const r = session(running, runningSink);
  r.startAttachedFromCreate();
  r.open(undefined);
  await client.request('orchflow/terminal/kill', { id: running.id });
  await runningSink.until(() => runningSink.closed, 'the VS Code terminal to close');
  const list = await client.request('orchflow/terminal/list', {});
  assert.ok(!list.terminals.some((t) => t.id === running.id), 'kill removes the terminal');
});

test('when the daemon stops, a shown terminal says the connection was lost, and after reconnecting that the terminal was lost', { skip }, async () => {
  const info = await client.request('orchflow/terminal/create', { workspaceId: 'shop-api', purpose: 'shell', attach: true });
  const sink = new Sink();
  const s = session(info, sink);
  s.startAttachedFromCreate();
  s.open(undefined);
  s.input('echo "before-$((1 + 1))"\r');
  await sink.until((t) => /^before-2\r?$/m.test(t), 'output before the stop');

  const lost = new Promise<void>((resolve) => {
    const sub = client.onDidChangeState((state) => {
      if (state.kind !== 'connected') {
        sub.dispose();
        resolve();
      }
    });
  });
  const reconnected = new Promise<void>((resolve) => {
    const sub = client.onDidInitialize(() => {
      sub.dispose();
      resolve();
    });
  });
  await promisify(execFile)(server, ['daemon', 'stop'], { env, timeout: 20_000 });
  await lost;
  s.connectionLost(); // what the manager does when the connection drops
  assert.match(sink.text, /connection to the Orchflow daemon lost/);
  await reconnected; // the client starts a new daemon by itself

  // What the manager does after reconnecting: update from the list, attach again.
  const listed = (await client.request('orchflow/terminal/list', {})).terminals.find((t) => t.id === info.id);
  assert.equal(listed?.status, 'lost');
  s.update(listed);
  await s.attach();
  await sink.until((t) => t.includes('[terminal lost: the Orchflow daemon stopped while it ran]'), 'the lost notice');
  assert.equal((sink.text.match(/before-2/g) ?? []).length, 1, 'the earlier output is not written twice');
  await s.close();
});
