// Decides when an agent's change deserves a notification: the moment it enters needs-input, succeeded or failed,
// and, while it needs input, each new question its screen asks (a second dialog after the first was answered on the
// spot, without a report of it running in between). Each such transition has a key (the agent, its run, the state,
// and for needs-input the moment it began and the question), and a key is announced at most once. States already
// there when the list arrives (on connecting, or reconnecting) are recorded without a notification, so a window never
// announces what happened before it looked, nor twice what it saw once, even when a notification from before a list
// arrives after it.
// This module must not import 'vscode'.
import type { AgentNotifySetting } from '../constants';
import type { AgentInfo } from '../protocol/generated';
import type { AlertKind } from './presentation';

/** The transition an agent is in, as a key that is the same for every report of that one transition. */
export function alertKey(agent: Pick<AgentInfo, 'id' | 'runs' | 'state' | 'needsInputSince' | 'question'>): { kind: AlertKind; key: string } | undefined {
  switch (agent.state) {
    case 'needsInput':
      // A run can ask several times; each wait starts at its own moment, and each question within it is new.
      // A wait whose question is not (or no longer) recognised keeps the key of the question it showed last.
      return { kind: 'needsInput', key: `${agent.id}#${agent.runs}#needsInput#${agent.needsInputSince ?? ''}#${agent.question ?? ''}` };
    case 'succeeded':
    case 'failed':
      return { kind: agent.state, key: `${agent.id}#${agent.runs}#${agent.state}` };
    default:
      return undefined;
  }
}

/** The wait for input an agent is in, whatever it asks: its key is recorded with every question key of that wait. */
function waitKey(agent: Pick<AgentInfo, 'id' | 'runs' | 'state' | 'needsInputSince'>): string | undefined {
  return agent.state === 'needsInput' ? `${agent.id}#${agent.runs}#needsInput#${agent.needsInputSince ?? ''}` : undefined;
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
        this.record(a, k.key);
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
    // A wait announced already, whose question is no longer recognised (the screen is being redrawn), asks nothing new.
    const wait = waitKey(agent);
    const known = wait !== undefined && keys.has(wait) && !agent.question;
    this.record(agent, k.key);
    return known ? undefined : k.kind;
  }

  private record(agent: AgentInfo, key: string): void {
    const keys = this.keysOf(agent.id);
    keys.add(key);
    const wait = waitKey(agent);
    if (wait !== undefined) {
      keys.add(wait);
    }
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
