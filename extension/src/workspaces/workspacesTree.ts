// The Workspaces view: one row per Orchflow workspace, then the window's folders that are not one yet.
// Rows are built by presentation.ts; this file only adapts them to VS Code and refreshes on store changes.
import * as vscode from 'vscode';
import { buildTree, type IconView, type TreeNode } from './presentation';
import type { WorkspaceStore } from './store';

function themeIcon(icon: IconView): vscode.ThemeIcon {
  return icon.color ? new vscode.ThemeIcon(icon.id, new vscode.ThemeColor(icon.color)) : new vscode.ThemeIcon(icon.id);
}

export class WorkspacesTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly subscription: { dispose(): void };

  readonly onDidChangeTreeData: vscode.Event<void> = this.changeEmitter.event;

  constructor(private readonly store: WorkspaceStore) {
    this.subscription = store.onDidChange(() => this.changeEmitter.fire());
  }

  getChildren(element?: TreeNode): TreeNode[] {
    if (element !== undefined || !this.store.isLoaded) {
      // An empty view shows the welcome content, which says that Orchflow is still connecting.
      return [];
    }
    return buildTree({
      workspaces: this.store.all(),
      activeId: this.store.activeId,
      folders: this.store.folderMappings,
    });
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.kind === 'workspace' ? `workspace:${node.id}` : `folder:${node.path}`;
    item.description = node.description;
    const tooltip = new vscode.MarkdownString(node.tooltip, true);
    tooltip.isTrusted = false;
    item.tooltip = tooltip;
    item.iconPath = themeIcon(node.icon);
    item.contextValue = node.contextValue;
    if (node.kind === 'unmappedFolder') {
      item.resourceUri = vscode.Uri.file(node.path);
    }
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }
}
