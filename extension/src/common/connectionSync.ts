// The one way a part of the extension follows the connection to the daemon: after every (re)connection it reads
// what it shows again (nothing polls), and when the connection is lost it forgets what the daemon said (a restarted
// daemon may know other things). A generation number, moved by each full read and by each loss, tells a response
// of an earlier read or connection from a current one, so that a late answer never overwrites a newer state.
// This module must not import 'vscode'.
import type { Event } from 'vscode-jsonrpc/node';
import type { ConnectionState } from '../client/connectionState';

/** The part of OrchflowClient that tells about the connection. */
export interface ConnectionEvents {
  /** After each successful `initialize`: the first connection and every reconnection. */
  readonly onDidInitialize: Event<unknown>;
  readonly onDidChangeState: Event<ConnectionState>;
}

export interface ConnectionFollowing {
  /** Reads everything again after a (re)connection; nobody awaits it, so a failure goes to `failed`. */
  readonly connected: () => Promise<void>;
  /** The connection is not there (lost, or not made yet): forget what the daemon said. */
  readonly lost: () => void;
  /** Says that `connected` failed (a log line, maybe a message). */
  readonly failed: (error: unknown) => void;
  /** Sees every state first, connected or not. */
  readonly stateChanged?: (state: ConnectionState) => void;
}

export class ConnectionSync {
  private generation = 0;
  private readonly subscriptions: { dispose(): void }[];

  constructor(client: ConnectionEvents, following: ConnectionFollowing) {
    this.subscriptions = [
      client.onDidInitialize(() => {
        following.connected().catch(following.failed);
      }),
      client.onDidChangeState((state) => {
        following.stateChanged?.(state);
        if (state.kind !== 'connected') {
          this.generation++;
          following.lost();
        }
      }),
    ];
  }

  /** Starts a read that replaces everything: from now on, the answer of any earlier read or connection is stale. */
  begin(): number {
    return ++this.generation;
  }

  /** What a read that only adds to the current state remembers before it asks (compare with `isCurrent`). */
  get current(): number {
    return this.generation;
  }

  /** False when a newer read started, or the connection was lost, since `generation` was taken. */
  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
  }
}
