import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AttemptsBeforeUnavailable,
  connectionStatusView,
  initialConnectionState,
  transition,
  type ConnectionEvent,
  type ConnectionState,
  type ConnectionStateKind,
} from '../src/client/connectionState';
import type { InitializeResult } from '../src/protocol/generated';

const server: InitializeResult = {
  capabilities: { protocolVersion: '1.0', features: ['workspaces'] },
  serverInfo: { name: 'orchflow', version: '0.1.0' },
  daemon: { pid: 1, home: '/h', dataDirectory: '/h/data', configFile: '/h/orchflow.toml', logFile: '/h/log', startedAt: '2025-01-01T00:00:00Z' },
};

function run(events: ConnectionEvent[]): ConnectionState {
  return events.reduce(transition, initialConnectionState);
}

/** One row per scenario: the events from a fresh client, and the state kind they end in. */
function check(name: string, events: ConnectionEvent[], expected: ConnectionStateKind): void {
  test(`${name} ends ${expected}`, () => assert.equal(run(events).kind, expected));
}

const start: ConnectionEvent = { type: 'start' };
const connected: ConnectionEvent = { type: 'connected', server };
const failed: ConnectionEvent = { type: 'attemptFailed', error: 'ENOENT', delayMs: 250 };
const lost: ConnectionEvent = { type: 'lost', error: 'closed', delayMs: 250 };

check('a fresh client', [], 'disconnected');
check('start', [start], 'connecting');
check('start, connected', [start, connected], 'connected');
check('start, failed', [start, failed], 'reconnecting');
check('start, failed, retry, connected', [start, failed, { type: 'retry' }, connected], 'connected');
check('connected, lost', [start, connected, lost], 'reconnecting');
check('connected, lost, failed, connected', [start, connected, lost, failed, connected], 'connected');
check('stop while reconnecting', [start, failed, { type: 'stop' }], 'disconnected');
check('a late connected after stop', [start, { type: 'stop' }, connected], 'disconnected');
check('a late lost after stop', [start, connected, { type: 'stop' }, lost], 'disconnected');
check('lost while connecting is ignored', [start, lost], 'connecting');
check('start while connected is ignored', [start, connected, start], 'connected');

test('failed attempts are counted, and reset by a connection', () => {
  const s = run([start, failed, failed, failed]);
  assert.equal(s.kind, 'reconnecting');
  assert.equal(s.kind === 'reconnecting' && s.attempt, 3);
  const again = run([start, failed, failed, connected, lost, failed]);
  assert.equal(again.kind === 'reconnecting' && again.attempt, 1);
});

test('the status bar says connecting, then reconnecting, then unavailable', () => {
  assert.match(connectionStatusView(run([start])).text, /^\$\(sync~spin\) Orchflow: connecting/);
  const afterLoss = run([start, connected, lost]);
  assert.match(connectionStatusView(afterLoss).text, /reconnecting/);
  assert.equal(connectionStatusView(afterLoss).isError, false);
  const longOutage = run([start, connected, lost, ...Array.from({ length: AttemptsBeforeUnavailable }, () => failed)]);
  const view = connectionStatusView(longOutage);
  assert.equal(view.text, '$(error) Orchflow: backend unavailable — click for log');
  assert.equal(view.isError, true);
  assert.match(view.tooltip, /ENOENT/);
});

test('a first connection that fails is reported as unavailable at once', () => {
  const view = connectionStatusView(run([start, failed]));
  assert.equal(view.isError, true);
  assert.match(view.tooltip, /Retrying in 250 ms/);
});

test('a stop with a reason (protocol mismatch) shows the reason', () => {
  const view = connectionStatusView(run([start, { type: 'stop', reason: 'speaks protocol 2.0' }]));
  assert.equal(view.isError, true);
  assert.equal(view.tooltip, 'speaks protocol 2.0');
});

test('connected hands the status bar to the workspace view', () => {
  assert.equal(connectionStatusView(run([start, connected])).showsConnection, false);
});
