// Builders for protocol objects, so each test states only what it is about.
import type { AgentInfo, AgentTypeInfo, Diagnostic, MemoryEntry, MemoryProvenance, MemoryStats, TerminalInfo, WorkspaceInfo } from '../src/protocol/generated';

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
    isolation: {
      requestedTier: 'standard',
      enforcedTier: 'standard',
      mechanism: 'none',
      summary: 'standard: enforced by the daemon (no operating-system sandbox)',
      reasons: [],
      features: [],
    },
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

export function terminal(o: Partial<TerminalInfo> = {}): TerminalInfo {
  const id = o.id ?? 'shop-api-1';
  return {
    id,
    workspaceId: o.workspaceId ?? 'shop-api',
    namespace: o.namespace ?? 'shop',
    name: o.name ?? 'shell 1',
    purpose: o.purpose ?? 'shell',
    agentId: o.agentId ?? null,
    command: o.command ?? ['/bin/bash', '-l'],
    cwd: o.cwd ?? '/projects/shop-api',
    status: o.status ?? 'running',
    exitCode: o.exitCode ?? null,
    signal: o.signal ?? null,
    pid: o.pid === undefined ? 4242 : o.pid,
    columns: o.columns ?? 80,
    rows: o.rows ?? 24,
    createdAt: o.createdAt ?? '2025-01-01T00:00:00Z',
    endedAt: o.endedAt ?? null,
    attachedClients: o.attachedClients ?? 0,
  };
}

export function agent(o: Partial<AgentInfo> = {}): AgentInfo {
  const id = o.id ?? 'shop-a1';
  return {
    id,
    workspaceId: o.workspaceId ?? 'shop-api',
    type: o.type ?? 'claude',
    task: o.task ?? 'add a health check endpoint',
    state: o.state ?? 'running',
    queuePosition: o.queuePosition ?? null,
    terminalId: o.terminalId === undefined ? 'shop-t1' : o.terminalId,
    exitCode: o.exitCode ?? null,
    signal: o.signal ?? null,
    worktree: o.worktree ?? null,
    cwd: o.cwd ?? '/projects/shop-api',
    cpuPercent: o.cpuPercent ?? null,
    memoryBytes: o.memoryBytes ?? null,
    processes: o.processes ?? null,
    needsInputSince: o.needsInputSince ?? null,
    lastLine: o.lastLine ?? null,
    message: o.message ?? null,
    doneAt: o.doneAt ?? null,
    runs: o.runs ?? 1,
    createdAt: o.createdAt ?? '2025-01-01T00:00:00Z',
    startedAt: o.startedAt === undefined ? '2025-01-01T00:00:01Z' : o.startedAt,
    endedAt: o.endedAt ?? null,
    logPath: o.logPath ?? `/home/u/.local/share/orchflow/logs/agents/shop-api/${id}.log`,
  };
}

export function agentType(o: Partial<AgentTypeInfo> = {}): AgentTypeInfo {
  const name = o.name ?? 'claude';
  return {
    name,
    displayName: o.displayName ?? name,
    command: o.command ?? `${name} {task}`,
    builtIn: o.builtIn ?? true,
    source: o.source ?? 'builtIn',
    installed: o.installed ?? true,
    resolvedPath: o.resolvedPath ?? (o.installed === false ? null : `/usr/bin/${name}`),
    installHint: o.installHint ?? null,
    purpose: o.purpose ?? null,
    needsInputPatterns: o.needsInputPatterns ?? [],
    donePatterns: o.donePatterns ?? [],
  };
}

const MiB = 1024 * 1024;

export function memoryStats(o: Partial<MemoryStats> = {}): MemoryStats {
  const workspaceId = o.workspaceId ?? 'shop-api';
  return {
    workspaceId,
    state: o.state ?? 'ok',
    entries: o.entries ?? 0,
    bytes: o.bytes ?? 0,
    capacityEntries: o.capacityEntries ?? 10_000,
    capacityBytes: o.capacityBytes ?? 512 * MiB,
    usedPercent: o.usedPercent ?? 0,
    whenFull: o.whenFull ?? 'evictLru',
    persistence: o.persistence ?? 'disk',
    defaultTtlSeconds: o.defaultTtlSeconds ?? null,
    file: o.file === undefined ? `/home/u/.local/share/orchflow/memory/${workspaceId}.db` : o.file,
    fileBytes: o.fileBytes ?? null,
    evictions: o.evictions ?? 0,
    expirations: o.expirations ?? 0,
    problem: o.problem ?? null,
    hint: o.hint ?? null,
  };
}

export function provenance(o: Partial<MemoryProvenance> = {}): MemoryProvenance {
  return {
    kind: o.kind ?? 'user',
    agentId: o.agentId ?? null,
    terminalId: o.terminalId ?? null,
    user: o.user === undefined ? 'alice' : o.user,
    tool: o.tool === undefined ? 'orchflow-cli' : o.tool,
    at: o.at ?? '2025-01-01T12:00:00Z',
  };
}

export function memoryEntry(o: Partial<MemoryEntry> = {}): MemoryEntry {
  const at = o.updatedAt ?? '2025-01-01T12:00:00Z';
  return {
    key: o.key ?? 'decisions/db',
    value: o.value ?? 'Postgres 16, one schema per tenant',
    kind: o.kind ?? 'text',
    tags: o.tags ?? [],
    createdAt: o.createdAt ?? at,
    updatedAt: at,
    expiresAt: o.expiresAt ?? null,
    accessedAt: o.accessedAt ?? at,
    accessCount: o.accessCount ?? 0,
    sizeBytes: o.sizeBytes ?? 46,
    provenance: o.provenance ?? provenance({ at }),
  };
}
