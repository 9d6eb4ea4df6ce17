// Keeps the agent store in step with the daemon: after every (re)connection it lists the agents and the latest
// resource figures; notifications keep it current afterwards; a lost connection clears it. Each change of an
// agent goes through the alert tracker, which says when to notify (needs input, succeeded, failed).
// The daemon sends figures only while something runs, so the figures are read again when a workspace is created:
// the daemon's answer lists it (with zeros when nothing of it runs) where no notification would.
// This module must not import 'vscode': the notifier it calls is passed in.
import type { Event } from 'vscode-jsonrpc/node';
import type { Logger } from '../client/logger';
import type { ConnectionEvents } from '../common/connectionSync';
import { StoreSync, type DaemonRequests } from '../common/storeSync';
import { userMessage } from '../protocol/errors';
import { Methods, type AgentChangedNotification, type AgentInfo, type ResourceSnapshot, type WorkspaceChangedNotification } from '../protocol/generated';
import { AlertTracker } from './alerts';
import type { AlertKind } from './presentation';
import type { AgentStore } from './store';

/** The part of OrchflowClient this needs. */
export interface AgentClient extends ConnectionEvents, DaemonRequests {
  readonly onAgentChanged: Event<AgentChangedNotification>;
  readonly onResourcesChanged: Event<ResourceSnapshot>;
  readonly onWorkspaceChanged: Event<WorkspaceChangedNotification>;
}

export class AgentSync extends StoreSync {
  private readonly tracker = new AlertTracker();

  constructor(
    private readonly client: AgentClient,
    private readonly store: AgentStore,
    logger: Logger,
    /** Called for each transition worth a notification, after the store has it. */
    private readonly onAlert: (agent: AgentInfo, kind: AlertKind) => void,
    /** Called after each change of one agent (for example to refresh its open log). */
    private readonly onAgentChanged: (id: string) => void = () => undefined,
  ) {
    super(client, store, logger, 'listing the agents');
    this.follow(
      client.onAgentChanged((change) => this.apply(change)),
      client.onResourcesChanged((snapshot) => store.applyResources(snapshot)),
      client.onWorkspaceChanged((change) => {
        if (change.kind === 'created' && store.isLoaded) {
          this.background(this.readFigures(), 'reading the resource figures');
        }
      }),
    );
  }

  /** Without its list the window shows no agent at all: an error, not a warning. */
  protected override refreshFailed(error: unknown): void {
    this.logger.error(`Failed while listing the agents: ${userMessage(error)}`);
  }

  /** Reads the figures again (the store keeps a newer sample if one arrived meanwhile). */
  private async readFigures(): Promise<void> {
    const generation = this.connection.current;
    const snapshot = await this.client.request(Methods.WorkspaceResources, {});
    if (this.connection.isCurrent(generation)) {
      this.store.applyResources(snapshot);
    }
  }

  /** Lists the agents and the figures again and replaces the store's; announces nothing that the list shows. */
  override async refresh(): Promise<void> {
    const generation = this.connection.begin();
    const [list, snapshot] = await Promise.all([this.client.request(Methods.AgentList, {}), this.client.request(Methods.WorkspaceResources, {})]);
    if (!this.connection.isCurrent(generation)) {
      return;
    }
    this.tracker.seed(list.agents);
    this.store.reset(list.agents, snapshot);
  }

  private apply(change: AgentChangedNotification): void {
    const loaded = this.store.isLoaded;
    const agent = this.store.applyChange(change);
    if (!agent) {
      this.tracker.forget(change.id);
      this.onAgentChanged(change.id);
      return;
    }
    if (!loaded) {
      // Before this connection's list has arrived the window has not looked yet: the state is recorded, not announced.
      this.tracker.seed([agent]);
    } else {
      const kind = this.tracker.observe(agent);
      if (kind) {
        this.onAlert(agent, kind);
      }
    }
    this.onAgentChanged(change.id);
  }
}
