// AgentSync against a scripted client: what it announces across a connection, a list, notifications that race
// the list, a lost connection and a reconnection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Emitter } from 'vscode-jsonrpc/node';
import type { AlertKind } from '../src/agents/presentation';
import { AgentStore } from '../src/agents/store';
import { AgentSync, type AgentClient } from '../src/agents/sync';
import type { ConnectionState } from '../src/client/connectionState';
import type { Logger } from '../src/client/logger';
import type {
  AgentChangedNotification,
  AgentInfo,
  RequestMethod,
  RequestParams,
  RequestResult,
  ResourceSnapshot,
  WorkspaceChangedNotification,
} from '../src/protocol/generated';
import { agent, workspace, workspaceResources } from './fixtures';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, trace: () => undefined };

class FakeClient implements AgentClient {
  readonly initialized = new Emitter<unknown>();
  readonly state = new Emitter<ConnectionState>();
  readonly changed = new Emitter<AgentChangedNotification>();
  readonly resources = new Emitter<ResourceSnapshot>();
  readonly workspaces = new Emitter<WorkspaceChangedNotification>();
  readonly onWorkspaceChanged = this.workspaces.event;
  readonly onDidInitialize = this.initialized.event;
  readonly onDidChangeState = this.state.event;
  readonly onAgentChanged = this.changed.event;
  readonly onResourcesChanged = this.resources.event;
  /** What agent/list answers; a test may hold the answer back to deliver notifications first. */
  list: AgentInfo[] = [];
  /** What workspace/resources answers. */
  snapshot: ResourceSnapshot = { sampledAt: null, workspaces: [], agents: [] };
  /** How many times workspace/resources was asked. */
  resourceReads = 0;
  hold: Promise<void> | undefined;

  async request<M extends RequestMethod>(method: M, _params: RequestParams<M>): Promise<RequestResult<M>> {
    const list = [...this.list];
    await this.hold;
    if (method === 'orchflow/agent/list') {
      return { agents: list } as RequestResult<M>;
    }
    if (method === 'orchflow/workspace/resources') {
      this.resourceReads++;
      return this.snapshot as RequestResult<M>;
    }
    throw new Error(`unexpected ${method}`);
  }

  update(a: AgentInfo): void {
    this.changed.fire({ kind: 'updated', id: a.id, workspaceId: a.workspaceId, agent: a });
  }
}

function setup(): { client: FakeClient; store: AgentStore; alerts: [string, AlertKind][]; sync: AgentSync } {
  const client = new FakeClient();
  const store = new AgentStore();
  const alerts: [string, AlertKind][] = [];
  const sync = new AgentSync(client, store, silent, (a, kind) => alerts.push([a.id, kind]));
  return { client, store, alerts, sync };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(condition(), 'condition never held');
}

test('states present when the window connects are shown, not announced; later transitions are', async () => {
  const { client, store, alerts } = setup();
  client.list = [agent({ id: 'a', state: 'needsInput', needsInputSince: 't1' }), agent({ id: 'b', state: 'failed', exitCode: 2 })];
  client.initialized.fire({});
  await until(() => store.isLoaded);
  assert.deepEqual(store.needingInput().map((a) => a.id), ['a']);
  assert.deepEqual(alerts, []);

  client.update(agent({ id: 'a', state: 'running' }));
  client.update(agent({ id: 'a', state: 'succeeded', exitCode: 0 }));
  client.update(agent({ id: 'c', state: 'needsInput', needsInputSince: 't2' }));
  assert.deepEqual(alerts, [
    ['a', 'succeeded'],
    ['c', 'needsInput'],
  ]);
});

test('notifications that arrive before the list answers are recorded, not announced', async () => {
  const { client, store, alerts } = setup();
  let release = (): void => undefined;
  client.hold = new Promise((resolve) => (release = resolve));
  client.list = [agent({ id: 'a', state: 'running' })];
  client.initialized.fire({});
  // The daemon reported the question while this window's list was on its way.
  client.update(agent({ id: 'a', state: 'needsInput', needsInputSince: 't1' }));
  release();
  await until(() => store.isLoaded);
  // The list (older) says running; the notification that follows it repeats the question the window has seen.
  client.update(agent({ id: 'a', state: 'needsInput', needsInputSince: 't1' }));
  assert.deepEqual(alerts, []);
});

test('a lost connection clears the store; after reconnecting nothing already seen is announced again', async () => {
  const { client, store, alerts } = setup();
  client.list = [];
  client.initialized.fire({});
  await until(() => store.isLoaded);
  client.update(agent({ id: 'a', state: 'needsInput', needsInputSince: 't1' }));
  assert.deepEqual(alerts, [['a', 'needsInput']]);

  client.state.fire({ kind: 'reconnecting', attempt: 0, delayMs: 250, lastError: 'gone', wasConnected: true });
  assert.equal(store.isLoaded, false);
  assert.deepEqual(store.all(), []);

  client.list = [agent({ id: 'a', state: 'needsInput', needsInputSince: 't1' })];
  client.initialized.fire({});
  await until(() => store.isLoaded);
  client.update(agent({ id: 'a', state: 'needsInput', needsInputSince: 't1' }));
  assert.deepEqual(alerts, [['a', 'needsInput']], 'the same question is not announced twice');
});

test('a second dialog while the agent still needs input is announced with its own question', async () => {
  const { client, store, alerts } = setup();
  client.list = [];
  client.initialized.fire({});
  await until(() => store.isLoaded);
  const trust = agent({ id: 'a', state: 'needsInput', needsInputSince: 't1', question: 'Is this a project you created or one you trust?' });
  client.update(trust);
  client.update({ ...trust, lastLine: '❯ 2. Yes, I trust this folder' });
  client.update({ ...trust, question: 'Do you want to proceed?' });
  assert.deepEqual(alerts, [
    ['a', 'needsInput'],
    ['a', 'needsInput'],
  ]);
  assert.equal(store.get('a')?.question, 'Do you want to proceed?');
});

test('a removed agent leaves the store', async () => {
  const { client, store } = setup();
  client.list = [agent({ id: 'a', state: 'succeeded' })];
  client.initialized.fire({});
  await until(() => store.isLoaded);
  client.changed.fire({ kind: 'removed', id: 'a', workspaceId: 'shop-api' });
  assert.equal(store.get('a'), undefined);
});

test('a workspace created after the figures were read gets its figures: the daemon sends none while nothing runs', async () => {
  const { client, store } = setup();
  client.snapshot = { sampledAt: '2025-01-01T00:00:01Z', workspaces: [workspaceResources({ workspaceId: 'shop-api' })], agents: [] };
  client.initialized.fire({});
  await until(() => store.isLoaded);
  assert.equal(store.workspaceResources('cli-tool'), undefined);
  // The daemon answers with the new workspace, zeros included (nothing of it runs), from the same sample.
  client.snapshot = {
    sampledAt: '2025-01-01T00:00:01Z',
    workspaces: [workspaceResources({ workspaceId: 'shop-api' }), workspaceResources({ workspaceId: 'cli-tool', cpuPercent: 0, memoryBytes: 0, processes: 0, terminals: 0, agents: 0 })],
    agents: [],
  };
  client.workspaces.fire({ kind: 'created', id: 'cli-tool', workspace: workspace({ id: 'cli-tool' }) });
  await until(() => store.workspaceResources('cli-tool') !== undefined);
  assert.equal(store.workspaceResources('cli-tool')?.processes, 0);
  // Other changes read nothing again.
  client.workspaces.fire({ kind: 'updated', id: 'cli-tool', workspace: workspace({ id: 'cli-tool' }) });
  assert.equal(client.resourceReads, 2);
});

test('an answer about an older sample than the one shown is dropped', async () => {
  const { client, store } = setup();
  client.initialized.fire({});
  await until(() => store.isLoaded);
  let release = (): void => undefined;
  client.hold = new Promise((resolve) => (release = resolve));
  client.snapshot = { sampledAt: '2025-01-01T00:00:01Z', workspaces: [workspaceResources({ processes: 1 })], agents: [] };
  client.workspaces.fire({ kind: 'created', id: 'cli-tool', workspace: workspace({ id: 'cli-tool' }) });
  // A newer sample arrives while the answer is on its way.
  client.resources.fire({ sampledAt: '2025-01-01T00:00:02Z', workspaces: [workspaceResources({ processes: 7 })], agents: [] });
  release();
  await until(() => client.resourceReads === 2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(store.workspaceResources('shop-api')?.processes, 7);
});
