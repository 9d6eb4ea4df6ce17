import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertTracker, notifies, notifySettingFrom } from '../src/agents/alerts';
import { agent } from './fixtures';

const asking = (since: string, runs = 1) => agent({ id: 'a', state: 'needsInput', needsInputSince: since, runs });

test('a transition into needs input, succeeded or failed is announced once', () => {
  const t = new AlertTracker();
  assert.equal(t.observe(agent({ id: 'a', state: 'starting' })), undefined);
  assert.equal(t.observe(agent({ id: 'a', state: 'running' })), undefined);
  assert.equal(t.observe(asking('2025-01-01T00:00:05Z')), 'needsInput');
  // The same question reported again (a new last line, a resource figure): nothing.
  assert.equal(t.observe({ ...asking('2025-01-01T00:00:05Z'), lastLine: 'Proceed? [y/n]' }), undefined);
  assert.equal(t.observe(agent({ id: 'a', state: 'running' })), undefined);
  // A second question of the same run began at another moment: announced.
  assert.equal(t.observe(asking('2025-01-01T00:01:00Z')), 'needsInput');
  assert.equal(t.observe(agent({ id: 'a', state: 'succeeded', exitCode: 0 })), 'succeeded');
  assert.equal(t.observe(agent({ id: 'a', state: 'succeeded', exitCode: 0 })), undefined);
});

test('a notification older than the list, arriving after it, is not announced again', () => {
  const t = new AlertTracker();
  t.seed([asking('2025-01-01T00:00:05Z')]);
  // Stale order: running (from before the question), then the question the list already showed.
  assert.equal(t.observe(agent({ id: 'a', state: 'running' })), undefined);
  assert.equal(t.observe(asking('2025-01-01T00:00:05Z')), undefined);
});

test('what the list shows is never announced; a restart makes each state new again', () => {
  const t = new AlertTracker();
  t.seed([agent({ id: 'a', state: 'failed', exitCode: 3 }), agent({ id: 'b', state: 'succeeded' })]);
  assert.equal(t.observe(agent({ id: 'a', state: 'failed', exitCode: 3 })), undefined);
  assert.equal(t.observe(agent({ id: 'a', state: 'failed', exitCode: 3, runs: 2 })), 'failed');
  assert.equal(t.observe(agent({ id: 'b', state: 'succeeded', runs: 2 })), 'succeeded');
});

test('forgetting a removed agent drops its keys', () => {
  const t = new AlertTracker();
  assert.equal(t.observe(agent({ id: 'a', state: 'failed' })), 'failed');
  t.forget('a');
  assert.equal(t.observe(agent({ id: 'a', state: 'failed' })), 'failed');
});

test('the notify setting', () => {
  const table: [unknown, string, boolean, boolean][] = [
    ['all', 'all', true, true],
    ['needsInput', 'needsInput', true, false],
    ['off', 'off', false, false],
    [undefined, 'all', true, true],
    ['bogus', 'all', true, true],
  ];
  for (const [value, setting, needsInput, failed] of table) {
    const s = notifySettingFrom(value);
    assert.equal(s, setting);
    assert.equal(notifies(s, 'needsInput'), needsInput, `${String(value)} needsInput`);
    assert.equal(notifies(s, 'failed'), failed, `${String(value)} failed`);
    assert.equal(notifies(s, 'succeeded'), failed, `${String(value)} succeeded`);
  }
});
