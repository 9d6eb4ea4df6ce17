// Keeps the memory store in step with the daemon: after every (re)connection it reads every workspace's stats;
// orchflow/memory/changed keeps them current. Capacity and persistence come from the configs, which change without
// a memory change: a workspace's stats are read again when the daemon reports the workspace created or updated,
// and every workspace's when the global config changed. A lost connection clears the store. Nothing polls.
// This module must not import 'vscode'.
import type { Event } from 'vscode-jsonrpc/node';
import type { ConnectionState } from '../client/connectionState';
import type { Logger } from '../client/logger';
import { userMessage } from '../protocol/errors';
import {
  Methods,
  type ConfigChangedNotification,
  type MemoryChangedNotification,
  type RequestMethod,
  type RequestParams,
  type RequestResult,
  type WorkspaceChangedNotification,
} from '../protocol/generated';
import type { MemoryStore } from './store';

/** The part of OrchflowClient this needs. */
export interface MemoryClient {
  readonly onDidInitialize: Event<unknown>;
  readonly onDidChangeState: Event<ConnectionState>;
  readonly onMemoryChanged: Event<MemoryChangedNotification>;
  readonly onWorkspaceChanged: Event<WorkspaceChangedNotification>;
  readonly onConfigChanged: Event<ConfigChangedNotification>;
  request<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>>;
}

export class MemorySync {
  private readonly subscriptions: { dispose(): void }[] = [];
  /** Incremented per (re)connection and per loss, so that a response from an older connection is dropped. */
  private generation = 0;

  constructor(
    private readonly client: MemoryClient,
    private readonly store: MemoryStore,
    private readonly logger: Logger,
  ) {
    this.subscriptions.push(
      client.onDidInitialize(() => this.background(this.refresh(), 'reading the memory stats')),
      client.onDidChangeState((state) => {
        if (state.kind !== 'connected') {
          this.generation++;
          store.clear();
        }
      }),
      client.onMemoryChanged((change) => store.applyChange(change)),
      client.onWorkspaceChanged((change) => {
        if (change.kind === 'deleted') {
          store.forget(change.id);
        } else if (change.kind === 'created' || change.kind === 'updated') {
          this.background(this.refreshWorkspace(change.id), `reading the memory stats of ${change.id}`);
        }
      }),
      client.onConfigChanged(() => this.background(this.refresh(), 'reading the memory stats after the global config changed')),
    );
  }

  /** Reads every workspace's stats and replaces the store's. */
  async refresh(): Promise<void> {
    const generation = ++this.generation;
    const since = this.store.mark();
    const { segments } = await this.client.request(Methods.MemoryStats, {});
    if (generation === this.generation) {
      this.store.reset(segments, since);
    }
  }

  /** Reads one workspace's stats (its config may have changed its capacity). */
  async refreshWorkspace(workspaceId: string): Promise<void> {
    if (!this.store.isLoaded) {
      return; // The list after connecting is on its way and covers it.
    }
    const generation = this.generation;
    const since = this.store.mark();
    const { segments } = await this.client.request(Methods.MemoryStats, { workspaceId });
    if (generation === this.generation) {
      this.store.applyResponse(segments, since);
    }
  }

  private background(work: Promise<void>, what: string): void {
    work.catch((error: unknown) => this.logger.warn(`Failed while ${what}: ${userMessage(error)}`));
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
  }
}
