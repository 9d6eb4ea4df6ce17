// Builders for protocol objects, so each test states only what it is about.
import type { Diagnostic, WorkspaceInfo } from '../src/protocol/generated';

export interface WorkspaceOverrides {
  id?: string;
  name?: string;
  rootPath?: string;
  namespace?: string;
  projectType?: WorkspaceInfo['metadata']['projectType'];
  isDefault?: boolean;
  diagnostics?: Diagnostic[];
  branch?: string | null;
  dirty?: boolean;
  memoryLimitBytes?: number | null;
  configPath?: string | null;
}

export function workspace(o: WorkspaceOverrides = {}): WorkspaceInfo {
  const id = o.id ?? 'shop-api';
  return {
    id,
    name: o.name ?? id,
    rootPath: o.rootPath ?? `/projects/${id}`,
    namespace: o.namespace ?? id,
    metadata: {
      projectType: o.projectType ?? 'node',
      vcs: o.branch === undefined ? null : { kind: 'git', branch: o.branch, head: 'abcdef0123456789', dirty: o.dirty ?? false },
      activeAgents: [],
      memoryNamespace: id,
      resourceLimits: { maxAgents: 6, memoryLimitBytes: o.memoryLimitBytes ?? null, cpuShares: 1024, terminalLimit: 12, processLimit: 512 },
      securityTier: 'standard',
    },
    security: { tier: 'standard', allowedCommands: [], restrictedPaths: [], network: 'full', allowedHosts: [] },
    models: { models: [], trainingEnabled: false },
    sharedEnv: {},
    config: { path: o.configPath === undefined ? `/projects/${id}/.orchflow/workspace.json` : o.configPath, diagnostics: o.diagnostics ?? [] },
    isDefault: o.isDefault ?? false,
    createdAt: '2025-01-01T00:00:00Z',
    lastAccessed: '2025-01-01T00:00:00Z',
  };
}

export function diagnostic(o: Partial<Diagnostic> = {}): Diagnostic {
  return {
    file: o.file ?? '/projects/shop-api/.orchflow/workspace.json',
    line: o.line ?? 3,
    column: o.column ?? 5,
    message: o.message ?? 'unknown key "foo"',
    severity: o.severity ?? 'error',
  };
}
