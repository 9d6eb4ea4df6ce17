// The status bar item: the active workspace while connected ("$(layers) shop-api", click to switch), and the
// state of the connection otherwise ("connecting…", "backend unavailable — click for log").
// It follows the store and the client's state events; nothing polls.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import { connectionStatusView } from '../client/connectionState';
import { Commands } from '../constants';
import { workspaceStatusView } from './presentation';
import type { WorkspaceStore } from './store';

/** Left side, near the branch and problems items, since the active workspace is context like the branch. */
const StatusBarPriority = 100;

export class WorkspaceStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: { dispose(): void }[] = [];

  constructor(
    private readonly client: OrchflowClient,
    private readonly store: WorkspaceStore,
  ) {
    this.item = vscode.window.createStatusBarItem('orchflow.activeWorkspace', vscode.StatusBarAlignment.Left, StatusBarPriority);
    this.item.name = 'Orchflow Workspace';
    this.subscriptions.push(
      client.onDidChangeState(() => this.update()),
      store.onDidChange(() => this.update()),
    );
    this.update();
    this.item.show();
  }

  update(): void {
    const connection = connectionStatusView(this.client.connectionState);
    if (connection.showsConnection || !this.store.isLoaded) {
      const view = connection.showsConnection ? connection : connectionStatusView({ kind: 'connecting' });
      this.item.text = view.text;
      this.item.tooltip = view.tooltip;
      this.item.command = Commands.ShowLog;
      this.item.backgroundColor = view.isError ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
      return;
    }
    const view = workspaceStatusView(this.store.activeWorkspace, this.store.openIds());
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    this.item.tooltip = tooltip;
    this.item.command = Commands.SwitchWorkspace;
    this.item.backgroundColor = view.hasErrors || view.isolationBelow ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
    this.item.dispose();
  }
}
