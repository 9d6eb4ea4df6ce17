// How memory looks: the Memory row (entries and the capacity closer to full), ages, who wrote an entry, the
// entry rows of Browse Memory, an entry's document, and the messages of export and import.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TreeItemContext } from '../src/constants';
import {
  ageText,
  bindingCapacity,
  browseRows,
  capacityText,
  damagedMessage,
  entryDocumentPath,
  entryDocumentQuery,
  entryDocumentText,
  entryLanguage,
  escapeIcons,
  exportFileName,
  formatTtl,
  importMessage,
  memoryContextValue,
  memoryDescription,
  memoryEntryPick,
  memoryIcon,
  memoryNode,
  memoryTooltip,
  messageMarkdown,
  parseEntryDocumentQuery,
  percentText,
  replaceConsequence,
  provenanceText,
  untilText,
  valuePreview,
  writerText,
} from '../src/memory/presentation';
import { parseMemoryQuery } from '../src/memory/query';
import { memoryEntry, memoryStats, provenance, workspace } from './fixtures';

const MiB = 1024 * 1024;
const NOW = Date.parse('2025-01-01T12:00:00Z');

test('percentages: 0% only for nothing, <1% for a little, 100% only when full', () => {
  const table: [number, string][] = [
    [0, '0%'],
    [0.0001, '<1%'],
    [0.99, '<1%'],
    [1, '1%'],
    [12.4, '12%'],
    [12.5, '13%'],
    [99.7, '99%'],
    [100, '100%'],
    [Number.NaN, '0%'],
  ];
  for (const [value, text] of table) {
    assert.equal(percentText(value), text, String(value));
  }
});

test('the capacity shown is the one closer to full', () => {
  // 2 small entries of 10,000: the entries are the closer capacity.
  assert.equal(bindingCapacity({ entries: 2, bytes: 80, capacityEntries: 10_000, capacityBytes: 512 * MiB }), 'entries');
  assert.equal(capacityText({ entries: 2, bytes: 80, capacityEntries: 10_000, capacityBytes: 512 * MiB }), '<1% of 10,000 entries');
  // 42 large entries filling 12% of the bytes.
  const big = { entries: 42, bytes: Math.round(0.12 * 512 * MiB), capacityEntries: 10_000, capacityBytes: 512 * MiB };
  assert.equal(bindingCapacity(big), 'bytes');
  assert.equal(capacityText(big), '12% of 512 MiB');
  assert.equal(capacityText({ entries: 9_500, bytes: 1, capacityEntries: 10_000, capacityBytes: 512 * MiB }), '95% of 10,000 entries');
});

test('the Memory row\'s description', () => {
  const table: [Parameters<typeof memoryStats>[0] | undefined, string][] = [
    [undefined, 'not read yet'],
    [{ entries: 0 }, 'no entries · up to 10,000 entries, 512 MiB'],
    [{ entries: 1, bytes: 40 }, '1 entry · <1% of 10,000 entries'],
    [{ entries: 2, bytes: 80 }, '2 entries · <1% of 10,000 entries'],
    [{ entries: 42, bytes: Math.round(0.12 * 512 * MiB) }, '42 entries · 12% of 512 MiB'],
    [{ entries: 42, bytes: 4200, persistence: 'memory' }, '42 entries · <1% of 10,000 entries · in memory only'],
    [{ entries: 50, bytes: 500, capacityEntries: 50, whenFull: 'refuse' }, '50 entries · 100% of 50 entries · full, refuses new entries'],
    [{ entries: 50, bytes: 500, capacityEntries: 50 }, '50 entries · 100% of 50 entries · full, evicts the least recently used'],
    [{ state: 'damaged', problem: 'bad page', hint: 'import' }, 'damaged · not served'],
  ];
  for (const [o, text] of table) {
    assert.equal(memoryDescription(o ? memoryStats(o) : undefined), text, JSON.stringify(o));
  }
});

test('the icon warns when damaged or nearly full', () => {
  assert.deepEqual(memoryIcon(undefined), { id: 'database' });
  assert.deepEqual(memoryIcon(memoryStats({ entries: 10 })), { id: 'database' });
  assert.deepEqual(memoryIcon(memoryStats({ entries: 9_000 })), { id: 'database', color: 'list.warningForeground' });
  assert.deepEqual(memoryIcon(memoryStats({ state: 'damaged' })), { id: 'warning', color: 'list.warningForeground' });
});

test('the row\'s tags for its menus', () => {
  assert.equal(memoryContextValue(memoryStats({ entries: 3 })), TreeItemContext.Memory);
  assert.equal(memoryContextValue(memoryStats({ entries: 0 })), `${TreeItemContext.Memory} empty`);
  assert.equal(memoryContextValue(undefined), `${TreeItemContext.Memory} empty`);
  assert.equal(memoryContextValue(memoryStats({ state: 'damaged' })), `${TreeItemContext.Memory} damaged`);
  const node = memoryNode(workspace({ id: 'shop-api', name: 'Shop API' }), memoryStats({ entries: 2, bytes: 80 }));
  assert.deepEqual([node.kind, node.workspaceId, node.label, node.description], ['memory', 'shop-api', 'Memory', '2 entries · <1% of 10,000 entries']);
});

test('the tooltip says what the figures are measured against, and a damaged one says how to recover', () => {
  const ws = workspace({ name: 'Shop API' });
  const ok = memoryTooltip(ws, memoryStats({ entries: 42, bytes: 2 * MiB, defaultTtlSeconds: 7 * 86_400, fileBytes: 3 * MiB, evictions: 3, expirations: 1 }));
  assert.match(ok, /42 of 10,000 entries \(memory\.capacity\\_entries\)/);
  assert.match(ok, /2 MiB of 512 MiB \(models\.memory\\_size\): \\<1% used/);
  assert.match(ok, /Entries expire after 7d/);
  assert.match(ok, /Since the daemon started: 3 evicted, 1 expired\./);
  assert.match(ok, /\(3 MiB\)/);
  assert.match(memoryTooltip(ws, memoryStats({ persistence: 'memory' })), /Kept in memory only: lost when the daemon stops/);
  assert.match(memoryTooltip(ws, memoryStats({ whenFull: 'refuse' })), /new entries are refused/);

  const damaged = memoryTooltip(
    ws,
    memoryStats({ state: 'damaged', problem: 'Invalid page 3', hint: 'Run `orchflow memory import --workspace shop-api --replace BACKUP.jsonl`.' }),
  );
  assert.match(damaged, /\$\(warning\) damaged/);
  assert.match(damaged, /Invalid page 3/);
  assert.ok(damaged.includes('`orchflow memory import --workspace shop-api --replace BACKUP.jsonl`'), damaged);
  assert.match(memoryTooltip(ws, undefined), /has not reported/);
});

test('a server message keeps its quoted commands as code and escapes the rest', () => {
  assert.equal(messageMarkdown('Run `a --b` now.'), 'Run `a --b` now\\.');
  assert.equal(messageMarkdown('a*b'), 'a\\*b');
  assert.equal(messageMarkdown('an unmatched ` stays'), 'an unmatched \\` stays');
});

test('the damaged message names the problem once and adds the hint', () => {
  assert.equal(
    damagedMessage('Shop API', { problem: 'Invalid page 3.', hint: 'Import a backup.' }),
    'The memory of Shop API is damaged and is not served: Invalid page 3. Import a backup.',
  );
  assert.equal(damagedMessage('Shop API', { problem: null, hint: null }), 'The memory of Shop API is damaged and is not served: the daemon did not say why.');
});

test('ages and times to come', () => {
  const ago = (ms: number): string => ageText(new Date(NOW - ms).toISOString(), NOW);
  assert.equal(ago(0), 'just now');
  assert.equal(ago(-5_000), 'just now', 'a clock slightly ahead');
  assert.equal(ago(50_000), '1 min ago');
  assert.equal(ago(3 * 60_000), '3 min ago');
  assert.equal(ago(2 * 3_600_000 + 60_000), '2 h ago');
  assert.equal(ago(86_400_000), '1 day ago');
  assert.equal(ago(5 * 86_400_000), '5 days ago');
  assert.equal(ago(40 * 86_400_000), '2024-11-22');
  assert.equal(ageText('not a time', NOW), 'not a time');
  const until = (ms: number): string => untilText(new Date(NOW + ms).toISOString(), NOW);
  assert.equal(until(-1), 'now');
  assert.equal(until(30_000), 'in 1 min');
  assert.equal(until(3 * 3_600_000), 'in 3 h');
  assert.equal(until(7 * 86_400_000), 'in 7 days');
  assert.equal(formatTtl(7 * 86_400), '7d');
  assert.equal(formatTtl(36 * 3_600), '36h');
  assert.equal(formatTtl(90), '90s');
});

test('who wrote an entry', () => {
  assert.equal(writerText(provenance({ kind: 'agent', agentId: 'shop-a1', tool: 'claude-code', user: null })), 'agent shop-a1 (claude-code)');
  assert.equal(writerText(provenance({ kind: 'terminal', terminalId: 'shop-t2', user: 'alice' })), 'alice in terminal shop-t2 (CLI)');
  assert.equal(writerText(provenance({ kind: 'user', user: 'alice', tool: 'vscode' })), 'alice (VS Code)');
  assert.equal(writerText(provenance({ kind: 'user', user: null, tool: null })), 'a user');
  assert.equal(provenanceText(provenance({ kind: 'user', at: '2025-01-01T11:57:00Z' })), 'written by alice (CLI) at 2025-01-01 11:57:00 UTC');
});

test('value previews: one line, JSON compacted, long values cut', () => {
  assert.equal(valuePreview({ kind: 'text', value: 'line one\n  line two' }), 'line one line two');
  assert.equal(valuePreview({ kind: 'json', value: '{\n  "rps": 50\n}' }), '{"rps":50}');
  assert.equal(valuePreview({ kind: 'text', value: '{"looks": "like json"}' }), '{"looks":"like json"}');
  assert.equal(valuePreview({ kind: 'text', value: '{not json' }), '{not json');
  assert.equal(valuePreview({ kind: 'text', value: '   ' }), '(empty)');
  const long = valuePreview({ kind: 'text', value: 'x'.repeat(500) }, 20);
  assert.equal(long.length, 20);
  assert.ok(long.endsWith('…'));
});

test('an entry in Browse Memory: key; tags, age and expiry; who wrote it and its value', () => {
  const pick = memoryEntryPick(
    memoryEntry({
      key: 'decisions/db',
      tags: ['decision', 'db'],
      updatedAt: '2025-01-01T11:57:00Z',
      expiresAt: '2025-01-08T12:00:00Z',
      provenance: provenance({ kind: 'agent', agentId: 'shop-a1', tool: 'claude-code', user: null, at: '2025-01-01T11:57:00Z' }),
    }),
    NOW,
  );
  assert.equal(pick.key, 'decisions/db');
  assert.equal(pick.label, 'decisions/db');
  assert.equal(pick.description, '#decision #db · 3 min ago · expires in 7 days');
  assert.equal(pick.detail, '$(hubot) written by agent shop-a1 (claude-code) at 2025-01-01 11:57:00 UTC — Postgres 16, one schema per tenant');
  assert.equal(memoryEntryPick(memoryEntry({ updatedAt: '2025-01-01T10:00:00Z' }), NOW).description, '2 h ago');
});

test('text an agent wrote never turns into icons', () => {
  assert.equal(escapeIcons('cost $( 5) and $(alert) and $(sync~spin) and \\$(x)'), 'cost $( 5) and \\$(alert) and \\$(sync~spin) and \\\\$(x)');
  const pick = memoryEntryPick(memoryEntry({ key: '$(warning) key', value: 'see $(bug)' }), NOW);
  assert.equal(pick.label, '\\$(warning) key');
  assert.ok(pick.detail.endsWith('see \\$(bug)'));
});

test('the rows of a search: problems, entries in order, "more", or why nothing shows', () => {
  const entries = [memoryEntry({ key: 'a' }), memoryEntry({ key: 'b' })];
  const rows = browseRows(parseMemoryQuery('a* b*'), entries, true, NOW);
  assert.deepEqual(rows.map((r) => r.kind), ['problem', 'entry', 'entry', 'more']);
  assert.match((rows[3] as { label: string }).label, /More entries match than the first 2/);
  const none = browseRows(parseMemoryQuery('#db'), [], false, NOW);
  assert.deepEqual(none.map((r) => r.kind), ['none']);
  assert.match((none[0] as { label: string }).label, /No entry matches: tagged #db/);
  const empty = browseRows(parseMemoryQuery(''), [], false, NOW);
  assert.match((empty[0] as { label: string }).label, /holds no entries yet/);
});

test('an entry\'s document: JSON pretty-printed, text as it is', () => {
  assert.equal(entryDocumentText({ kind: 'json', value: '{"rps":50,"burst":[1,2]}' }), '{\n  "rps": 50,\n  "burst": [\n    1,\n    2\n  ]\n}\n');
  assert.equal(entryLanguage({ kind: 'json', value: '{"rps":50}' }), 'json');
  assert.equal(entryDocumentText({ kind: 'text', value: 'plain\ntext' }), 'plain\ntext');
  assert.equal(entryLanguage({ kind: 'text', value: 'plain' }), 'plaintext');
  assert.equal(entryLanguage({ kind: 'text', value: '[1, 2]' }), 'json');
  assert.equal(entryLanguage({ kind: 'text', value: '42' }), 'plaintext', 'only objects and arrays of a text value count as JSON');
});

test('an entry\'s document URI carries the exact key; its path shows the whole key as the title', () => {
  const ref = { workspaceId: 'shop-api', key: 'decisions/db?#&=%' };
  assert.equal(entryDocumentPath(ref), '/shop-api/decisions\u2215db?#&=%');
  assert.deepEqual(parseEntryDocumentQuery(entryDocumentQuery(ref)), ref);
  assert.equal(parseEntryDocumentQuery('something=else'), undefined);
});

test('export and import messages', () => {
  assert.equal(exportFileName(workspace({ id: 'shop-api' })), 'shop-api-memory.jsonl');
  assert.equal(
    importMessage('Shop API', { imported: 3, replaced: 1, evicted: ['old'], skippedExpired: 2, movedAside: null }, false),
    "Imported 3 entries into Shop API's memory; 1 replaced an entry with the same key; 2 had expired and were skipped; 1 entry evicted to make room (least recently used).",
  );
  assert.equal(
    importMessage('Shop API', { imported: 1, replaced: 0, evicted: [], skippedExpired: 0, movedAside: '/d/shop-api.db.damaged-20250101' }, true),
    "Imported 1 entry into Shop API's memory, replacing what it held. The previous file was kept as /d/shop-api.db.damaged-20250101.",
  );
});

test('what replacing the memory by an import does, said in singular and plural', () => {
  assert.equal(replaceConsequence(1, false), 'Its 1 entry is deleted; run Export Memory… first to keep a copy.');
  assert.equal(replaceConsequence(42, false), 'Its 42 entries are deleted; run Export Memory… first to keep a copy.');
  assert.equal(replaceConsequence(0, false), 'It holds no entries now, so nothing is lost.');
  assert.match(replaceConsequence(42, true), /damaged file is moved aside to a \.damaged-<time> file, which is kept/);
});
