// What Orchflow terminals are called, how they look and which ones this window shows, as plain decisions.
// This module must not import 'vscode'.
import type { TerminalInfo, TerminalPurpose, TerminalStatus } from '../protocol/generated';

/** Every purpose, in the order the New Terminal quick pick offers them. */
export const Purposes: readonly TerminalPurpose[] = ['shell', 'build', 'test', 'repl', 'agent'];

export interface PurposeView {
  readonly label: string;
  /** A codicon id. */
  readonly icon: string;
  /** The terminal tab's colour, a theme color id; undefined keeps the default. */
  readonly color: string | undefined;
  readonly description: string;
}

const PurposeViews: Record<TerminalPurpose, PurposeView> = {
  shell: { label: 'Shell', icon: 'terminal', color: undefined, description: "An interactive login shell in the workspace's root" },
  build: { label: 'Build', icon: 'tools', color: 'terminal.ansiYellow', description: 'For builds and watchers' },
  test: { label: 'Test', icon: 'beaker', color: 'terminal.ansiCyan', description: 'For test runs' },
  repl: { label: 'REPL', icon: 'debug-console', color: 'terminal.ansiBlue', description: 'For a language REPL or a database console' },
  agent: { label: 'Agent', icon: 'hubot', color: 'terminal.ansiMagenta', description: 'For an AI coding agent' },
};

export function purposeView(purpose: TerminalPurpose): PurposeView {
  return PurposeViews[purpose] ?? PurposeViews.shell;
}

/** The separator between the workspace and the terminal in a terminal's name. */
export const TitleSeparator = ' › ';

/** "Shop API › shell 1": the VS Code terminal's name. */
export function terminalTitle(workspaceName: string, terminalName: string): string {
  return `${workspaceName}${TitleSeparator}${terminalName}`;
}

export function isRunning(terminal: Pick<TerminalInfo, 'status'>): boolean {
  return terminal.status === 'running';
}

/** True when the terminal ended badly: a non-zero exit code, a signal, or lost with the daemon. */
export function endedWithError(terminal: Pick<TerminalInfo, 'status' | 'exitCode' | 'signal'>): boolean {
  switch (terminal.status) {
    case 'running':
    case 'killed':
      return false;
    case 'lost':
      return true;
    case 'exited':
      return (terminal.exitCode != null && terminal.exitCode !== 0) || terminal.signal != null;
  }
}

/** "running", "exited 0", "exited (signal 9)", "killed", "lost". */
export function statusText(terminal: Pick<TerminalInfo, 'status' | 'exitCode' | 'signal'>): string {
  const status: TerminalStatus = terminal.status;
  if (status === 'exited') {
    if (terminal.exitCode != null) {
      return `exited ${terminal.exitCode}`;
    }
    if (terminal.signal != null) {
      return `exited (signal ${terminal.signal})`;
    }
  }
  return status;
}

/** The tree row's description: the status, then the agent when one drives the terminal. */
export function terminalDescription(terminal: Pick<TerminalInfo, 'status' | 'exitCode' | 'signal' | 'agentId'>): string {
  return terminal.agentId ? `${statusText(terminal)} · agent: ${terminal.agentId}` : statusText(terminal);
}

const Dim = '\x1b[2m';
const Reset = '\x1b[0m';

/** A line written into the terminal by Orchflow itself (not by the process), dimmed, on a line of its own. */
export function noticeLine(text: string): string {
  return `\r\n${Dim}[${text}]${Reset}\r\n`;
}

/** What the terminal shows once its process is gone, as a local terminal does. */
export function endedNotice(terminal: Pick<TerminalInfo, 'status' | 'exitCode' | 'signal'>): string | undefined {
  switch (terminal.status) {
    case 'running':
      return undefined;
    case 'exited':
      if (terminal.exitCode != null) {
        return `process exited with code ${terminal.exitCode}`;
      }
      return terminal.signal != null ? `process exited with signal ${terminal.signal}` : 'process exited';
    case 'killed':
      return 'process killed';
    case 'lost':
      return 'terminal lost: the Orchflow daemon stopped while it ran';
  }
}

export interface WorkspaceContext {
  readonly name: string;
  readonly rootPath: string;
  readonly namespace: string;
}

/** "3 terminals", "1 terminal". */
export function terminalCount(count: number): string {
  return `${count} terminal${count === 1 ? '' : 's'}`;
}

/** "── Shop API · /projects/shop · namespace shop · 3 terminals ──": the context line of the terminal group view. */
export function groupHeader(workspace: WorkspaceContext, count: number): string {
  return `── ${workspace.name} · ${workspace.rootPath} · namespace ${workspace.namespace} · ${terminalCount(count)} ──`;
}

/** The header as written at the top of each terminal of a group: dimmed, then a new line. */
export function groupHeaderLine(workspace: WorkspaceContext, count: number): string {
  return `${Dim}${groupHeader(workspace, count)}${Reset}\r\n`;
}

/** Oldest first, then by name: the order of the tree, the quick picks and the group view. */
export function compareTerminals(a: TerminalInfo, b: TerminalInfo): number {
  return a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id.localeCompare(b.id);
}

/**
 * The terminals a window shows again after it (re)connects, for example after a window reload: every running
 * terminal of the workspaces whose folders are open in the window, unless the window shows it already.
 * Ended ones are not brought back: the tree lists them, and Show opens one.
 */
export function terminalsToReattach(
  terminals: readonly TerminalInfo[],
  openWorkspaceIds: ReadonlySet<string>,
  shownIds: ReadonlySet<string>,
): TerminalInfo[] {
  return terminals.filter((t) => isRunning(t) && openWorkspaceIds.has(t.workspaceId) && !shownIds.has(t.id)).sort(compareTerminals);
}

export type CloseAction = 'detach' | 'kill';

export function closeActionFrom(setting: unknown): CloseAction {
  return setting === 'kill' ? 'kill' : 'detach';
}
