import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AckBatcher, FlowControl, OutputSequencer } from '../src/terminals/flow';

test('the flow control numbers are VS Code\'s', () => {
  assert.equal(FlowControl.HighWatermarkChars, 100_000);
  assert.equal(FlowControl.LowWatermarkChars, 5_000);
});

test('a sequencer without a start takes the first chunk whole, then continues from its end', () => {
  const s = new OutputSequencer();
  assert.equal(s.position, undefined);
  assert.deepEqual(s.accept(10, 'scrollback'), { text: 'scrollback', gap: 0 });
  assert.deepEqual(s.accept(13, 'abc'), { text: 'abc', gap: 0 });
  assert.equal(s.position, 13);
});

test('output already written is dropped, a partial overlap is cut', () => {
  const s = new OutputSequencer(10);
  assert.deepEqual(s.accept(8, 'xy'), { text: '', gap: 0 }, 'before the position');
  assert.deepEqual(s.accept(10, 'xyz'), { text: '', gap: 0 }, 'ending at the position');
  assert.deepEqual(s.accept(14, 'abcdef'), { text: 'cdef', gap: 0 }, 'covers (8, 14], of which (10, 14] is new');
  assert.equal(s.position, 14);
});

test('a hole before a chunk is reported, and the chunk written anyway', () => {
  const s = new OutputSequencer(0);
  assert.deepEqual(s.accept(10, 'abc'), { text: 'abc', gap: 7 });
});

test('a sequencer started at 0 (create with attach) takes output from the first byte', () => {
  const s = new OutputSequencer(0);
  assert.deepEqual(s.accept(2, '$ '), { text: '$ ', gap: 0 });
});

test('scrollback then the live output that overlapped it: each character once', () => {
  // The attach answered with the scrollback up to 20; notifications for (15, 18] and (18, 25] were on their way.
  const s = new OutputSequencer();
  const written = [s.accept(20, 'a'.repeat(20)).text, s.accept(18, 'bbb').text, s.accept(25, '1234567').text].join('');
  assert.equal(written, 'a'.repeat(20) + '34567');
});

test('acks are batched: one whenever 5,000 characters were written since the last', () => {
  const a = new AckBatcher(1_000);
  assert.equal(a.written(1_000 + 4_999), undefined);
  assert.equal(a.written(1_000 + 5_000), 6_000);
  assert.equal(a.lastAcked, 6_000);
  assert.equal(a.written(6_001), undefined);
  assert.equal(a.written(20_000), 20_000, 'a big chunk is acknowledged at once');
});

test('a reset counts from a new attach position', () => {
  const a = new AckBatcher(0, 10);
  assert.equal(a.written(9), undefined);
  a.reset(100);
  assert.equal(a.written(105), undefined);
  assert.equal(a.written(110), 110);
});
