// What an agent's state allows, as plain decisions shared by the tree, the commands and the notifications.
// They mirror the daemon's rules (AgentService): an action offered here is one the daemon accepts.
// This module must not import 'vscode'.
import type { AgentInfo, AgentState } from '../protocol/generated';

/** Queued, or holding a slot of its workspace's pool: not finished. */
export function isLive(state: AgentState): boolean {
  return state === 'queued' || holdsSlot(state);
}

/** Starting, running, needsInput and paused take one of the workspace's max_agents slots (and have a process). */
export function holdsSlot(state: AgentState): boolean {
  return state === 'starting' || state === 'running' || state === 'needsInput' || state === 'paused';
}

/** Succeeded, failed, stopped or interrupted: final until a restart. */
export function isEnded(state: AgentState): boolean {
  return !isLive(state);
}

/** The daemon pauses (SIGSTOP) an agent that is starting, running or waiting for input. */
export function canPause(state: AgentState): boolean {
  return state === 'starting' || state === 'running' || state === 'needsInput';
}

export function canResume(state: AgentState): boolean {
  return state === 'paused';
}

/** Input reaches an agent whose process runs and is not stopped. */
export function canSendInput(state: AgentState): boolean {
  return canPause(state);
}

/** Waiting on a menu its screen shows (a trust dialog, a tool approval ...): one of its choices can be picked by number. */
export function canAnswer(agent: Pick<AgentInfo, 'state' | 'question' | 'choices'>): boolean {
  return agent.state === 'needsInput' && !!agent.question && (agent.choices?.length ?? 0) > 0;
}

/** Offered only once the agent ended; the daemon also restarts a live one, which Stop then Restart does on purpose. */
export function canRestart(state: AgentState): boolean {
  return isEnded(state);
}

/** Removing deletes the agent's log and worktree, so it is offered only once the agent ended. */
export function canRemove(state: AgentState): boolean {
  return isEnded(state);
}

export function canStop(state: AgentState): boolean {
  return isLive(state);
}

export function hasTerminal(agent: Pick<AgentInfo, 'terminalId'>): boolean {
  return agent.terminalId != null && agent.terminalId !== '';
}

/** Most urgent first: needs input, then running ones, queued, paused, then the ended. */
const StateRank: Record<AgentState, number> = {
  needsInput: 0,
  starting: 1,
  running: 1,
  paused: 2,
  queued: 3,
  failed: 4,
  interrupted: 4,
  stopped: 5,
  succeeded: 5,
};

/** Oldest first, the daemon's own order: the tree keeps rows where they are while their states change. */
export function compareAgents(a: AgentInfo, b: AgentInfo): number {
  return a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id, undefined, { numeric: true });
}

/** For quick picks: the most urgent first, then oldest first. */
export function compareByUrgency(a: AgentInfo, b: AgentInfo): number {
  return StateRank[a.state] - StateRank[b.state] || compareAgents(a, b);
}
