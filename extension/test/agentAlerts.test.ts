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

test('a new question while the agent still needs input is a new alert; the same one, or none recognised, is not', () => {
  const t = new AlertTracker();
  const since = '2025-01-01T00:00:05Z';
  const asks = (question: string | null) => ({ ...asking(since), question });
  assert.equal(t.observe(agent({ id: 'a', state: 'running' })), undefined);
  assert.equal(t.observe(asks('Is this a project you created or one you trust?')), 'needsInput');
  // Reported again with the same question (a redraw, a figure): nothing.
  assert.equal(t.observe({ ...asks('Is this a project you created or one you trust?'), lastLine: '❯ 2. Yes' }), undefined);
  // The screen is being redrawn and shows no recognised question for a moment: nothing new.
  assert.equal(t.observe(asks(null)), undefined);
  // A second dialog after the first was answered, without a report of it running in between: announced.
  assert.equal(t.observe(asks('Do you want to proceed?')), 'needsInput');
  assert.equal(t.observe(asks('Do you want to proceed?')), undefined);
  // The same question in a later wait (it ran, then asked again): announced.
  assert.equal(t.observe(agent({ id: 'a', state: 'running' })), undefined);
  assert.equal(t.observe({ ...asking('2025-01-01T00:02:00Z'), question: 'Do you want to proceed?' }), 'needsInput');
});

test('a wait first seen without a recognised question is announced once, and again when its question is recognised', () => {
  const t = new AlertTracker();
  const since = '2025-01-01T00:00:05Z';
  assert.equal(t.observe(asking(since)), 'needsInput');
  assert.equal(t.observe(asking(since)), undefined);
  assert.equal(t.observe({ ...asking(since), question: 'Do you want to proceed?' }), 'needsInput');
});

test('the question the list shows is not announced again; another one of the same wait is', () => {
  const t = new AlertTracker();
  const since = '2025-01-01T00:00:05Z';
  t.seed([{ ...asking(since), question: 'Is this a project you created or one you trust?' }]);
  assert.equal(t.observe({ ...asking(since), question: 'Is this a project you created or one you trust?' }), undefined);
  assert.equal(t.observe({ ...asking(since), question: null }), undefined);
  assert.equal(t.observe({ ...asking(since), question: 'Do you want to proceed?' }), 'needsInput');
});
