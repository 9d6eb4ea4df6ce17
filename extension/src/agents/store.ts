// What the extension knows about the daemon's agents: the list after every (re)connection, kept current by
// orchflow/agent/changed notifications, and the latest resource figures from orchflow/resources/changed (each
// agent's, and each workspace's for its Resources row).
// Nothing polls. Cleared when the connection is lost (a restarted daemon may know other things).
//
// Notifications are the authority on state: the daemon publishes every change of an agent in order, so applying
// them in arrival order always ends at the latest state. A response to a request (spawn, pause, ...) may arrive
// after a later notification, so a response only adds an agent the store does not know yet; it never overwrites.
// This module must not import 'vscode'.
import { KeyedStore } from '../common/keyedStore';
import type { AgentChangedNotification, AgentInfo, AgentResources, ResourceSnapshot, WorkspaceResources } from '../protocol/generated';
import { compareAgents } from './model';
import { figuresText, formatCpu, formatRam, type AgentFigures } from './presentation';

/** Every agent by id, oldest first, with the latest resource figures beside them. */
export class AgentStore extends KeyedStore<AgentInfo> {
  private readonly figures = new Map<string, AgentResources>();
  private readonly workspaceFigures = new Map<string, WorkspaceResources>();
  /** When the figures shown were sampled (the daemon's clock, ISO 8601). */
  private sampledAt: string | undefined;
  /** Agents removed since the last list, so that a late response does not bring one back. */
  private readonly removed = new Set<string>();

  constructor() {
    super((a) => a.id, compareAgents);
  }

  forWorkspace(workspaceId: string): AgentInfo[] {
    return this.all().filter((a) => a.workspaceId === workspaceId);
  }

  /** Agents waiting for an answer, across all workspaces. */
  needingInput(): AgentInfo[] {
    return this.all().filter((a) => a.state === 'needsInput');
  }

  /** The latest sample's figures for a live agent, or undefined when the daemon has sent none for it. */
  figuresOf(id: string): AgentFigures | undefined {
    return this.figures.get(id);
  }

  workspaceResources(workspaceId: string): WorkspaceResources | undefined {
    return this.workspaceFigures.get(workspaceId);
  }

  /** The agent running in this terminal, if any. */
  byTerminal(terminalId: string): AgentInfo | undefined {
    for (const a of this.items.values()) {
      if (a.terminalId === terminalId) {
        return a;
      }
    }
    return undefined;
  }

  /** Replaces everything with a fresh `orchflow/agent/list` (and, when given, `orchflow/workspace/resources`). */
  reset(agents: readonly AgentInfo[], snapshot?: ResourceSnapshot): void {
    this.removed.clear();
    if (snapshot) {
      this.setFigures(snapshot);
    }
    this.replaceAll(agents);
  }

  protected override forgetOthers(): void {
    this.figures.clear();
    this.workspaceFigures.clear();
    this.sampledAt = undefined;
    this.removed.clear();
  }

  /** Applies an `orchflow/agent/changed` notification; returns the agent as it is now (undefined when removed). */
  applyChange(change: AgentChangedNotification): AgentInfo | undefined {
    if (change.kind === 'removed' || !change.agent) {
      this.removed.add(change.id);
      this.figures.delete(change.id);
      this.remove(change.id);
      return undefined;
    }
    this.removed.delete(change.id);
    this.upsert(change.agent);
    return change.agent;
  }

  /**
   * Records an agent a request returned (spawn, restart, ...), only when the store does not know it yet: the
   * notifications about it are newer than, or as new as, the response.
   */
  recordResponse(agent: AgentInfo): void {
    if (this.has(agent.id) || this.removed.has(agent.id)) {
      return;
    }
    this.upsert(agent);
  }

  /**
   * Applies an `orchflow/resources/changed` snapshot, or an `orchflow/workspace/resources` answer. Snapshots come
   * every second while anything runs, so it fires a change only when a figure as shown (rounded) differs. An answer
   * can arrive after a newer sample's notification: a snapshot of an older sample than the one shown is dropped.
   */
  applyResources(snapshot: ResourceSnapshot): void {
    if (isOlder(snapshot.sampledAt, this.sampledAt)) {
      return;
    }
    const before = this.shownFigures();
    this.setFigures(snapshot);
    if (this.shownFigures() !== before) {
      this.changed(undefined);
    }
  }

  private setFigures(snapshot: ResourceSnapshot): void {
    this.sampledAt = snapshot.sampledAt ?? undefined;
    this.figures.clear();
    for (const a of snapshot.agents) {
      this.figures.set(a.id, a);
    }
    this.workspaceFigures.clear();
    for (const w of snapshot.workspaces) {
      this.workspaceFigures.set(w.workspaceId, w);
    }
  }

  /** The figures as the views print them, in one string, to tell whether a snapshot changes anything shown. */
  private shownFigures(): string {
    const agents = [...this.figures.values()].map((f) => `${f.id}=${figuresText(f) ?? ''}/${f.processes ?? ''}`);
    const workspaces = [...this.workspaceFigures.values()].map(
      // Everything the Resources row and its tooltip print, so that they follow the figures.
      (w) => `${w.workspaceId}=${formatCpu(w.cpuPercent)}/${formatRam(w.memoryBytes)}/${w.processes}/${w.terminals}/${w.agents}/${w.queuedAgents}`,
    );
    return [...agents, ...workspaces].join('|');
  }
}

/** True when sample time `a` is known to be before `b` (a snapshot before the first sample is older than any). */
function isOlder(a: string | null | undefined, b: string | undefined): boolean {
  if (b === undefined) {
    return false;
  }
  if (a == null) {
    return true;
  }
  const [ta, tb] = [Date.parse(a), Date.parse(b)];
  return Number.isFinite(ta) && Number.isFinite(tb) && ta < tb;
}
