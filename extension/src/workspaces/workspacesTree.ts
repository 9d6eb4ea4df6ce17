// The Workspaces view: one row per Orchflow workspace, then the window's folders that are not one yet. Under each
// workspace, an "Agents (N)" row lists its agents and a "Terminals (N)" row its other terminals (an agent's own
// terminal is reached from its agent row, so it is not listed twice); a "Memory" row shows its memory's entries
// and the capacity used, and opens Browse Memory; a "Resources" row shows what its processes use now (CPU, memory,
// processes, from orchflow/resources/changed); an "Isolation" row shows the isolation it actually has on this
// machine, with one row per promise of its tier below it, and opens its audit log. Above them, while they hold, a
// "Root replaced" (or missing) row and a "Policy change pending" row say what waits for a person (policy.ts).
// Rows are built by presentation.ts (and terminals/presentation.ts); this file only adapts them to VS Code and
// refreshes on store changes.
import * as vscode from 'vscode';
import { agentNode, agentsGroupNode, workspaceAgentsNote, type AgentNode, type AgentsGroupNode } from '../agents/presentation';
import type { AgentStore } from '../agents/store';
import { Commands, TreeItemContext } from '../constants';
import {
  isolationFeatureNode,
  isolationNode,
  resourcesNode,
  type IsolationFeatureNode,
  type IsolationNode,
  type ResourcesNode,
} from '../security/presentation';
import { memoryNode, type MemoryNode } from '../memory/presentation';
import type { MemoryStore } from '../memory/store';
import type { TerminalInfo } from '../protocol/generated';
import { pendingPolicyNode, rootProblemNode, type PendingPolicyNode, type RootProblemNode } from './policy';
import { terminalNode, terminalsGroupNode, type TerminalNode, type TerminalsGroupNode } from '../terminals/presentation';
import type { TerminalStore } from '../terminals/store';
import { buildTree, type IconView, type TreeNode } from './presentation';
import type { WorkspaceStore } from './store';

/** Every kind of row of the view. */
export type ViewNode =
  | TreeNode
  | TerminalsGroupNode
  | TerminalNode
  | AgentsGroupNode
  | AgentNode
  | MemoryNode
  | ResourcesNode
  | IsolationNode
  | IsolationFeatureNode
  | RootProblemNode
  | PendingPolicyNode;

function themeIcon(icon: IconView): vscode.ThemeIcon {
  return icon.color ? new vscode.ThemeIcon(icon.id, new vscode.ThemeColor(icon.color)) : new vscode.ThemeIcon(icon.id);
}

function markdown(text: string): vscode.MarkdownString {
  const tooltip = new vscode.MarkdownString(text, true);
  tooltip.isTrusted = false;
  return tooltip;
}

export class WorkspacesTreeProvider implements vscode.TreeDataProvider<ViewNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly subscriptions: { dispose(): void }[];

  readonly onDidChangeTreeData: vscode.Event<void> = this.changeEmitter.event;

  constructor(
    private readonly store: WorkspaceStore,
    private readonly terminals?: TerminalStore,
    private readonly agents?: AgentStore,
    private readonly memory?: MemoryStore,
  ) {
    this.subscriptions = [store.onDidChange(() => this.changeEmitter.fire())];
    if (terminals) {
      this.subscriptions.push(terminals.onDidChange(() => this.changeEmitter.fire()));
    }
    if (agents) {
      this.subscriptions.push(agents.onDidChange(() => this.changeEmitter.fire()));
    }
    if (memory) {
      this.subscriptions.push(memory.onDidChange(() => this.changeEmitter.fire()));
    }
  }

  /** A workspace's terminals for the Terminals row: all but those of agents the Agents row lists. */
  private plainTerminals(workspaceId: string): TerminalInfo[] {
    const all = this.terminals?.forWorkspace(workspaceId) ?? [];
    const agents = this.agents;
    if (!agents?.isLoaded) {
      return all;
    }
    return all.filter((t) => !(t.agentId && agents.get(t.agentId)));
  }

  private agentsNotes(): Map<string, string> | undefined {
    if (!this.agents?.isLoaded) {
      return undefined;
    }
    const notes = new Map<string, string>();
    for (const w of this.store.all()) {
      const note = workspaceAgentsNote(this.agents.forWorkspace(w.id));
      if (note) {
        notes.set(w.id, note);
      }
    }
    return notes;
  }

  getChildren(element?: ViewNode): ViewNode[] {
    if (!this.store.isLoaded) {
      // An empty view shows the welcome content, which says that Orchflow is still connecting.
      return [];
    }
    if (element === undefined) {
      return buildTree({
        workspaces: this.store.all(),
        activeId: this.store.activeId,
        folders: this.store.folderMappings,
        agentsNotes: this.agentsNotes(),
      });
    }
    const terminals = this.terminals;
    if (!terminals?.isLoaded) {
      return [];
    }
    const agents = this.agents;
    if (element.kind === 'workspace') {
      const workspace = this.store.get(element.id);
      if (!workspace) {
        return [];
      }
      const groups: ViewNode[] = [rootProblemNode(workspace), pendingPolicyNode(workspace)].filter((n): n is RootProblemNode | PendingPolicyNode => n !== undefined);
      if (agents?.isLoaded) {
        groups.push(agentsGroupNode(workspace, agents.forWorkspace(workspace.id)));
      }
      groups.push(terminalsGroupNode(workspace, this.plainTerminals(workspace.id)));
      if (this.memory?.isLoaded) {
        groups.push(memoryNode(workspace, this.memory.get(workspace.id)));
      }
      if (agents?.isLoaded) {
        // The figures come with the agents' (orchflow/workspace/resources, then orchflow/resources/changed).
        groups.push(resourcesNode(workspace, agents.workspaceResources(workspace.id)));
      }
      groups.push(isolationNode(workspace));
      return groups;
    }
    if (element.kind === 'isolation') {
      const workspace = this.store.get(element.workspaceId);
      return workspace ? workspace.isolation.features.map((f) => isolationFeatureNode(workspace, f)) : [];
    }
    if (element.kind === 'terminals') {
      const name = this.store.get(element.workspaceId)?.name ?? element.workspaceId;
      return this.plainTerminals(element.workspaceId).map((t) => terminalNode(t, name));
    }
    if (element.kind === 'agents' && agents?.isLoaded) {
      const name = this.store.get(element.workspaceId)?.name ?? element.workspaceId;
      return agents.forWorkspace(element.workspaceId).map((a) => agentNode(a, name, agents.figuresOf(a.id)));
    }
    return [];
  }

  getTreeItem(node: ViewNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.description = node.description;
    item.tooltip = markdown(node.tooltip);
    item.iconPath = themeIcon(node.icon);
    item.contextValue = node.contextValue;
    switch (node.kind) {
      case 'workspace':
        item.id = `workspace:${node.id}`;
        if (this.terminals) {
          // Expanded so that terminals show at once; the default workspace (not a project) starts collapsed.
          // VS Code uses a row's collapsible state only the first time it sees the row's id, so the state must
          // not depend on anything that arrives later (such as which folders map to the workspace).
          item.collapsibleState = node.contextValue.split(' ').includes(TreeItemContext.TagDefault)
            ? vscode.TreeItemCollapsibleState.Collapsed
            : vscode.TreeItemCollapsibleState.Expanded;
        }
        break;
      case 'unmappedFolder':
        item.id = `folder:${node.path}`;
        item.resourceUri = vscode.Uri.file(node.path);
        break;
      case 'terminals':
        // The id changes between empty and not, so that the row expands when its first terminal arrives
        // (VS Code keeps the first collapsible state it saw for an id) and keeps the user's choice after that.
        item.id = `terminals:${node.workspaceId}:${node.hasChildren ? 'some' : 'none'}`;
        item.collapsibleState = node.hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None;
        break;
      case 'terminal':
        item.id = `terminal:${node.id}`;
        item.command = { command: Commands.ShowTerminal, title: 'Show Terminal', arguments: [node] };
        break;
      case 'agents':
        // As for Terminals: the id changes between empty and not, so the row expands when its first agent arrives.
        item.id = `agents:${node.workspaceId}:${node.hasChildren ? 'some' : 'none'}`;
        item.collapsibleState = node.hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None;
        break;
      case 'agent':
        item.id = `agent:${node.id}`;
        // A click shows what the agent does: its terminal while it has one, its log otherwise.
        item.command = node.hasTerminal
          ? { command: Commands.ShowAgentTerminal, title: 'Show Terminal', arguments: [node.id] }
          : { command: Commands.OpenAgentLog, title: 'Open Log', arguments: [node.id] };
        break;
      case 'memory':
        item.id = `memory:${node.workspaceId}`;
        item.command = { command: Commands.BrowseMemory, title: 'Browse Memory', arguments: [node] };
        break;
      case 'resources':
        item.id = `resources:${node.workspaceId}`;
        break;
      case 'isolation':
        item.id = `isolation:${node.workspaceId}`;
        // Collapsed: the summary says what matters; the promises are one click away.
        item.collapsibleState = node.hasChildren ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
        item.command = { command: Commands.ShowAuditLog, title: 'Show Audit Log', arguments: [node.workspaceId] };
        break;
      case 'isolationFeature':
        item.id = `isolation:${node.workspaceId}:${node.name}`;
        break;
      case 'rootProblem':
        item.id = `rootProblem:${node.workspaceId}`;
        item.command = { command: Commands.ShowAuditLog, title: 'Show Audit Log', arguments: [node.workspaceId] };
        break;
      case 'pendingPolicy':
        item.id = `pendingPolicy:${node.workspaceId}`;
        // A click shows the file that asks for the change; Apply and Keep are the row's buttons.
        item.command = { command: Commands.OpenWorkspaceConfig, title: 'Open Workspace Config', arguments: [node.workspaceId] };
        break;
    }
    return item;
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
    this.changeEmitter.dispose();
  }
}
