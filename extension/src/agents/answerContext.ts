// Keeps the context key that shows "Answer Agent..." in the command palette only while some agent waits on a menu its
// screen shows (a question with choices). It follows the agent store; nothing polls.
import type * as vscode from 'vscode';
import { ContextKeys } from '../constants';
import { setContext } from '../workspaces/controller';
import { canAnswer } from './model';
import type { AgentStore } from './store';

export class AnswerableContextKey implements vscode.Disposable {
  private readonly subscription: { dispose(): void };
  private value: boolean | undefined;

  constructor(private readonly agents: AgentStore) {
    this.subscription = agents.onDidChange(() => this.update());
    this.update();
  }

  private update(): void {
    const value = this.agents.isLoaded && this.agents.all().some(canAnswer);
    if (value !== this.value) {
      this.value = value;
      setContext(ContextKeys.AnyAgentAnswerable, value);
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
