// The composition root: creates the log, the client, the stores (workspaces, terminals, agents, memory), the views,
// the security commands (hibernation, audit log, secrets), audit log documents and workspace notices, wires them
// together in one readable list, and registers every disposable with the extension context.
import * as vscode from 'vscode';
import { AnswerableContextKey } from './agents/answerContext';
import { registerAgentCommands } from './agents/commands';
import { DelegateEditorSupport } from './agents/delegateEditor';
import { AgentLogProvider } from './agents/logDocuments';
import { AgentNotifier } from './agents/notifications';
import { AgentStatusBar } from './agents/statusBar';
import { AgentStore } from './agents/store';
import { AgentSync } from './agents/sync';
import { OrchflowClient, type TraceLevel } from './client/client';
import { AgentLogScheme, AuditLogScheme, MemoryEntryScheme, Settings, Views, type TraceSetting } from './constants';
import { AuditLogProvider } from './security/auditDocuments';
import { registerSecurityCommands } from './security/commands';
import { NoticeNotifier } from './security/notifications';
import { OutputLogger } from './log';
import { registerMemoryCommands } from './memory/commands';
import { MemoryEntryProvider } from './memory/documents';
import { MemoryStore } from './memory/store';
import { MemorySync } from './memory/sync';
import { registerTerminalCommands } from './terminals/commands';
import { TerminalManager } from './terminals/manager';
import { TerminalStore } from './terminals/store';
import { registerCommands, serverPathFrom } from './workspaces/commands';
import { PolicyNotifier, registerPolicyCommands } from './workspaces/policyCommands';
import { WorkspaceConfigWatcher } from './workspaces/configWatcher';
import { WorkspaceController, windowFolderPaths } from './workspaces/controller';
import { WorkspaceStatusBar } from './workspaces/statusBar';
import { WorkspaceStore } from './workspaces/store';
import { WorkspacesTreeProvider } from './workspaces/workspacesTree';

let client: OrchflowClient | undefined;

function traceSetting(): TraceLevel {
  const value = vscode.workspace.getConfiguration().get<TraceSetting>(Settings.TraceServer, 'off');
  return value === 'messages' || value === 'verbose' ? value : 'off';
}

export function activate(context: vscode.ExtensionContext): void {
  const logger = new OutputLogger();
  const version = (context.extension.packageJSON as { version?: unknown }).version;
  logger.info(`Orchflow ${typeof version === 'string' ? version : '?'} activating in ${vscode.env.appName} ${vscode.version}.`);

  const orchflow = new OrchflowClient({
    serverPath: () => serverPathFrom(context.extensionUri, vscode.workspace.getConfiguration().get<string>(Settings.ServerPath)),
    clientInfo: { name: 'vscode', version: vscode.version },
    folders: windowFolderPaths,
    logger,
    trace: traceSetting,
  });
  client = orchflow;
  const store = new WorkspaceStore();
  const controller = new WorkspaceController(orchflow, store, logger);
  const terminals = new TerminalStore();
  const terminalManager = new TerminalManager(orchflow, store, terminals, logger);
  const agents = new AgentStore();
  const agentLogs = new AgentLogProvider(orchflow);
  const workspaceName = (id: string): string => terminalManager.workspaceName(id);
  const notifier = new AgentNotifier(orchflow, agents, workspaceName, logger);
  const agentSync = new AgentSync(orchflow, agents, logger, (agent, kind) => notifier.alert(agent, kind), (id) => agentLogs.agentChanged(id));
  const memory = new MemoryStore();
  const memorySync = new MemorySync(orchflow, memory, logger);
  const memoryEntries = new MemoryEntryProvider(orchflow, memory);
  const auditLogs = new AuditLogProvider(orchflow, store);
  const notices = new NoticeNotifier(agents, logger);
  const policies = { client: orchflow, workspaces: store, logger };
  const tree = new WorkspacesTreeProvider(store, terminals, agents, memory);
  const treeView = vscode.window.createTreeView(Views.Workspaces, { treeDataProvider: tree, showCollapseAll: false });
  const statusBar = new WorkspaceStatusBar(orchflow, store);

  context.subscriptions.push(
    logger,
    { dispose: () => store.dispose() },
    { dispose: () => terminals.dispose() },
    controller,
    terminalManager,
    new WorkspaceConfigWatcher(store, controller, logger),
    tree,
    treeView,
    statusBar,
    { dispose: () => agents.dispose() },
    agentSync,
    agentLogs,
    vscode.workspace.registerTextDocumentContentProvider(AgentLogScheme, agentLogs),
    new AgentStatusBar(agents, workspaceName),
    new AnswerableContextKey(agents),
    new DelegateEditorSupport(store),
    { dispose: () => memory.dispose() },
    memorySync,
    memoryEntries,
    vscode.workspace.registerTextDocumentContentProvider(MemoryEntryScheme, memoryEntries),
    auditLogs,
    vscode.workspace.registerTextDocumentContentProvider(AuditLogScheme, auditLogs),
    orchflow.onWorkspaceNotice((notice) => notices.show(notice)),
    new PolicyNotifier(policies),
    ...registerCommands({ extensionUri: context.extensionUri, client: orchflow, store, controller, logger }, logger),
    ...registerTerminalCommands({ workspaces: store, terminals, manager: terminalManager, logger }),
    ...registerAgentCommands({ client: orchflow, workspaces: store, agents, terminals, manager: terminalManager, logs: agentLogs, logger }),
    ...registerMemoryCommands({ client: orchflow, workspaces: store, memory, documents: memoryEntries, logger }),
    ...registerSecurityCommands({ client: orchflow, workspaces: store, audit: auditLogs, logger }),
    ...registerPolicyCommands(policies),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(Settings.ServerPath)) {
        logger.info(`${Settings.ServerPath} changed: reconnecting.`);
        orchflow.restart().catch((error: unknown) => logger.error(`Reconnecting failed: ${String(error)}`));
      } else if (event.affectsConfiguration(Settings.TraceServer)) {
        orchflow.updateTrace().catch((error: unknown) => logger.error(`Cannot change tracing: ${String(error)}`));
      }
    }),
  );
  orchflow.start();
}

/** Ends this window's session with the daemon (shutdown, then exit); the daemon keeps running for others. */
export async function deactivate(): Promise<void> {
  const current = client;
  client = undefined;
  await current?.dispose();
}
