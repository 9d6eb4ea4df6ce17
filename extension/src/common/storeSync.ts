// What every store's sync with the daemon does the same way: after each (re)connection it reads everything again,
// when the connection is lost it clears the store, a read nobody awaits says in the log why it failed, and it holds
// its subscriptions until disposed. A subclass says how to read and what each notification changes.
// This module must not import 'vscode'.
import type { Logger } from '../client/logger';
import { userMessage } from '../protocol/errors';
import type { RequestMethod, RequestParams, RequestResult } from '../protocol/generated';
import { ConnectionSync, type ConnectionEvents } from './connectionSync';

/** The part of OrchflowClient that asks the daemon. */
export interface DaemonRequests {
  request<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>>;
}

export abstract class StoreSync {
  protected readonly connection: ConnectionSync;
  private readonly subscriptions: { dispose(): void }[] = [];

  /** `reading` names the full read in a failure, as in "Failed while reading the memory stats: …". */
  protected constructor(
    client: ConnectionEvents,
    store: { clear(): void },
    protected readonly logger: Logger,
    private readonly reading: string,
  ) {
    this.connection = new ConnectionSync(client, {
      connected: () => this.refresh(),
      lost: () => store.clear(),
      failed: (error) => this.refreshFailed(error),
    });
    this.subscriptions.push(this.connection);
  }

  /** Reads everything again and replaces the store's (`connection.begin()` makes earlier answers stale). */
  abstract refresh(): Promise<void>;

  /** Keeps these subscriptions until disposed. */
  protected follow(...subscriptions: { dispose(): void }[]): void {
    this.subscriptions.push(...subscriptions);
  }

  /** Says that the read after a (re)connection failed: a warning, unless the subclass says it louder. */
  protected refreshFailed(error: unknown): void {
    this.warn(this.reading, error);
  }

  /** Runs a read nobody awaits; a failure becomes a warning that says what was being read. */
  protected background(work: Promise<void>, what: string): void {
    work.catch((error: unknown) => this.warn(what, error));
  }

  protected warn(what: string, error: unknown): void {
    this.logger.warn(`Failed while ${what}: ${userMessage(error)}`);
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
  }
}
