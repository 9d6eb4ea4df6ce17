// A person's answers, from VS Code, to what a workspace cannot decide for itself: a weaker policy its config file asks
// for (Apply / Keep current policy, in a notification when it appears and on its row), and a folder put in place of
// its root (Adopt Folder). The daemon holds the old policy meanwhile, checks that this client is a person's (never a
// process Orchflow started), refuses an answer to a change other than the one shown (the fingerprint), and audits
// each answer with this client's name. The texts come from policy.ts.
import * as vscode from 'vscode';
import { requireLoaded } from '../common/pickItem';
import type { OrchflowClient } from '../client/client';
import type { Logger } from '../client/logger';
import { registerGuardedCommands, type CommandHandler } from '../commandRegistry';
import { Commands, type CommandId } from '../constants';
import { userMessage } from '../protocol/errors';
import { Methods, type WorkspaceInfo } from '../protocol/generated';
import { pickWorkspace } from './pick';
import { adoptQuestion, applyQuestion, decisionMessage, PolicyActions, PromptTracker, RootActions, type ModalQuestion, type PolicyPrompt } from './policy';
import type { WorkspaceStore } from './store';

export interface PolicyContext {
  readonly client: OrchflowClient;
  readonly workspaces: WorkspaceStore;
  readonly logger: Logger;
}

/** How long the status bar shows what a decision did. */
const StatusMessageMs = 5_000;

async function decide(ctx: PolicyContext, workspace: WorkspaceInfo, fingerprint: string, reject: boolean): Promise<void> {
  const updated = await ctx.client.request(Methods.WorkspaceConfirmPolicy, { id: workspace.id, fingerprint, reject });
  ctx.workspaces.upsert(updated);
  const message = decisionMessage(updated, reject);
  ctx.logger.info(message);
  vscode.window.setStatusBarMessage(`$(shield) ${message}`, StatusMessageMs);
}

async function adopt(ctx: PolicyContext, workspace: WorkspaceInfo): Promise<void> {
  const updated = await ctx.client.request(Methods.WorkspaceUpdate, { id: workspace.id, acceptRoot: true });
  ctx.workspaces.upsert(updated);
  ctx.logger.info(`Adopted the folder at ${updated.rootPath} as the root of ${updated.name}.`);
  vscode.window.setStatusBarMessage(`$(shield) Adopted the folder at ${updated.rootPath} as the root of ${updated.name}.`, StatusMessageMs);
}

async function ask(question: ModalQuestion): Promise<boolean> {
  return (await vscode.window.showWarningMessage(question.message, { modal: true, detail: question.detail }, question.button)) === question.button;
}

async function applyPolicyChange(ctx: PolicyContext, arg: unknown): Promise<void> {
  requireLoaded(ctx.workspaces);
  const workspace = await pickWorkspace(ctx.workspaces, arg, 'Pick the workspace whose pending policy change to apply', {
    filter: (w) => w.pendingPolicy != null,
    none: 'No Orchflow workspace has a pending policy change.',
  });
  const question = workspace && applyQuestion(workspace);
  if (workspace?.pendingPolicy && question && (await ask(question))) {
    await decide(ctx, workspace, workspace.pendingPolicy.fingerprint, false);
  }
}

async function keepCurrentPolicy(ctx: PolicyContext, arg: unknown): Promise<void> {
  requireLoaded(ctx.workspaces);
  const workspace = await pickWorkspace(ctx.workspaces, arg, 'Pick the workspace whose current policy to keep', {
    filter: (w) => w.pendingPolicy != null && !w.pendingPolicy.rejectedAt,
    none: 'No Orchflow workspace has a pending policy change.',
  });
  if (workspace?.pendingPolicy) {
    await decide(ctx, workspace, workspace.pendingPolicy.fingerprint, true);
  }
}

async function adoptWorkspaceRoot(ctx: PolicyContext, arg: unknown): Promise<void> {
  requireLoaded(ctx.workspaces);
  const workspace = await pickWorkspace(ctx.workspaces, arg, 'Pick the workspace whose replaced root to adopt', {
    filter: (w) => w.rootProblem?.kind === 'replaced',
    none: 'No Orchflow workspace has a replaced root.',
  });
  const question = workspace && adoptQuestion(workspace);
  if (workspace && question && (await ask(question))) {
    await adopt(ctx, workspace);
  }
}

export function registerPolicyCommands(ctx: PolicyContext): vscode.Disposable[] {
  const handlers: [CommandId, CommandHandler][] = [
    [Commands.ApplyPolicyChange, (arg) => applyPolicyChange(ctx, arg)],
    [Commands.KeepCurrentPolicy, (arg) => keepCurrentPolicy(ctx, arg)],
    [Commands.AdoptWorkspaceRoot, (arg) => adoptWorkspaceRoot(ctx, arg)],
  ];
  return registerGuardedCommands(ctx.logger, handlers);
}

/**
 * Shows each pending policy change and each replaced or missing root once, when the store first holds it (from the
 * list on connecting, or from orchflow/workspace/changed), with the buttons that answer it.
 */
export class PolicyNotifier implements vscode.Disposable {
  private readonly tracker = new PromptTracker();
  private readonly subscription: { dispose(): void };

  constructor(private readonly ctx: PolicyContext) {
    this.subscription = ctx.workspaces.onDidChange(() => {
      if (ctx.workspaces.isLoaded) {
        for (const prompt of this.tracker.next(ctx.workspaces.all())) {
          this.show(prompt);
        }
      }
    });
  }

  private show(prompt: PolicyPrompt): void {
    this.ctx.logger.warn(prompt.message);
    if (prompt.kind === 'policy') {
      void vscode.window.showWarningMessage(prompt.message, ...prompt.actions).then((action) => {
        if (action !== undefined) {
          this.answer(prompt.workspaceId, prompt.fingerprint, action === PolicyActions.Keep);
        }
      });
      return;
    }
    void vscode.window.showErrorMessage(prompt.message, ...prompt.actions).then((action) => {
      if (action === RootActions.Adopt) {
        void vscode.commands.executeCommand(Commands.AdoptWorkspaceRoot, prompt.workspaceId);
      } else if (action === RootActions.ShowAuditLog) {
        void vscode.commands.executeCommand(Commands.ShowAuditLog, prompt.workspaceId);
      }
    });
  }

  /** The button is the person's answer to the very change shown (its fingerprint); the daemon refuses any other. */
  private answer(workspaceId: string, fingerprint: string, reject: boolean): void {
    const workspace = this.ctx.workspaces.get(workspaceId);
    if (!workspace) {
      return;
    }
    decide(this.ctx, workspace, fingerprint, reject).catch((error: unknown) => {
      const message = userMessage(error);
      this.ctx.logger.error(`Answering the policy change of ${workspace.name} failed: ${message}`);
      void vscode.window.showErrorMessage(message);
    });
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
