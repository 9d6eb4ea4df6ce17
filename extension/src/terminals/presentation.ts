// How terminals look in the Workspaces tree and in quick picks, as plain data (the tree adapter and the commands
// turn it into TreeItems and QuickPickItems).
// This module must not import 'vscode'.
import { TreeItemContext } from '../constants';
import type { TerminalInfo, TerminalPurpose, WorkspaceInfo } from '../protocol/generated';
import { codeSpan, escapeMarkdown, type IconView, type WorkspacePartRow, type WorkspaceRow } from '../workspaces/presentation';
import { endedWithError, isRunning, Purposes, purposeView, statusText, terminalCount, terminalDescription } from './model';

/** The "Terminals (N)" row under a workspace. */
export type TerminalsGroupNode = WorkspacePartRow<'terminals'>;

/** One terminal under its workspace's Terminals row. */
export interface TerminalNode extends WorkspaceRow<'terminal'> {
  readonly id: string;
}

/** "2 running · 1 exited", or "none". */
export function terminalsSummary(terminals: readonly TerminalInfo[]): string {
  if (terminals.length === 0) {
    return 'none';
  }
  const running = terminals.filter(isRunning).length;
  const ended = terminals.length - running;
  return [running > 0 ? `${running} running` : undefined, ended > 0 ? `${ended} ended` : undefined].filter((p): p is string => p !== undefined).join(' · ');
}

export function terminalsGroupNode(workspace: WorkspaceInfo, terminals: readonly TerminalInfo[]): TerminalsGroupNode {
  const count = terminals.length;
  const tags: string[] = [TreeItemContext.Terminals];
  if (count === 0) {
    tags.push(TreeItemContext.TagEmpty);
  }
  const tooltip = [
    `**${escapeMarkdown(workspace.name)} › Terminals**`,
    `Root: ${codeSpan(workspace.rootPath)}`,
    `Namespace: ${codeSpan(workspace.namespace)} · ${escapeMarkdown(terminalCount(count))} (${escapeMarkdown(terminalsSummary(terminals))})`,
    count > 0
      ? '**Open Terminal Group** shows them side by side in the terminal panel.'
      : '**New Terminal** starts one in this workspace; it keeps running when the window closes.',
  ].join('\n\n');
  return {
    kind: 'terminals',
    workspaceId: workspace.id,
    label: `Terminals (${count})`,
    description: count === 0 ? 'none' : `${terminalsSummary(terminals)} · ${workspace.namespace}`,
    tooltip,
    icon: { id: 'terminal' },
    contextValue: tags.join(' '),
    hasChildren: count > 0,
  };
}

export function terminalIcon(terminal: TerminalInfo): IconView {
  const icon = purposeView(terminal.purpose).icon;
  if (endedWithError(terminal)) {
    return { id: icon, color: 'errorForeground' };
  }
  return isRunning(terminal) ? { id: icon } : { id: icon, color: 'disabledForeground' };
}

export function terminalTooltip(terminal: TerminalInfo, workspaceName: string): string {
  const purpose = purposeView(terminal.purpose).label;
  const facts = [
    `Purpose: ${escapeMarkdown(purpose)}`,
    terminal.agentId ? `Agent: ${codeSpan(terminal.agentId)}` : undefined,
    terminal.pid != null ? `PID ${terminal.pid}` : undefined,
    `${terminal.columns}×${terminal.rows}`,
    `${terminal.attachedClients} attached`,
  ].filter((f): f is string => f !== undefined);
  const paragraphs = [
    `**${escapeMarkdown(workspaceName)} › ${escapeMarkdown(terminal.name)}** — ${escapeMarkdown(statusText(terminal))}`,
    facts.join(' · '),
    `Command: ${codeSpan(terminal.command.join(' '))}`,
    `Directory: ${codeSpan(terminal.cwd)}`,
    `Id: ${codeSpan(terminal.id)} · Namespace: ${codeSpan(terminal.namespace)}`,
    `Started ${escapeMarkdown(terminal.createdAt)}${terminal.endedAt ? ` · ended ${escapeMarkdown(terminal.endedAt)}` : ''}`,
  ];
  return paragraphs.join('\n\n');
}

export function terminalNode(terminal: TerminalInfo, workspaceName: string): TerminalNode {
  return {
    kind: 'terminal',
    id: terminal.id,
    workspaceId: terminal.workspaceId,
    label: terminal.name,
    description: terminalDescription(terminal),
    tooltip: terminalTooltip(terminal, workspaceName),
    icon: terminalIcon(terminal),
    contextValue: `${TreeItemContext.Terminal} ${isRunning(terminal) ? TreeItemContext.TagRunning : TreeItemContext.TagEnded}`,
  };
}

export interface TerminalPickView {
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly detail: string;
}

/**
 * Entries of a quick pick of terminals: those of `firstWorkspaceId` (the active workspace) first, then by
 * workspace name; within a workspace, oldest first.
 */
export function terminalPicks(
  terminals: readonly TerminalInfo[],
  workspaceName: (id: string) => string,
  firstWorkspaceId?: string,
): TerminalPickView[] {
  const rank = (t: TerminalInfo): number => (t.workspaceId === firstWorkspaceId ? 0 : 1);
  return [...terminals]
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        workspaceName(a.workspaceId).localeCompare(workspaceName(b.workspaceId), undefined, { sensitivity: 'base' }) ||
        a.createdAt.localeCompare(b.createdAt),
    )
    .map((t) => ({
      id: t.id,
      label: `$(${purposeView(t.purpose).icon}) ${t.name}`,
      description: `${workspaceName(t.workspaceId)} · ${terminalDescription(t)}`,
      detail: `${t.command.join(' ')} — ${t.cwd}`,
    }));
}

export interface PurposePickView {
  readonly purpose: TerminalPurpose;
  readonly label: string;
  readonly description: string;
}

export function purposePicks(): PurposePickView[] {
  return Purposes.map((purpose) => {
    const view = purposeView(purpose);
    return { purpose, label: `$(${view.icon}) ${view.label}`, description: view.description };
  });
}
