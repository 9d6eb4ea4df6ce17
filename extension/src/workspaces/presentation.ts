// How workspaces look: tree rows, tooltips, quick pick entries and the status bar, as plain data.
// The VS Code adapters (workspacesTree.ts, statusBar.ts, commands.ts) turn these into TreeItems and the like;
// keeping the decisions here lets the unit tests check them without VS Code.
// This module must not import 'vscode'.
import { TreeItemContext } from '../constants';
import { formatDiagnostic } from '../protocol/errors';
import { SecurityTierValues, type Diagnostic, type IsolationFeature, type WorkspaceHibernation, type WorkspaceInfo, type WorkspaceIsolation } from '../protocol/generated';
import type { FolderMapping } from './store';

export interface IconView {
  /** A codicon id, such as 'root-folder'. */
  readonly id: string;
  /** A theme color id, or undefined for the default. */
  readonly color?: string;
}

/** A row of the Workspaces view below a workspace (a part of it, a terminal, an agent, a figure), as the tree shows it. */
export interface WorkspaceRow<K extends string> {
  readonly kind: K;
  readonly workspaceId: string;
  readonly label: string;
  readonly description: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly icon: IconView;
  readonly contextValue: string;
}

/** A row under a workspace that groups or sums up one of its parts (Terminals, Agents, Isolation). */
export interface WorkspacePartRow<K extends string> extends WorkspaceRow<K> {
  readonly hasChildren: boolean;
}

export interface WorkspaceNode {
  readonly kind: 'workspace';
  readonly id: string;
  readonly label: string;
  readonly description: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly icon: IconView;
  readonly contextValue: string;
}

export interface UnmappedFolderNode {
  readonly kind: 'unmappedFolder';
  readonly path: string;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: IconView;
  readonly contextValue: string;
}

export type TreeNode = WorkspaceNode | UnmappedFolderNode;

export function errorDiagnostics(workspace: WorkspaceInfo): Diagnostic[] {
  return workspace.config.diagnostics.filter((d) => d.severity === 'error');
}

export function hasConfigErrors(workspace: WorkspaceInfo): boolean {
  return errorDiagnostics(workspace).length > 0;
}

/** "node · shop": the project type and the namespace, as the tree's description and the quick pick's. */
export function typeAndNamespace(workspace: WorkspaceInfo): string {
  return `${workspace.metadata.projectType} · ${workspace.namespace}`;
}

export const ActiveMarker = '● active';

/** Sizes with binary units, as the server's config files mean them: 4294967296 => "4 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = Math.round(value * 100) / 100;
  return `${rounded} ${units[unit]}`;
}

/** Escapes text for Markdown so that names and messages show as written. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}

/** A code span that survives backticks in the text. */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

export function limitsSummary(workspace: WorkspaceInfo): string {
  const l = workspace.metadata.resourceLimits;
  const parts = [
    `${l.maxAgents} agents`,
    `${l.terminalLimit} terminals`,
    `${l.processLimit} processes`,
    l.memoryLimitBytes == null ? 'no memory limit' : `${formatBytes(l.memoryLimitBytes)} memory`,
    `${l.cpuShares} CPU shares`,
  ];
  return parts.join(' · ');
}

export function vcsSummary(workspace: WorkspaceInfo): string {
  const vcs = workspace.metadata.vcs;
  if (!vcs) {
    return 'not a repository';
  }
  const where = vcs.branch ? `branch ${codeSpan(vcs.branch)}` : vcs.head ? `detached at ${codeSpan(vcs.head.slice(0, 12))}` : 'no commits';
  return `${escapeMarkdown(vcs.kind)}, ${where}, ${vcs.dirty ? 'uncommitted changes' : 'clean'}`;
}

/**
 * True when this machine enforces less than the workspace's config asks for (e.g. strict requested, standard kept).
 * The tiers are declared weakest first, and the daemon compares them in that order too.
 */
export function isolationBelowRequested(isolation: Pick<WorkspaceIsolation, 'requestedTier' | 'enforcedTier'>): boolean {
  return SecurityTierValues.indexOf(isolation.enforcedTier) < SecurityTierValues.indexOf(isolation.requestedTier);
}

/** The promises of the workspace's tier that are not kept here. */
export function unenforcedFeatures(isolation: WorkspaceIsolation): IsolationFeature[] {
  return isolation.features.filter((f) => !f.enforced);
}

/** Why a promise is not kept, as the daemon says it, without the "NOT enforced:" it may start with (the caller says that). */
export function unenforcedReason(feature: IsolationFeature): string {
  return feature.detail.replace(/^NOT enforced:\s*/, '');
}

/**
 * The isolation paragraphs of a tooltip: the daemon's summary as it wrote it, the promises kept (by name), each one
 * not kept with its reason, and the notes on what even the enforced tier does not cover. Nothing here is decided by
 * the extension: it only repeats what the daemon reports, so it never claims more than is enforced.
 */
export function isolationParagraphs(isolation: WorkspaceIsolation): string[] {
  const below = isolationBelowRequested(isolation);
  const paragraphs = [`${below ? '$(warning) ' : ''}Isolation: **${escapeMarkdown(isolation.summary)}**`];
  const kept = isolation.features.filter((f) => f.enforced);
  if (kept.length > 0) {
    paragraphs.push(`$(check) Enforced: ${kept.map((f) => codeSpan(f.name)).join(', ')}`);
  }
  const notKept = unenforcedFeatures(isolation);
  if (notKept.length > 0) {
    paragraphs.push(`$(warning) **NOT enforced:**\n\n${notKept.map((f) => `- ${codeSpan(f.name)}: ${escapeMarkdown(unenforcedReason(f))}`).join('\n')}`);
  }
  if (isolation.reasons.length > 0) {
    paragraphs.push(`Not covered:\n\n${isolation.reasons.map((r) => `- ${escapeMarkdown(r)}`).join('\n')}`);
  }
  return paragraphs;
}

/** "suspended since 2025-01-01 12:00:00 UTC by vscode (cgroup freezer, 3 processes stopped)". */
export function hibernationText(hibernation: WorkspaceHibernation): string {
  const since = new Date(hibernation.since);
  const when = Number.isNaN(since.getTime()) ? hibernation.since : `${since.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  const by = hibernation.by === 'idle' ? 'hibernation after being idle' : hibernation.by;
  const processes = `${hibernation.processes} process${hibernation.processes === 1 ? '' : 'es'} stopped`;
  return `suspended since ${when} by ${by} (${hibernation.mechanism}, ${processes})`;
}

export const SuspendedMarker = 'suspended';

export const PolicyPendingMarker = 'policy change pending';

/** The tooltip of a workspace row and of the status bar item: everything worth knowing at a glance. */
export function workspaceTooltip(workspace: WorkspaceInfo, state: { active: boolean; open: boolean }): string {
  const flags = [state.active ? 'active' : undefined, state.open ? 'open in this window' : undefined, workspace.isDefault ? 'default' : undefined]
    .filter((f): f is string => f !== undefined)
    .join(', ');
  const paragraphs = [
    `**${escapeMarkdown(workspace.name)}**${flags ? ` — ${flags}` : ''}`,
    codeSpan(workspace.rootPath),
    `Type: ${escapeMarkdown(workspace.metadata.projectType)} · Namespace: ${codeSpan(workspace.namespace)} · Id: ${codeSpan(workspace.id)}`,
    `Git: ${vcsSummary(workspace)}`,
    ...(workspace.rootProblem ? [`$(error) **${escapeMarkdown(workspace.rootProblem.message)}.** Its config is not read, its last policy holds, and nothing is launched in it.`] : []),
    ...(workspace.pendingPolicy && !workspace.pendingPolicy.rejectedAt
      ? [`$(shield) **Policy change pending:** its config file ${escapeMarkdown(workspace.pendingPolicy.changes.join('; '))}. The current policy holds until you apply it.`]
      : []),
    ...(workspace.hibernation
      ? [`$(debug-pause) **${escapeMarkdown(hibernationText(workspace.hibernation))}**: its processes wait where they were; Resume Workspace (or typing into one of its terminals) continues them.`]
      : []),
    ...isolationParagraphs(workspace.isolation),
    `Limits: ${escapeMarkdown(limitsSummary(workspace))}`,
    workspace.config.path ? `Config: ${codeSpan(workspace.config.path)}` : 'Config: none (defaults apply)',
  ];
  const diagnostics = workspace.config.diagnostics;
  if (diagnostics.length > 0) {
    const errors = hasConfigErrors(workspace);
    paragraphs.push(
      `${errors ? '$(warning) Config errors' : 'Config warnings'}${errors ? ' (the last good config stays in force)' : ''}:\n\n` +
        diagnostics.map((d) => `- ${codeSpan(formatDiagnostic(d))}`).join('\n'),
    );
  }
  return paragraphs.join('\n\n');
}

export function workspaceContextValue(workspace: WorkspaceInfo, state: { active: boolean; open: boolean }): string {
  const tags: (string | undefined)[] = [
    TreeItemContext.Workspace,
    state.active ? TreeItemContext.TagActive : undefined,
    state.open ? TreeItemContext.TagOpen : undefined,
    workspace.isDefault ? TreeItemContext.TagDefault : undefined,
    hasConfigErrors(workspace) ? TreeItemContext.TagConfigErrors : undefined,
    workspace.hibernation ? TreeItemContext.TagSuspended : undefined,
    workspace.pendingPolicy && !workspace.pendingPolicy.rejectedAt ? TreeItemContext.TagPolicyPending : undefined,
    workspace.rootProblem ? (workspace.rootProblem.kind === 'replaced' ? TreeItemContext.TagRootReplaced : TreeItemContext.TagRootMissing) : undefined,
  ];
  return tags.filter((t): t is string => t !== undefined).join(' ');
}

export function workspaceIcon(workspace: WorkspaceInfo, open: boolean): IconView {
  // A root that is not the workspace's folder first: nothing can run there at all.
  if (workspace.rootProblem) {
    return { id: 'error', color: 'problemsErrorIcon.foreground' };
  }
  // Suspended next: its processes are stopped, which matters more than anything else the row could say.
  if (workspace.hibernation) {
    return { id: 'debug-pause', color: 'charts.yellow' };
  }
  if (hasConfigErrors(workspace)) {
    return { id: 'warning', color: 'problemsWarningIcon.foreground' };
  }
  // Green like the spec's switcher marks live workspaces: the shapes alone are too alike at tree-icon size.
  return open ? { id: 'root-folder-opened', color: 'charts.green' } : { id: 'root-folder' };
}

/**
 * Tree order: by name, case-insensitively, then id, with the built-in default workspace last (it holds what was
 * created without naming a workspace, not a project). It does not change when the active workspace does.
 */
export function compareWorkspaces(a: WorkspaceInfo, b: WorkspaceInfo): number {
  return Number(a.isDefault) - Number(b.isDefault) || a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id.localeCompare(b.id);
}

/**
 * A workspace row. "root replaced" (or missing), "policy change pending" and "suspended" follow the type and
 * namespace while they hold, then `agentsNote` ("2 agents, 1 needs input") when the workspace has live agents.
 */
export function workspaceNode(workspace: WorkspaceInfo, activeId: string | undefined, openIds: ReadonlySet<string>, agentsNote = ''): WorkspaceNode {
  const state = { active: workspace.id === activeId, open: openIds.has(workspace.id) };
  const base = [
    typeAndNamespace(workspace),
    workspace.rootProblem ? `root ${workspace.rootProblem.kind}` : '',
    workspace.pendingPolicy && !workspace.pendingPolicy.rejectedAt ? PolicyPendingMarker : '',
    workspace.hibernation ? SuspendedMarker : '',
    agentsNote,
  ]
    .filter((p) => p !== '')
    .join(' · ');
  return {
    kind: 'workspace',
    id: workspace.id,
    label: workspace.name,
    description: state.active ? `${base}  ${ActiveMarker}` : base,
    tooltip: workspaceTooltip(workspace, state),
    icon: workspaceIcon(workspace, state.open),
    contextValue: workspaceContextValue(workspace, state),
  };
}

export function basename(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i < 0 ? trimmed : trimmed.slice(i + 1);
}

export function unmappedFolderNode(path: string): UnmappedFolderNode {
  return {
    kind: 'unmappedFolder',
    path,
    label: basename(path),
    description: 'not an Orchflow workspace',
    tooltip: `${codeSpan(path)}\n\nThis folder is not an Orchflow workspace yet. Use **Create Workspace from Folder** to register it.`,
    icon: { id: 'folder', color: 'disabledForeground' },
    contextValue: TreeItemContext.UnmappedFolder,
  };
}

export interface TreeInput {
  readonly workspaces: readonly WorkspaceInfo[];
  readonly activeId: string | undefined;
  readonly folders: readonly FolderMapping[];
  /** Per workspace id, the note on its agents for its row (see workspaceNode). */
  readonly agentsNotes?: ReadonlyMap<string, string>;
}

/**
 * The rows of the Workspaces view: every registered workspace, then the window's folders that map to none.
 * When the window has folders and none of them maps to a workspace, the view is left empty so that its
 * welcome content ("This folder is not an Orchflow workspace yet. [Create Workspace from Folder]") shows.
 */
export function buildTree(input: TreeInput): TreeNode[] {
  const mapped = input.folders.filter((f) => f.workspaceId !== undefined);
  if (input.folders.length > 0 && mapped.length === 0) {
    return [];
  }
  const openIds = new Set(mapped.map((f) => f.workspaceId as string));
  const rows: TreeNode[] = [...input.workspaces].sort(compareWorkspaces).map((w) => workspaceNode(w, input.activeId, openIds, input.agentsNotes?.get(w.id)));
  for (const f of input.folders) {
    if (f.workspaceId === undefined) {
      rows.push(unmappedFolderNode(f.folder));
    }
  }
  return rows;
}

export interface WorkspacePickView {
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly detail: string;
}

/**
 * Entries of the Switch Workspace quick pick, in the spirit of the spec's switcher: the active workspace first
 * and marked, then those open in this window, then the rest by name.
 */
export function workspacePicks(workspaces: readonly WorkspaceInfo[], activeId: string | undefined, openIds: ReadonlySet<string>): WorkspacePickView[] {
  const rank = (w: WorkspaceInfo): number => (w.id === activeId ? 0 : openIds.has(w.id) ? 1 : 2);
  return [...workspaces]
    .sort((a, b) => rank(a) - rank(b) || compareWorkspaces(a, b))
    .map((w) => {
      const notes = [w.id === activeId ? ActiveMarker : undefined, openIds.has(w.id) && w.id !== activeId ? 'open in this window' : undefined, hasConfigErrors(w) ? 'config errors' : undefined];
      const note = notes.filter((n): n is string => n !== undefined).join(' · ');
      return {
        id: w.id,
        label: w.id === activeId ? `$(check) ${w.name}` : hasConfigErrors(w) ? `$(warning) ${w.name}` : w.name,
        description: note ? `${typeAndNamespace(w)} · ${note}` : typeAndNamespace(w),
        detail: w.rootPath,
      };
    });
}

export interface WorkspaceStatusView {
  readonly text: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly hasErrors: boolean;
  /** The active workspace gets less isolation here than its config asks for. */
  readonly isolationBelow: boolean;
}

/**
 * The status bar item while connected: the active workspace, or an invitation to pick one. A warning marker shows
 * when its config has errors or when this machine enforces less isolation than the config asks for; the tooltip
 * then starts with why, in the daemon's words.
 */
export function workspaceStatusView(active: WorkspaceInfo | undefined, openIds: ReadonlySet<string>): WorkspaceStatusView {
  if (!active) {
    return {
      text: '$(layers) Orchflow: no workspace',
      tooltip: 'No Orchflow workspace is active in this window. Click to switch to one.',
      hasErrors: false,
      isolationBelow: false,
    };
  }
  const errors = hasConfigErrors(active);
  const below = isolationBelowRequested(active.isolation);
  const warnings: string[] = [];
  if (below) {
    const reasons = active.isolation.reasons.length > 0 ? `\n\n${active.isolation.reasons.map((r) => `- ${escapeMarkdown(r)}`).join('\n')}` : '';
    warnings.push(
      `$(warning) **Less isolation than requested:** ${escapeMarkdown(active.isolation.summary)}. Its processes run with the ${escapeMarkdown(active.isolation.enforcedTier)} tier's protection only.${reasons}`,
    );
  }
  const marker = errors || below ? ' $(warning)' : '';
  return {
    text: `$(layers) ${active.name}${active.hibernation ? ` $(debug-pause) ${SuspendedMarker}` : ''}${marker}`,
    tooltip: [...warnings, workspaceTooltip(active, { active: true, open: openIds.has(active.id) }), 'Click to switch workspace.'].join('\n\n'),
    hasErrors: errors,
    isolationBelow: below,
  };
}
