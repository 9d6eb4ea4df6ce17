// The memory commands: Browse Memory… (a live search over one workspace's entries, which opens an entry's value
// read-only, and copies or deletes one from its buttons), Delete Memory Entry…, Export Memory… and Import Memory….
// Like the other commands, each shows the daemon's own message and hint when it fails and never lets a rejection
// escape (commandRegistry.ts); a damaged memory's error offers Import Memory…, which is the way back: its recovery.
import * as os from 'node:os';
import { requireLoaded } from '../common/pickItem';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import type { Logger } from '../client/logger';
import { offerRecovery, registerGuardedCommands, type CommandHandler, type CommandRun as GuardedRun, type Recovery } from '../commandRegistry';
import { Commands, type CommandId } from '../constants';
import { isErrorCode, userMessage } from '../protocol/errors';
import { ErrorCodes, Methods, type MemoryEntry, type WorkspaceInfo } from '../protocol/generated';
import { pickWorkspace as pickWorkspaceIn } from '../workspaces/pick';
import type { WorkspaceStore } from '../workspaces/store';
import type { MemoryEntryProvider } from './documents';
import { browseRows, damagedMessage, entriesText, escapeIcons, exportFileName, exportMessage, importMessage, provenanceText, replaceConsequence } from './presentation';
import { parseMemoryQuery } from './query';
import type { MemoryStore } from './store';

export interface MemoryCommandContext {
  readonly client: OrchflowClient;
  readonly workspaces: WorkspaceStore;
  readonly memory: MemoryStore;
  readonly documents: MemoryEntryProvider;
  readonly logger: Logger;
}

/** How long typing pauses before the search runs: one request per pause, not one per key. */
export const SearchDebounceMs = 200;

/** How many entries one search shows; "more" says when more match. */
export const BrowseLimit = 200;

/** What one run of a command learned, for its error message (a damaged memory's error offers Import for that workspace). */
interface CommandRun {
  workspaceId?: string;
}

/** The way back from a damaged memory: importing an export into it (replacing every entry). */
function importRecovery(workspaceId: string | undefined): Recovery {
  return { label: 'Import Memory…', run: () => vscode.commands.executeCommand(Commands.ImportMemory, workspaceId) };
}

/** A run whose failure on a damaged memory offers Import Memory… for the workspace it picked. */
function offeringImport(guarded: GuardedRun): CommandRun {
  const run: CommandRun = {};
  guarded.recover = (error) => (isErrorCode(error, ErrorCodes.Damaged) ? importRecovery(run.workspaceId) : undefined);
  return run;
}

async function pickWorkspace(ctx: MemoryCommandContext, run: CommandRun, arg: unknown, placeHolder: string): Promise<WorkspaceInfo | undefined> {
  requireLoaded(ctx.workspaces, ctx.memory);
  const workspace = await pickWorkspaceIn(ctx.workspaces, arg, placeHolder);
  run.workspaceId = workspace?.id;
  return workspace;
}

// ---- Browse Memory… ----

type EntryItem = vscode.QuickPickItem & { entry?: MemoryEntry };

const CopyButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('copy'), tooltip: 'Copy Value' };
const DeleteButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete Entry' };

function entryItems(rows: ReturnType<typeof browseRows>, buttons: readonly vscode.QuickInputButton[]): EntryItem[] {
  // Every row is always shown: the daemon did the filtering, and the quick pick's own filter must not hide its answer.
  return rows.map((row): EntryItem => {
    switch (row.kind) {
      case 'entry':
        return { ...row.view, entry: row.entry, alwaysShow: true, buttons: [...buttons] };
      case 'problem':
        return { label: row.label, alwaysShow: true };
      case 'none':
        return { label: row.label, detail: row.detail, alwaysShow: true };
      case 'more':
        return { label: row.label, kind: vscode.QuickPickItemKind.Separator };
    }
  });
}

/**
 * Searches a workspace's memory as the user types (`words`, `prefix*`, `#tag`), and resolves with the entry they
 * accept, or undefined when they close it. The list follows the memory while it is open. `onButton` handles the
 * entries' buttons; it returns true when the list should be read again.
 */
function searchEntries(
  ctx: MemoryCommandContext,
  workspace: WorkspaceInfo,
  options: {
    /** Read again whenever the workspace's stats change (it may count the entries). */
    title: () => string;
    buttons: readonly vscode.QuickInputButton[];
    onButton?: (entry: MemoryEntry, button: vscode.QuickInputButton, pick: vscode.QuickPick<EntryItem>) => Promise<boolean>;
  },
): Promise<MemoryEntry | undefined> {
  return new Promise((resolve) => {
    const pick = vscode.window.createQuickPick<EntryItem>();
    pick.title = options.title();
    pick.placeholder = 'Search keys and values; prefix* for keys starting with it; #tag for a tag';
    pick.matchOnDescription = false;
    pick.matchOnDetail = false;
    let sequence = 0;
    let timer: NodeJS.Timeout | undefined;
    let chosen: MemoryEntry | undefined;

    const search = async (): Promise<void> => {
      const mine = ++sequence;
      const query = parseMemoryQuery(pick.value);
      pick.busy = true;
      try {
        const result = await ctx.client.request(Methods.MemorySearch, {
          workspaceId: workspace.id,
          text: query.text ?? null,
          prefix: query.prefix ?? null,
          tags: query.tags.length > 0 ? [...query.tags] : null,
          limit: BrowseLimit,
        });
        if (mine === sequence) {
          pick.items = entryItems(browseRows(query, result.entries, result.truncated, Date.now()), options.buttons);
        }
      } catch (error) {
        if (mine === sequence) {
          const message = userMessage(error);
          pick.items = [{ label: `$(error) ${escapeIcons(message)}`, alwaysShow: true }];
          ctx.logger.warn(`Searching the memory of ${workspace.id} failed: ${message}`);
        }
      } finally {
        if (mine === sequence) {
          pick.busy = false;
        }
      }
    };
    const later = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => void search(), SearchDebounceMs);
    };

    const subscriptions: { dispose(): void }[] = [
      pick.onDidChangeValue(later),
      ctx.memory.onEntriesChanged((id) => {
        if (id === workspace.id) {
          later();
        }
      }),
      ctx.memory.onDidChange((id) => {
        if (id === undefined || id === workspace.id) {
          pick.title = options.title();
        }
      }),
      pick.onDidAccept(() => {
        const entry = pick.selectedItems[0]?.entry ?? pick.activeItems[0]?.entry;
        if (entry) {
          chosen = entry;
          pick.hide();
        }
      }),
      pick.onDidTriggerItemButton((event) => {
        const entry = event.item.entry;
        const onButton = options.onButton;
        if (!entry || !onButton) {
          return;
        }
        onButton(entry, event.button, pick)
          .then((changed) => (changed ? search() : undefined))
          .catch((error: unknown) => {
            const message = userMessage(error);
            ctx.logger.error(`${options.title()}: ${message}`);
            void vscode.window.showErrorMessage(message);
          });
      }),
      pick.onDidHide(() => {
        clearTimeout(timer);
        sequence++;
        for (const s of subscriptions.splice(0)) {
          s.dispose();
        }
        pick.dispose();
        resolve(chosen);
      }),
    ];
    pick.show();
    void search();
  });
}

/** Nothing is served from a damaged memory: says so, with the daemon's hint, and offers the way back. */
async function refuseDamaged(ctx: MemoryCommandContext, workspace: WorkspaceInfo): Promise<boolean> {
  const stats = ctx.memory.get(workspace.id);
  if (stats?.state !== 'damaged') {
    return false;
  }
  await offerRecovery(damagedMessage(workspace.name, stats), importRecovery(workspace.id));
  return true;
}

/** Asks first, then deletes the entry; true when it was deleted (or was gone already). */
async function confirmAndDelete(ctx: MemoryCommandContext, workspace: WorkspaceInfo, entry: MemoryEntry): Promise<boolean> {
  const remove = 'Delete';
  const choice = await vscode.window.showWarningMessage(
    `Delete "${entry.key}" from the memory of ${workspace.name}?`,
    {
      modal: true,
      detail: `Its agents will no longer find it. It was ${provenanceText(entry.provenance)}. Run Export Memory… first to keep a copy.`,
    },
    remove,
  );
  if (choice !== remove) {
    return false;
  }
  const { deleted } = await ctx.client.request(Methods.MemoryDelete, { workspaceId: workspace.id, key: entry.key });
  ctx.logger.info(deleted ? `Deleted memory entry "${entry.key}" of ${workspace.id}.` : `Memory entry "${entry.key}" of ${workspace.id} was gone already.`);
  if (deleted) {
    vscode.window.setStatusBarMessage(`$(trash) Deleted "${entry.key}" from ${workspace.name}'s memory`, 5_000);
  } else {
    void vscode.window.showInformationMessage(`"${entry.key}" was no longer in ${workspace.name}'s memory: it was deleted, evicted or it expired meanwhile.`);
  }
  return true;
}

async function browseMemory(ctx: MemoryCommandContext, run: CommandRun, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, run, arg, 'Pick the workspace whose memory to browse');
  if (!workspace || (await refuseDamaged(ctx, workspace))) {
    return;
  }
  const entry = await searchEntries(ctx, workspace, {
    title: () => {
      const stats = ctx.memory.get(workspace.id);
      return `${workspace.name} › Memory${stats ? ` (${entriesText(stats.entries)})` : ''}`;
    },
    buttons: [CopyButton, DeleteButton],
    onButton: async (chosen, button, pick) => {
      if (button === CopyButton) {
        await vscode.env.clipboard.writeText(chosen.value);
        vscode.window.setStatusBarMessage(`$(copy) Copied the value of "${chosen.key}"`, 5_000);
        return false;
      }
      // A modal dialog takes the focus, which would close the list: keep it open until the answer.
      pick.ignoreFocusOut = true;
      try {
        return await confirmAndDelete(ctx, workspace, chosen);
      } finally {
        pick.ignoreFocusOut = false;
        pick.show();
      }
    },
  });
  if (entry) {
    await ctx.documents.open({ workspaceId: workspace.id, key: entry.key });
  }
}

// ---- Delete Memory Entry… ----

async function deleteEntry(ctx: MemoryCommandContext, run: CommandRun, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, run, arg, 'Pick the workspace whose memory entry to delete');
  if (!workspace || (await refuseDamaged(ctx, workspace))) {
    return;
  }
  const entry = await searchEntries(ctx, workspace, { title: () => `Delete an entry from ${workspace.name}'s memory`, buttons: [] });
  if (entry) {
    await confirmAndDelete(ctx, workspace, entry);
  }
}

// ---- Export Memory… and Import Memory… ----

async function exportMemory(ctx: MemoryCommandContext, run: CommandRun, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, run, arg, 'Pick the workspace whose memory to export');
  if (!workspace || (await refuseDamaged(ctx, workspace))) {
    return;
  }
  const target = await vscode.window.showSaveDialog({
    title: `Export the memory of ${workspace.name}`,
    defaultUri: vscode.Uri.file(path.join(os.homedir(), exportFileName(workspace))),
    filters: { 'JSON lines': ['jsonl'], 'All files': ['*'] },
    saveLabel: 'Export',
  });
  if (!target) {
    return;
  }
  let result;
  if (target.scheme === 'file') {
    // The daemon writes a local file itself: atomically, and readable only by its owner (entries may hold secrets).
    result = await ctx.client.request(Methods.MemoryExport, { workspaceId: workspace.id, path: target.fsPath });
  } else {
    result = await ctx.client.request(Methods.MemoryExport, { workspaceId: workspace.id });
    await vscode.workspace.fs.writeFile(target, Buffer.from(result.lines ?? '', 'utf8'));
  }
  const shown = target.scheme === 'file' ? target.fsPath : target.toString();
  ctx.logger.info(`Exported ${result.entries} memory entries of ${workspace.id} to ${shown}.`);
  const open = 'Open File';
  const choice = await vscode.window.showInformationMessage(exportMessage(workspace.name, result, shown), open);
  if (choice === open) {
    await vscode.window.showTextDocument(target);
  }
}

type ImportModeItem = vscode.QuickPickItem & { replace: boolean };

async function importMemory(ctx: MemoryCommandContext, run: CommandRun, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, run, arg, 'Pick the workspace whose memory to import into');
  if (!workspace) {
    return;
  }
  const uris = await vscode.window.showOpenDialog({
    title: `Import into the memory of ${workspace.name}`,
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    filters: { 'JSON lines': ['jsonl', 'json'], 'All files': ['*'] },
    openLabel: 'Import',
  });
  const source = uris?.[0];
  if (!source) {
    return;
  }
  const stats = ctx.memory.get(workspace.id);
  const damaged = stats?.state === 'damaged';
  const modes: ImportModeItem[] = [
    ...(damaged
      ? []
      : [
          {
            label: '$(merge) Merge into the current entries',
            detail: "An entry of the file replaces the one with the same key; the others stay.",
            replace: false,
          },
        ]),
    {
      label: '$(replace-all) Replace every entry',
      detail: `Only the entries of the file remain. ${replaceConsequence(stats?.entries ?? 0, damaged)}`,
      replace: true,
    },
  ];
  const mode = await vscode.window.showQuickPick(modes, { placeHolder: `How should ${path.basename(source.path)} go into ${workspace.name}'s memory?` });
  if (!mode) {
    return;
  }
  if (mode.replace) {
    const replace = 'Replace';
    const choice = await vscode.window.showWarningMessage(
      `Replace the memory of ${workspace.name} with ${path.basename(source.path)}?`,
      {
        modal: true,
        detail: replaceConsequence(stats?.entries ?? 0, damaged),
      },
      replace,
    );
    if (choice !== replace) {
      return;
    }
  }
  const params =
    source.scheme === 'file'
      ? { workspaceId: workspace.id, path: source.fsPath, replace: mode.replace }
      : { workspaceId: workspace.id, lines: Buffer.from(await vscode.workspace.fs.readFile(source)).toString('utf8'), replace: mode.replace };
  const result = await ctx.client.request(Methods.MemoryImport, params);
  const message = importMessage(workspace.name, result, mode.replace);
  ctx.logger.info(message);
  void vscode.window.showInformationMessage(message);
}

export function registerMemoryCommands(ctx: MemoryCommandContext): vscode.Disposable[] {
  const handlers: [CommandId, CommandHandler][] = [
    [Commands.BrowseMemory, (arg, run) => browseMemory(ctx, offeringImport(run), arg)],
    [Commands.DeleteMemoryEntry, (arg, run) => deleteEntry(ctx, offeringImport(run), arg)],
    [Commands.ExportMemory, (arg, run) => exportMemory(ctx, offeringImport(run), arg)],
    // Import is the way back itself: its failure is a plain message.
    [Commands.ImportMemory, (arg) => importMemory(ctx, {}, arg)],
  ];
  return registerGuardedCommands(ctx.logger, handlers);
}
