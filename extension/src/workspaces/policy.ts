// A workspace's policy when its config file asks for less, and its root when the folder there is not the one
// registered, as plain data: the notifications that ask a person (Apply / Keep current policy; Adopt Folder), the rows
// under the workspace that keep showing the state, and the modal questions of the commands. The daemon decides what
// is a weakening and holds it; this module only repeats what it says (pendingPolicy, rootProblem) and never decides
// that a change is safe.
// This module must not import 'vscode'.
import { TreeItemContext, WorkspaceConfigRelativePath } from '../constants';
import type { PendingPolicy, WorkspaceInfo, WorkspaceRootProblem } from '../protocol/generated';
import { codeSpan, escapeMarkdown, type WorkspaceRow } from './presentation';

/** The buttons of a pending-policy notification. */
export const PolicyActions = {
  Apply: 'Apply',
  Keep: 'Keep current policy',
} as const;

/** The buttons of a root-problem notification. */
export const RootActions = {
  Adopt: 'Adopt Folder',
  ShowAuditLog: 'Show Audit Log',
} as const;

export type PolicyAction = (typeof PolicyActions)[keyof typeof PolicyActions];
export type RootAction = (typeof RootActions)[keyof typeof RootActions];

/** "lowers its tier strict → standard; adds curl to allowed_commands": the daemon's lines, in its order. */
export function changesText(pending: PendingPolicy): string {
  return pending.changes.join('; ');
}

/** One notification a window shows once: about a pending change, or about a replaced or missing root. */
export type PolicyPrompt =
  | { readonly kind: 'policy'; readonly workspaceId: string; readonly key: string; readonly message: string; readonly actions: readonly PolicyAction[]; readonly fingerprint: string }
  | { readonly kind: 'root'; readonly workspaceId: string; readonly key: string; readonly message: string; readonly actions: readonly RootAction[] };

/**
 * "Workspace B's .orchflow/workspace.json lowers its tier strict → standard.", with Apply and Keep current policy;
 * undefined when nothing is pending, or when a person already kept the current policy (the row still shows it).
 */
export function pendingPolicyPrompt(workspace: WorkspaceInfo): PolicyPrompt | undefined {
  const pending = workspace.pendingPolicy;
  if (!pending || pending.rejectedAt) {
    return undefined;
  }
  return {
    kind: 'policy',
    workspaceId: workspace.id,
    key: `${workspace.id}:policy:${pending.fingerprint}`,
    message: `Workspace ${workspace.name}'s ${WorkspaceConfigRelativePath} ${changesText(pending)}.`,
    actions: [PolicyActions.Apply, PolicyActions.Keep],
    fingerprint: pending.fingerprint,
  };
}

/** "Workspace B: root replaced: …", with Adopt Folder when another folder is there; undefined when the root is fine. */
export function rootProblemPrompt(workspace: WorkspaceInfo): PolicyPrompt | undefined {
  const problem = workspace.rootProblem;
  if (!problem) {
    return undefined;
  }
  return {
    kind: 'root',
    workspaceId: workspace.id,
    key: `${workspace.id}:root:${problem.kind}:${problem.found ?? ''}`,
    message: `Workspace ${workspace.name}: ${problem.message}. Nothing is launched in it, and its last policy holds.`,
    actions: problem.kind === 'replaced' ? [RootActions.Adopt, RootActions.ShowAuditLog] : [RootActions.ShowAuditLog],
  };
}

/**
 * Decides which prompts a window shows: each pending change and each root problem once, when it first appears (also
 * in the list read on connecting: it asks a person, who may have been away). A state that goes and comes back is
 * shown again.
 */
export class PromptTracker {
  private shown = new Set<string>();

  /** The prompts of these workspaces not shown yet; remembers them as shown. */
  next(workspaces: readonly WorkspaceInfo[]): PolicyPrompt[] {
    const current = workspaces.flatMap((w) => [rootProblemPrompt(w), pendingPolicyPrompt(w)]).filter((p): p is PolicyPrompt => p !== undefined);
    const fresh = current.filter((p) => !this.shown.has(p.key));
    this.shown = new Set(current.map((p) => p.key));
    return fresh;
  }
}

// ---- Rows under the workspace ----

/** "Policy change pending": what the config file asks for and the daemon holds, until a person answers. */
export type PendingPolicyNode = WorkspaceRow<'pendingPolicy'>;

/** "Root replaced" or "Root missing": the folder at the root path is not the workspace's. */
export type RootProblemNode = WorkspaceRow<'rootProblem'>;

function when(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function pendingPolicyNode(workspace: WorkspaceInfo): PendingPolicyNode | undefined {
  const pending = workspace.pendingPolicy;
  if (!pending) {
    return undefined;
  }
  const rejected = pending.rejectedAt != null;
  const security = workspace.security;
  const tooltip = [
    `**${escapeMarkdown(workspace.name)} › ${rejected ? 'Policy change kept out' : 'Policy change pending'}**`,
    `Its ${codeSpan(WorkspaceConfigRelativePath)} asks for a weaker policy (seen ${escapeMarkdown(when(pending.seenAt))}). It:`,
    pending.changes.map((c) => `- ${escapeMarkdown(c)}`).join('\n'),
    `Until a person applies it, every launch keeps the policy in force: tier ${escapeMarkdown(security.tier)}, network ${escapeMarkdown(security.network)}.`,
    rejected
      ? `${escapeMarkdown(pending.rejectedBy ?? 'A person')} kept the current policy on ${escapeMarkdown(when(pending.rejectedAt ?? ''))}; it can still be applied. The row goes when the file changes again.`
      : 'Apply it, or keep the current policy (the file stays as it is). A process of a workspace cannot answer this itself.',
  ].join('\n\n');
  return {
    kind: 'pendingPolicy',
    workspaceId: workspace.id,
    label: rejected ? 'Policy change kept out' : 'Policy change pending',
    description: changesText(pending),
    tooltip,
    icon: rejected ? { id: 'shield' } : { id: 'shield', color: 'problemsWarningIcon.foreground' },
    contextValue: [TreeItemContext.PendingPolicy, ...(rejected ? [TreeItemContext.TagRejected] : [])].join(' '),
  };
}

export function rootProblemNode(workspace: WorkspaceInfo): RootProblemNode | undefined {
  const problem = workspace.rootProblem;
  if (!problem) {
    return undefined;
  }
  const tooltip = [
    `**${escapeMarkdown(workspace.name)} › ${problem.kind === 'replaced' ? 'Root replaced' : 'Root missing'}**`,
    escapeMarkdown(`${problem.message}.`),
    `Registered: ${escapeMarkdown(problem.registered)} · found: ${escapeMarkdown(problem.found ?? 'nothing')} · seen ${escapeMarkdown(when(problem.seenAt))}`,
    'Its config file is not read, its last policy holds, and nothing is launched in it. Click for the audit log.',
  ].join('\n\n');
  return {
    kind: 'rootProblem',
    workspaceId: workspace.id,
    label: problem.kind === 'replaced' ? 'Root replaced' : 'Root missing',
    description: rootProblemDescription(problem),
    tooltip,
    icon: { id: 'error', color: 'problemsErrorIcon.foreground' },
    contextValue: `${TreeItemContext.RootProblem} ${problem.kind === 'replaced' ? TreeItemContext.TagReplaced : TreeItemContext.TagMissing}`,
  };
}

function rootProblemDescription(problem: WorkspaceRootProblem): string {
  return problem.kind === 'replaced' ? `another folder is at the path (${problem.found ?? 'unknown'}); launches refused` : 'nothing at the path; launches refused';
}

// ---- The commands' questions ----

export interface ModalQuestion {
  readonly message: string;
  readonly detail: string;
  readonly button: string;
}

/** Apply Pending Policy Change from a row or the palette asks first: the notification's button is already an answer. */
export function applyQuestion(workspace: WorkspaceInfo): ModalQuestion | undefined {
  const pending = workspace.pendingPolicy;
  if (!pending) {
    return undefined;
  }
  return {
    message: `Apply the weaker policy of workspace ${workspace.name}?`,
    detail: `Its ${WorkspaceConfigRelativePath} ${changesText(pending)}. Processes already running keep the isolation they started with.`,
    button: PolicyActions.Apply,
  };
}

export function adoptQuestion(workspace: WorkspaceInfo): ModalQuestion | undefined {
  const problem = workspace.rootProblem;
  if (problem?.kind !== 'replaced') {
    return undefined;
  }
  return {
    message: `Adopt the folder now at ${workspace.rootPath} as the root of workspace ${workspace.name}?`,
    detail: `It is not the folder that was registered (registered: ${problem.registered}; found: ${problem.found ?? 'unknown'}). Its ${WorkspaceConfigRelativePath} is read then, and anything in it that weakens the policy still waits for you.`,
    button: RootActions.Adopt,
  };
}

/** What the status bar says after a decision made in this window. */
export function decisionMessage(workspace: WorkspaceInfo, reject: boolean): string {
  return reject
    ? `Kept the current policy of ${workspace.name} (tier ${workspace.security.tier}).`
    : `Applied the policy of ${workspace.name}: ${workspace.isolation.summary}.`;
}
