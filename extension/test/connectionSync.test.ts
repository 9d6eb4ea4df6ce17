// The one way the stores follow the connection: a read after every (re)connection, a forgetting after every loss,
// and generations that tell a late answer of an earlier read or connection from a current one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Emitter } from 'vscode-jsonrpc/node';
import type { ConnectionState } from '../src/client/connectionState';
import { ConnectionSync } from '../src/common/connectionSync';

function setup(connected: () => Promise<void> = () => Promise.resolve()) {
  const initialized = new Emitter<unknown>();
  const state = new Emitter<ConnectionState>();
  const log: string[] = [];
  const sync = new ConnectionSync(
    { onDidInitialize: initialized.event, onDidChangeState: state.event },
    {
      connected: () => {
        log.push('connected');
        return connected();
      },
      lost: () => log.push('lost'),
      failed: (error) => log.push(`failed: ${error instanceof Error ? error.message : String(error)}`),
      stateChanged: (s) => log.push(`state ${s.kind}`),
    },
  );
  return { initialized, state, log, sync };
}

test('each initialize reads again; each state but connected forgets, after the state is seen', () => {
  const { initialized, state, log } = setup();
  state.fire({ kind: 'connecting' });
  state.fire({ kind: 'connected', server: {} as never });
  initialized.fire({});
  assert.deepEqual(log, ['state connecting', 'lost', 'state connected', 'connected']);
});

test('a read that fails is reported, not left unhandled', async () => {
  const { initialized, log } = setup(() => Promise.reject(new Error('daemon gone')));
  initialized.fire({});
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ['connected', 'failed: daemon gone']);
});

test('a newer read, or a lost connection, makes an earlier generation stale', () => {
  const { state, sync } = setup();
  const first = sync.begin();
  assert.ok(sync.isCurrent(first));
  const added = sync.current;
  const second = sync.begin();
  assert.ok(!sync.isCurrent(first) && !sync.isCurrent(added) && sync.isCurrent(second));
  state.fire({ kind: 'reconnecting', attempt: 1, delayMs: 100, lastError: 'closed', wasConnected: true });
  assert.ok(!sync.isCurrent(second), 'an answer from before the loss is dropped');
});

test('after dispose nothing is followed', () => {
  const { initialized, state, log, sync } = setup();
  sync.dispose();
  initialized.fire({});
  state.fire({ kind: 'disconnected' });
  assert.deepEqual(log, []);
});
