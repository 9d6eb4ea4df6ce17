// The terminal commands and the terminal profile of the "+" menu. Like the workspace commands, each one shows
// the server's own message when it fails and never lets a rejection escape.
import * as vscode from 'vscode';
import { registerGuardedCommands, type CommandHandler } from '../commandRegistry';
import { pickItem, requireLoaded } from '../common/pickItem';
import type { Logger } from '../client/logger';
import { Commands, TerminalProfileId, type CommandId } from '../constants';
import { userMessage } from '../protocol/errors';
import type { TerminalInfo, TerminalPurpose, WorkspaceInfo } from '../protocol/generated';
import { argumentIdOfKind, pickWorkspace as pickWorkspaceIn } from '../workspaces/pick';
import type { WorkspaceStore } from '../workspaces/store';
import type { TerminalManager } from './manager';
import { isRunning } from './model';
import { purposePicks, terminalPicks } from './presentation';
import type { TerminalStore } from './store';

export interface TerminalCommandContext {
  readonly workspaces: WorkspaceStore;
  readonly terminals: TerminalStore;
  readonly manager: TerminalManager;
  readonly logger: Logger;
}

export function argumentTerminalId(arg: unknown): string | undefined {
  return argumentIdOfKind(arg, 'terminal');
}

function pickWorkspace(ctx: TerminalCommandContext, arg: unknown, placeHolder: string): Promise<WorkspaceInfo | undefined> {
  requireLoaded(ctx.workspaces, ctx.terminals);
  return pickWorkspaceIn(ctx.workspaces, arg, placeHolder);
}

async function pickTerminal(
  ctx: TerminalCommandContext,
  arg: unknown,
  placeHolder: string,
  filter: (t: TerminalInfo) => boolean = () => true,
): Promise<TerminalInfo | undefined> {
  requireLoaded(ctx.workspaces, ctx.terminals);
  return pickItem(argumentTerminalId(arg), { get: (id) => ctx.terminals.get(id), unknown: (id) => `There is no Orchflow terminal "${id}"; it may have been killed.` }, () => ({
    candidates: ctx.terminals.all().filter(filter),
    none: 'There is no Orchflow terminal. Start one with "Orchflow: New Terminal in Workspace...".',
    picks: (candidates) => {
      const activeId = ctx.manager.activeTerminalId();
      const picks = terminalPicks(candidates, (w) => ctx.manager.workspaceName(w), ctx.workspaces.activeId);
      // The terminal in front in the panel is the likeliest target.
      return picks.sort((a, b) => Number(b.id === activeId) - Number(a.id === activeId));
    },
    placeHolder,
  }));
}

async function pickPurpose(workspace: WorkspaceInfo): Promise<TerminalPurpose | undefined> {
  const chosen = await vscode.window.showQuickPick(purposePicks(), { placeHolder: `What is the new terminal in ${workspace.name} for?`, matchOnDescription: true });
  return chosen?.purpose;
}

async function newTerminal(ctx: TerminalCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace to start a terminal in');
  if (!workspace) {
    return;
  }
  const purpose = await pickPurpose(workspace);
  if (!purpose) {
    return;
  }
  await ctx.manager.create(workspace, purpose);
}

async function killTerminal(ctx: TerminalCommandContext, arg: unknown): Promise<void> {
  const terminal = await pickTerminal(ctx, arg, 'Pick the Orchflow terminal to kill');
  if (!terminal) {
    return;
  }
  if (isRunning(terminal)) {
    const kill = 'Kill';
    const choice = await vscode.window.showWarningMessage(
      `Kill the terminal "${terminal.name}" of ${ctx.manager.workspaceName(terminal.workspaceId)}?`,
      { modal: true, detail: 'Its process and every process it started end, and the terminal is removed with its scrollback.' },
      kill,
    );
    if (choice !== kill) {
      return;
    }
  }
  await ctx.manager.kill(terminal.id);
}

async function showTerminal(ctx: TerminalCommandContext, arg: unknown): Promise<void> {
  const terminal = await pickTerminal(ctx, arg, 'Pick the Orchflow terminal to show');
  if (terminal) {
    ctx.manager.show(terminal);
  }
}

async function renameTerminal(ctx: TerminalCommandContext, arg: unknown): Promise<void> {
  const terminal = await pickTerminal(ctx, arg, 'Pick the Orchflow terminal to rename');
  if (!terminal) {
    return;
  }
  const name = await vscode.window.showInputBox({
    title: `Rename terminal "${terminal.name}"`,
    value: terminal.name,
    prompt: `The new name of the terminal in ${ctx.manager.workspaceName(terminal.workspaceId)}`,
    validateInput: (value) => (value.trim().length === 0 ? 'A terminal name cannot be empty.' : undefined),
  });
  if (name === undefined || name.trim() === terminal.name) {
    return;
  }
  await ctx.manager.rename(terminal.id, name.trim());
}

async function openTerminalGroup(ctx: TerminalCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace whose terminals to show side by side');
  if (!workspace) {
    return;
  }
  if (ctx.manager.openGroup(workspace) > 0) {
    return;
  }
  const start = 'New Terminal';
  const choice = await vscode.window.showInformationMessage(`${workspace.name} has no terminals yet.`, start);
  if (choice === start) {
    await newTerminal(ctx, workspace.id);
  }
}

/** The "Orchflow workspace terminal" profile: a shell in this window's active Orchflow workspace. */
function profileProvider(ctx: TerminalCommandContext): vscode.TerminalProfileProvider {
  return {
    provideTerminalProfile: async () => {
      // VS Code shows a thrown error's message as a notification.
      requireLoaded(ctx.workspaces, ctx.terminals);
      const workspace = ctx.workspaces.activeWorkspace;
      if (!workspace) {
        throw new Error(
          'No Orchflow workspace is active in this window. Pick one with "Orchflow: Switch Workspace..." (or the status bar), or use "Orchflow: New Terminal in Workspace...".',
        );
      }
      try {
        return new vscode.TerminalProfile(await ctx.manager.createForProfile(workspace, 'shell'));
      } catch (error) {
        ctx.logger.error(`The Orchflow terminal profile failed: ${userMessage(error)}`);
        throw new Error(userMessage(error));
      }
    },
  };
}

export function registerTerminalCommands(ctx: TerminalCommandContext): vscode.Disposable[] {
  const handlers: [CommandId, CommandHandler][] = [
    [Commands.NewTerminal, (arg) => newTerminal(ctx, arg)],
    [Commands.KillTerminal, (arg) => killTerminal(ctx, arg)],
    [Commands.ShowTerminal, (arg) => showTerminal(ctx, arg)],
    [Commands.RenameTerminal, (arg) => renameTerminal(ctx, arg)],
    [Commands.OpenTerminalGroup, (arg) => openTerminalGroup(ctx, arg)],
  ];
  return [
    ...registerGuardedCommands(ctx.logger, handlers),
    vscode.window.registerTerminalProfileProvider(TerminalProfileId, profileProvider(ctx)),
  ];
}
