// The Orchflow commands. Each one reports failures through showErrorMessage with the server's own message
// (written to be acted on) and never lets a rejection escape.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import type { Logger } from '../client/logger';
import { registerGuardedCommands, type CommandHandler } from '../commandRegistry';
import { chooseItem, requireLoaded } from '../common/pickItem';
import { BundledServerRelativePath, Commands, WorkspaceConfigRelativePath, WorkspaceSchemaRelativePath, type CommandId } from '../constants';
import type { OutputLogger } from '../log';
import type { WorkspaceInfo } from '../protocol/generated';
import { workspaceConfigTemplate } from './configTemplate';
import { fileExists, windowFolderPaths, type WorkspaceController } from './controller';
import { basename, typeAndNamespace, workspacePicks } from './presentation';
import type { WorkspaceStore } from './store';

export interface CommandContext {
  readonly extensionUri: vscode.Uri;
  readonly client: OrchflowClient;
  readonly store: WorkspaceStore;
  readonly controller: WorkspaceController;
  readonly logger: OutputLogger;
}

/** What a command may receive: a tree row, a workspace id, or (from the explorer) a folder Uri. */
function argumentWorkspaceId(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg.length > 0) {
    return arg;
  }
  if (typeof arg === 'object' && arg !== null) {
    const node = arg as { kind?: unknown; id?: unknown };
    if (node.kind === 'workspace' && typeof node.id === 'string') {
      return node.id;
    }
  }
  return undefined;
}

function argumentFolderPath(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) {
    return arg.scheme === 'file' ? arg.fsPath : undefined;
  }
  if (typeof arg === 'object' && arg !== null) {
    const node = arg as { kind?: unknown; path?: unknown };
    if (node.kind === 'unmappedFolder' && typeof node.path === 'string') {
      return node.path;
    }
  }
  return undefined;
}

/** Finds the workspace a command is about: the argument's, or one the user picks. Undefined when cancelled. */
async function pickWorkspace(
  ctx: CommandContext,
  arg: unknown,
  options: { placeHolder: string; filter?: (w: WorkspaceInfo) => boolean; preferActive?: boolean },
): Promise<WorkspaceInfo | undefined> {
  requireLoaded(ctx.store);
  const id = argumentWorkspaceId(arg);
  if (id !== undefined) {
    const known = ctx.store.get(id);
    return known ?? (await ctx.client.request('orchflow/workspace/show', { id }));
  }
  if (options.preferActive && ctx.store.activeWorkspace) {
    return ctx.store.activeWorkspace;
  }
  return chooseItem(ctx.store, {
    candidates: ctx.store.all().filter(options.filter ?? (() => true)),
    none: 'There is no Orchflow workspace to choose from. Create one from a folder first.',
    picks: (candidates) => workspacePicks(candidates, ctx.store.activeId, ctx.store.openIds()),
    placeHolder: options.placeHolder,
  });
}

async function createWorkspace(ctx: CommandContext, arg: unknown): Promise<void> {
  requireLoaded(ctx.store);
  let folder = argumentFolderPath(arg);
  if (folder === undefined) {
    const browse = '$(folder-opened) Browse...';
    // Folders that map to no workspace; before the first mapping finished, every folder of the window.
    const candidates = ctx.store.folderMappings.length > 0 ? ctx.store.unmappedFolders() : windowFolderPaths();
    const items: (vscode.QuickPickItem & { folder?: string })[] = [
      ...candidates.map((f) => ({ label: `$(folder) ${basename(f)}`, description: f, folder: f })),
      { label: browse, description: 'Choose another folder' },
    ];
    const chosen = await vscode.window.showQuickPick(items, {
      placeHolder: candidates.length > 0 ? 'Pick a folder of this window to register as an Orchflow workspace' : 'Every folder of this window is an Orchflow workspace already',
      matchOnDescription: true,
    });
    if (!chosen) {
      return;
    }
    if (chosen.folder !== undefined) {
      folder = chosen.folder;
    } else {
      const uris = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        openLabel: 'Create Workspace',
        title: 'Create Orchflow Workspace from Folder',
      });
      if (!uris || uris.length === 0) {
        return;
      }
      folder = uris[0].fsPath;
    }
  }
  const created = await ctx.client.request('orchflow/workspace/create', { path: folder });
  ctx.store.upsert(created);
  ctx.logger.info(`Created workspace ${created.name} (${created.id}) at ${created.rootPath}.`);
  await ctx.controller.syncFolders({ register: false, follow: true });
  const switchNow = 'Switch to It';
  const actions = ctx.store.activeId === created.id ? [] : [switchNow];
  const choice = await vscode.window.showInformationMessage(
    `Created Orchflow workspace "${created.name}" (${typeAndNamespace(created)}).`,
    ...actions,
  );
  if (choice === switchNow) {
    await ctx.controller.switchTo(created.id);
  }
}

async function switchWorkspace(ctx: CommandContext, arg: unknown): Promise<void> {
  requireLoaded(ctx.store);
  const id = argumentWorkspaceId(arg);
  if (id !== undefined) {
    await ctx.controller.switchTo(id);
    return;
  }
  const all = ctx.store.all();
  const picks: (vscode.QuickPickItem & { id?: string })[] = workspacePicks(all, ctx.store.activeId, ctx.store.openIds());
  picks.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(add) Create Workspace from Folder...', alwaysShow: true });
  const chosen = await vscode.window.showQuickPick(picks, {
    placeHolder: all.length > 0 ? 'Switch the active Orchflow workspace of this window' : 'There is no Orchflow workspace yet',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!chosen) {
    return;
  }
  if (chosen.id === undefined) {
    await createWorkspace(ctx, undefined);
    return;
  }
  if (chosen.id !== ctx.store.activeId) {
    await ctx.controller.switchTo(chosen.id);
  }
}

async function deleteWorkspace(ctx: CommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, { placeHolder: 'Pick the Orchflow workspace to delete', filter: (w) => !w.isDefault });
  if (!workspace) {
    return;
  }
  const configFile = vscode.Uri.joinPath(vscode.Uri.file(workspace.rootPath), WorkspaceConfigRelativePath);
  const hasConfig = await fileExists(configFile);
  const inWindow = ctx.store.openIds().has(workspace.id);
  const detail = [
    `This removes only Orchflow's records of the workspace: its registration and what Orchflow keeps for it. No files are deleted; ${workspace.rootPath} stays as it is.`,
    hasConfig && inWindow
      ? `The folder keeps its ${WorkspaceConfigRelativePath}, so it is registered again the next time a window opens it.`
      : undefined,
  ]
    .filter((l): l is string => l !== undefined)
    .join('\n\n');
  const confirm = 'Delete';
  const choice = await vscode.window.showWarningMessage(`Delete the Orchflow workspace "${workspace.name}"?`, { modal: true, detail }, confirm);
  if (choice !== confirm) {
    return;
  }
  await ctx.client.request('orchflow/workspace/delete', { id: workspace.id });
  ctx.store.remove(workspace.id);
  ctx.logger.info(`Deleted workspace ${workspace.name} (${workspace.id}).`);
}

async function openWorkspaceConfig(ctx: CommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, { placeHolder: 'Pick the workspace whose config to open', preferActive: true });
  if (!workspace) {
    return;
  }
  if (workspace.isDefault) {
    await offerGlobalConfig(ctx, workspace);
    return;
  }
  const uri = workspace.config.path
    ? vscode.Uri.file(workspace.config.path)
    : vscode.Uri.joinPath(vscode.Uri.file(workspace.rootPath), WorkspaceConfigRelativePath);
  if (!(await fileExists(uri))) {
    const create = 'Create from Template';
    const choice = await vscode.window.showInformationMessage(
      `"${workspace.name}" has no ${WorkspaceConfigRelativePath}; it uses the defaults. Create one from a template?`,
      create,
    );
    if (choice !== create) {
      return;
    }
    const text = workspaceConfigTemplate({
      root: workspace.rootPath,
      id: workspace.id,
      name: workspace.name,
      type: workspace.metadata.projectType,
      namespacePrefix: workspace.namespace,
      schemaPath: vscode.Uri.joinPath(ctx.extensionUri, WorkspaceSchemaRelativePath).fsPath,
    });
    await vscode.workspace.fs.createDirectory(vscode.Uri.file(path.dirname(uri.fsPath)));
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
    ctx.logger.info(`Wrote ${uri.fsPath}.`);
    const reloaded = await ctx.client.request('orchflow/workspace/reloadConfig', { id: workspace.id });
    ctx.store.upsert(reloaded);
  }
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
}

/** The default workspace has no folder of its own to hold a config file: its settings are the global ones. */
async function offerGlobalConfig(ctx: CommandContext, workspace: WorkspaceInfo): Promise<void> {
  const configFile = ctx.client.server?.daemon.configFile;
  const exists = configFile !== undefined && (await fileExists(vscode.Uri.file(configFile)));
  const open = 'Open Global Config';
  const choice = await vscode.window.showInformationMessage(
    `"${workspace.name}" is the built-in default workspace: it has no ${WorkspaceConfigRelativePath}, and the global config (orchflow.toml) sets its limits.`,
    ...(exists ? [open] : []),
  );
  if (choice === open && configFile) {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(configFile)));
  }
}

async function revealWorkspaceRoot(ctx: CommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, { placeHolder: 'Pick the workspace whose root to reveal' });
  if (!workspace) {
    return;
  }
  const uri = vscode.Uri.file(workspace.rootPath);
  const inWindow = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
  await vscode.commands.executeCommand(inWindow ? 'revealInExplorer' : 'revealFileInOS', uri);
}

async function showBackendLog(ctx: CommandContext): Promise<void> {
  const logFile = ctx.client.server?.daemon.logFile;
  if (!logFile) {
    ctx.logger.show();
    void vscode.window.showWarningMessage("The Orchflow backend is not connected, so its log file is not known yet. Showing the extension's log instead.");
    return;
  }
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(logFile));
  const editor = await vscode.window.showTextDocument(doc, { preview: true });
  // The newest lines are what one opens a log for.
  const end = doc.lineAt(Math.max(0, doc.lineCount - 1)).range.end;
  editor.selection = new vscode.Selection(end, end);
  editor.revealRange(new vscode.Range(end, end));
}

async function refresh(ctx: CommandContext): Promise<void> {
  if (ctx.client.connectionState.kind !== 'connected') {
    ctx.logger.info('Refresh: reconnecting now.');
    await ctx.client.restart();
    return;
  }
  await ctx.controller.refreshAll({ register: true });
}

/** The daemon binary: the setting, or the one shipped inside the extension. */
export function serverPathFrom(extensionUri: vscode.Uri, setting: string | undefined): string {
  const configured = setting?.trim();
  return configured ? configured : vscode.Uri.joinPath(extensionUri, BundledServerRelativePath).fsPath;
}

export function registerCommands(ctx: CommandContext, logger: Logger): vscode.Disposable[] {
  // The workspace commands; the terminal commands are registered by terminals/commands.ts.
  const handlers: Partial<Record<CommandId, CommandHandler>> = {
    [Commands.CreateWorkspace]: (arg) => createWorkspace(ctx, arg),
    [Commands.SwitchWorkspace]: (arg) => switchWorkspace(ctx, arg),
    [Commands.DeleteWorkspace]: (arg) => deleteWorkspace(ctx, arg),
    [Commands.OpenWorkspaceConfig]: (arg) => openWorkspaceConfig(ctx, arg),
    [Commands.RevealWorkspaceRoot]: (arg) => revealWorkspaceRoot(ctx, arg),
    [Commands.ShowBackendLog]: () => showBackendLog(ctx),
    [Commands.ShowLog]: () => {
      ctx.logger.show();
      return Promise.resolve();
    },
    [Commands.Refresh]: () => refresh(ctx),
  };
  return registerGuardedCommands(logger, Object.entries(handlers) as [CommandId, CommandHandler][]);
}
