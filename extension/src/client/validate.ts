// Light shape checks for what the server pushes. Types generated from the schema describe what a correct
// server sends; these guards keep one malformed notification from breaking the tree or the status bar.
// This module must not import 'vscode'.
import type { ConfigChangedNotification, WorkspaceChangeKind, WorkspaceChangedNotification, WorkspaceInfo } from '../protocol/generated';

const ChangeKinds: readonly WorkspaceChangeKind[] = ['created', 'updated', 'deleted', 'switched'];

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
