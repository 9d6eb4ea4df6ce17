// What the extension knows about the daemon's terminals: the list after every (re)connection, kept current by
// orchflow/terminal/changed notifications (nothing polls). The tree and the commands read it.
// This module must not import 'vscode'.
import { Emitter, type Event } from 'vscode-jsonrpc/node';
import type { TerminalChangedNotification, TerminalInfo } from '../protocol/generated';
import { compareTerminals } from './model';

export class TerminalStore {
  private readonly terminals = new Map<string, TerminalInfo>();
  private loaded = false;
  private readonly changeEmitter = new Emitter<void>();

  /** Fires after any change. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  get isLoaded(): boolean {
    return this.loaded;
  }

  get(id: string): TerminalInfo | undefined {
    return this.terminals.get(id);
  }

  /** Every terminal, oldest first. */
  all(): TerminalInfo[] {
    return [...this.terminals.values()].sort(compareTerminals);
  }

  /** One workspace's terminals, oldest first. */
  forWorkspace(workspaceId: string): TerminalInfo[] {
    return this.all().filter((t) => t.workspaceId === workspaceId);
  }

  reset(terminals: readonly TerminalInfo[]): void {
    this.terminals.clear();
    for (const t of terminals) {
      this.terminals.set(t.id, t);
    }
    this.loaded = true;
    this.changeEmitter.fire();
  }

  /** Forgets everything when the connection is lost. */
  clear(): void {
    if (!this.loaded && this.terminals.size === 0) {
      return;
    }
    this.terminals.clear();
    this.loaded = false;
    this.changeEmitter.fire();
  }

  upsert(terminal: TerminalInfo): void {
    this.terminals.set(terminal.id, terminal);
    this.changeEmitter.fire();
  }

  remove(id: string): void {
    if (this.terminals.delete(id)) {
      this.changeEmitter.fire();
    }
  }

  /** Applies an `orchflow/terminal/changed` notification. */
  applyChange(change: TerminalChangedNotification): void {
    if (change.kind === 'removed') {
      this.remove(change.id);
    } else if (change.terminal) {
      this.upsert(change.terminal);
    }
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}
