// Light shape checks for what the server pushes. Types generated from the schema describe what a correct
// server sends; these guards keep one malformed notification from breaking the tree or the status bar.
// This module must not import 'vscode'.
import {
  AgentChangeKindValues,
  AgentStateValues,
  AuditKindValues,
  MemorySegmentStateValues,
  NoticeKindValues,
  NoticeLevelValues,
  TerminalChangeKindValues,
  WorkspaceChangeKindValues,
  type AgentChangedNotification,
  type AgentEventNotification,
  type AgentInfo,
  type AuditEntry,
  type ConfigChangedNotification,
  type MemoryChangedNotification,
  type MemoryStats,
  type ResourceSnapshot,
  type TerminalChangedNotification,
  type TerminalInfo,
  type TerminalOutputNotification,
  type WorkspaceChangedNotification,
  type WorkspaceInfo,
  type WorkspaceNotice,
} from '../protocol/generated';

/** True when `value` is one of an enum's values, as generated from the C# enum: a new C# value is accepted at once. */
function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return (values as readonly unknown[]).includes(value);
}

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
  if (!isObject(value) || typeof value.id !== 'string' || !isOneOf(WorkspaceChangeKindValues, value.kind)) {
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
    !isOneOf(TerminalChangeKindValues, value.kind)
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
    isOneOf(AgentStateValues, value.state) &&
    typeof value.runs === 'number' &&
    typeof value.cwd === 'string' &&
    Array.isArray(value.actions) &&
    value.actions.every((a) => typeof a === 'string')
  );
}

export function isAgentChangedNotification(value: unknown): value is AgentChangedNotification {
  if (
    !isObject(value) ||
    typeof value.id !== 'string' ||
    typeof value.workspaceId !== 'string' ||
    !isOneOf(AgentChangeKindValues, value.kind)
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
    isOneOf(MemorySegmentStateValues, value.state) &&
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
    isOneOf(AuditKindValues, value.kind) &&
    typeof value.message === 'string'
  );
}

export function isWorkspaceNotice(value: unknown): value is WorkspaceNotice {
  return (
    isObject(value) &&
    typeof value.workspaceId === 'string' &&
    isOneOf(NoticeKindValues, value.kind) &&
    isOneOf(NoticeLevelValues, value.level) &&
    typeof value.message === 'string' &&
    (value.agentId === undefined || value.agentId === null || typeof value.agentId === 'string') &&
    (value.terminalId === undefined || value.terminalId === null || typeof value.terminalId === 'string')
  );
}
