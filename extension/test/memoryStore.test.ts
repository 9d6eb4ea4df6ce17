// MemoryStore's rules: notifications are the authority, a response never overwrites a newer notification, and a
// change fires only when the stats differ (entries listeners hear every notification).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMemoryChangedNotification } from '../src/client/validate';
import { MemoryStore } from '../src/memory/store';
import { memoryStats } from './fixtures';

test('reset loads every workspace; get and all read it', () => {
  const store = new MemoryStore();
  assert.equal(store.isLoaded, false);
  store.reset([memoryStats({ workspaceId: 'shop-api', entries: 2 }), memoryStats({ workspaceId: 'cli-tool' })], store.mark());
  assert.equal(store.isLoaded, true);
  assert.equal(store.get('shop-api')?.entries, 2);
  assert.deepEqual(store.all().map((s) => s.workspaceId), ['cli-tool', 'shop-api']);
  assert.equal(store.get('nowhere'), undefined);
});

test('notifications keep it current; one without stats removes the workspace', () => {
  const store = new MemoryStore();
  store.reset([memoryStats({ entries: 0 })], store.mark());
  const changed: (string | undefined)[] = [];
  store.onDidChange((id) => changed.push(id));
  store.applyChange({ workspaceId: 'shop-api', stats: memoryStats({ entries: 1, bytes: 40 }) });
  assert.equal(store.get('shop-api')?.entries, 1);
  store.applyChange({ workspaceId: 'shop-api', stats: null });
  assert.equal(store.get('shop-api'), undefined);
  assert.deepEqual(changed, ['shop-api', 'shop-api']);
});

test('the tree hears only changed stats; entries listeners hear every notification', () => {
  const store = new MemoryStore();
  store.reset([memoryStats({ entries: 1, bytes: 40 })], store.mark());
  let stats = 0;
  const entries: string[] = [];
  store.onDidChange(() => stats++);
  store.onEntriesChanged((id) => entries.push(id));
  // A value replaced by one of the same size: the stats are the same, the entry is not.
  store.applyChange({ workspaceId: 'shop-api', stats: memoryStats({ entries: 1, bytes: 40 }) });
  assert.equal(stats, 0);
  assert.deepEqual(entries, ['shop-api']);
  store.applyChange({ workspaceId: 'shop-api', stats: memoryStats({ entries: 2, bytes: 80 }) });
  assert.equal(stats, 1);
  assert.deepEqual(entries, ['shop-api', 'shop-api']);
});

test('a list that was asked for before a notification does not overwrite what the notification said', () => {
  const store = new MemoryStore();
  const since = store.mark();
  // While the list is on its way, a write in shop-api is announced.
  store.applyChange({ workspaceId: 'shop-api', stats: memoryStats({ entries: 3 }) });
  store.reset([memoryStats({ workspaceId: 'shop-api', entries: 2 }), memoryStats({ workspaceId: 'cli-tool', entries: 5 })], since);
  assert.equal(store.get('shop-api')?.entries, 3, 'the notification is newer than the list');
  assert.equal(store.get('cli-tool')?.entries, 5);

  // A list asked for after the notification is newer and wins.
  store.reset([memoryStats({ workspaceId: 'shop-api', entries: 4 })], store.mark());
  assert.equal(store.get('shop-api')?.entries, 4);
  assert.equal(store.get('cli-tool'), undefined, 'the list replaces everything it does not say');
});

test('a response for one workspace applies unless a notification about it came after the request', () => {
  const store = new MemoryStore();
  store.reset([memoryStats({ workspaceId: 'shop-api', capacityEntries: 10_000 })], store.mark());
  const since = store.mark();
  store.applyChange({ workspaceId: 'cli-tool', stats: memoryStats({ workspaceId: 'cli-tool', entries: 1 }) });
  const changed: (string | undefined)[] = [];
  store.onDidChange((id) => changed.push(id));
  store.applyResponse([memoryStats({ workspaceId: 'shop-api', capacityEntries: 50 })], since);
  assert.equal(store.get('shop-api')?.capacityEntries, 50, 'a notification about another workspace does not block it');
  assert.deepEqual(changed, ['shop-api']);

  const late = store.mark();
  store.applyChange({ workspaceId: 'shop-api', stats: memoryStats({ workspaceId: 'shop-api', entries: 7, capacityEntries: 50 }) });
  store.applyResponse([memoryStats({ workspaceId: 'shop-api', entries: 6, capacityEntries: 50 })], late);
  assert.equal(store.get('shop-api')?.entries, 7);

  // The same stats again change nothing.
  changed.length = 0;
  store.applyResponse([memoryStats({ workspaceId: 'shop-api', entries: 7, capacityEntries: 50 })], store.mark());
  assert.deepEqual(changed, []);
});

test('a deleted workspace is forgotten, and a late response does not bring it back', () => {
  const store = new MemoryStore();
  const since = store.mark();
  store.reset([memoryStats({ workspaceId: 'shop-api' })], since);
  const asked = store.mark();
  store.forget('shop-api');
  assert.equal(store.get('shop-api'), undefined);
  store.applyResponse([memoryStats({ workspaceId: 'shop-api' })], asked);
  assert.equal(store.get('shop-api'), undefined);
});

test('clear forgets everything when the connection is lost, and fires once', () => {
  const store = new MemoryStore();
  store.reset([memoryStats()], store.mark());
  let changes = 0;
  store.onDidChange(() => changes++);
  store.clear();
  store.clear();
  assert.equal(store.isLoaded, false);
  assert.deepEqual(store.all(), []);
  assert.equal(changes, 1);
});

test('the client passes on only well-formed memory notifications', () => {
  assert.equal(isMemoryChangedNotification({ workspaceId: 'shop-api', stats: memoryStats() }), true);
  assert.equal(isMemoryChangedNotification({ workspaceId: 'shop-api', stats: null }), true, 'a deleted workspace');
  assert.equal(isMemoryChangedNotification({ workspaceId: 'shop-api' }), true);
  assert.equal(isMemoryChangedNotification({ workspaceId: 'shop-api', stats: memoryStats({ workspaceId: 'cli-tool' }) }), false, "another workspace's stats");
  assert.equal(isMemoryChangedNotification({ workspaceId: 'shop-api', stats: { ...memoryStats(), entries: '2' } }), false);
  assert.equal(isMemoryChangedNotification({ workspaceId: 'shop-api', stats: { ...memoryStats(), state: 'broken' } }), false);
  assert.equal(isMemoryChangedNotification({ stats: memoryStats() }), false);
  assert.equal(isMemoryChangedNotification(null), false);
});
