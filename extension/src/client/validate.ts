// Light shape checks for what the server pushes. Types generated from the schema describe what a correct
// server sends; these guards keep one malformed notification from breaking the tree or the status bar.
// This module must not import 'vscode'.
import type {
  AgentChangeKind,
  AgentChangedNotification,
  AgentEventNotification,
  AgentInfo,
  AgentState,
  AuditEntry,
  AuditKind,
  ConfigChangedNotification,
  MemoryChangedNotification,
  MemorySegmentState,
  MemoryStats,
  ResourceSnapshot,
  TerminalChangeKind,
  TerminalChangedNotification,
  TerminalInfo,
  TerminalOutputNotification,
  WorkspaceChangeKind,
  WorkspaceChangedNotification,
  WorkspaceInfo,
  WorkspaceNotice,
  NoticeKind,
  NoticeLevel,
} from '../protocol/generated';

const ChangeKinds: readonly WorkspaceChangeKind[] = ['created', 'updated', 'deleted', 'switched'];
const TerminalChangeKinds: readonly TerminalChangeKind[] = ['created', 'updated', 'exited', 'removed'];
const AgentChangeKinds: readonly AgentChangeKind[] = ['created', 'updated', 'removed'];
const MemorySegmentStates: readonly MemorySegmentState[] = ['ok', 'damaged'];
const NoticeKinds: readonly NoticeKind[] = ['suspended', 'resumed', 'agentPaused', 'softLimit', 'stopped', 'outOfMemory', 'forkRefused'];
const NoticeLevels: readonly NoticeLevel[] = ['info', 'warning', 'error'];
const AuditKinds: readonly AuditKind[] = ['refused', 'denied', 'notEnforced', 'policyChanged', 'secret', 'limit'];
const AgentStates: readonly AgentState[] = ['queued', 'starting', 'running', 'needsInput', 'paused', 'succeeded', 'failed', 'stopped', 'interrupted'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isWorkspaceInfo(value: unknown): value is WorkspaceInfo {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.name === 'string' &&
    typeof value.rootPath === 'string' &&
    typeof value.namespace === 'string' &&
    isObject(value.metadata) &&
    isObject(value.config)
  );
}

export function isWorkspaceChangedNotification(value: unknown): value is WorkspaceChangedNotification {
  if (!isObject(value) || typeof value.id !== 'string' || !ChangeKinds.includes(value.kind as WorkspaceChangeKind)) {
    return false;
  }
  return value.workspace === undefined || value.workspace === null || isWorkspaceInfo(value.workspace);
}

export function isConfigChangedNotification(value: unknown): value is ConfigChangedNotification {
  return isObject(value) && Array.isArray(value.diagnostics);
}

export function isTerminalInfo(value: unknown): value is TerminalInfo {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.workspaceId === 'string' &&
    typeof value.name === 'string' &&
    typeof value.purpose === 'string' &&
    typeof value.status === 'string' &&
    Array.isArray(value.command)
  );
}

export function isTerminalOutputNotification(value: unknown): value is TerminalOutputNotification {
  return isObject(value) && typeof value.id === 'string' && typeof value.seq === 'number' && typeof value.data === 'string';
}

export function isTerminalChangedNotification(value: unknown): value is TerminalChangedNotification {
  if (
    !isObject(value) ||
    typeof value.id !== 'string' ||
    typeof value.workspaceId !== 'string' ||
    !TerminalChangeKinds.includes(value.kind as TerminalChangeKind)
  ) {
    return false;
  }
  return value.terminal === undefined || value.terminal === null || isTerminalInfo(value.terminal);
}

export function isAgentInfo(value: unknown): value is AgentInfo {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.workspaceId === 'string' &&
    typeof value.type === 'string' &&
    typeof value.task === 'string' &&
    AgentStates.includes(value.state as AgentState) &&
    typeof value.runs === 'number' &&
    typeof value.cwd === 'string'
  );
}

export function isAgentChangedNotification(value: unknown): value is AgentChangedNotification {
  if (
    !isObject(value) ||
    typeof value.id !== 'string' ||
    typeof value.workspaceId !== 'string' ||
    !AgentChangeKinds.includes(value.kind as AgentChangeKind)
  ) {
    return false;
  }
  // Only a removal may come without the agent.
  return value.agent === undefined || value.agent === null ? value.kind === 'removed' : isAgentInfo(value.agent);
}

export function isAgentEventNotification(value: unknown): value is AgentEventNotification {
  return (
    isObject(value) &&
    typeof value.workspaceId === 'string' &&
    isObject(value.event) &&
    typeof value.event.agentId === 'string' &&
    typeof value.event.kind === 'string' &&
    typeof value.event.message === 'string'
  );
}

export function isResourceSnapshot(value: unknown): value is ResourceSnapshot {
  return (
    isObject(value) &&
    Array.isArray(value.workspaces) &&
    Array.isArray(value.agents) &&
    value.agents.every((a) => isObject(a) && typeof a.id === 'string' && typeof a.workspaceId === 'string')
  );
}

export function isMemoryStats(value: unknown): value is MemoryStats {
  return (
    isObject(value) &&
    typeof value.workspaceId === 'string' &&
    MemorySegmentStates.includes(value.state as MemorySegmentState) &&
    typeof value.entries === 'number' &&
    typeof value.bytes === 'number' &&
    typeof value.capacityEntries === 'number' &&
    typeof value.capacityBytes === 'number' &&
    typeof value.usedPercent === 'number' &&
    typeof value.persistence === 'string'
  );
}

export function isMemoryChangedNotification(value: unknown): value is MemoryChangedNotification {
  if (!isObject(value) || typeof value.workspaceId !== 'string') {
    return false;
  }
  // Stats are absent only when the workspace was deleted; present ones must be of this workspace.
  return value.stats === undefined || value.stats === null || (isMemoryStats(value.stats) && value.stats.workspaceId === value.workspaceId);
}

export function isAuditEntry(value: unknown): value is AuditEntry {
  return (
    isObject(value) &&
    typeof value.workspaceId === 'string' &&
    typeof value.at === 'string' &&
    AuditKinds.includes(value.kind as AuditKind) &&
    typeof value.message === 'string'
  );
}

export function isWorkspaceNotice(value: unknown): value is WorkspaceNotice {
  return (
    isObject(value) &&
    typeof value.workspaceId === 'string' &&
    NoticeKinds.includes(value.kind as NoticeKind) &&
    NoticeLevels.includes(value.level as NoticeLevel) &&
    typeof value.message === 'string' &&
    (value.agentId === undefined || value.agentId === null || typeof value.agentId === 'string') &&
    (value.terminalId === undefined || value.terminalId === null || typeof value.terminalId === 'string')
  );
}
