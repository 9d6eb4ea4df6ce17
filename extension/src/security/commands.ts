// The security commands: Suspend Workspace and Resume Workspace (hibernation), Show Audit Log, and the secrets:
// Set Secret... (the value typed into a password box, sent to the daemon and never shown again), Remove Secret...
// and List Secrets (the daemon's masked hints only). Like the other commands, each shows the daemon's own message and
// hint when it fails and never lets a rejection escape.
import * as vscode from 'vscode';
import { requireLoaded } from '../common/pickItem';
import { registerGuardedCommands, type CommandHandler } from '../commandRegistry';
import type { OrchflowClient } from '../client/client';
import type { Logger } from '../client/logger';
import { Commands, type CommandId } from '../constants';
import { Methods, type SecretListResult, type WorkspaceInfo } from '../protocol/generated';
import { pickWorkspace as pickWorkspaceIn, type PickOptions } from '../workspaces/pick';
import type { WorkspaceStore } from '../workspaces/store';
import type { AuditLogProvider } from './auditDocuments';
import {
  noSecretsMessage,
  secretNameProblem,
  secretPicks,
  secretProblems,
  secretRemovedMessage,
  secretSetMessage,
  secretValueProblem,
  suspendMessage,
  type SecretPickView,
} from './presentation';

export interface SecurityCommandContext {
  readonly client: OrchflowClient;
  readonly workspaces: WorkspaceStore;
  readonly audit: AuditLogProvider;
  readonly logger: Logger;
}

/** How long the status bar shows what a command did. */
const StatusMessageMs = 5_000;

function pickWorkspace(ctx: SecurityCommandContext, arg: unknown, placeHolder: string, options?: PickOptions): Promise<WorkspaceInfo | undefined> {
  requireLoaded(ctx.workspaces);
  return pickWorkspaceIn(ctx.workspaces, arg, placeHolder, options);
}

// ---- Hibernation ----

async function suspendWorkspace(ctx: SecurityCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace to suspend: its processes stop where they are', {
    filter: (w) => !w.hibernation,
    none: 'Every Orchflow workspace is suspended already.',
  });
  if (!workspace) {
    return;
  }
  const result = await ctx.client.request(Methods.WorkspaceSuspend, { id: workspace.id });
  // The row follows the daemon's orchflow/workspace/changed, which is the authority (another client may act at once);
  // its notice, with a Resume button, is the notification. The status bar confirms the click.
  const message = suspendMessage(workspace.name, result, true);
  ctx.logger.info(message);
  vscode.window.setStatusBarMessage(`$(debug-pause) ${message}`, StatusMessageMs);
}

async function resumeWorkspace(ctx: SecurityCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the suspended workspace to resume', {
    filter: (w) => w.hibernation != null,
    none: 'No Orchflow workspace is suspended.',
  });
  if (!workspace) {
    return;
  }
  const result = await ctx.client.request(Methods.WorkspaceResume, { id: workspace.id });
  const message = suspendMessage(workspace.name, result, false);
  ctx.logger.info(message);
  vscode.window.setStatusBarMessage(`$(debug-continue) ${message}`, StatusMessageMs);
}

// ---- The audit log ----

async function showAuditLog(ctx: SecurityCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace whose audit log to show');
  if (workspace) {
    await ctx.audit.open(workspace.id);
  }
}

// ---- Secrets ----

async function listSecretsOf(ctx: SecurityCommandContext, workspace: WorkspaceInfo): Promise<SecretListResult> {
  const result = await ctx.client.request(Methods.SecretList, { workspaceId: workspace.id });
  for (const problem of secretProblems(result)) {
    ctx.logger.warn(`Secrets of ${workspace.id}: ${problem}`);
  }
  return result;
}

async function setSecret(ctx: SecurityCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace the secret is for (only its processes get it)');
  if (!workspace) {
    return;
  }
  const existing = await listSecretsOf(ctx, workspace);
  const name = await vscode.window.showInputBox({
    title: `Set a secret of ${workspace.name} (1/2)`,
    prompt: 'The environment variable its processes get',
    placeHolder: 'GITHUB_TOKEN',
    ignoreFocusOut: true,
    validateInput: (value) => secretNameProblem(value.trim()),
  });
  if (name === undefined) {
    return;
  }
  const trimmed = name.trim();
  const previous = existing.secrets.find((s) => s.name === trimmed && s.source === 'daemon');
  const value = await vscode.window.showInputBox({
    title: `Set a secret of ${workspace.name} (2/2)`,
    prompt: previous
      ? `The new value of ${trimmed}; it replaces the current one (${previous.masked}). It is never shown again.`
      : `The value of ${trimmed}. It is never shown again: Orchflow shows only a masked hint.`,
    password: true,
    ignoreFocusOut: true,
    validateInput: (typed) => secretValueProblem(typed),
  });
  if (value === undefined) {
    return;
  }
  const info = await ctx.client.request(Methods.SecretSet, { workspaceId: workspace.id, name: trimmed, value });
  // Only the daemon's masked hint goes into the log and the message; the value stays with the daemon.
  const message = secretSetMessage(workspace.name, info, previous !== undefined);
  ctx.logger.info(message);
  void vscode.window.showInformationMessage(message);
}

type SecretItem = vscode.QuickPickItem & { secret?: SecretPickView; setNew?: boolean };

function secretItems(result: SecretListResult, filter: (s: SecretPickView) => boolean): SecretItem[] {
  const problems = secretProblems(result).map((p): SecretItem => ({ label: `$(warning) ${p}`, alwaysShow: true }));
  return [...secretPicks(result).filter(filter).map((s): SecretItem => ({ label: s.label, description: s.description, detail: s.detail, secret: s })), ...problems];
}

async function removeSecret(ctx: SecurityCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace whose secret to remove');
  if (!workspace) {
    return;
  }
  const result = await listSecretsOf(ctx, workspace);
  const removable = secretPicks(result).filter((s) => s.removable);
  if (removable.length === 0) {
    const file = result.secrets.some((s) => s.source === 'file') ? ` The secrets of ${result.file ?? 'its secrets_file'} are removed by editing that file.` : '';
    void vscode.window.showInformationMessage(`${workspace.name} has no secret set with Orchflow.${file}`);
    return;
  }
  const chosen = await vscode.window.showQuickPick(secretItems(result, (s) => s.removable), {
    title: `Remove a secret of ${workspace.name}`,
    placeHolder: 'Values are masked; pick the secret to remove',
    matchOnDescription: false,
  });
  const secret = chosen?.secret;
  if (!secret) {
    return;
  }
  const remove = 'Remove';
  const choice = await vscode.window.showWarningMessage(
    `Remove the secret ${secret.name} of ${workspace.name}?`,
    { modal: true, detail: 'Processes started from now on will not get it; running ones keep their copy. Orchflow cannot show the value, so keep it elsewhere if you need it again.' },
    remove,
  );
  if (choice !== remove) {
    return;
  }
  await ctx.client.request(Methods.SecretRemove, { workspaceId: workspace.id, name: secret.name });
  const message = secretRemovedMessage(workspace.name, secret.name);
  ctx.logger.info(message);
  void vscode.window.showInformationMessage(message);
}

async function listSecrets(ctx: SecurityCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace whose secrets to list');
  if (!workspace) {
    return;
  }
  const result = await listSecretsOf(ctx, workspace);
  if (result.secrets.length === 0 && result.problems.length === 0) {
    const set = 'Set Secret...';
    const choice = await vscode.window.showInformationMessage(noSecretsMessage(workspace.name, result), set);
    if (choice === set) {
      await vscode.commands.executeCommand(Commands.SetSecret, workspace.id);
    }
    return;
  }
  const items: SecretItem[] = [...secretItems(result, () => true), { label: '$(add) Set a secret...', setNew: true, alwaysShow: true }];
  const chosen = await vscode.window.showQuickPick(items, {
    title: `Secrets of ${workspace.name} (values masked)`,
    placeHolder: 'Only masked hints are shown; the values stay with the daemon',
    matchOnDescription: false,
  });
  if (chosen?.setNew) {
    await vscode.commands.executeCommand(Commands.SetSecret, workspace.id);
  }
}

export function registerSecurityCommands(ctx: SecurityCommandContext): vscode.Disposable[] {
  const handlers: [CommandId, CommandHandler][] = [
    [Commands.SuspendWorkspace, (arg) => suspendWorkspace(ctx, arg)],
    [Commands.ResumeWorkspace, (arg) => resumeWorkspace(ctx, arg)],
    [Commands.ShowAuditLog, (arg) => showAuditLog(ctx, arg)],
    [Commands.SetSecret, (arg) => setSecret(ctx, arg)],
    [Commands.RemoveSecret, (arg) => removeSecret(ctx, arg)],
    [Commands.ListSecrets, (arg) => listSecrets(ctx, arg)],
  ];
  return registerGuardedCommands(ctx.logger, handlers);
}
