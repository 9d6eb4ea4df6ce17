import assert from 'node:assert/strict';
import { test } from 'node:test';
import { purposePicks, terminalNode, terminalPicks, terminalsGroupNode, terminalsSummary } from '../src/terminals/presentation';
import { terminal, workspace } from './fixtures';

const shop = workspace({ id: 'shop-api', name: 'Shop API', rootPath: '/projects/shop', namespace: 'shop' });

test('the Terminals row counts the terminals and carries the workspace context', () => {
  const terminals = [terminal({ id: 'a' }), terminal({ id: 'b', status: 'exited', exitCode: 0 }), terminal({ id: 'c' })];
  const node = terminalsGroupNode(shop, terminals);
  assert.equal(node.label, 'Terminals (3)');
  assert.equal(node.description, '2 running · 1 ended · shop');
  assert.equal(node.contextValue, 'orchflow.terminals');
  assert.equal(node.hasChildren, true);
  assert.match(node.tooltip, /Root: `\/projects\/shop`/);
  assert.match(node.tooltip, /Namespace: `shop` · 3 terminals/);
});

test('an empty Terminals row says so and is tagged empty', () => {
  const node = terminalsGroupNode(shop, []);
  assert.equal(node.label, 'Terminals (0)');
  assert.equal(node.description, 'none');
  assert.equal(node.contextValue, 'orchflow.terminals empty');
  assert.equal(node.hasChildren, false);
  assert.equal(terminalsSummary([]), 'none');
});

test('a terminal row: name, status and agent, purpose icon, error colour on a failed exit', () => {
  const running = terminalNode(terminal({ name: 'API server', purpose: 'agent', agentId: 'dev' }), 'Shop API');
  assert.equal(running.label, 'API server');
  assert.equal(running.description, 'running · agent: dev');
  assert.deepEqual(running.icon, { id: 'hubot' });
  assert.equal(running.contextValue, 'orchflow.terminal running');
  assert.match(running.tooltip, /\*\*Shop API › API server\*\* — running/);

  const failed = terminalNode(terminal({ purpose: 'test', status: 'exited', exitCode: 1 }), 'Shop API');
  assert.equal(failed.description, 'exited 1');
  assert.deepEqual(failed.icon, { id: 'beaker', color: 'errorForeground' });
  assert.equal(failed.contextValue, 'orchflow.terminal ended');

  const ok = terminalNode(terminal({ purpose: 'build', status: 'exited', exitCode: 0 }), 'Shop API');
  assert.deepEqual(ok.icon, { id: 'tools', color: 'disabledForeground' });
});

test('terminal picks put the active workspace first, then by workspace name', () => {
  const names: Record<string, string> = { a: 'Alpha', s: 'Shop API' };
  const picks = terminalPicks(
    [terminal({ id: '1', workspaceId: 'a' }), terminal({ id: '2', workspaceId: 's', purpose: 'test', name: 'tests' })],
    (id) => names[id] ?? id,
    's',
  );
  assert.deepEqual(
    picks.map((p) => [p.id, p.label, p.description]),
    [
      ['2', '$(beaker) tests', 'Shop API · running'],
      ['1', '$(terminal) shell 1', 'Alpha · running'],
    ],
  );
});

test('the purpose pick offers every purpose, shell first', () => {
  assert.deepEqual(
    purposePicks().map((p) => p.purpose),
    ['shell', 'build', 'test', 'repl', 'agent'],
  );
  assert.equal(purposePicks()[0].label, '$(terminal) Shell');
});
