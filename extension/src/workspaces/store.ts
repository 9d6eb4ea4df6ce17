// What the extension knows about Orchflow workspaces: the list from the daemon, this window's active one,
// and which workspace each folder of the window maps to. The tree, the status bar and the commands read it;
// only responses and notifications from the daemon write it (there is no polling).
// This module must not import 'vscode'.
import { Emitter, type Event } from 'vscode-jsonrpc/node';
import type { Diagnostic, WorkspaceChangedNotification, WorkspaceInfo, WorkspaceListResult } from '../protocol/generated';

export interface FolderMapping {
  /** Absolute path of a folder of the window. */
  readonly folder: string;
  /** The id of the workspace whose root is or contains the folder, or undefined when there is none. */
  readonly workspaceId: string | undefined;
}

export class WorkspaceStore {
  private readonly workspaces = new Map<string, WorkspaceInfo>();
  private active: string | undefined;
  private folders: FolderMapping[] = [];
  private loaded = false;
  private globalDiagnostics: readonly Diagnostic[] = [];
  private readonly changeEmitter = new Emitter<void>();

  /** Fires after any change; listeners re-read what they show. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  /** False until the first list arrived, and again after the connection is lost. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  get activeId(): string | undefined {
    return this.active;
  }

  get activeWorkspace(): WorkspaceInfo | undefined {
    return this.active === undefined ? undefined : this.workspaces.get(this.active);
  }

  get folderMappings(): readonly FolderMapping[] {
    return this.folders;
  }

  get configDiagnostics(): readonly Diagnostic[] {
    return this.globalDiagnostics;
  }

  get(id: string): WorkspaceInfo | undefined {
    return this.workspaces.get(id);
  }

  all(): WorkspaceInfo[] {
    return [...this.workspaces.values()];
  }

  /** Ids of workspaces that a folder of this window maps to. */
  openIds(): Set<string> {
    return new Set(this.folders.flatMap((f) => (f.workspaceId === undefined ? [] : [f.workspaceId])));
  }

  unmappedFolders(): string[] {
    return this.folders.filter((f) => f.workspaceId === undefined).map((f) => f.folder);
  }

  anyFolderMapped(): boolean {
    return this.folders.some((f) => f.workspaceId !== undefined);
  }

  /** The workspace the first folder of the window maps to: the one the window follows on start. */
  firstFolderWorkspace(): WorkspaceInfo | undefined {
    const id = this.folders[0]?.workspaceId;
    return id === undefined ? undefined : this.workspaces.get(id);
  }

  /** Replaces everything with a fresh `orchflow/workspace/list` result. */
  reset(list: WorkspaceListResult): void {
    this.workspaces.clear();
    for (const w of list.workspaces) {
      this.workspaces.set(w.id, w);
    }
    this.active = list.activeWorkspaceId ?? undefined;
    this.loaded = true;
    this.changeEmitter.fire();
  }

  /** Forgets everything the daemon said, when the connection is lost (a restarted daemon may know other things). */
  clear(): void {
    this.workspaces.clear();
    this.active = undefined;
    this.loaded = false;
    this.changeEmitter.fire();
  }

  setFolderMappings(mappings: readonly FolderMapping[]): void {
    this.folders = [...mappings];
    this.changeEmitter.fire();
  }

  setConfigDiagnostics(diagnostics: readonly Diagnostic[]): void {
    this.globalDiagnostics = diagnostics;
    this.changeEmitter.fire();
  }

  /** Records a workspace the daemon returned (create, update, show, reloadConfig). */
  upsert(workspace: WorkspaceInfo): void {
    this.workspaces.set(workspace.id, workspace);
    this.changeEmitter.fire();
  }

  /** Records the result of this client's `orchflow/workspace/switch`. */
  setActive(workspace: WorkspaceInfo): void {
    this.workspaces.set(workspace.id, workspace);
    this.active = workspace.id;
    this.changeEmitter.fire();
  }

  remove(id: string): void {
    this.workspaces.delete(id);
    if (this.active === id) {
      this.active = undefined;
    }
    this.folders = this.folders.map((f) => (f.workspaceId === id ? { folder: f.folder, workspaceId: undefined } : f));
    this.changeEmitter.fire();
  }

  /**
   * Applies an `orchflow/workspace/changed` notification. Returns true when the folder mapping may be stale
   * (a workspace appeared, vanished or moved), so the caller resolves the window's folders again.
   */
  applyChange(change: WorkspaceChangedNotification): boolean {
    const previous = this.workspaces.get(change.id);
    switch (change.kind) {
      case 'created':
      case 'updated':
        if (change.workspace) {
          this.upsert(change.workspace);
        }
        return change.kind === 'created' || previous?.rootPath !== change.workspace?.rootPath;
      case 'switched':
        if (change.workspace) {
          this.setActive(change.workspace);
        } else {
          this.active = change.id;
          this.changeEmitter.fire();
        }
        return false;
      case 'deleted':
        this.remove(change.id);
        return true;
    }
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}
