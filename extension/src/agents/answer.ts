// Answering the menu an agent's screen shows (a trust dialog, a tool approval ...): one choice, by its number, sent
// with the question the person saw, so that the daemon refuses it when the screen asks something else by now, or when
// the agent no longer waits. Shared by the needs-input notification's choice buttons and Answer Agent...; a refusal is
// shown with the daemon's message and hint, and offers the agent's terminal to see what it asks now.
import * as vscode from 'vscode';
import type { Logger } from '../client/logger';
import { Commands } from '../constants';
import { userMessage } from '../protocol/errors';
import { Methods, type AgentAnswerParams, type RequestMethod, type RequestParams, type RequestResult } from '../protocol/generated';
import { AlertActions } from './presentation';

/** The part of OrchflowClient an answer needs. */
export interface AnswerClient {
  request<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>>;
}

/** How long the status bar says which choice was sent. */
const AnsweredMessageMs = 5_000;

/** Sends the answer; never throws (a refusal is shown to the person). `label` is the choice as the person saw it. */
export async function answerAgent(client: AnswerClient, logger: Logger, answer: AgentAnswerParams, label: string): Promise<void> {
  try {
    const agent = await client.request(Methods.AgentAnswer, answer);
    logger.info(`Answered ${answer.id}: choice ${answer.choice} ("${label}"); it is ${agent.state} now.`);
    vscode.window.setStatusBarMessage(`$(check) Answered ${answer.id}: ${label}`, AnsweredMessageMs);
  } catch (error) {
    const message = userMessage(error);
    logger.error(`Answering ${answer.id} with choice ${answer.choice} ("${label}") failed: ${message}`);
    const action = await vscode.window.showErrorMessage(message, AlertActions.ShowTerminal);
    if (action === AlertActions.ShowTerminal) {
      await vscode.commands.executeCommand(Commands.ShowAgentTerminal, answer.id);
    }
  }
}
