import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  closeActionFrom,
  endedNotice,
  endedWithError,
  groupHeader,
  groupHeaderLine,
  noticeLine,
  Purposes,
  purposeView,
  statusText,
  terminalDescription,
  terminalsToReattach,
  terminalTitle,
} from '../src/terminals/model';
import { terminal } from './fixtures';

test('terminal names are "<workspace> › <terminal>"', () => {
  assert.equal(terminalTitle('Shop API', 'shell 1'), 'Shop API › shell 1');
});

test('each purpose has its codicon', () => {
  assert.deepEqual(
    Purposes.map((p) => [p, purposeView(p).icon]),
    [
      ['shell', 'terminal'],
      ['build', 'tools'],
      ['test', 'beaker'],
      ['repl', 'debug-console'],
      ['agent', 'hubot'],
    ],
  );
});

test('status texts', () => {
  assert.equal(statusText(terminal({ status: 'running' })), 'running');
  assert.equal(statusText(terminal({ status: 'exited', exitCode: 0 })), 'exited 0');
  assert.equal(statusText(terminal({ status: 'exited', exitCode: 2 })), 'exited 2');
  assert.equal(statusText(terminal({ status: 'exited', signal: 9 })), 'exited (signal 9)');
  assert.equal(statusText(terminal({ status: 'killed' })), 'killed');
  assert.equal(statusText(terminal({ status: 'lost' })), 'lost');
});

test('the description adds the agent when one drives the terminal', () => {
  assert.equal(terminalDescription(terminal({ agentId: 'qa-1' })), 'running · agent: qa-1');
  assert.equal(terminalDescription(terminal({ status: 'exited', exitCode: 1 })), 'exited 1');
});

test('an error is a non-zero exit, a signal, or a lost terminal', () => {
  assert.equal(endedWithError(terminal()), false);
  assert.equal(endedWithError(terminal({ status: 'exited', exitCode: 0 })), false);
  assert.equal(endedWithError(terminal({ status: 'exited', exitCode: 1 })), true);
  assert.equal(endedWithError(terminal({ status: 'exited', signal: 15 })), true);
  assert.equal(endedWithError(terminal({ status: 'killed' })), false);
  assert.equal(endedWithError(terminal({ status: 'lost' })), true);
});

test('the notice once the process is gone', () => {
  assert.equal(endedNotice(terminal()), undefined);
  assert.equal(endedNotice(terminal({ status: 'exited', exitCode: 3 })), 'process exited with code 3');
  assert.equal(endedNotice(terminal({ status: 'exited', signal: 9 })), 'process exited with signal 9');
  assert.equal(endedNotice(terminal({ status: 'killed' })), 'process killed');
  assert.match(endedNotice(terminal({ status: 'lost' })) ?? '', /daemon stopped/);
  assert.equal(noticeLine('process exited with code 3'), '\r\n\x1b[2m[process exited with code 3]\x1b[0m\r\n');
});

test('the group header carries the workspace context', () => {
  const ws = { name: 'Shop API', rootPath: '/p/shop', namespace: 'shop' };
  assert.equal(groupHeader(ws, 3), '── Shop API · /p/shop · namespace shop · 3 terminals ──');
  assert.equal(groupHeader(ws, 1), '── Shop API · /p/shop · namespace shop · 1 terminal ──');
  assert.equal(groupHeaderLine(ws, 1), `\x1b[2m${groupHeader(ws, 1)}\x1b[0m\r\n`);
});

test('after a reconnection: running terminals of open workspaces, not shown yet, oldest first', () => {
  const list = [
    terminal({ id: 'b', workspaceId: 'shop', createdAt: '2025-01-01T00:00:02Z' }),
    terminal({ id: 'a', workspaceId: 'shop', createdAt: '2025-01-01T00:00:01Z' }),
    terminal({ id: 'shown', workspaceId: 'shop' }),
    terminal({ id: 'ended', workspaceId: 'shop', status: 'exited', exitCode: 0 }),
    terminal({ id: 'lost', workspaceId: 'shop', status: 'lost' }),
    terminal({ id: 'other', workspaceId: 'cli' }),
  ];
  const again = terminalsToReattach(list, new Set(['shop']), new Set(['shown']));
  assert.deepEqual(
    again.map((t) => t.id),
    ['a', 'b'],
  );
  assert.deepEqual(terminalsToReattach(list, new Set(), new Set()), []);
});

test('the close action setting defaults to detach', () => {
  assert.equal(closeActionFrom('kill'), 'kill');
  assert.equal(closeActionFrom('detach'), 'detach');
  assert.equal(closeActionFrom(undefined), 'detach');
  assert.equal(closeActionFrom('something'), 'detach');
});
