// Notifications the moment an agent needs input, finishes or fails, each with the buttons that help next. A question
// the agent's screen shows is quoted; when it is a menu, its choices are the buttons and a click answers it
// (orchflow/agent/answer, refused by the daemon if the screen asks something else by then); otherwise Show Terminal
// and Send Input… or Open Log. AgentSync decides when (once per transition and per question, never for what the list
// on connecting already showed); this adapter shows them, honouring `orchflow.agents.notify`.
import * as vscode from 'vscode';
import type { Logger } from '../client/logger';
import { Commands, Settings } from '../constants';
import type { AgentInfo } from '../protocol/generated';
import { notifies, notifySettingFrom } from './alerts';
import { answerAgent, type AnswerClient } from './answer';
import { AlertActions, alertAnswer, alertView, type AlertAction, type AlertButton, type AlertKind } from './presentation';
import type { AgentStore } from './store';

const ActionCommands: Record<AlertAction, string> = {
  [AlertActions.ShowTerminal]: Commands.ShowAgentTerminal,
  [AlertActions.SendInput]: Commands.SendAgentInput,
  [AlertActions.OpenLog]: Commands.OpenAgentLog,
};

export class AgentNotifier {
  constructor(
    private readonly client: AnswerClient,
    private readonly agents: AgentStore,
    private readonly workspaceName: (id: string) => string,
    private readonly logger: Logger,
  ) {}

  alert(agent: AgentInfo, kind: AlertKind): void {
    const view = alertView(agent, kind, this.workspaceName(agent.workspaceId));
    this.logger.info(`Agent ${agent.id}: ${kind} (${view.message})`);
    if (!notifies(notifySettingFrom(vscode.workspace.getConfiguration().get(Settings.AgentsNotify)), kind)) {
      return;
    }
    const show =
      view.severity === 'error' ? vscode.window.showErrorMessage : view.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show<AlertButton>(view.message, ...view.buttons).then((button) => {
      if (button === undefined) {
        return;
      }
      if ('choice' in button) {
        void answerAgent(this.client, this.logger, alertAnswer(agent.id, view, button), button.title);
        return;
      }
      // By the time of the click another client may have answered: Send Input then says so rather than typing blind.
      const current = this.agents.get(agent.id);
      if (button.action === AlertActions.SendInput && current && current.state !== 'needsInput') {
        void vscode.window.showInformationMessage(`${agent.id} no longer waits for input (it is ${current.state}).`, AlertActions.ShowTerminal).then((again) => {
          if (again === AlertActions.ShowTerminal) {
            void vscode.commands.executeCommand(Commands.ShowAgentTerminal, agent.id);
          }
        });
        return;
      }
      void vscode.commands.executeCommand(ActionCommands[button.action], agent.id);
    });
  }
}
