// The memory store and its sync against the real daemon (dist/server/orchflow) over its real socket, with a
// private ORCHFLOW_HOME: the stats after connecting, writes announced by orchflow/memory/changed, the search
// syntax as the daemon answers it, a capacity changed in the workspace's config, and a memory file damaged while
// the daemon was stopped, reported with the daemon's hint and recovered by an import. Skipped when the backend has
// not been built. Every wait is on an event of the store or the client, with a deadline.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { OrchflowClient } from '../src/client/client';
import type { ConnectionStateKind } from '../src/client/connectionState';
import { NullLogger } from '../src/client/logger';
import { memoryDescription } from '../src/memory/presentation';
import { parseMemoryQuery } from '../src/memory/query';
import { MemoryStore } from '../src/memory/store';
import { MemorySync } from '../src/memory/sync';
import { isErrorCode, userMessage } from '../src/protocol/errors';
import { ErrorCodes, type MemoryStats } from '../src/protocol/generated';
import { builtServer, skipWithoutServer, waitForState as waitForClientState } from './realDaemonSupport';

const server = builtServer;
const skip = skipWithoutServer;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'orchflow-real-memory-'));
const home = path.join(tmp, 'home');
const env = { ...process.env, ORCHFLOW_HOME: home };
const project = path.join(tmp, 'projects', 'notes');
const configFile = path.join(project, '.orchflow', 'workspace.json');
const WS = 'notes';
let client: OrchflowClient;
let store: MemoryStore;
let sync: MemorySync;

function writeConfig(memory?: Record<string, unknown>): void {
  writeFileSync(configFile, JSON.stringify({ workspace: { id: WS, name: 'Notes', type: 'unknown', ...(memory ? { memory } : {}) } }));
}

function waitForState(kind: ConnectionStateKind, timeoutMs = 30_000): Promise<void> {
  return waitForClientState(client, kind, timeoutMs);
}

/** Resolves with the workspace's stats once the store holds ones that satisfy `ok`; checked at each change. */
function waitForStats(what: string, ok: (s: MemoryStats) => boolean, timeoutMs = 30_000): Promise<MemoryStats> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const s = store.get(WS);
      if (store.isLoaded && s && ok(s)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(s);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`the store never showed ${what}; last: ${JSON.stringify(store.get(WS))}`));
    }, timeoutMs);
    const sub = store.onDidChange(() => void check());
    check();
  });
}

before(() => {
  if (skip) {
    return;
  }
  mkdirSync(path.dirname(configFile), { recursive: true });
  writeConfig();
  client = new OrchflowClient({ serverPath: () => server, clientInfo: { name: 'vscode', version: 'test' }, folders: () => [project], logger: NullLogger, env });
  store = new MemoryStore();
  sync = new MemorySync(client, store, NullLogger);
});

after(async () => {
  if (!skip) {
    sync.dispose();
    store.dispose();
    await client.dispose();
    await promisify(execFile)(server, ['daemon', 'stop'], { env, timeout: 20_000 }).catch(() => undefined);
  }
  rmSync(tmp, { recursive: true, force: true });
});

test('the stats after connecting, then each write announced by the daemon', { skip }, async () => {
  client.start();
  await waitForState('connected');
  await client.request('orchflow/workspace/create', { path: project });
  const empty = await waitForStats('the new workspace, empty', (s) => s.entries === 0);
  assert.equal(empty.state, 'ok');
  assert.equal(empty.capacityEntries, 10_000);
  assert.equal(empty.capacityBytes, 512 * 1024 * 1024);
  assert.match(memoryDescription(empty), /^no entries · up to 10,000 entries, 512 MiB$/);

  await client.request('orchflow/memory/set', { workspaceId: WS, key: 'decisions/db', value: 'Postgres 16', tags: ['decision', 'db'] });
  await client.request('orchflow/memory/set', { workspaceId: WS, key: 'api/limits', value: '{"rps": 50}', kind: 'json' });
  const two = await waitForStats('2 entries', (s) => s.entries === 2);
  assert.equal(memoryDescription(two), '2 entries · <1% of 10,000 entries');
});

test('the search syntax as the daemon answers it', { skip }, async () => {
  const search = async (input: string): Promise<string[]> => {
    const q = parseMemoryQuery(input);
    const { entries } = await client.request('orchflow/memory/search', { workspaceId: WS, text: q.text ?? null, prefix: q.prefix ?? null, tags: q.tags.length > 0 ? [...q.tags] : null });
    return entries.map((e) => e.key);
  };
  assert.deepEqual(await search(''), ['api/limits', 'decisions/db']);
  assert.deepEqual(await search('POSTGRES'), ['decisions/db'], 'text ignores case and searches values');
  assert.deepEqual(await search('#decision'), ['decisions/db']);
  assert.deepEqual(await search('#decision #nope'), []);
  assert.deepEqual(await search('api/*'), ['api/limits']);
  assert.deepEqual(await search('decisions/* #db postgres'), ['decisions/db']);
  assert.deepEqual(await search('Api/*'), [], 'prefixes are case-sensitive, as keys are');
});

test('a capacity changed in the workspace config reaches the store without a memory change', { skip }, async () => {
  writeConfig({ capacity_entries: 4, when_full: 'refuse' });
  const stats = await waitForStats('the new capacity', (s) => s.capacityEntries === 4);
  assert.equal(stats.whenFull, 'refuse');
  assert.equal(memoryDescription(stats), '2 entries · 50% of 4 entries');
  await client.request('orchflow/memory/set', { workspaceId: WS, key: 'a', value: '1' });
  await client.request('orchflow/memory/set', { workspaceId: WS, key: 'b', value: '2' });
  const full = await waitForStats('a full memory', (s) => s.entries === 4);
  assert.equal(memoryDescription(full), '4 entries · 100% of 4 entries · full, refuses new entries');
  await assert.rejects(client.request('orchflow/memory/set', { workspaceId: WS, key: 'c', value: '3' }), (error: unknown) => {
    assert.ok(isErrorCode(error, ErrorCodes.LimitReached), userMessage(error));
    assert.match(userMessage(error), /is full/);
    assert.match(userMessage(error), /memory\.when_full/, 'the hint comes with the message');
    return true;
  });
});

test('a memory file damaged while the daemon was stopped is reported with the daemon\'s hint, and an import recovers it', { skip }, async () => {
  const file = path.join(home, 'data', 'memory', `${WS}.db`);
  assert.ok(existsSync(file), `no segment file at ${file}`);
  // The client stops first: it would otherwise start the daemon again before the file is damaged.
  await client.stop();
  assert.equal(store.isLoaded, false, 'a lost connection clears the store');
  await promisify(execFile)(server, ['daemon', 'stop'], { env, timeout: 20_000 });
  const bytes = readFileSync(file);
  bytes.fill(0x42, 0, Math.min(4096, bytes.length));
  writeFileSync(file, bytes);

  // The client starts the daemon again (daemon ensure); the store is read afresh.
  client.start();
  await waitForState('connected');
  const damaged = await waitForStats('the damaged state', (s) => s.state === 'damaged');
  assert.equal(memoryDescription(damaged), 'damaged · not served');
  assert.ok(damaged.problem && damaged.problem.length > 0);
  assert.match(damaged.hint ?? '', /orchflow memory import --workspace notes --replace/);
  await assert.rejects(client.request('orchflow/memory/search', { workspaceId: WS }), (error: unknown) => {
    assert.ok(isErrorCode(error, ErrorCodes.Damaged), userMessage(error));
    assert.match(userMessage(error), /--replace/, 'the hint comes with the message');
    return true;
  });

  const result = await client.request('orchflow/memory/import', {
    workspaceId: WS,
    lines: `${JSON.stringify({ key: 'restored', value: 'from a backup' })}\n`,
    replace: true,
  });
  assert.ok(result.movedAside?.startsWith(`${file}.damaged-`), result.movedAside ?? 'not moved');
  const recovered = await waitForStats('the recovered memory', (s) => s.state === 'ok' && s.entries === 1);
  assert.equal(memoryDescription(recovered), '1 entry · 25% of 4 entries');
});
