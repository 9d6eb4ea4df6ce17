// Retries registering a folder of the window when its .orchflow/workspace.json appears or changes.
// The daemon itself re-reads the config files of registered workspaces (it polls them), so this watcher only
// covers what the daemon cannot know about: a window folder that is not a workspace yet, typically because its
// config file was invalid (the user was told, fixed it, and saved) or did not exist when the window opened.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../client/logger';
import { WorkspaceConfigRelativePath } from '../constants';
import { userMessage } from '../protocol/errors';
import type { WorkspaceController } from './controller';
import type { WorkspaceStore } from './store';

/** Editors write a file in several steps (truncate, write, rename): one registration attempt per burst. */
const SettleDelayMs = 300;

export class WorkspaceConfigWatcher implements vscode.Disposable {
  private readonly watcher = vscode.workspace.createFileSystemWatcher(`**/${WorkspaceConfigRelativePath}`);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: WorkspaceStore,
    private readonly controller: WorkspaceController,
    private readonly logger: Logger,
  ) {
    const onEvent = (uri: vscode.Uri): void => this.onConfigFile(uri);
    this.watcher.onDidCreate(onEvent);
    this.watcher.onDidChange(onEvent);
  }

  private onConfigFile(uri: vscode.Uri): void {
    if (uri.scheme !== 'file' || !this.store.isLoaded) {
      return;
    }
    const folder = path.dirname(path.dirname(uri.fsPath));
    if (!this.store.unmappedFolders().includes(folder)) {
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.logger.info(`${uri.fsPath} changed: trying to register ${folder} again.`);
      this.controller.syncFolders({ register: true, follow: true }).catch((error: unknown) => {
        this.logger.error(`Registering ${folder} failed: ${userMessage(error)}`);
      });
    }, SettleDelayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.watcher.dispose();
  }
}
