// The status bar item "$(bell) 2 need input": how many agents wait for an answer across all workspaces, hidden
// when none does. Clicking it picks one and shows its terminal. It follows the agent store; nothing polls.
import * as vscode from 'vscode';
import { Commands } from '../constants';
import { needsInputStatusView } from './presentation';
import type { AgentStore } from './store';

/** Just right of the active workspace item (priority 100), which it is about. */
const StatusBarPriority = 99;

export class AgentStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: { dispose(): void }[] = [];

  constructor(
    private readonly agents: AgentStore,
    private readonly workspaceName: (id: string) => string,
  ) {
    this.item = vscode.window.createStatusBarItem('orchflow.agentsNeedingInput', vscode.StatusBarAlignment.Left, StatusBarPriority);
    this.item.name = 'Orchflow Agents Needing Input';
    this.item.command = Commands.ShowAgentsNeedingInput;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.subscriptions.push(agents.onDidChange(() => this.update()));
    this.update();
  }

  update(): void {
    const view = needsInputStatusView(this.agents.isLoaded ? this.agents.all() : [], this.workspaceName);
    if (!view.visible) {
      this.item.hide();
      return;
    }
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = false;
    this.item.tooltip = tooltip;
    this.item.show();
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
    this.item.dispose();
  }
}
