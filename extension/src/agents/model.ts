// What an agent allows, as plain decisions shared by the tree, the commands and the notifications.
// The daemon says which actions it accepts for each agent (`AgentInfo.actions`, from its AgentActions); nothing here
// decides that on its own, so an action offered here is one the daemon accepts.
// This module must not import 'vscode'.
import type { AgentAction, AgentInfo, AgentState } from '../protocol/generated';

type Actions = Pick<AgentInfo, 'actions'>;

/** The daemon accepts this action for the agent as it was last published. */
export function allows(agent: Actions, action: AgentAction): boolean {
  return agent.actions.includes(action);
}

/** Not finished: queued, or holding a slot of its workspace's pool; the daemon still has something to stop. */
export function isLive(agent: Actions): boolean {
  return allows(agent, 'stop');
}

/** Succeeded, failed, stopped or interrupted: final until a restart. */
export function isEnded(agent: Actions): boolean {
  return !isLive(agent);
}

/** Live and started: it has a process, which takes one of the workspace's max_agents slots (and has figures). */
export function holdsSlot(agent: Pick<AgentInfo, 'actions' | 'state'>): boolean {
  return isLive(agent) && agent.state !== 'queued';
}

/** The daemon pauses (SIGSTOP) an agent that is starting, running or waiting for input. */
export function canPause(agent: Actions): boolean {
  return allows(agent, 'pause');
}

export function canResume(agent: Actions): boolean {
  return allows(agent, 'resume');
}

/** Input reaches an agent whose process runs and is not stopped. */
export function canSendInput(agent: Actions): boolean {
  return allows(agent, 'send');
}

/**
 * Waiting on a menu its screen shows (a trust dialog, a tool approval ...): one of its choices can be picked by number.
 * The question is the extension's own need: it shows it, and sends it with the answer so that a changed one is refused.
 */
export function canAnswer(agent: Pick<AgentInfo, 'actions' | 'question'>): boolean {
  return allows(agent, 'answer') && !!agent.question;
}

/** Offered only once the agent ended; the daemon also restarts a live one, which Stop then Restart does on purpose. */
export function canRestart(agent: Actions): boolean {
  return isEnded(agent) && allows(agent, 'restart');
}

/** Removing deletes the agent's log and worktree, so it is offered only once the agent ended. */
export function canRemove(agent: Actions): boolean {
  return isEnded(agent) && allows(agent, 'remove');
}

export function canStop(agent: Actions): boolean {
  return allows(agent, 'stop');
}

export function hasTerminal(agent: Actions): boolean {
  return allows(agent, 'showTerminal');
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
