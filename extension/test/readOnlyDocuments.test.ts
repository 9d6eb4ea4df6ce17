// The read-only document provider the agent logs, memory entries and audit logs share: what a URI of its scheme
// shows, what a failed read shows instead, and which open documents a change reads again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadOnlyDocumentProvider, type DocumentSource, type DocumentUri } from '../src/common/readOnlyDocuments';
import { ResponseError } from 'vscode-jsonrpc/node';
import { ErrorCodes, type ErrorData } from '../src/protocol/generated';

function uri(scheme: string, path: string, query = ''): DocumentUri {
  return { scheme, path, query, toString: () => `${scheme}:${path}${query ? `?${query}` : ''}` };
}

/** Documents `notes:/<id>.txt`, read from a table; an id missing from it fails as the daemon would. */
function provider(open: DocumentUri[] = []): { docs: ReadOnlyDocumentProvider<string, DocumentUri>; reads: string[] } {
  const table = new Map([
    ['a', 'text of a\n'],
    ['b', 'text of b\n'],
  ]);
  const reads: string[] = [];
  const source: DocumentSource<string, DocumentUri> = {
    what: 'note',
    keyOf: (u) => /^\/(.+)\.txt$/.exec(u.path)?.[1],
    read: (id) => {
      reads.push(id);
      const text = table.get(id);
      return text === undefined ? Promise.reject(new ResponseError<ErrorData>(ErrorCodes.NotFound, `Unknown note '${id}'.`, { kind: 'NotFound', hint: 'List the notes.' })) : Promise.resolve(text);
    },
    title: (id) => `The note ${id}`,
  };
  return { docs: new ReadOnlyDocumentProvider('notes', source, () => open), reads };
}

test('a document shows what its source reads for its key', async () => {
  const { docs, reads } = provider();
  assert.equal(await docs.provideTextDocumentContent(uri('notes', '/a.txt')), 'text of a\n');
  assert.deepEqual(reads, ['a']);
});

test('a URI that names nothing says so, and a failed read says what and why instead of going blank', async () => {
  const { docs, reads } = provider();
  assert.equal(await docs.provideTextDocumentContent(uri('notes', '/elsewhere')), 'Not an Orchflow note: notes:/elsewhere\n');
  assert.deepEqual(reads, [], 'nothing is read for it');
  assert.equal(await docs.provideTextDocumentContent(uri('notes', '/gone.txt')), "The note gone cannot be read: Unknown note 'gone'. List the notes.\n");
});

test('a change reads again the open documents of its keys, and no other', () => {
  const open = [uri('notes', '/a.txt'), uri('notes', '/b.txt'), uri('file', '/a.txt'), uri('notes', '/not-a-note')];
  const { docs } = provider(open);
  const fired: string[] = [];
  docs.onDidChange((u) => fired.push(u.toString()));
  docs.refresh((id) => id === 'a');
  assert.deepEqual(fired, ['notes:/a.txt'], 'only the note whose key changed, not a file of the same path');
  docs.refresh(() => true);
  assert.deepEqual(fired, ['notes:/a.txt', 'notes:/a.txt', 'notes:/b.txt']);
  docs.reload(uri('notes', '/c.txt'));
  assert.deepEqual(fired.at(-1), 'notes:/c.txt', 'reload reads one document again, open or not');
});
