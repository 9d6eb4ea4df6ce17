import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentStore } from '../src/agents/store';
import type { ResourceSnapshot } from '../src/protocol/generated';
import { agent, workspaceResources } from './fixtures';

function snapshot(agents: ResourceSnapshot['agents'], workspaces: ResourceSnapshot['workspaces'] = []): ResourceSnapshot {
  return { sampledAt: '2025-01-01T00:00:02Z', agents, workspaces };
}

test('reset loads the list and the figures; forWorkspace keeps one workspace, oldest first', () => {
  const store = new AgentStore();
  assert.equal(store.isLoaded, false);
  store.reset(
    [
      agent({ id: 'shop-a2', createdAt: '2025-01-02T00:00:00Z' }),
      agent({ id: 'cli-a1', workspaceId: 'cli' }),
      agent({ id: 'shop-a1', createdAt: '2025-01-01T00:00:00Z' }),
    ],
    snapshot([{ id: 'shop-a1', workspaceId: 'shop-api', cpuPercent: 3, memoryBytes: 1024, processes: 2 }]),
  );
  assert.equal(store.isLoaded, true);
  assert.deepEqual(store.forWorkspace('shop-api').map((a) => a.id), ['shop-a1', 'shop-a2']);
  assert.equal(store.figuresOf('shop-a1')?.cpuPercent, 3);
  assert.equal(store.figuresOf('shop-a2'), undefined);
});

test('notifications keep it current; a removal of an unknown agent changes nothing', () => {
  const store = new AgentStore();
  let changes = 0;
  store.onDidChange(() => changes++);
  store.reset([]);
  store.applyChange({ kind: 'created', id: 'a', workspaceId: 'shop-api', agent: agent({ id: 'a', state: 'queued' }) });
  const now = store.applyChange({ kind: 'updated', id: 'a', workspaceId: 'shop-api', agent: agent({ id: 'a', state: 'needsInput' }) });
  assert.equal(now?.state, 'needsInput');
  assert.deepEqual(store.needingInput().map((a) => a.id), ['a']);
  assert.equal(store.applyChange({ kind: 'removed', id: 'a', workspaceId: 'shop-api' }), undefined);
  assert.equal(store.get('a'), undefined);
  store.applyChange({ kind: 'removed', id: 'a', workspaceId: 'shop-api' });
  assert.equal(changes, 4);
});

test('a response never overwrites what notifications said, nor brings back a removed agent', () => {
  const store = new AgentStore();
  store.reset([]);
  // The agent finished before the spawn response arrived: the notification is newer.
  store.applyChange({ kind: 'updated', id: 'a', workspaceId: 'shop-api', agent: agent({ id: 'a', state: 'succeeded' }) });
  store.recordResponse(agent({ id: 'a', state: 'starting' }));
  assert.equal(store.get('a')?.state, 'succeeded');

  store.applyChange({ kind: 'removed', id: 'b', workspaceId: 'shop-api' });
  store.recordResponse(agent({ id: 'b', state: 'starting' }));
  assert.equal(store.get('b'), undefined);

  // A response about an agent no notification mentioned yet shows it at once.
  store.recordResponse(agent({ id: 'c', state: 'queued' }));
  assert.equal(store.get('c')?.state, 'queued');
});

test('resource snapshots fire a change only when a figure as shown differs', () => {
  const store = new AgentStore();
  store.reset([agent({ id: 'a' })]);
  let changes = 0;
  store.onDidChange(() => changes++);
  const mib = 1024 * 1024;
  store.applyResources(snapshot([{ id: 'a', workspaceId: 'shop-api', cpuPercent: 12.2, memoryBytes: 100 * mib, processes: 3 }]));
  assert.equal(changes, 1);
  // 12.2% and 12.4% both show as "CPU 12%", 100 MiB and 100.2 MiB as "100 MiB".
  store.applyResources(snapshot([{ id: 'a', workspaceId: 'shop-api', cpuPercent: 12.4, memoryBytes: 100.2 * mib, processes: 3 }]));
  assert.equal(changes, 1);
  assert.equal(store.figuresOf('a')?.cpuPercent, 12.4, 'the figures are kept even when the text does not change');
  store.applyResources(snapshot([{ id: 'a', workspaceId: 'shop-api', cpuPercent: 13, memoryBytes: 100 * mib, processes: 3 }]));
  assert.equal(changes, 2);
  store.applyResources(snapshot([]));
  assert.equal(changes, 3, 'an agent whose figures vanish changes the view');
});

test('clear forgets everything when the connection is lost', () => {
  const store = new AgentStore();
  store.reset([agent()], snapshot([{ id: 'shop-a1', workspaceId: 'shop-api', cpuPercent: 1, memoryBytes: 1, processes: 1 }]));
  store.clear();
  assert.equal(store.isLoaded, false);
  assert.deepEqual(store.all(), []);
  assert.equal(store.figuresOf('shop-a1'), undefined);
});

test('workspace figures: the Resources row follows every figure it shows (processes and terminals too), and only those', () => {
  const store = new AgentStore();
  store.reset([]);
  let changes = 0;
  store.onDidChange(() => changes++);
  const mib = 1024 * 1024;
  const shop = (o: Parameters<typeof workspaceResources>[0]) => snapshot([], [workspaceResources({ workspaceId: 'shop-api', ...o })]);
  store.applyResources(shop({ cpuPercent: 3, memoryBytes: 120 * mib, processes: 4, terminals: 2 }));
  assert.equal(changes, 1);
  assert.equal(store.workspaceResources('shop-api')?.processes, 4);
  store.applyResources(shop({ cpuPercent: 3.04, memoryBytes: 120.1 * mib, processes: 4, terminals: 2 }));
  assert.equal(changes, 1, 'the same text: no change');
  store.applyResources(shop({ cpuPercent: 3, memoryBytes: 120 * mib, processes: 5, terminals: 2 }));
  assert.equal(changes, 2, 'a process more');
  store.applyResources(shop({ cpuPercent: 3, memoryBytes: 120 * mib, processes: 5, terminals: 3 }));
  assert.equal(changes, 3, 'a terminal more');
  assert.equal(store.workspaceResources('cli-tool'), undefined, 'no figures for a workspace the daemon did not send');
  store.clear();
  assert.equal(store.workspaceResources('shop-api'), undefined);
});
