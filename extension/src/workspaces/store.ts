// What the extension knows about Orchflow workspaces: the list from the daemon, this window's active one,
// and which workspace each folder of the window maps to. The tree, the status bar and the commands read it;
// only responses and notifications from the daemon write it (there is no polling).
// This module must not import 'vscode'.
import { KeyedStore } from '../common/keyedStore';
import type { Diagnostic, WorkspaceChangedNotification, WorkspaceInfo, WorkspaceListResult } from '../protocol/generated';

export interface FolderMapping {
  /** Absolute path of a folder of the window. */
  readonly folder: string;
  /** The id of the workspace whose root is or contains the folder, or undefined when there is none. */
  readonly workspaceId: string | undefined;
}

/** Every workspace by id, in the daemon's order, with this window's active one and folders. */
export class WorkspaceStore extends KeyedStore<WorkspaceInfo> {
  private active: string | undefined;
  private folders: FolderMapping[] = [];
  private globalDiagnostics: readonly Diagnostic[] = [];

  constructor() {
    super((w) => w.id);
  }

  get activeId(): string | undefined {
    return this.active;
  }

  get activeWorkspace(): WorkspaceInfo | undefined {
    return this.active === undefined ? undefined : this.items.get(this.active);
  }

  get folderMappings(): readonly FolderMapping[] {
    return this.folders;
  }

  get configDiagnostics(): readonly Diagnostic[] {
    return this.globalDiagnostics;
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
    return id === undefined ? undefined : this.items.get(id);
  }

  /** Replaces everything with a fresh `orchflow/workspace/list` result. */
  reset(list: WorkspaceListResult): void {
    this.active = list.activeWorkspaceId ?? undefined;
    this.replaceAll(list.workspaces);
  }

  /** What `clear` forgets besides the workspaces: the active one (a restarted daemon may know other things). */
  protected override forgetOthers(): void {
    this.active = undefined;
  }

  setFolderMappings(mappings: readonly FolderMapping[]): void {
    this.folders = [...mappings];
    this.changed(undefined);
  }

  setConfigDiagnostics(diagnostics: readonly Diagnostic[]): void {
    this.globalDiagnostics = diagnostics;
    this.changed(undefined);
  }

  /** Records the result of this client's `orchflow/workspace/switch`. */
  setActive(workspace: WorkspaceInfo): void {
    this.items.set(workspace.id, workspace);
    this.active = workspace.id;
    this.changed(workspace.id);
  }

  /** Forgets the workspace, as the active one and as the workspace of the window's folders. */
  override remove(id: string): boolean {
    const known = this.items.delete(id);
    if (this.active === id) {
      this.active = undefined;
    }
    this.folders = this.folders.map((f) => (f.workspaceId === id ? { folder: f.folder, workspaceId: undefined } : f));
    this.changed(id);
    return known;
  }

  /**
   * Applies an `orchflow/workspace/changed` notification. Returns true when the folder mapping may be stale
   * (a workspace appeared, vanished or moved), so the caller resolves the window's folders again.
   */
  applyChange(change: WorkspaceChangedNotification): boolean {
    const previous = this.items.get(change.id);
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
          this.changed(change.id);
        }
        return false;
      case 'deleted':
        this.remove(change.id);
        return true;
    }
  }
}
