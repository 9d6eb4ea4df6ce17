// Every id that package.json's `contributes` declares, and every context key the manifest's `when` clauses read.
// They are kept here and nowhere else in the code; extension/test/manifest.test.ts fails when this file and
// package.json disagree, so one cannot change without the other.
// This module must not import 'vscode': the unit tests load it in plain Node.

export const ExtensionId = 'orchflow.orchflow';

export const OutputChannelName = 'Orchflow';

/** Command ids, all under the "Orchflow" category in the manifest. */
export const Commands = {
  CreateWorkspace: 'orchflow.createWorkspace',
  SwitchWorkspace: 'orchflow.switchWorkspace',
  DeleteWorkspace: 'orchflow.deleteWorkspace',
  OpenWorkspaceConfig: 'orchflow.openWorkspaceConfig',
  RevealWorkspaceRoot: 'orchflow.revealWorkspaceRoot',
  ShowBackendLog: 'orchflow.showBackendLog',
  ShowLog: 'orchflow.showLog',
  Refresh: 'orchflow.refresh',
  NewTerminal: 'orchflow.newTerminal',
  KillTerminal: 'orchflow.killTerminal',
  ShowTerminal: 'orchflow.showTerminal',
  RenameTerminal: 'orchflow.renameTerminal',
  OpenTerminalGroup: 'orchflow.openTerminalGroup',
  SpawnAgent: 'orchflow.spawnAgent',
  DelegateTasks: 'orchflow.delegateTasks',
  DelegateTasksInEditor: 'orchflow.delegateTasksInEditor',
  ShowAgentTerminal: 'orchflow.showAgentTerminal',
  SendAgentInput: 'orchflow.sendAgentInput',
  AnswerAgent: 'orchflow.answerAgent',
  PauseAgent: 'orchflow.pauseAgent',
  ResumeAgent: 'orchflow.resumeAgent',
  StopAgent: 'orchflow.stopAgent',
  RestartAgent: 'orchflow.restartAgent',
  RemoveAgent: 'orchflow.removeAgent',
  OpenAgentLog: 'orchflow.openAgentLog',
  ShowAgentsNeedingInput: 'orchflow.showAgentsNeedingInput',
  BrowseMemory: 'orchflow.browseMemory',
  DeleteMemoryEntry: 'orchflow.deleteMemoryEntry',
  ExportMemory: 'orchflow.exportMemory',
  ImportMemory: 'orchflow.importMemory',
  SuspendWorkspace: 'orchflow.suspendWorkspace',
  ResumeWorkspace: 'orchflow.resumeWorkspace',
  ShowAuditLog: 'orchflow.showAuditLog',
  SetSecret: 'orchflow.setSecret',
  RemoveSecret: 'orchflow.removeSecret',
  ListSecrets: 'orchflow.listSecrets',
  ApplyPolicyChange: 'orchflow.applyPolicyChange',
  KeepCurrentPolicy: 'orchflow.keepCurrentPolicy',
  AdoptWorkspaceRoot: 'orchflow.adoptWorkspaceRoot',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** View containers and views. */
export const Views = {
  Container: 'orchflow',
  Workspaces: 'orchflow.workspaces',
} as const;

/** Settings: the section and the full keys. */
export const Settings = {
  Section: 'orchflow',
  ServerPath: 'orchflow.server.path',
  TraceServer: 'orchflow.trace.server',
  TerminalsCloseAction: 'orchflow.terminals.closeAction',
  AgentsNotify: 'orchflow.agents.notify',
  AgentsDefaultType: 'orchflow.agents.defaultType',
} as const;

export type TraceSetting = 'off' | 'messages' | 'verbose';

/** Which agent transitions show a notification (`orchflow.agents.notify`). */
export type AgentNotifySetting = 'all' | 'needsInput' | 'off';

/** The agent type a Delegate Tasks line without `[type]` gets, unless `orchflow.agents.defaultType` says otherwise. */
export const DefaultAgentType = 'claude';

/** The language of the Delegate Tasks document (contributes.languages), which its code lens and title button follow. */
export const DelegateLanguageId = 'orchflow-tasks';

/** The URI scheme of the read-only agent log documents. */
export const AgentLogScheme = 'orchflow-agent-log';

/** The URI scheme of the read-only documents that show one memory entry's value. */
export const MemoryEntryScheme = 'orchflow-memory';

/** The URI scheme of the read-only documents that show a workspace's audit log. */
export const AuditLogScheme = 'orchflow-audit';

/** The terminal profile of the terminal panel's "+" menu (contributes.terminal.profiles). */
export const TerminalProfileId = 'orchflow.workspaceTerminal';

/** Context keys set with `setContext` and read by `when` clauses in package.json. */
export const ContextKeys = {
  /** One of the ConnectionState kinds: disconnected, connecting, connected, reconnecting. */
  ConnectionState: 'orchflow.connectionState',
  /** True when at least one folder of the window maps to an Orchflow workspace. */
  AnyFolderMapped: 'orchflow.anyFolderMapped',
  /** True while at least one agent waits on a menu its screen shows (Answer Agent... has something to answer). */
  AnyAgentAnswerable: 'orchflow.anyAgentAnswerable',
} as const;

/**
 * Tree item `contextValue`s. A workspace item's value is the base followed by space-separated tags, so that
 * menus can match it with a regular expression (for example Switch is hidden on the active one).
 */
export const TreeItemContext = {
  Workspace: 'orchflow.workspace',
  UnmappedFolder: 'orchflow.unmappedFolder',
  TagActive: 'active',
  TagOpen: 'open',
  TagDefault: 'default',
  TagConfigErrors: 'configErrors',
  /** A workspace whose config file asks for a weaker policy that no person answered yet. */
  TagPolicyPending: 'policyPending',
  /** A workspace whose root path holds another folder (Adopt Folder) or nothing. */
  TagRootReplaced: 'rootReplaced',
  TagRootMissing: 'rootMissing',
  /** A workspace (or its Resources row) whose processes are stopped by Suspend Workspace or idle hibernation. */
  TagSuspended: 'suspended',
  /** The "Terminals (N)" row under a workspace; tagged `empty` when it has none. */
  Terminals: 'orchflow.terminals',
  /** A terminal row; tagged `running` or `ended`. */
  Terminal: 'orchflow.terminal',
  TagEmpty: 'empty',
  TagRunning: 'running',
  TagEnded: 'ended',
  /** The "Agents (N)" row under a workspace; tagged `empty` when it has none. */
  Agents: 'orchflow.agents',
  /**
   * An agent row: the base, its state (`queued`, `needsInput`, ...), then the actions it allows: `live` (Stop),
   * `pausable`, `resumable`, `sendable` (Send Input), `answerable` (Answer Agent: it waits on a menu), `ended`
   * (Restart, Remove) and `hasTerminal` (Show Terminal).
   */
  Agent: 'orchflow.agent',
  TagLive: 'live',
  TagPausable: 'pausable',
  TagResumable: 'resumable',
  TagSendable: 'sendable',
  TagAnswerable: 'answerable',
  TagHasTerminal: 'hasTerminal',
  /** The "Memory" row under a workspace; tagged `empty` when it holds no entry, `damaged` when its file cannot be read. */
  Memory: 'orchflow.memory',
  TagDamaged: 'damaged',
  /** The "Resources" row under a workspace (its measured figures); tagged `suspended` while the workspace is. */
  Resources: 'orchflow.resources',
  /** The "Isolation" row under a workspace; tagged `belowRequested` when this machine enforces less than its config asks. */
  Isolation: 'orchflow.isolation',
  TagBelowRequested: 'belowRequested',
  /** One promise of the workspace's tier under its Isolation row; tagged `enforced` or `notEnforced`. */
  IsolationFeature: 'orchflow.isolationFeature',
  TagEnforced: 'enforced',
  TagNotEnforced: 'notEnforced',
  /** The "Policy change pending" row under a workspace; tagged `rejected` once a person kept the current policy. */
  PendingPolicy: 'orchflow.pendingPolicy',
  TagRejected: 'rejected',
  /** The "Root replaced" / "Root missing" row under a workspace; tagged `replaced` or `missing`. */
  RootProblem: 'orchflow.rootProblem',
  TagReplaced: 'replaced',
  TagMissing: 'missing',
} as const;

/** Where a workspace keeps its own config file, relative to its root. */
export const WorkspaceConfigRelativePath = '.orchflow/workspace.json';

/** The JSON Schema of that file, relative to the extension's root. */
export const WorkspaceSchemaRelativePath = 'schemas/workspace.schema.json';

/** The daemon binary, relative to the extension's root, used when `orchflow.server.path` is empty. */
export const BundledServerRelativePath = 'dist/server/orchflow';
