// The notifications of orchflow/workspace/notice: a limit acted on a workspace (its newest agent paused above the
// soft memory limit, the one that pushed it over stopped at the hard limit, processes killed by the kernel, forks
// refused), or it was suspended or resumed. Each shows the daemon's message, which says why, with the buttons that
// fit (presentation.ts noticeView). The daemon sends each notice once to each client, so nothing is de-duplicated here.
import * as vscode from 'vscode';
import type { AgentStore } from '../agents/store';
import { hasTerminal } from '../agents/model';
import type { Logger } from '../client/logger';
import { Commands } from '../constants';
import type { WorkspaceNotice } from '../protocol/generated';
import { NoticeActions, noticeView, type NoticeAction } from './presentation';

export class NoticeNotifier {
  constructor(
    private readonly agents: AgentStore,
    private readonly logger: Logger,
  ) {}

  show(notice: WorkspaceNotice): void {
    const agent = notice.agentId ? this.agents.get(notice.agentId) : undefined;
    const view = noticeView(notice, agent ? { hasTerminal: hasTerminal(agent) } : undefined);
    this.logger.info(`Workspace ${notice.workspaceId}: ${notice.kind}${notice.rule ? ` (${notice.rule})` : ''}: ${notice.message}`);
    const show =
      view.severity === 'error' ? vscode.window.showErrorMessage : view.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(view.message, ...view.actions).then((action) => {
      if (action !== undefined) {
        this.run(action, notice);
      }
    });
  }

  private run(action: NoticeAction, notice: WorkspaceNotice): void {
    const [command, argument] = ((): [string, string] => {
      switch (action) {
        case NoticeActions.ResumeWorkspace:
          return [Commands.ResumeWorkspace, notice.workspaceId];
        case NoticeActions.ShowAgent:
          return [Commands.ShowAgentTerminal, notice.agentId ?? ''];
        case NoticeActions.OpenAgentLog:
          return [Commands.OpenAgentLog, notice.agentId ?? ''];
        case NoticeActions.OpenAuditLog:
          return [Commands.ShowAuditLog, notice.workspaceId];
      }
    })();
    // The commands report their own failures (a workspace resumed meanwhile says so).
    void vscode.commands.executeCommand(command, argument);
  }
}
