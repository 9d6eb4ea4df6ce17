import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TerminalStore } from '../src/terminals/store';
import { terminal } from './fixtures';

test('reset loads the list; forWorkspace keeps one workspace, oldest first', () => {
  const store = new TerminalStore();
  assert.equal(store.isLoaded, false);
  store.reset([
    terminal({ id: 'b', workspaceId: 'shop', createdAt: '2025-01-02T00:00:00Z' }),
    terminal({ id: 'c', workspaceId: 'cli' }),
    terminal({ id: 'a', workspaceId: 'shop', createdAt: '2025-01-01T00:00:00Z' }),
  ]);
  assert.equal(store.isLoaded, true);
  assert.deepEqual(store.forWorkspace('shop').map((t) => t.id), ['a', 'b']);
  assert.deepEqual(store.forWorkspace('none'), []);
});

test('notifications keep it current, each firing one change', () => {
  const store = new TerminalStore();
  let changes = 0;
  store.onDidChange(() => changes++);
  store.reset([]);
  store.applyChange({ kind: 'created', id: 'a', workspaceId: 'shop', terminal: terminal({ id: 'a' }) });
  store.applyChange({ kind: 'exited', id: 'a', workspaceId: 'shop', terminal: terminal({ id: 'a', status: 'exited', exitCode: 1 }) });
  assert.equal(store.get('a')?.exitCode, 1);
  store.applyChange({ kind: 'removed', id: 'a', workspaceId: 'shop' });
  assert.equal(store.get('a'), undefined);
  store.applyChange({ kind: 'removed', id: 'a', workspaceId: 'shop' });
  assert.equal(changes, 4, 'removing an unknown terminal changes nothing');
});

test('clear forgets everything when the connection is lost', () => {
  const store = new TerminalStore();
  store.reset([terminal()]);
  store.clear();
  assert.equal(store.isLoaded, false);
  assert.deepEqual(store.all(), []);
});
