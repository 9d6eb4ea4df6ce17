// The keyed store the four stores share: items by id, one change per change, a list that replaces everything after
// a (re)connection, and a clear that forgets it when the connection is lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedStore } from '../src/common/keyedStore';

interface Item {
  readonly id: string;
  readonly n: number;
}

/** A store of items ordered by `n`, that also remembers a note beside them (as the agent store keeps figures). */
class NotedStore extends KeyedStore<Item> {
  note: string | undefined;

  constructor() {
    super((i) => i.id, (a, b) => a.n - b.n);
  }

  load(items: Item[], note: string): void {
    this.note = note;
    this.replaceAll(items);
  }

  protected override forgetOthers(): void {
    this.note = undefined;
  }
}

function recording(store: KeyedStore<Item>): (string | undefined)[] {
  const fired: (string | undefined)[] = [];
  store.onDidChange((id) => fired.push(id));
  return fired;
}

test('a list replaces every item and loads the store, with one change for all', () => {
  const store = new NotedStore();
  const fired = recording(store);
  assert.equal(store.isLoaded, false);
  store.upsert({ id: 'old', n: 0 });
  store.load([{ id: 'b', n: 2 }, { id: 'a', n: 1 }], 'first');
  assert.equal(store.isLoaded, true);
  assert.deepEqual(store.all().map((i) => i.id), ['a', 'b'], 'in the store\'s order; the item the list does not have is gone');
  assert.equal(store.has('old'), false);
  assert.deepEqual(fired, ['old', undefined]);
});

test('one item changes with its id; removing an unknown one changes nothing', () => {
  const store = new NotedStore();
  store.load([{ id: 'a', n: 1 }], 'x');
  const fired = recording(store);
  store.upsert({ id: 'a', n: 5 });
  store.upsert({ id: 'c', n: 3 });
  assert.equal(store.get('a')?.n, 5);
  assert.deepEqual(store.all().map((i) => i.id), ['c', 'a']);
  assert.equal(store.remove('c'), true);
  assert.equal(store.remove('c'), false);
  assert.deepEqual(fired, ['a', 'c', 'c']);
});

test('clear forgets the items and what the subclass keeps beside them; a store that knows nothing stays quiet', () => {
  const store = new NotedStore();
  const fired = recording(store);
  store.clear();
  assert.deepEqual(fired, [], 'nothing to forget');
  store.load([{ id: 'a', n: 1 }], 'kept');
  store.clear();
  assert.equal(store.isLoaded, false);
  assert.deepEqual(store.all(), []);
  assert.equal(store.note, undefined);
  assert.deepEqual(fired, [undefined, undefined]);
});

test('without an order, all() keeps the order items came in', () => {
  const store = new KeyedStore<Item>((i) => i.id);
  store.upsert({ id: 'z', n: 0 });
  store.upsert({ id: 'a', n: 0 });
  assert.deepEqual(store.all().map((i) => i.id), ['z', 'a']);
});
