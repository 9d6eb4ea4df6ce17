// What Browse Memory's search box means: words, prefix*, #tag, and what it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeQuery, isEmptyQuery, parseMemoryQuery, type MemoryQuery } from '../src/memory/query';

function check(input: string, expected: Partial<MemoryQuery>): void {
  const q = parseMemoryQuery(input);
  assert.deepEqual(
    { text: q.text, prefix: q.prefix, tags: q.tags, problems: q.problems },
    { text: expected.text, prefix: expected.prefix, tags: expected.tags ?? [], problems: expected.problems ?? [] },
    JSON.stringify(input),
  );
}

test('words are one text, searched in keys and values', () => {
  check('', {});
  check('   ', {});
  check('postgres', { text: 'postgres' });
  check('  one   schema  ', { text: 'one schema' });
});

test('#tag filters by tag; every tag given must be on the entry', () => {
  check('#decision', { tags: ['decision'] });
  check('#decision #db postgres', { tags: ['decision', 'db'], text: 'postgres' });
  check('#db #db', { tags: ['db'] });
  check('#', { text: '#' });
  check('issue#12', { text: 'issue#12' });
});

test('prefix* searches keys starting with it', () => {
  check('decisions/*', { prefix: 'decisions/' });
  check('decisions/* #db pg 16', { prefix: 'decisions/', tags: ['db'], text: 'pg 16' });
  check('*', {});
  check('a* a*', { prefix: 'a' });
});

test('a backslash searches for what would be a tag or a prefix', () => {
  check('\\#1', { text: '#1' });
  check('a\\*', { text: 'a*' });
  check('\\b\\*', { text: 'b*' });
});

test('what cannot be searched is said, and the rest is still used', () => {
  check('a* b*', { prefix: 'a', problems: ['Only one key prefix is searched at a time: "a*" is used, "b*" is not.'] });
  check('#a,b x', { text: 'x', problems: ['"#a,b" is not a tag: tags are 1 to 64 characters without commas.'] });
  check(`#${'t'.repeat(65)}`, { problems: [`"#${'t'.repeat(65)}" is not a tag: tags are 1 to 64 characters without commas.`] });
  const many = Array.from({ length: 33 }, (_, i) => `#t${i}`).join(' ');
  const q = parseMemoryQuery(many);
  assert.equal(q.tags.length, 32);
  assert.deepEqual(q.problems, ['At most 32 tags are searched at once; "#t32" is not.']);
});

test('describing a query', () => {
  assert.equal(describeQuery(parseMemoryQuery('')), 'all entries');
  assert.equal(describeQuery(parseMemoryQuery('decisions/* #db pg')), 'keys starting with "decisions/", tagged #db, containing "pg"');
  assert.equal(isEmptyQuery(parseMemoryQuery(' * ')), true);
  assert.equal(isEmptyQuery(parseMemoryQuery('#x')), false);
});
