// What the extension knows about the daemon's terminals: the list after every (re)connection, kept current by
// orchflow/terminal/changed notifications (nothing polls). The tree and the commands read it.
// This module must not import 'vscode'.
import { KeyedStore } from '../common/keyedStore';
import type { TerminalChangedNotification, TerminalInfo } from '../protocol/generated';
import { compareTerminals } from './model';

/** Every terminal by id, oldest first. */
export class TerminalStore extends KeyedStore<TerminalInfo> {
  constructor() {
    super((t) => t.id, compareTerminals);
  }

  /** One workspace's terminals, oldest first. */
  forWorkspace(workspaceId: string): TerminalInfo[] {
    return this.all().filter((t) => t.workspaceId === workspaceId);
  }

  reset(terminals: readonly TerminalInfo[]): void {
    this.replaceAll(terminals);
  }

  /** Applies an `orchflow/terminal/changed` notification. */
  applyChange(change: TerminalChangedNotification): void {
    if (change.kind === 'removed') {
      this.remove(change.id);
    } else if (change.terminal) {
      this.upsert(change.terminal);
    }
  }
}
