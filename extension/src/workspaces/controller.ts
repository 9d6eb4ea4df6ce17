// Keeps the store in step with the daemon and the window: after every (re)connection it lists the workspaces,
// maps each folder of the window to one (registering folders that carry a .orchflow/workspace.json), and makes
// the window's first folder's workspace the active one when none is. Notifications keep it current afterwards.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import type { Logger } from '../client/logger';
import { SerialQueue } from '../client/serial';
import { ConnectionSync } from '../common/connectionSync';
import { ContextKeys, WorkspaceConfigRelativePath } from '../constants';
import { isErrorCode, userMessage } from '../protocol/errors';
import { ErrorCodes, type ConfigChangedNotification, type Diagnostic, type WorkspaceInfo } from '../protocol/generated';
import type { FolderMapping, WorkspaceStore } from './store';

/** Sets a context key for `when` clauses; setting one cannot meaningfully fail, so nothing waits for it. */
export function setContext(key: string, value: unknown): void {
  void vscode.commands.executeCommand('setContext', key, value).then(undefined, () => undefined);
}

export async function fileExists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/** Absolute paths of the window's folders that live on the local file system (the daemon cannot see others). */
export function windowFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
}

export class WorkspaceController implements vscode.Disposable {
  private readonly queue = new SerialQueue();
  private readonly subscriptions: { dispose(): void }[] = [];
  /** The active workspace before the connection was lost, so a restarted daemon gets the same one back. */
  private lastActiveId: string | undefined;
  /** Folders whose automatic registration failed with this message, so a reconnect does not repeat the same error. */
  private readonly reportedFailures = new Map<string, string>();

  constructor(
    private readonly client: OrchflowClient,
    private readonly store: WorkspaceStore,
    private readonly logger: Logger,
  ) {
    this.subscriptions.push(
      new ConnectionSync(client, {
        connected: () => this.refreshAll({ register: true }),
        stateChanged: (state) => setContext(ContextKeys.ConnectionState, state.kind),
        lost: () => {
          if (store.isLoaded) {
            store.clear();
          }
        },
        failed: (error) => this.reportFailure('refresh after connecting', error),
      }),
      client.onWorkspaceChanged((change) => {
        this.logger.info(`Workspace ${change.id} ${change.kind}.`);
        if (store.applyChange(change)) {
          // A workspace appeared or went away: the window's folders may map differently now. No automatic
          // registration here, or deleting a workspace whose folder has a config file would undo itself.
          this.background(this.syncFolders({ register: false }), 'resolving folders');
        }
      }),
      client.onConfigChanged((change) => this.onConfigChanged(change)),
      store.onDidChange(() => {
        if (store.activeId !== undefined) {
          this.lastActiveId = store.activeId;
        }
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.background(this.syncFolders({ register: true, follow: true }), 'resolving folders')),
    );
    setContext(ContextKeys.ConnectionState, client.connectionState.kind);
    setContext(ContextKeys.AnyFolderMapped, false);
  }

  /** Re-reads everything from the daemon. Safe to call at any time; calls are queued, never interleaved. */
  refreshAll(options: { register: boolean }): Promise<void> {
    return this.queue.run(async () => {
      const list = await this.client.request('orchflow/workspace/list', {});
      this.store.reset(list);
      await this.syncFoldersNow(options.register);
      await this.followWindow();
    });
  }

  /** Maps the window's folders again (after folders or workspaces changed). */
  syncFolders(options: { register: boolean; follow?: boolean }): Promise<void> {
    return this.queue.run(async () => {
      await this.syncFoldersNow(options.register);
      if (options.follow) {
        await this.followWindow();
      }
    });
  }

  /** Makes a workspace the active one of this window. */
  async switchTo(id: string): Promise<WorkspaceInfo> {
    const workspace = await this.client.request('orchflow/workspace/switch', { id });
    this.store.setActive(workspace);
    this.logger.info(`Switched to workspace ${workspace.name} (${workspace.id}).`);
    return workspace;
  }

  private async syncFoldersNow(register: boolean): Promise<void> {
    const mappings: FolderMapping[] = [];
    for (const folder of windowFolderPaths()) {
      mappings.push({ folder, workspaceId: await this.mapFolder(folder, register) });
    }
    this.store.setFolderMappings(mappings);
    setContext(ContextKeys.AnyFolderMapped, this.store.anyFolderMapped());
  }

  private async mapFolder(folder: string, register: boolean): Promise<string | undefined> {
    const resolved = await this.client.request('orchflow/workspace/resolve', { path: folder });
    if (resolved.workspace) {
      this.store.upsert(resolved.workspace);
      return resolved.workspace.id;
    }
    if (!register || !(await fileExists(vscode.Uri.joinPath(vscode.Uri.file(folder), WorkspaceConfigRelativePath)))) {
      return undefined;
    }
    try {
      const created = await this.client.request('orchflow/workspace/create', { path: folder });
      this.store.upsert(created);
      this.reportedFailures.delete(folder);
      this.logger.info(`Registered ${folder} as workspace ${created.name} (${created.id}) from its ${WorkspaceConfigRelativePath}.`);
      return created.id;
    } catch (error) {
      if (isErrorCode(error, ErrorCodes.AlreadyRegistered)) {
        // Another window or the CLI registered it a moment ago.
        const again = await this.client.request('orchflow/workspace/resolve', { path: folder });
        return again.workspace?.id;
      }
      const message = userMessage(error);
      this.logger.error(`Cannot register ${folder}: ${message}`);
      if (this.reportedFailures.get(folder) !== message) {
        this.reportedFailures.set(folder, message);
        void vscode.window.showErrorMessage(`Orchflow could not register ${folder}: ${message}`);
      }
      return undefined;
    }
  }

  /**
   * When this window has no active workspace, it takes the one it had before a reconnection, or else the one its
   * first folder maps to: the active workspace follows the window.
   */
  private async followWindow(): Promise<void> {
    if (this.store.activeId !== undefined) {
      return;
    }
    const previous = this.lastActiveId === undefined ? undefined : this.store.get(this.lastActiveId);
    const target = previous ?? this.store.firstFolderWorkspace();
    if (target) {
      await this.switchTo(target.id);
    }
  }

  private onConfigChanged(change: ConfigChangedNotification): void {
    this.store.setConfigDiagnostics(change.diagnostics);
    const errors = change.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length === 0) {
      this.logger.info('The global Orchflow config was reloaded.');
      return;
    }
    const first = errors[0];
    const text = `Orchflow's global config has ${errors.length} error${errors.length === 1 ? '' : 's'}; the last good config stays in force. ${first.file}:${first.line}:${first.column}: ${first.message}`;
    this.logger.warn(text);
    this.background(this.offerGlobalConfig(text, first), 'opening the global config');
  }

  private async offerGlobalConfig(text: string, first: Diagnostic): Promise<void> {
    const configFile = this.client.server?.daemon.configFile;
    const open = 'Open Config';
    const choice = await vscode.window.showWarningMessage(text, ...(configFile ? [open] : []));
    if (choice === open && configFile) {
      const position = new vscode.Position(Math.max(0, first.line - 1), Math.max(0, first.column - 1));
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(configFile));
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(position, position) });
    }
  }

  /** Runs work started by an event, where nobody awaits it: failures are logged and shown, never left unhandled. */
  private background(work: Promise<void>, what: string): void {
    work.catch((error: unknown) => this.reportFailure(what, error));
  }

  private reportFailure(what: string, error: unknown): void {
    const message = userMessage(error);
    this.logger.error(`Failed while ${what}: ${message}`);
    if (this.client.connectionState.kind === 'connected') {
      void vscode.window.showErrorMessage(`Orchflow: ${message}`);
    }
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
  }
}
