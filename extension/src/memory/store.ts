// What the extension knows about the workspaces' memory segments: the stats of every workspace after each
// (re)connection, kept current by orchflow/memory/changed (nothing polls). The tree's Memory rows read it.
// Cleared when the connection is lost.
//
// Notifications are the authority: the daemon sends one after every change (coalesced), each with the segment's
// stats as they are then. A response to a stats request (the list after connecting, or one workspace's after its
// config changed) may have been computed before a notification that arrives first, so a response never
// overwrites what a notification said after the request was sent.
// This module must not import 'vscode'.
import { Emitter, type Event } from 'vscode-jsonrpc/node';
import { KeyedStore } from '../common/keyedStore';
import type { MemoryChangedNotification, MemoryStats } from '../protocol/generated';

/** What a stats request remembers when it is sent, to tell which notifications are newer than its response. */
export type MemoryRequestMark = number;

/** Every known segment's stats by workspace id (the change event carries the workspace id, or undefined for all). */
export class MemoryStore extends KeyedStore<MemoryStats> {
  /** For each workspace, the sequence number of the last notification about it. */
  private readonly notified = new Map<string, number>();
  private sequence = 0;
  private readonly entriesEmitter = new Emitter<string>();

  /**
   * Fires for every notification about a workspace, with its id: its entries may have changed even when its stats
   * did not (a value replaced by one of the same size). Open entries and searches follow this one.
   */
  readonly onEntriesChanged: Event<string> = this.entriesEmitter.event;

  constructor() {
    super(
      (s) => s.workspaceId,
      (a, b) => (a.workspaceId < b.workspaceId ? -1 : a.workspaceId > b.workspaceId ? 1 : 0),
    );
  }

  /** Call before sending a stats request; pass the result to `reset` or `applyResponse` with its response. */
  mark(): MemoryRequestMark {
    return this.sequence;
  }

  /**
   * Replaces everything with a fresh `orchflow/memory/stats` of every workspace, except the workspaces that a
   * notification changed after `since` (theirs is newer than the list).
   */
  reset(segments: readonly MemoryStats[], since: MemoryRequestMark): void {
    const newer = this.all().filter((s) => this.isNewerThan(s.workspaceId, since));
    const newerIds = new Set(newer.map((s) => s.workspaceId));
    this.replaceAll([...segments.filter((s) => !newerIds.has(s.workspaceId)), ...newer]);
  }

  /** Records stats a request returned, for the workspaces no notification changed since `since`. */
  applyResponse(segments: readonly MemoryStats[], since: MemoryRequestMark): void {
    let changed = false;
    for (const s of segments) {
      if (!this.isNewerThan(s.workspaceId, since) && !sameStats(this.items.get(s.workspaceId), s)) {
        this.items.set(s.workspaceId, s);
        changed = true;
      }
    }
    if (changed) {
      this.changed(segments.length === 1 ? segments[0].workspaceId : undefined);
    }
  }

  /** Applies an `orchflow/memory/changed` notification (no stats: the workspace was deleted). */
  applyChange(change: MemoryChangedNotification): void {
    this.notified.set(change.workspaceId, ++this.sequence);
    const before = this.items.get(change.workspaceId);
    if (change.stats) {
      this.items.set(change.workspaceId, change.stats);
    } else {
      this.items.delete(change.workspaceId);
    }
    if (!sameStats(before, change.stats ?? undefined)) {
      this.changed(change.workspaceId);
    }
    this.entriesEmitter.fire(change.workspaceId);
  }

  /** The workspace is gone (orchflow/workspace/changed deleted). */
  forget(workspaceId: string): void {
    this.notified.set(workspaceId, ++this.sequence);
    this.remove(workspaceId);
    this.entriesEmitter.fire(workspaceId);
  }

  protected override forgetOthers(): void {
    this.notified.clear();
  }

  private isNewerThan(workspaceId: string, since: MemoryRequestMark): boolean {
    return (this.notified.get(workspaceId) ?? -1) > since;
  }

  override dispose(): void {
    super.dispose();
    this.entriesEmitter.dispose();
  }
}

function sameStats(a: MemoryStats | undefined, b: MemoryStats | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b));
}
