// Decides when an agent's change deserves a notification: the moment it enters needs-input, succeeded or failed.
// Each such transition has a key (the agent, its run, the state, and for needs-input the moment it began), and a
// key is announced at most once. States already there when the list arrives (on connecting, or reconnecting) are
// recorded without a notification, so a window never announces what happened before it looked, nor twice what
// it saw once, even when a notification from before a list arrives after it.
// This module must not import 'vscode'.
import type { AgentNotifySetting } from '../constants';
import type { AgentInfo } from '../protocol/generated';
import type { AlertKind } from './presentation';

/** The transition an agent is in, as a key that is the same for every report of that one transition. */
export function alertKey(agent: Pick<AgentInfo, 'id' | 'runs' | 'state' | 'needsInputSince'>): { kind: AlertKind; key: string } | undefined {
  switch (agent.state) {
    case 'needsInput':
      // A run can ask several times; each question starts at its own moment.
      return { kind: 'needsInput', key: `${agent.id}#${agent.runs}#needsInput#${agent.needsInputSince ?? ''}` };
    case 'succeeded':
    case 'failed':
      return { kind: agent.state, key: `${agent.id}#${agent.runs}#${agent.state}` };
    default:
      return undefined;
  }
}

/** Whether the setting lets this kind through. */
export function notifies(setting: AgentNotifySetting, kind: AlertKind): boolean {
  return setting === 'all' || (setting === 'needsInput' && kind === 'needsInput');
}

export function notifySettingFrom(value: unknown): AgentNotifySetting {
  return value === 'needsInput' || value === 'off' ? value : 'all';
}

export class AlertTracker {
  /** Keys seen, by agent id, so that a removed agent's keys go with it. */
  private readonly seen = new Map<string, Set<string>>();

  /** Records the states of a fresh list without announcing any. */
  seed(agents: readonly AgentInfo[]): void {
    for (const a of agents) {
      const k = alertKey(a);
      if (k) {
        this.keysOf(a.id).add(k.key);
      }
    }
  }

  /** The kind to announce for this report of the agent, or undefined: not a transition of interest, or seen. */
  observe(agent: AgentInfo): AlertKind | undefined {
    const k = alertKey(agent);
    if (!k) {
      return undefined;
    }
    const keys = this.keysOf(agent.id);
    if (keys.has(k.key)) {
      return undefined;
    }
    keys.add(k.key);
    return k.kind;
  }

  /** Drops what is known about a removed agent (its id is never reused). */
  forget(id: string): void {
    this.seen.delete(id);
  }

  private keysOf(id: string): Set<string> {
    let keys = this.seen.get(id);
    if (!keys) {
      keys = new Set();
      this.seen.set(id, keys);
    }
    return keys;
  }
}
