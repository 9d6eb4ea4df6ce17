import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkspaceStore } from '../src/workspaces/store';
import { hibernation, workspace } from './fixtures';

function storeWith(...ids: string[]): { store: WorkspaceStore; changes: () => number } {
  const store = new WorkspaceStore();
  let count = 0;
  store.onDidChange(() => count++);
  store.reset({ workspaces: ids.map((id) => workspace({ id })), activeWorkspaceId: null });
  return { store, changes: () => count };
}

test('reset loads the list and the active id', () => {
  const store = new WorkspaceStore();
  assert.equal(store.isLoaded, false);
  store.reset({ workspaces: [workspace({ id: 'a' }), workspace({ id: 'b' })], activeWorkspaceId: 'b' });
  assert.equal(store.isLoaded, true);
  assert.deepEqual(store.all().map((w) => w.id), ['a', 'b']);
  assert.equal(store.activeWorkspace?.id, 'b');
});

test('created and deleted notifications ask for the folders to be resolved again', () => {
  const { store } = storeWith('a');
  assert.equal(store.applyChange({ kind: 'created', id: 'b', workspace: workspace({ id: 'b' }) }), true);
  assert.ok(store.get('b'));
  assert.equal(store.applyChange({ kind: 'deleted', id: 'b' }), true);
  assert.equal(store.get('b'), undefined);
});

test('an update that keeps the root does not, one that moves it does', () => {
  const { store } = storeWith('a');
  assert.equal(store.applyChange({ kind: 'updated', id: 'a', workspace: workspace({ id: 'a', name: 'Renamed' }) }), false);
  assert.equal(store.get('a')?.name, 'Renamed');
  assert.equal(store.applyChange({ kind: 'updated', id: 'a', workspace: workspace({ id: 'a', rootPath: '/moved' }) }), true);
});

test('switched makes the workspace active; deleting the active one clears it', () => {
  const { store, changes } = storeWith('a', 'b');
  const before = changes();
  store.applyChange({ kind: 'switched', id: 'b', workspace: workspace({ id: 'b' }) });
  assert.equal(store.activeId, 'b');
  assert.ok(changes() > before);
  store.applyChange({ kind: 'switched', id: 'a', workspace: null });
  assert.equal(store.activeId, 'a');
  store.setFolderMappings([{ folder: '/projects/a', workspaceId: 'a' }]);
  store.applyChange({ kind: 'deleted', id: 'a' });
  assert.equal(store.activeId, undefined);
  assert.deepEqual(store.unmappedFolders(), ['/projects/a']);
});

test('folder mappings answer open, unmapped and first-folder questions', () => {
  const { store } = storeWith('a', 'b');
  store.setFolderMappings([
    { folder: '/projects/b', workspaceId: 'b' },
    { folder: '/x', workspaceId: undefined },
  ]);
  assert.deepEqual([...store.openIds()], ['b']);
  assert.deepEqual(store.unmappedFolders(), ['/x']);
  assert.equal(store.anyFolderMapped(), true);
  assert.equal(store.firstFolderWorkspace()?.id, 'b');
});

test('clear forgets the daemon state when the connection is lost', () => {
  const { store } = storeWith('a');
  store.setActive(workspace({ id: 'a' }));
  store.clear();
  assert.equal(store.isLoaded, false);
  assert.equal(store.activeId, undefined);
  assert.deepEqual(store.all(), []);
});

test('a suspension and a resume arrive as updates: the store takes the hibernation and drops it, without resolving folders again', () => {
  const { store, changes } = storeWith('a');
  const before = changes();
  assert.equal(store.applyChange({ kind: 'updated', id: 'a', workspace: workspace({ id: 'a', hibernation: hibernation({ by: 'orchflow-cli' }) }) }), false);
  assert.equal(store.get('a')?.hibernation?.by, 'orchflow-cli');
  assert.equal(store.applyChange({ kind: 'updated', id: 'a', workspace: workspace({ id: 'a' }) }), false);
  assert.equal(store.get('a')?.hibernation, null);
  assert.equal(changes(), before + 2);
});
