import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, ReconnectBackoff } from '../src/client/backoff';

test('delays start at 250 ms, double, and stop at 5 s', () => {
  const b = new Backoff();
  const delays = Array.from({ length: 8 }, () => b.next());
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(b.attempts, 8);
});

test('reset starts again from the initial delay', () => {
  const b = new Backoff();
  b.next();
  b.next();
  b.next();
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), ReconnectBackoff.initialDelayMs);
});

test('a custom policy is honoured', () => {
  const b = new Backoff({ initialDelayMs: 10, factor: 3, maxDelayMs: 100 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [10, 30, 90, 100]);
});
