// MemorySync against a scripted client: the stats after connecting, notifications that race them, a workspace
// whose config changed, a deleted workspace, and a lost connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Emitter } from 'vscode-jsonrpc/node';
import type { ConnectionState } from '../src/client/connectionState';
import type { Logger } from '../src/client/logger';
import { MemoryStore } from '../src/memory/store';
import { MemorySync, type MemoryClient } from '../src/memory/sync';
import type {
  ConfigChangedNotification,
  MemoryChangedNotification,
  MemoryStats,
  MemoryStatsParams,
  RequestMethod,
  RequestParams,
  RequestResult,
  WorkspaceChangedNotification,
} from '../src/protocol/generated';
import { memoryStats, workspace } from './fixtures';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, trace: () => undefined };

class FakeClient implements MemoryClient {
  readonly initialized = new Emitter<unknown>();
  readonly state = new Emitter<ConnectionState>();
  readonly memory = new Emitter<MemoryChangedNotification>();
  readonly workspaces = new Emitter<WorkspaceChangedNotification>();
  readonly config = new Emitter<ConfigChangedNotification>();
  readonly onDidInitialize = this.initialized.event;
  readonly onDidChangeState = this.state.event;
  readonly onMemoryChanged = this.memory.event;
  readonly onWorkspaceChanged = this.workspaces.event;
  readonly onConfigChanged = this.config.event;
  /** The daemon's stats by workspace, as memory/stats answers them. */
  stats = new Map<string, MemoryStats>();
  /** Every stats request's params. */
  readonly asked: MemoryStatsParams[] = [];
  /** A test may hold the answers back to deliver notifications first. */
  hold: Promise<void> | undefined;

  async request<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>> {
    if (method !== 'orchflow/memory/stats') {
      throw new Error(`unexpected ${method}`);
    }
    const p = params as MemoryStatsParams;
    this.asked.push(p);
    const segments = p.workspaceId ? [this.stats.get(p.workspaceId)].filter((s): s is MemoryStats => s !== undefined) : [...this.stats.values()];
    await this.hold;
    return { segments } as RequestResult<M>;
  }
}

function setup(): { client: FakeClient; store: MemoryStore; sync: MemorySync } {
  const client = new FakeClient();
  const store = new MemoryStore();
  const sync = new MemorySync(client, store, silent);
  return { client, store, sync };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(condition(), 'condition never held');
}

const connected: ConnectionState = { kind: 'connected' } as ConnectionState;

test('after initialize it reads every workspace\'s stats; notifications keep them current', async () => {
  const { client, store } = setup();
  client.stats.set('shop-api', memoryStats({ entries: 2 }));
  client.initialized.fire({});
  await until(() => store.isLoaded);
  assert.deepEqual(client.asked, [{}]);
  assert.equal(store.get('shop-api')?.entries, 2);
  client.memory.fire({ workspaceId: 'shop-api', stats: memoryStats({ entries: 1 }) });
  assert.equal(store.get('shop-api')?.entries, 1);
});

test('a notification that overtakes the list is kept', async () => {
  const { client, store } = setup();
  client.stats.set('shop-api', memoryStats({ entries: 2 }));
  let release!: () => void;
  client.hold = new Promise((resolve) => (release = resolve));
  client.initialized.fire({});
  await until(() => client.asked.length === 1);
  client.memory.fire({ workspaceId: 'shop-api', stats: memoryStats({ entries: 3 }) });
  release();
  await until(() => store.isLoaded);
  assert.equal(store.get('shop-api')?.entries, 3);
});

test('a created or updated workspace has its stats read again; a deleted one is forgotten', async () => {
  const { client, store } = setup();
  client.stats.set('shop-api', memoryStats({ capacityEntries: 10_000 }));
  client.initialized.fire({});
  await until(() => store.isLoaded);

  // Its config lowered the capacity: no memory change, but the stats differ.
  client.stats.set('shop-api', memoryStats({ capacityEntries: 50 }));
  client.workspaces.fire({ kind: 'updated', id: 'shop-api', workspace: workspace() });
  await until(() => store.get('shop-api')?.capacityEntries === 50);
  assert.deepEqual(client.asked.at(-1), { workspaceId: 'shop-api' });

  client.stats.set('cli-tool', memoryStats({ workspaceId: 'cli-tool' }));
  client.workspaces.fire({ kind: 'created', id: 'cli-tool', workspace: workspace({ id: 'cli-tool' }) });
  await until(() => store.get('cli-tool') !== undefined);

  client.workspaces.fire({ kind: 'deleted', id: 'cli-tool', workspace: null });
  assert.equal(store.get('cli-tool'), undefined);
  // A switch changes no memory: nothing is read.
  const asked = client.asked.length;
  client.workspaces.fire({ kind: 'switched', id: 'shop-api', workspace: workspace() });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(client.asked.length, asked);
});

test('a global config change reads every workspace again', async () => {
  const { client, store } = setup();
  client.stats.set('shop-api', memoryStats({ capacityBytes: 512 }));
  client.initialized.fire({});
  await until(() => store.isLoaded);
  client.stats.set('shop-api', memoryStats({ capacityBytes: 1024 }));
  client.config.fire({ diagnostics: [] });
  await until(() => store.get('shop-api')?.capacityBytes === 1024);
});

test('a lost connection clears the store, and a list from before it is dropped', async () => {
  const { client, store } = setup();
  client.stats.set('shop-api', memoryStats({ entries: 2 }));
  client.initialized.fire({});
  await until(() => store.isLoaded);

  let release!: () => void;
  client.hold = new Promise((resolve) => (release = resolve));
  client.initialized.fire({});
  await until(() => client.asked.length === 2);
  client.state.fire({ kind: 'reconnecting' } as ConnectionState);
  assert.equal(store.isLoaded, false);
  release();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(store.isLoaded, false, 'the answer of the lost connection is not applied');
  client.state.fire(connected);
  assert.equal(store.isLoaded, false);
});
