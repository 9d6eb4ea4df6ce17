// How agents look in the Workspaces tree, quick picks, notifications and the status bar, as plain data (the
// adapters turn it into TreeItems, QuickPickItems and messages).
// Figures are the daemon's measurements; where it has none yet, the text says so ("—"), never a made-up number.
// This module must not import 'vscode'.
import { TreeItemContext } from '../constants';
import type { AgentAnswerParams, AgentInfo, AgentResources, AgentState, AgentTypeInfo, WorkspaceInfo } from '../protocol/generated';
import { codeSpan, escapeMarkdown, type IconView, type WorkspacePartRow, type WorkspaceRow } from '../workspaces/presentation';
import { canAnswer, canPause, canResume, canSendInput, compareByUrgency, hasTerminal, holdsSlot, isLive } from './model';

/** What the daemon measured for one agent's terminal session; every field may be absent (not measured yet). */
export type AgentFigures = Pick<AgentResources, 'cpuPercent' | 'memoryBytes' | 'processes'>;

/** The "Agents (N)" row under a workspace. */
export type AgentsGroupNode = WorkspacePartRow<'agents'>;

/** One agent under its workspace's Agents row. */
export interface AgentNode extends WorkspaceRow<'agent'> {
  readonly id: string;
  readonly state: AgentState;
  readonly hasTerminal: boolean;
}

/** How long a task may be as a row's label before it is cut (the tooltip has all of it). */
export const MaxLabelChars = 48;

/** The task on one line, cut at `max` characters with an ellipsis. */
export function truncateTask(task: string, max = MaxLabelChars): string {
  const line = task.replace(/\s+/g, ' ').trim();
  if (line.length <= max) {
    return line;
  }
  return `${line.slice(0, max - 1).trimEnd()}…`;
}

/** "needs input", "queued #2", "failed (exit 3)", ... */
export function stateText(agent: Pick<AgentInfo, 'state' | 'queuePosition' | 'exitCode' | 'signal'>): string {
  switch (agent.state) {
    case 'queued':
      return agent.queuePosition != null ? `queued #${agent.queuePosition}` : 'queued';
    case 'needsInput':
      return 'needs input';
    case 'failed':
      if (agent.exitCode != null) {
        return `failed (exit ${agent.exitCode})`;
      }
      return agent.signal != null ? `failed (signal ${agent.signal})` : 'failed';
    default:
      return agent.state;
  }
}

/** Marks a figure the daemon has not measured yet. */
export const NotMeasured = '—';

/** "CPU 3%", "CPU 0.4%", or "CPU —" before the daemon sampled the agent twice. 100% is one core. */
export function formatCpu(percent: number | null | undefined): string {
  if (percent == null || !Number.isFinite(percent)) {
    return `CPU ${NotMeasured}`;
  }
  const shown = percent < 10 ? Math.round(percent * 10) / 10 : Math.round(percent);
  return `CPU ${shown}%`;
}

/** RAM (resident set size) in binary units: "120 MiB", "1.5 GiB"; "mem —" before the first sample. */
export function formatRam(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) {
    return `mem ${NotMeasured}`;
  }
  const mib = bytes / (1024 * 1024);
  if (mib < 1) {
    // A measured zero stays zero; anything above it shows at least 1 KiB rather than a misleading 0.
    return `${bytes === 0 ? 0 : Math.max(1, Math.round(bytes / 1024))} KiB`;
  }
  if (mib < 1024) {
    return `${Math.round(mib)} MiB`;
  }
  return `${Math.round((mib / 1024) * 10) / 10} GiB`;
}

/**
 * The figures a row shows: only for an agent that has a process (starting, running, needs input, paused).
 * The latest resource sample wins over the figures the agent record carried when it last changed.
 */
export function figuresOf(agent: AgentInfo, sample: AgentFigures | undefined): AgentFigures | undefined {
  if (!holdsSlot(agent)) {
    return undefined;
  }
  return sample ?? { cpuPercent: agent.cpuPercent ?? null, memoryBytes: agent.memoryBytes ?? null, processes: agent.processes ?? null };
}

/** "CPU 3% · 120 MiB", or undefined when the agent has no process. */
export function figuresText(figures: AgentFigures | undefined): string | undefined {
  return figures ? `${formatCpu(figures.cpuPercent)} · ${formatRam(figures.memoryBytes)}` : undefined;
}

/**
 * `type · state · CPU 3% · 120 MiB`: the row's description. An agent that reported its task done and still runs (an
 * interactive CLI waits at its prompt afterwards) says `done` after its state.
 */
export function agentDescription(agent: AgentInfo, sample?: AgentFigures): string {
  const figures = figuresText(figuresOf(agent, sample));
  const done = agent.doneAt && isLive(agent) ? 'done' : undefined;
  return [agent.type, stateText(agent), done, figures].filter((p): p is string => p !== undefined).join(' · ');
}

export function agentIcon(agent: Pick<AgentInfo, 'state'>): IconView {
  switch (agent.state) {
    case 'queued':
      return { id: 'clock' };
    case 'starting':
      return { id: 'loading~spin' };
    case 'running':
      return { id: 'sync~spin', color: 'charts.blue' };
    case 'needsInput':
      return { id: 'bell-dot', color: 'list.warningForeground' };
    case 'paused':
      return { id: 'debug-pause', color: 'charts.yellow' };
    case 'succeeded':
      return { id: 'check', color: 'testing.iconPassed' };
    case 'failed':
      return { id: 'error', color: 'errorForeground' };
    case 'stopped':
      return { id: 'debug-stop', color: 'disabledForeground' };
    case 'interrupted':
      return { id: 'debug-disconnect', color: 'list.warningForeground' };
  }
}

/** The tags a row's menus match: the state, then what it allows. */
export function agentContextValue(agent: Pick<AgentInfo, 'state' | 'actions' | 'question'>): string {
  const tags: (string | undefined)[] = [
    TreeItemContext.Agent,
    agent.state,
    isLive(agent) ? TreeItemContext.TagLive : TreeItemContext.TagEnded,
    canPause(agent) ? TreeItemContext.TagPausable : undefined,
    canResume(agent) ? TreeItemContext.TagResumable : undefined,
    canSendInput(agent) ? TreeItemContext.TagSendable : undefined,
    canAnswer(agent) ? TreeItemContext.TagAnswerable : undefined,
    hasTerminal(agent) ? TreeItemContext.TagHasTerminal : undefined,
  ];
  return tags.filter((t): t is string => t !== undefined).join(' ');
}

/** "2025-01-01 12:00:05 UTC": wire timestamps, shown the same on every machine. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "3m 12s", "1h 2m", "45s", "0s". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) {
    return `${h}h ${m}m`;
  }
  return m > 0 ? `${m}m ${s}s` : `${s}s`;
}

function timesLine(agent: AgentInfo): string {
  const parts = [`Created ${formatTime(agent.createdAt)}`];
  if (agent.startedAt) {
    parts.push(`started ${formatTime(agent.startedAt)}`);
  }
  if (agent.endedAt) {
    const ran = agent.startedAt ? ` (ran ${formatDuration(Date.parse(agent.endedAt) - Date.parse(agent.startedAt))})` : '';
    parts.push(`ended ${formatTime(agent.endedAt)}${ran}`);
  }
  return parts.join(' · ');
}

/** " — 1. No, exit · 2. Yes, I trust this folder", or "" without choices. */
function choicesLine(agent: Pick<AgentInfo, 'choices'>): string {
  const choices = agent.choices ?? [];
  return choices.length > 0 ? ` — ${choices.map((c, i) => `${i + 1}. ${escapeMarkdown(c.label)}`).join(' · ')}` : '';
}

export function agentTooltip(agent: AgentInfo, workspaceName: string, sample?: AgentFigures): string {
  const figures = figuresOf(agent, sample);
  const run = [`Type ${codeSpan(agent.type)}`, `run ${agent.runs}`, agent.terminalId ? `terminal ${codeSpan(agent.terminalId)}` : 'no terminal'];
  const paragraphs: (string | undefined)[] = [
    `**${escapeMarkdown(workspaceName)} › ${escapeMarkdown(agent.id)}** — ${escapeMarkdown(stateText(agent))}`,
    `Task: ${escapeMarkdown(agent.task)}`,
    run.join(' · '),
    `Directory: ${codeSpan(agent.cwd)}`,
    agent.worktree ? `Worktree on branch ${codeSpan(agent.worktree.branch)}: ${codeSpan(agent.worktree.path)}` : undefined,
    agent.state === 'needsInput' && agent.needsInputSince ? `Waiting for input since ${formatTime(agent.needsInputSince)}` : undefined,
    agent.state === 'needsInput' && agent.question ? `Asks: ${escapeMarkdown(agent.question)}${choicesLine(agent)}` : undefined,
    agent.lastLine ? `Last line: ${codeSpan(agent.lastLine)}` : undefined,
    agent.doneAt ? `Reported its task done at ${formatTime(agent.doneAt)}` : undefined,
    agent.message ? escapeMarkdown(agent.message) : undefined,
    timesLine(agent),
    agent.exitCode != null ? `Exit code ${agent.exitCode}` : agent.signal != null ? `Ended by signal ${agent.signal}` : undefined,
    figures
      ? `${escapeMarkdown(figuresText(figures) ?? '')}${figures.processes != null ? ` · ${figures.processes} process${figures.processes === 1 ? '' : 'es'}` : ''} (measured by the daemon; ${NotMeasured} = not measured yet)`
      : undefined,
    `Log: ${codeSpan(agent.logPath)}`,
  ];
  return paragraphs.filter((p): p is string => p !== undefined).join('\n\n');
}

export function agentNode(agent: AgentInfo, workspaceName: string, sample?: AgentFigures): AgentNode {
  return {
    kind: 'agent',
    id: agent.id,
    workspaceId: agent.workspaceId,
    state: agent.state,
    hasTerminal: hasTerminal(agent),
    label: truncateTask(agent.task),
    description: agentDescription(agent, sample),
    tooltip: agentTooltip(agent, workspaceName, sample),
    icon: agentIcon(agent),
    contextValue: agentContextValue(agent),
  };
}

/** "1 needs input · 2 running · 1 queued · 1 succeeded · 1 failed", or "none": counts in order of urgency. */
export function agentsSummary(agents: readonly AgentInfo[]): string {
  if (agents.length === 0) {
    return 'none';
  }
  const groups: [string, (a: AgentInfo) => boolean][] = [
    ['needs input', (a) => a.state === 'needsInput'],
    ['running', (a) => a.state === 'running' || a.state === 'starting'],
    ['paused', (a) => a.state === 'paused'],
    ['queued', (a) => a.state === 'queued'],
    ['failed', (a) => a.state === 'failed'],
    ['interrupted', (a) => a.state === 'interrupted'],
    ['stopped', (a) => a.state === 'stopped'],
    ['succeeded', (a) => a.state === 'succeeded'],
  ];
  return groups
    .map(([label, test]) => [label, agents.filter(test).length] as const)
    .filter(([, n]) => n > 0)
    .map(([label, n]) => `${n} ${label}`)
    .join(' · ');
}

/** The workspace row's note: "2 agents, 1 needs input" over its live agents; empty when none is live. */
export function workspaceAgentsNote(agents: readonly AgentInfo[]): string {
  const live = agents.filter((a) => isLive(a));
  if (live.length === 0) {
    return '';
  }
  const waiting = live.filter((a) => a.state === 'needsInput').length;
  return `${live.length} agent${live.length === 1 ? '' : 's'}${waiting > 0 ? `, ${waiting} need${waiting === 1 ? 's' : ''} input` : ''}`;
}

export function agentsGroupNode(workspace: WorkspaceInfo, agents: readonly AgentInfo[]): AgentsGroupNode {
  const count = agents.length;
  const tags: string[] = [TreeItemContext.Agents];
  if (count === 0) {
    tags.push(TreeItemContext.TagEmpty);
  }
  const limit = workspace.metadata.resourceLimits.maxAgents;
  const tooltip = [
    `**${escapeMarkdown(workspace.name)} › Agents**`,
    `${count} agent${count === 1 ? '' : 's'} (${escapeMarkdown(agentsSummary(agents))}) · at most ${limit} at once (max\\_agents); more wait in a queue.`,
    count > 0
      ? 'Each runs in its own terminal; **Show Terminal** watches it and takes your answers.'
      : '**Spawn Agent** starts one on a task in this workspace; **Delegate Tasks** starts several at once.',
  ].join('\n\n');
  return {
    kind: 'agents',
    workspaceId: workspace.id,
    label: `Agents (${count})`,
    description: agentsSummary(agents),
    tooltip,
    icon: { id: 'hubot' },
    contextValue: tags.join(' '),
    hasChildren: count > 0,
  };
}

export interface AgentPickView {
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly detail: string;
}

/** Entries of a quick pick of agents: the most urgent first (needs input), then oldest first. */
export function agentPicks(agents: readonly AgentInfo[], workspaceName: (id: string) => string): AgentPickView[] {
  return [...agents].sort(compareByUrgency).map((a) => ({
    id: a.id,
    label: `$(${agentIcon(a).id.replace(/~spin$/, '')}) ${truncateTask(a.task, 70)}`,
    description: `${workspaceName(a.workspaceId)} · ${a.id} · ${a.type} · ${stateText(a)}`,
    detail: a.lastLine ? `Last line: ${a.lastLine}` : a.cwd,
  }));
}

export interface TypePickView {
  readonly name: string;
  readonly installed: boolean;
  readonly label: string;
  readonly description: string;
  readonly detail: string;
}

const SourceText: Record<AgentTypeInfo['source'], string> = { builtIn: 'built in', global: 'orchflow.toml', workspace: 'workspace.json' };

/**
 * Entries of the agent type quick pick: installed types first (the preferred one at the top), then those that are
 * not, each saying how to install or configure it.
 */
export function typePicks(types: readonly AgentTypeInfo[], preferred?: string): TypePickView[] {
  const rank = (t: AgentTypeInfo): number => (t.installed ? 0 : 2) + (t.name === preferred ? 0 : 1);
  return [...types]
    .map((t, i) => ({ t, i }))
    .sort((a, b) => rank(a.t) - rank(b.t) || a.i - b.i)
    .map(({ t }) => ({
      name: t.name,
      installed: t.installed,
      label: `${t.installed ? '$(check)' : '$(circle-slash)'} ${t.displayName}`,
      description: [t.name, SourceText[t.source], t.installed ? undefined : 'not installed'].filter((p): p is string => p !== undefined).join(' · '),
      detail: t.installed ? (t.purpose ?? t.command) : (t.installHint ?? `${t.command}: not found on the workspace's PATH.`),
    }));
}

export type AlertKind = 'needsInput' | 'succeeded' | 'failed';

export const AlertActions = {
  ShowTerminal: 'Show Terminal',
  SendInput: 'Send Input…',
  OpenLog: 'Open Log',
} as const;

export type AlertAction = (typeof AlertActions)[keyof typeof AlertActions];

/**
 * One button of a notification: a follow-up action, or one choice of the menu the agent's screen shows, by its
 * number (1 for the first), which is what the answer names. Buttons are objects, so a choice whose label is the
 * same as another's (or as an action's) is still told apart when clicked.
 */
export type AlertButton = { readonly title: string; readonly action: AlertAction } | ChoiceButton;

export interface ChoiceButton {
  readonly title: string;
  /** The choice's number as the daemon lists it (1 for the first). */
  readonly choice: string;
}

export interface AlertView {
  readonly severity: 'info' | 'warning' | 'error';
  readonly message: string;
  /** The question the message quotes: an answer given through this notification is refused once the screen asks another. */
  readonly question?: string;
  readonly buttons: AlertButton[];
}

/** How long a choice may be as a button before it is cut (Answer Agent... lists it whole). */
export const MaxChoiceButtonChars = 60;

const actionButton = (action: AlertAction): AlertButton => ({ title: action, action });

/** The notification of a transition: what happened to which agent, with the buttons that help next. */
export function alertView(agent: AgentInfo, kind: AlertKind, workspaceName: string): AlertView {
  const who = `${workspaceName} › "${truncateTask(agent.task, 60)}" (${agent.id})`;
  const terminal: AlertButton[] = hasTerminal(agent) ? [actionButton(AlertActions.ShowTerminal)] : [];
  switch (kind) {
    case 'needsInput':
      if (agent.question) {
        // A menu: its choices are the buttons, in the screen's order, then the terminal to look closer.
        const choices = canAnswer(agent) ? choicePicks(agent).map((c): ChoiceButton => ({ title: truncateTask(c.label, MaxChoiceButtonChars), choice: c.choice })) : [];
        return {
          severity: 'warning',
          message: `${who} asks: "${agent.question}"`,
          question: agent.question,
          buttons: choices.length > 0 ? [...choices, ...terminal] : [...terminal, actionButton(AlertActions.SendInput)],
        };
      }
      if (agent.doneAt) {
        // An interactive CLI back at its prompt after it reported its task done: it waits for more, not for an answer.
        return {
          severity: 'info',
          message: `${who} is done and waits at its prompt for more.${agent.message ? ` ${agent.message}` : ''}`,
          buttons: [...terminal, actionButton(AlertActions.SendInput)],
        };
      }
      return {
        severity: 'warning',
        message: `${who} needs input${agent.lastLine ? `: ${agent.lastLine}` : '.'}`,
        buttons: [...terminal, actionButton(AlertActions.SendInput)],
      };
    case 'succeeded':
      return {
        severity: 'info',
        message: `${who} finished.${agent.message ? ` ${agent.message}` : ''}`,
        buttons: [...terminal, actionButton(AlertActions.OpenLog)],
      };
    case 'failed':
      return {
        severity: 'error',
        message: `${who} ${stateText(agent)}.${agent.message ? ` ${agent.message}` : ''}`,
        buttons: [...terminal, actionButton(AlertActions.OpenLog)],
      };
  }
}

/** The answer a clicked choice button gives: the agent, the choice's number and the question the notification showed. */
export function alertAnswer(agentId: string, view: Pick<AlertView, 'question'>, button: ChoiceButton): AgentAnswerParams {
  return { id: agentId, choice: button.choice, question: view.question ?? null };
}

export interface ChoicePickView {
  readonly label: string;
  readonly description: string;
  /** Its number as the daemon lists it (1 for the first): what orchflow/agent/answer takes. */
  readonly choice: string;
}

/** The choices of the menu the agent's screen shows, in order, each with the number an answer names. */
export function choicePicks(agent: Pick<AgentInfo, 'choices'>): ChoicePickView[] {
  return (agent.choices ?? []).map((c, i) => ({ label: c.label, description: `${i + 1}`, choice: String(i + 1) }));
}

export interface NeedsInputStatusView {
  readonly visible: boolean;
  readonly text: string;
  /** Markdown. */
  readonly tooltip: string;
}

/** The status bar item: how many agents wait for an answer, across all workspaces. */
export function needsInputStatusView(agents: readonly AgentInfo[], workspaceName: (id: string) => string): NeedsInputStatusView {
  const waiting = agents.filter((a) => a.state === 'needsInput').sort(compareByUrgency);
  if (waiting.length === 0) {
    return { visible: false, text: '', tooltip: '' };
  }
  const lines = waiting.map(
    (a) => {
      const asks = a.question ?? a.lastLine;
      return `- ${escapeMarkdown(workspaceName(a.workspaceId))} › ${escapeMarkdown(truncateTask(a.task, 60))} (${codeSpan(a.id)})${asks ? `: ${codeSpan(asks)}` : ''}`;
    },
  );
  return {
    visible: true,
    text: `$(bell) ${waiting.length} need${waiting.length === 1 ? 's' : ''} input`,
    tooltip: `**Orchflow agents waiting for input**\n\n${lines.join('\n')}\n\nClick to pick one and show its terminal.`,
  };
}
