// Builders for protocol objects, so each test states only what it is about.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type {
  AgentAction,
  AgentInfo,
  AgentState,
  AgentTypeInfo,
  Diagnostic,
  IsolationFeature,
  MemoryEntry,
  MemoryProvenance,
  MemoryStats,
  TerminalInfo,
  WorkspaceHibernation,
  WorkspaceInfo,
  WorkspaceIsolation,
  WorkspaceNotice,
  WorkspaceResources,
} from '../src/protocol/generated';

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
  isolation?: WorkspaceIsolation;
  hibernation?: WorkspaceHibernation | null;
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
    isolation: o.isolation ?? {
      requestedTier: 'standard',
      enforcedTier: 'standard',
      mechanism: 'none',
      summary: 'standard: enforced by the daemon (no operating-system sandbox)',
      reasons: [],
      features: [],
    },
    hibernation: o.hibernation ?? null,
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

interface AgentActionCase {
  readonly state: AgentState;
  readonly terminal: boolean;
  readonly menu: boolean;
  readonly actions: AgentAction[];
}

/** The daemon's own table of what an agent allows (its AgentActions, exported into schemas/protocol.schema.json). */
const AgentActionTable = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'schemas', 'protocol.schema.json'), 'utf8')) as { agentActions: AgentActionCase[] }
).agentActions;

/** The actions the daemon sends with an agent like this one: by its state, its terminal and the menu it shows. */
export function actionsFor(o: Pick<AgentInfo, 'state' | 'terminalId' | 'choices'>): AgentAction[] {
  const terminal = o.terminalId != null;
  const menu = (o.choices?.length ?? 0) > 0;
  const row = AgentActionTable.find((c) => c.state === o.state && c.terminal === terminal && c.menu === menu);
  if (!row) {
    throw new Error(`schemas/protocol.schema.json has no agentActions row for ${o.state}, terminal ${terminal}, menu ${menu}`);
  }
  return [...row.actions];
}

/** An agent as the daemon sends it; its actions follow from its state, terminal and menu unless a test gives them. */
export function agent(o: Partial<AgentInfo> = {}): AgentInfo {
  const id = o.id ?? 'shop-a1';
  const state = o.state ?? 'running';
  const terminalId = o.terminalId === undefined ? 'shop-t1' : o.terminalId;
  const choices = o.choices ?? null;
  return {
    id,
    workspaceId: o.workspaceId ?? 'shop-api',
    type: o.type ?? 'claude',
    task: o.task ?? 'add a health check endpoint',
    state,
    queuePosition: o.queuePosition ?? null,
    terminalId,
    exitCode: o.exitCode ?? null,
    signal: o.signal ?? null,
    worktree: o.worktree ?? null,
    cwd: o.cwd ?? '/projects/shop-api',
    cpuPercent: o.cpuPercent ?? null,
    memoryBytes: o.memoryBytes ?? null,
    processes: o.processes ?? null,
    needsInputSince: o.needsInputSince ?? null,
    lastLine: o.lastLine ?? null,
    mcpConnectedAt: o.mcpConnectedAt ?? null,
    question: o.question ?? null,
    choices,
    message: o.message ?? null,
    doneAt: o.doneAt ?? null,
    runs: o.runs ?? 1,
    createdAt: o.createdAt ?? '2025-01-01T00:00:00Z',
    startedAt: o.startedAt === undefined ? '2025-01-01T00:00:01Z' : o.startedAt,
    endedAt: o.endedAt ?? null,
    logPath: o.logPath ?? `/home/u/.local/share/orchflow/logs/agents/shop-api/${id}.log`,
    actions: o.actions ?? actionsFor({ state, terminalId, choices }),
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

export function feature(name: string, enforced: boolean, detail = enforced ? `${name} is kept` : `${name} needs bubblewrap`): IsolationFeature {
  return { name, enforced, detail };
}

/** What the daemon reports for a strict workspace on a machine without bubblewrap (IsolationPlanner's words). */
export function strictNotEnforced(): WorkspaceIsolation {
  return {
    requestedTier: 'strict',
    enforcedTier: 'standard',
    mechanism: 'none',
    summary: 'strict requested: NOT enforced, bubblewrap unavailable (bwrap: not found)',
    reasons: ['strict needs bubblewrap: bwrap: not found', 'No operating-system sandbox: processes of other workspaces can open this workspace\'s terminals.'],
    features: [feature('environment', true), feature('cwd', true), feature('filesystem', false, 'NOT enforced: needs bubblewrap (bwrap: not found)'), feature('network', false)],
  };
}

export function strictEnforced(): WorkspaceIsolation {
  return {
    requestedTier: 'strict',
    enforcedTier: 'strict',
    mechanism: 'bubblewrap',
    summary: 'strict: enforced by bubblewrap 0.8.0',
    reasons: [],
    features: [feature('environment', true), feature('filesystem', true), feature('network', true)],
  };
}

export function hibernation(o: Partial<WorkspaceHibernation> = {}): WorkspaceHibernation {
  return { since: o.since ?? '2025-01-01T12:00:00Z', by: o.by ?? 'vscode', mechanism: o.mechanism ?? 'cgroup freezer', processes: o.processes ?? 3 };
}

export function workspaceResources(o: Partial<WorkspaceResources> = {}): WorkspaceResources {
  return {
    workspaceId: o.workspaceId ?? 'shop-api',
    cpuPercent: o.cpuPercent === undefined ? 3 : o.cpuPercent,
    memoryBytes: o.memoryBytes ?? 120 * MiB,
    processes: o.processes ?? 4,
    terminals: o.terminals ?? 2,
    agents: o.agents ?? 1,
    queuedAgents: o.queuedAgents ?? 0,
  };
}

export function notice(o: Partial<WorkspaceNotice> = {}): WorkspaceNotice {
  return {
    workspaceId: o.workspaceId ?? 'shop-api',
    kind: o.kind ?? 'suspended',
    level: o.level ?? 'info',
    message: o.message ?? "Workspace 'shop-api' suspended by vscode: 3 process(es) stopped (cgroup freezer).",
    agentId: o.agentId ?? null,
    terminalId: o.terminalId ?? null,
    rule: o.rule === undefined ? 'hibernation' : o.rule,
    at: o.at ?? '2025-01-01T12:00:00Z',
  };
}

/** Markdown as it reads once rendered: the escapes escapeMarkdown adds removed. */
export function unescapeMarkdown(text: string): string {
  return text.replace(/\\([\\`*_{}[\]()#+\-.!|<>~])/g, '$1');
}

