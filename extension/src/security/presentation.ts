// How a workspace's isolation, resources, secrets, audit log and notices look, as plain data: the Isolation row and
// one row per promise of its tier, the Resources row, the secret quick picks and messages, the audit log document
// and the notifications of orchflow/workspace/notice.
// The isolation texts repeat what the daemon reports (its summary, each promise enforced or not, its reasons);
// nothing here decides that something is enforced, so nothing here can claim more than the daemon does.
// Figures are the daemon's measurements; where it has none, the text says so ("—"), never a made-up number.
// This module must not import 'vscode'.
import { formatCpu, formatRam, formatTime, NotMeasured } from '../agents/presentation';
import { TreeItemContext } from '../constants';
import {
  Limits,
  type AuditEntry,
  type AuditKind,
  type IsolationFeature,
  type NoticeLevel,
  type SecretInfo,
  type SecretListResult,
  type WorkspaceAuditResult,
  type WorkspaceInfo,
  type WorkspaceNotice,
  type WorkspaceResources,
  type WorkspaceSuspendResult,
} from '../protocol/generated';
import {
  escapeMarkdown,
  formatBytes,
  hibernationText,
  isolationBelowRequested,
  isolationParagraphs,
  unenforcedFeatures,
  unenforcedReason,
  type IconView,
  type WorkspacePartRow,
  type WorkspaceRow,
} from '../workspaces/presentation';

// ---- The Isolation row and its promises ----

/** The "Isolation" row under a workspace: the daemon's summary, and a warning when less than requested is enforced. */
export type IsolationNode = WorkspacePartRow<'isolation'>;

/** One promise of the workspace's tier, under its Isolation row. */
export interface IsolationFeatureNode extends WorkspaceRow<'isolationFeature'> {
  readonly name: string;
}

export function isolationIcon(workspace: WorkspaceInfo): IconView {
  if (isolationBelowRequested(workspace.isolation)) {
    return { id: 'workspace-untrusted', color: 'problemsWarningIcon.foreground' };
  }
  // The tier is kept, but one of its promises is not (CPU weights without control groups, for example).
  if (unenforcedFeatures(workspace.isolation).length > 0) {
    return { id: 'shield', color: 'list.warningForeground' };
  }
  return { id: 'shield' };
}

export function isolationNode(workspace: WorkspaceInfo): IsolationNode {
  const isolation = workspace.isolation;
  const below = isolationBelowRequested(isolation);
  const tags: string[] = [TreeItemContext.Isolation];
  if (below) {
    tags.push(TreeItemContext.TagBelowRequested);
  }
  const tooltip = [
    `**${escapeMarkdown(workspace.name)} › Isolation** — as enforced on this machine`,
    ...isolationParagraphs(isolation),
    `Requested: ${escapeMarkdown(isolation.requestedTier)} (security.tier) · enforced: ${escapeMarkdown(isolation.enforcedTier)} · mechanism: ${escapeMarkdown(mechanismText(isolation.mechanism))}`,
    'Expand the row for each promise and how it is kept; click it for the audit log (refusals, launches under less isolation than requested, limits acting).',
  ].join('\n\n');
  return {
    kind: 'isolation',
    workspaceId: workspace.id,
    label: 'Isolation',
    description: isolation.summary,
    tooltip,
    icon: isolationIcon(workspace),
    contextValue: tags.join(' '),
    hasChildren: isolation.features.length > 0,
  };
}

function mechanismText(mechanism: WorkspaceInfo['isolation']['mechanism']): string {
  switch (mechanism) {
    case 'none':
      return 'no operating-system sandbox';
    case 'landlock':
      return 'Landlock';
    default:
      return mechanism;
  }
}

/**
 * "enforced — how", "NOT enforced — why": the row of one promise. The daemon starts some reasons with "NOT enforced:"
 * itself; the description does not say it twice (the tooltip keeps the detail as written).
 */
export function featureDescription(feature: IsolationFeature): string {
  const state = feature.enforced ? 'enforced' : 'NOT enforced';
  const detail = feature.enforced ? feature.detail : unenforcedReason(feature);
  return `${state} — ${detail}`;
}

export function isolationFeatureNode(workspace: WorkspaceInfo, feature: IsolationFeature): IsolationFeatureNode {
  const state = feature.enforced ? 'enforced' : 'NOT enforced';
  return {
    kind: 'isolationFeature',
    workspaceId: workspace.id,
    name: feature.name,
    label: feature.name,
    description: featureDescription(feature),
    tooltip: `**${escapeMarkdown(feature.name)}** — ${feature.enforced ? state : `**${state}**`}\n\n${escapeMarkdown(feature.detail)}`,
    icon: feature.enforced ? { id: 'check', color: 'testing.iconPassed' } : { id: 'warning', color: 'problemsWarningIcon.foreground' },
    contextValue: `${TreeItemContext.IsolationFeature} ${feature.enforced ? TreeItemContext.TagEnforced : TreeItemContext.TagNotEnforced}`,
  };
}

// ---- The Resources row ----

/** The "Resources" row under a workspace: what its processes use now, as the daemon measured it. */
export type ResourcesNode = WorkspaceRow<'resources'>;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}


/** Resident RAM: "120 MiB", or "120 MiB of 2 GiB" when the workspace has a memory_limit. */
function ramWithLimit(bytes: number, limit: number | null | undefined): string {
  const used = formatRam(bytes);
  return limit == null ? used : `${used} of ${formatBytes(limit)}`;
}

/**
 * The row's description: "CPU 3% · 120 MiB of 2 GiB · 4 processes"; "nothing running" when no process of the
 * workspace runs; "not measured yet" before the daemon sent figures for it.
 */
export function resourcesDescription(workspace: WorkspaceInfo, figures: WorkspaceResources | undefined): string {
  if (!figures) {
    return `not measured yet (${NotMeasured})`;
  }
  if (figures.processes === 0 && figures.terminals === 0) {
    return 'nothing running';
  }
  return [formatCpu(figures.cpuPercent), ramWithLimit(figures.memoryBytes, workspace.metadata.resourceLimits.memoryLimitBytes), plural(figures.processes, 'process', 'processes')].join(
    ' · ',
  );
}

export function resourcesTooltip(workspace: WorkspaceInfo, figures: WorkspaceResources | undefined): string {
  const limits = workspace.metadata.resourceLimits;
  const paragraphs = [`**${escapeMarkdown(workspace.name)} › Resources** — measured by the daemon from /proc, refreshed every second while anything runs`];
  if (!figures) {
    paragraphs.push(`Not measured yet (${NotMeasured}): the daemon has sent no figures for this workspace.`);
  } else {
    const cpu = figures.cpuPercent == null ? `CPU ${NotMeasured} (not measured twice yet)` : `${formatCpu(figures.cpuPercent)} (100% is one core)`;
    const ram =
      limits.memoryLimitBytes == null
        ? `memory ${formatRam(figures.memoryBytes)} (no memory_limit)`
        : `memory ${formatRam(figures.memoryBytes)} of ${formatBytes(limits.memoryLimitBytes)} (${Math.round((figures.memoryBytes / limits.memoryLimitBytes) * 100)}%)`;
    paragraphs.push(
      [
        cpu,
        figures.processes === 0 && figures.terminals === 0 ? 'memory 0 (nothing running)' : ram,
        `${plural(figures.processes, 'process', 'processes')} of ${limits.processLimit}`,
        `${plural(figures.terminals, 'running terminal')} of ${limits.terminalLimit}`,
        `${plural(figures.agents, 'active agent')} of ${limits.maxAgents}${figures.queuedAgents > 0 ? ` (${figures.queuedAgents} queued)` : ''}`,
      ]
        .map(escapeMarkdown)
        .join(' · '),
    );
  }
  if (workspace.hibernation) {
    paragraphs.push(`$(debug-pause) ${escapeMarkdown(hibernationText(workspace.hibernation))}.`);
  }
  const ramRule =
    limits.memoryLimitBytes == null
      ? ''
      : ` Above 80% of memory_limit the newest running agent is paused; at the limit the one that pushed the workspace over is stopped, with a notification saying why.`;
  paragraphs.push(`Memory is resident memory summed over the processes of its running terminals.${ramRule}`);
  return paragraphs.join('\n\n');
}

export function resourcesNode(workspace: WorkspaceInfo, figures: WorkspaceResources | undefined): ResourcesNode {
  const tags: string[] = [TreeItemContext.Resources];
  if (workspace.hibernation) {
    tags.push(TreeItemContext.TagSuspended);
  }
  return {
    kind: 'resources',
    workspaceId: workspace.id,
    label: 'Resources',
    description: resourcesDescription(workspace, figures),
    tooltip: resourcesTooltip(workspace, figures),
    icon: workspace.hibernation ? { id: 'debug-pause', color: 'charts.yellow' } : { id: 'pulse' },
    contextValue: tags.join(' '),
  };
}

/** What a Suspend or Resume from this window did, for the status bar: "Suspended Shop API: 3 processes stopped (cgroup freezer)". */
export function suspendMessage(workspaceName: string, result: WorkspaceSuspendResult, suspended: boolean): string {
  const processes = plural(result.processes, 'process', 'processes');
  const how = suspended && result.workspace.hibernation ? ` (${result.workspace.hibernation.mechanism})` : '';
  const agents = result.agents.length > 0 ? `; agents ${result.agents.join(', ')} ${suspended ? 'paused' : 'resumed'}` : '';
  return suspended ? `Suspended ${workspaceName}: ${processes} stopped${how}${agents}` : `Resumed ${workspaceName}: ${processes} continued${agents}`;
}

// ---- Secrets ----

const SecretNamePattern = new RegExp(Limits.SecretNamePattern);

/** What is wrong with a secret's name, by the daemon's rule: an environment variable that Orchflow does not set. */
export function secretNameProblem(name: string): string | undefined {
  if (name.length === 0) {
    return 'Type the name of the environment variable, e.g. GITHUB_TOKEN.';
  }
  if (!SecretNamePattern.test(name)) {
    return "Secrets are environment variables: letters, digits and '_', not starting with a digit, e.g. GITHUB_TOKEN.";
  }
  if (name.startsWith(Limits.SecretReservedPrefix)) {
    return `Variables starting with ${Limits.SecretReservedPrefix} are set by Orchflow itself: choose another name.`;
  }
  return undefined;
}

/** The daemon's longest secret value. */
export const MaxSecretChars = Limits.SecretValueMaxChars;

/** What is wrong with a typed value, without ever repeating it. */
export function secretValueProblem(value: string): string | undefined {
  if (value.length === 0) {
    return 'A secret needs a value.';
  }
  if (value.length > MaxSecretChars) {
    return `At most ${MaxSecretChars.toLocaleString('en-US')} characters: keep large credentials in a file and put its path in the secret.`;
  }
  if (value.includes('\0')) {
    return 'A secret cannot contain a NUL character.';
  }
  return undefined;
}

export interface SecretPickView {
  readonly name: string;
  /** Only secrets set with Orchflow can be removed from here; a secrets_file's are removed by editing the file. */
  readonly removable: boolean;
  readonly label: string;
  readonly description: string;
  readonly detail: string;
}

/** One secret as a quick pick row: the name, the daemon's masked hint (never the value), and where it comes from. */
export function secretPick(secret: SecretInfo, file: string | null | undefined): SecretPickView {
  const where =
    secret.source === 'daemon'
      ? `set with Orchflow${secret.updatedAt ? ` on ${formatTime(secret.updatedAt)}` : ''}`
      : `from ${file ?? 'the secrets_file'}${secret.overridden ? ', hidden by the secret of the same name set with Orchflow' : ''}`;
  return {
    name: secret.name,
    removable: secret.source === 'daemon',
    label: `$(${secret.overridden ? 'circle-slash' : 'key'}) ${secret.name}`,
    description: secret.masked,
    detail: where,
  };
}

/** Every secret of a workspace, by name; the daemon's before a file's of the same name. */
export function secretPicks(result: SecretListResult): SecretPickView[] {
  return [...result.secrets]
    .sort((a, b) => a.name.localeCompare(b.name) || Number(a.source !== 'daemon') - Number(b.source !== 'daemon'))
    .map((s) => secretPick(s, result.file));
}

/** The lines of a secrets_file that could not be read, one per problem, with file, line and column. */
export function secretProblems(result: SecretListResult): string[] {
  return result.problems.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
}

export function secretSetMessage(workspaceName: string, secret: SecretInfo, replaced: boolean): string {
  return `${replaced ? 'Replaced' : 'Set'} secret ${secret.name} of ${workspaceName} (${secret.masked}). Processes started from now on get it; running ones keep what they had.`;
}

export function secretRemovedMessage(workspaceName: string, name: string): string {
  return `Removed secret ${name} from ${workspaceName}. Processes started from now on do not get it; running ones keep their copy.`;
}

export function noSecretsMessage(workspaceName: string, result: SecretListResult): string {
  const file = result.file ? ` Its secrets_file ${result.file} holds none either.` : '';
  return `${workspaceName} has no secret.${file} Set one with Orchflow: Set Secret... or \`orchflow secret set --workspace ID NAME\`.`;
}

// ---- The audit log document ----

const AuditKindText: Record<AuditKind, string> = {
  refused: 'refused',
  denied: 'denied',
  notEnforced: 'not enforced',
  policyChanged: 'policy changed',
  secret: 'secret',
  limit: 'limit',
};

const AuditKindWidth = Math.max(...Object.values(AuditKindText).map((t) => t.length));

/** One line of the audit log: time, kind, message, then the rule and the subject when there are. */
export function auditLine(entry: AuditEntry): string {
  const extra = [entry.rule ? `[${entry.rule}]` : undefined, entry.subject ? `(${entry.subject})` : undefined].filter((p): p is string => p !== undefined);
  return [formatTime(entry.at), AuditKindText[entry.kind].padEnd(AuditKindWidth), entry.message, ...extra].join('  ');
}

/** The audit log as a read-only document: a header that says what it is and when it was read, then the entries, newest last. */
export function auditDocumentText(workspace: Pick<WorkspaceInfo, 'id' | 'name'>, result: WorkspaceAuditResult, readAt: Date, limit: number): string {
  const header = [
    `Audit log of ${workspace.name} (${workspace.id}), oldest first, newest last.`,
    `Read at ${formatTime(readAt.toISOString())} from ${result.path}; read again when a limit acts on the workspace, it is suspended or resumed, or its config or secrets change.`,
    result.entries.length >= limit ? `Showing the newest ${limit} entries.` : `${plural(result.entries.length, 'entry', 'entries')}.`,
  ];
  const body =
    result.entries.length > 0
      ? result.entries.map(auditLine)
      : ['(No entry yet. Refusals, launches under less isolation than requested, policy changes, secrets set or removed, and limits acting are recorded here.)'];
  return `${[...header, '', ...body].join('\n')}\n`;
}

/** The path of a workspace's audit log document (its tab's title is the last part). */
export function auditDocumentPath(workspaceId: string): string {
  return `/${workspaceId}-audit.log`;
}

/** The workspace id of an audit log document's path, or undefined for another path. */
export function auditDocumentWorkspace(path: string): string | undefined {
  const match = /^\/?(.+)-audit\.log$/.exec(path);
  return match ? match[1] : undefined;
}

// ---- Notices ----

export const NoticeActions = {
  ResumeWorkspace: 'Resume Workspace',
  ShowAgent: 'Show Agent',
  OpenAgentLog: 'Open Agent Log',
  OpenAuditLog: 'Open Audit Log',
} as const;

export type NoticeAction = (typeof NoticeActions)[keyof typeof NoticeActions];

export interface NoticeView {
  readonly severity: NoticeLevel;
  readonly message: string;
  readonly actions: NoticeAction[];
}

/** What the window knows of the agent a notice names, to offer only the buttons that can work. */
export interface NoticeAgent {
  readonly hasTerminal: boolean;
}

/**
 * The notification of a notice: the daemon's message as it wrote it (it says what acted and why), with the buttons
 * that fit what happened: Resume Workspace after a suspension, Show Agent for an agent paused at the soft limit, the
 * agent's log for one stopped at the hard limit, and the audit log, where the notice is recorded, otherwise.
 */
export function noticeView(notice: WorkspaceNotice, agent: NoticeAgent | undefined): NoticeView {
  const actions: NoticeAction[] = [];
  switch (notice.kind) {
    case 'suspended':
      actions.push(NoticeActions.ResumeWorkspace);
      break;
    case 'resumed':
      break;
    case 'agentPaused':
      if (notice.agentId && agent?.hasTerminal) {
        actions.push(NoticeActions.ShowAgent);
      }
      actions.push(NoticeActions.OpenAuditLog);
      break;
    case 'stopped':
      if (notice.agentId && agent) {
        actions.push(NoticeActions.OpenAgentLog);
      }
      actions.push(NoticeActions.OpenAuditLog);
      break;
    case 'softLimit':
    case 'outOfMemory':
    case 'forkRefused':
    case 'recovered':
      actions.push(NoticeActions.OpenAuditLog);
      break;
  }
  return { severity: notice.level, message: notice.message, actions };
}
