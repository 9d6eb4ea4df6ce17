// Keeps the memory store in step with the daemon: after every (re)connection it reads every workspace's stats;
// orchflow/memory/changed keeps them current. Capacity and persistence come from the configs, which change without
// a memory change: a workspace's stats are read again when the daemon reports the workspace created or updated,
// and every workspace's when the global config changed. A lost connection clears the store. Nothing polls.
// This module must not import 'vscode'.
import type { Event } from 'vscode-jsonrpc/node';
import type { Logger } from '../client/logger';
import type { ConnectionEvents } from '../common/connectionSync';
import { StoreSync, type DaemonRequests } from '../common/storeSync';
import { Methods, type ConfigChangedNotification, type MemoryChangedNotification, type WorkspaceChangedNotification } from '../protocol/generated';
import type { MemoryStore } from './store';

/** The part of OrchflowClient this needs. */
export interface MemoryClient extends ConnectionEvents, DaemonRequests {
  readonly onMemoryChanged: Event<MemoryChangedNotification>;
  readonly onWorkspaceChanged: Event<WorkspaceChangedNotification>;
  readonly onConfigChanged: Event<ConfigChangedNotification>;
}

export class MemorySync extends StoreSync {
  constructor(
    private readonly client: MemoryClient,
    private readonly store: MemoryStore,
    logger: Logger,
  ) {
    super(client, store, logger, 'reading the memory stats');
    this.follow(
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
  override async refresh(): Promise<void> {
    const generation = this.connection.begin();
    const since = this.store.mark();
    const { segments } = await this.client.request(Methods.MemoryStats, {});
    if (this.connection.isCurrent(generation)) {
      this.store.reset(segments, since);
    }
  }

  /** Reads one workspace's stats (its config may have changed its capacity). */
  async refreshWorkspace(workspaceId: string): Promise<void> {
    if (!this.store.isLoaded) {
      return; // The list after connecting is on its way and covers it.
    }
    const generation = this.connection.current;
    const since = this.store.mark();
    const { segments } = await this.client.request(Methods.MemoryStats, { workspaceId });
    if (this.connection.isCurrent(generation)) {
      this.store.applyResponse(segments, since);
    }
  }

}
