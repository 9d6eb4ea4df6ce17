// How workspace memory looks: the Memory row under each workspace (entries and the capacity used, as the daemon
// counted them), the entries in Browse Memory's quick pick (key, tags, age, who wrote them, a preview of the
// value), the read-only document of one entry, and the messages after an export or an import.
// Every figure is the daemon's; a segment it has not reported yet says so rather than showing a number.
// This module must not import 'vscode'.
import { TreeItemContext } from '../constants';
import { describeQuery, isEmptyQuery, type MemoryQuery } from './query';
import type { MemoryEntry, MemoryExportResult, MemoryImportResult, MemoryProvenance, MemoryStats, WorkspaceInfo } from '../protocol/generated';
import { formatTime } from '../agents/presentation';
import { codeSpan, escapeMarkdown, formatBytes, type IconView, type WorkspaceRow } from '../workspaces/presentation';

/** The "Memory" row under a workspace. */
export type MemoryNode = WorkspaceRow<'memory'>;

/** From this share of a capacity on, the row's icon warns. */
export const NearlyFullPercent = 90;

/** "10,000": counts as people read them, the same on every machine. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "1 entry", "42 entries", "10,000 entries". */
export function entriesText(n: number): string {
  return `${formatCount(n)} ${n === 1 ? 'entry' : 'entries'}`;
}

/**
 * A share of a capacity: "0%" only for nothing, "<1%" for something below one percent, "100%" only when full
 * (99.7% is "99%": a row must not say full while there is room).
 */
export function percentText(percent: number): string {
  if (!Number.isFinite(percent) || percent <= 0) {
    return '0%';
  }
  if (percent < 1) {
    return '<1%';
  }
  if (percent < 100) {
    return `${Math.min(99, Math.round(percent))}%`;
  }
  return `${Math.round(percent)}%`;
}

/** The share used of one capacity, in percent; 0 for a capacity of 0 (which the configs do not allow). */
function share(used: number, capacity: number): number {
  return capacity > 0 ? (used / capacity) * 100 : 0;
}

/** Which capacity is closer to full: the entries (memory.capacity_entries) or the bytes (models.memory_size). */
export function bindingCapacity(stats: Pick<MemoryStats, 'entries' | 'bytes' | 'capacityEntries' | 'capacityBytes'>): 'entries' | 'bytes' {
  return share(stats.entries, stats.capacityEntries) > share(stats.bytes, stats.capacityBytes) ? 'entries' : 'bytes';
}

/** "12% of 512 MiB" or "95% of 10,000 entries": the capacity closer to full, and how much of it is used. */
export function capacityText(stats: Pick<MemoryStats, 'entries' | 'bytes' | 'capacityEntries' | 'capacityBytes'>): string {
  return bindingCapacity(stats) === 'entries'
    ? `${percentText(share(stats.entries, stats.capacityEntries))} of ${entriesText(stats.capacityEntries)}`
    : `${percentText(share(stats.bytes, stats.capacityBytes))} of ${formatBytes(stats.capacityBytes)}`;
}

/** The larger share, in percent (the daemon's usedPercent, computed from the same figures). */
export function usedPercent(stats: Pick<MemoryStats, 'entries' | 'bytes' | 'capacityEntries' | 'capacityBytes'>): number {
  return Math.max(share(stats.entries, stats.capacityEntries), share(stats.bytes, stats.capacityBytes));
}

/** "42 entries · 12% of 512 MiB · in memory only", "damaged · not served", or "not read yet". */
export function memoryDescription(stats: MemoryStats | undefined): string {
  if (!stats) {
    return 'not read yet';
  }
  if (stats.state === 'damaged') {
    return 'damaged · not served';
  }
  const parts =
    stats.entries === 0
      ? ['no entries', `up to ${entriesText(stats.capacityEntries)}, ${formatBytes(stats.capacityBytes)}`]
      : [entriesText(stats.entries), capacityText(stats)];
  if (usedPercent(stats) >= 100) {
    parts.push(stats.whenFull === 'refuse' ? 'full, refuses new entries' : 'full, evicts the least recently used');
  }
  if (stats.persistence === 'memory') {
    parts.push('in memory only');
  }
  return parts.join(' · ');
}

export function memoryIcon(stats: MemoryStats | undefined): IconView {
  if (stats?.state === 'damaged') {
    return { id: 'warning', color: 'list.warningForeground' };
  }
  if (stats && usedPercent(stats) >= NearlyFullPercent) {
    return { id: 'database', color: 'list.warningForeground' };
  }
  return { id: 'database' };
}

/** "7d", "12h", "30m", "45s": a time to live in its largest whole unit, as the configs write it. */
export function formatTtl(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size && seconds % size === 0) {
      return `${seconds / size}${unit}`;
    }
  }
  return `${seconds}s`;
}

/**
 * A server's message as Markdown: the text escaped, and what it quotes between backticks (commands, paths) shown
 * as code, which is how the daemon writes its hints.
 */
export function messageMarkdown(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) => (part.length > 2 && part.startsWith('`') && part.endsWith('`') ? codeSpan(part.slice(1, -1)) : escapeMarkdown(part)))
    .join('');
}

export function memoryTooltip(workspace: WorkspaceInfo, stats: MemoryStats | undefined): string {
  const title = `**${escapeMarkdown(workspace.name)} › Memory**`;
  if (!stats) {
    return `${title}\n\nThe daemon has not reported this workspace's memory yet.`;
  }
  if (stats.state === 'damaged') {
    return [
      `${title} — $(warning) damaged`,
      `The memory file cannot be read, so nothing is served from it: ${messageMarkdown(stats.problem ?? 'the daemon did not say why')}`,
      stats.hint ? messageMarkdown(stats.hint) : undefined,
      stats.file ? `File: ${codeSpan(stats.file)}` : undefined,
      '**Import Memory…** with *Replace* starts it again from a backup.',
    ]
      .filter((p): p is string => p !== undefined)
      .join('\n\n');
  }
  const whenFull =
    stats.whenFull === 'refuse'
      ? 'When full, new entries are refused (memory.when\\_full "refuse").'
      : 'When full, the least recently used entries make room (memory.when\\_full "evict\\_lru").';
  const persistence =
    stats.persistence === 'memory'
      ? 'Kept in memory only: lost when the daemon stops (memory.persistence "memory").'
      : `Kept on disk${stats.file ? ` in ${codeSpan(stats.file)}` : ''}${stats.fileBytes != null ? ` (${formatBytes(stats.fileBytes)})` : ''}; a write is acknowledged once it is there.`;
  const ttl =
    stats.defaultTtlSeconds != null
      ? `Entries expire after ${formatTtl(stats.defaultTtlSeconds)} unless given another time to live (memory.default\\_ttl).`
      : 'Entries do not expire unless given a time to live.';
  return [
    `${title} — ${escapeMarkdown(entriesText(stats.entries))}`,
    `${escapeMarkdown(formatCount(stats.entries))} of ${escapeMarkdown(entriesText(stats.capacityEntries))} (memory.capacity\\_entries) · ` +
      `${escapeMarkdown(formatBytes(stats.bytes))} of ${escapeMarkdown(formatBytes(stats.capacityBytes))} (models.memory\\_size): ${escapeMarkdown(percentText(usedPercent(stats)))} used`,
    whenFull,
    persistence,
    ttl,
    stats.evictions > 0 || stats.expirations > 0
      ? `Since the daemon started: ${stats.evictions} evicted, ${stats.expirations} expired.`
      : undefined,
    "**Browse Memory…** searches the entries. The workspace's agents reach them through Orchflow's MCP server; no other workspace's do.",
  ]
    .filter((p): p is string => p !== undefined)
    .join('\n\n');
}

/** The error for a damaged memory, as the daemon words it: what is wrong, then how to recover. */
export function damagedMessage(workspaceName: string, stats: Pick<MemoryStats, 'problem' | 'hint'>): string {
  const problem = (stats.problem ?? 'the daemon did not say why').trim().replace(/\.$/, '');
  return [`The memory of ${workspaceName} is damaged and is not served: ${problem}.`, stats.hint ?? '']
    .join(' ')
    .trim();
}

export function memoryContextValue(stats: MemoryStats | undefined): string {
  const tags: string[] = [TreeItemContext.Memory];
  if (stats?.state === 'damaged') {
    tags.push(TreeItemContext.TagDamaged);
  } else if (!stats || stats.entries === 0) {
    tags.push(TreeItemContext.TagEmpty);
  }
  return tags.join(' ');
}

export function memoryNode(workspace: WorkspaceInfo, stats: MemoryStats | undefined): MemoryNode {
  return {
    kind: 'memory',
    workspaceId: workspace.id,
    label: 'Memory',
    description: memoryDescription(stats),
    tooltip: memoryTooltip(workspace, stats),
    icon: memoryIcon(stats),
    contextValue: memoryContextValue(stats),
  };
}

// ---- Entries ----

const Minute = 60_000;
const Hour = 60 * Minute;
const Day = 24 * Hour;

/** "just now", "3 min ago", "2 h ago", "5 days ago", then the date: how long ago `iso` was, seen at `now`. */
export function ageText(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) {
    return iso;
  }
  const ms = now - at;
  if (ms < 45_000) {
    return 'just now'; // Also for a time slightly ahead of this machine's clock.
  }
  if (ms < Hour) {
    return `${Math.max(1, Math.round(ms / Minute))} min ago`;
  }
  if (ms < Day) {
    return `${Math.floor(ms / Hour)} h ago`;
  }
  if (ms < 30 * Day) {
    const days = Math.floor(ms / Day);
    return `${days} day${days === 1 ? '' : 's'} ago`;
  }
  return new Date(at).toISOString().slice(0, 10);
}

/** "in 3 min", "in 2 h", "in 5 days": how long until `iso`; "now" once it has passed. */
export function untilText(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) {
    return iso;
  }
  const ms = at - now;
  if (ms <= 0) {
    return 'now';
  }
  if (ms < Hour) {
    return `in ${Math.max(1, Math.ceil(ms / Minute))} min`;
  }
  if (ms < Day) {
    return `in ${Math.floor(ms / Hour)} h`;
  }
  const days = Math.floor(ms / Day);
  return `in ${days} day${days === 1 ? '' : 's'}`;
}

/** The program that wrote an entry, as people call it. */
function toolName(tool: string | null | undefined): string | undefined {
  switch (tool) {
    case undefined:
    case null:
    case '':
      return undefined;
    case 'orchflow-cli':
      return 'CLI';
    case 'vscode':
      return 'VS Code';
    default:
      return tool;
  }
}

/** "agent shop-a1 (claude-code)", "alice in terminal shop-t2 (CLI)", "alice (VS Code)": who wrote an entry last. */
export function writerText(p: MemoryProvenance): string {
  const tool = toolName(p.tool);
  const via = tool ? ` (${tool})` : '';
  switch (p.kind) {
    case 'agent':
      return `agent ${p.agentId ?? '(unknown)'}${via}`;
    case 'terminal':
      return `${p.user ?? 'a user'} in terminal ${p.terminalId ?? '(unknown)'}${via}`;
    case 'user':
      return `${p.user ?? 'a user'}${via}`;
  }
}

export function writerIcon(p: Pick<MemoryProvenance, 'kind'>): string {
  switch (p.kind) {
    case 'agent':
      return 'hubot';
    case 'terminal':
      return 'terminal';
    case 'user':
      return 'person';
  }
}

/** "written by agent shop-a1 (claude-code) at 2025-01-01 12:00:05 UTC". */
export function provenanceText(p: MemoryProvenance): string {
  return `written by ${writerText(p)} at ${formatTime(p.at)}`;
}

/** How long a value preview may be in a quick pick's detail line. */
export const PreviewChars = 120;

/** True for a value to show as JSON: a json entry, or a text one that is a JSON object or array. */
export function looksLikeJson(entry: Pick<MemoryEntry, 'kind' | 'value'>): boolean {
  if (entry.kind !== 'json' && !/^\s*[[{]/.test(entry.value)) {
    return false;
  }
  try {
    JSON.parse(entry.value);
    return true;
  } catch {
    return false;
  }
}

/** The value on one line, cut at `max` characters: JSON compacted, whitespace runs made one space. */
export function valuePreview(entry: Pick<MemoryEntry, 'kind' | 'value'>, max = PreviewChars): string {
  let text = entry.value;
  if (looksLikeJson(entry)) {
    text = JSON.stringify(JSON.parse(entry.value));
  }
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length === 0) {
    return '(empty)';
  }
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
}

/**
 * Quick pick labels, descriptions and details turn `$(name)` into an icon; text from an entry (which an agent may
 * have written) is shown as written instead. VS Code skips an icon whose `$(` has a backslash before it.
 */
export function escapeIcons(text: string): string {
  return text.replace(/\$\([a-z0-9-]+?(?:~[a-z0-9-]*?)?\)/gi, (icon) => `\\${icon}`);
}

export interface MemoryEntryPickView {
  readonly key: string;
  readonly label: string;
  readonly description: string;
  readonly detail: string;
}

/** One entry of Browse Memory: the key; its tags and age (and expiry); who wrote it, when, and its value. */
export function memoryEntryPick(entry: MemoryEntry, now: number): MemoryEntryPickView {
  const description = [
    entry.tags.length > 0 ? entry.tags.map((t) => `#${t}`).join(' ') : undefined,
    ageText(entry.updatedAt, now),
    entry.expiresAt ? `expires ${untilText(entry.expiresAt, now)}` : undefined,
  ].filter((p): p is string => p !== undefined);
  return {
    key: entry.key,
    label: escapeIcons(entry.key),
    description: escapeIcons(description.join(' · ')),
    detail: `$(${writerIcon(entry.provenance)}) ${escapeIcons(provenanceText(entry.provenance))} — ${escapeIcons(valuePreview(entry))}`,
  };
}

/** A row of Browse Memory's list: an entry, a problem with the query, a note when nothing matches, or "more". */
export type BrowseRowView =
  | { readonly kind: 'entry'; readonly entry: MemoryEntry; readonly view: MemoryEntryPickView }
  | { readonly kind: 'problem'; readonly label: string }
  | { readonly kind: 'none'; readonly label: string; readonly detail: string }
  | { readonly kind: 'more'; readonly label: string };

/** The rows for one search's result: the query's problems first, then the entries in key order, then "more". */
export function browseRows(query: MemoryQuery, entries: readonly MemoryEntry[], truncated: boolean, now: number): BrowseRowView[] {
  const rows: BrowseRowView[] = query.problems.map((p) => ({ kind: 'problem', label: `$(warning) ${escapeIcons(p)}` }));
  if (entries.length === 0) {
    rows.push(
      isEmptyQuery(query)
        ? {
            kind: 'none',
            label: '$(info) This memory holds no entries yet',
            detail: "The workspace's agents store entries through Orchflow's MCP server; people with `orchflow memory set` or Import Memory….",
          }
        : { kind: 'none', label: `$(search-stop) No entry matches: ${escapeIcons(describeQuery(query))}`, detail: 'Words search keys and values, prefix* keys, #tag tags.' },
    );
  }
  for (const entry of entries) {
    rows.push({ kind: 'entry', entry, view: memoryEntryPick(entry, now) });
  }
  if (truncated) {
    rows.push({ kind: 'more', label: `More entries match than the first ${formatCount(entries.length)}: type to narrow the search` });
  }
  return rows;
}

/** The text of an entry's read-only document: the value, JSON pretty-printed with two spaces. */
export function entryDocumentText(entry: Pick<MemoryEntry, 'kind' | 'value'>): string {
  return looksLikeJson(entry) ? `${JSON.stringify(JSON.parse(entry.value), null, 2)}\n` : entry.value;
}

/** The document's language: JSON for JSON values, plain text otherwise. */
export function entryLanguage(entry: Pick<MemoryEntry, 'kind' | 'value'>): 'json' | 'plaintext' {
  return looksLikeJson(entry) ? 'json' : 'plaintext';
}

/** The save dialog's file name: "shop-api-memory.jsonl" (workspace ids are slugs, safe in a file name). */
export function exportFileName(workspace: Pick<WorkspaceInfo, 'id'>): string {
  return `${workspace.id}-memory.jsonl`;
}

export function exportMessage(workspaceName: string, result: MemoryExportResult, file: string): string {
  return `Exported ${entriesText(result.entries)} of ${workspaceName}'s memory to ${file}.`;
}

/** What replacing a memory by an import does to what it holds now: said in the mode pick and the confirmation. */
export function replaceConsequence(entries: number, damaged: boolean): string {
  if (damaged) {
    return 'Its damaged file is moved aside to a .damaged-<time> file, which is kept; a new one starts with the entries of the file.';
  }
  if (entries === 0) {
    return 'It holds no entries now, so nothing is lost.';
  }
  return `Its ${entriesText(entries)} ${entries === 1 ? 'is' : 'are'} deleted; run Export Memory… first to keep a copy.`;
}

export function importMessage(workspaceName: string, result: MemoryImportResult, replace: boolean): string {
  const parts = [
    `Imported ${entriesText(result.imported)} into ${workspaceName}'s memory${replace ? ', replacing what it held' : ''}`,
    !replace && result.replaced > 0 ? `${formatCount(result.replaced)} replaced an entry with the same key` : undefined,
    result.skippedExpired > 0 ? `${formatCount(result.skippedExpired)} had expired and were skipped` : undefined,
    result.evicted.length > 0 ? `${entriesText(result.evicted.length)} evicted to make room (least recently used)` : undefined,
  ].filter((p): p is string => p !== undefined);
  const moved = result.movedAside ? ` The previous file was kept as ${result.movedAside}.` : '';
  return `${parts.join('; ')}.${moved}`;
}

// ---- An entry's document ----

/** What an entry's document URI carries: the workspace and the key, exactly. */
export interface EntryRef {
  readonly workspaceId: string;
  readonly key: string;
}

/**
 * The path of an entry's document, which its tab shows: `/<workspace>/<key>`, with the key's slashes shown as "∕"
 * so that the tab's title is the whole key. Keys are opaque, so the exact key travels in the query instead.
 */
export function entryDocumentPath(ref: EntryRef): string {
  return `/${ref.workspaceId}/${ref.key.replace(/\//g, '\u2215')}`;
}

export function entryDocumentQuery(ref: EntryRef): string {
  return new URLSearchParams({ workspace: ref.workspaceId, key: ref.key }).toString();
}

/** The entry a document's query names, or undefined for a query this extension did not write. */
export function parseEntryDocumentQuery(query: string): EntryRef | undefined {
  const params = new URLSearchParams(query);
  const workspaceId = params.get('workspace');
  const key = params.get('key');
  return workspaceId && key ? { workspaceId, key } : undefined;
}
