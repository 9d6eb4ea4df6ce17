// Choosing the workspace a command acts on: the one its argument names (a tree node or an id), else a quick pick
// with the active workspace first. Shared by the terminal, agent, memory and security commands.
import { pickItem } from '../common/pickItem';
import type { WorkspaceInfo } from '../protocol/generated';
import { workspacePicks } from './presentation';
import type { WorkspaceStore } from './store';

/** The id a command argument names for a row of this kind (for example 'agent' or 'terminal'): an id, or such a row. */
export function argumentIdOfKind(arg: unknown, kind: string): string | undefined {
  if (typeof arg === 'string' && arg.length > 0) {
    return arg;
  }
  if (typeof arg !== 'object' || arg === null) {
    return undefined;
  }
  const node = arg as { kind?: unknown; id?: unknown };
  return node.kind === kind && typeof node.id === 'string' ? node.id : undefined;
}

/** The workspace id a command argument names: an id, a workspace node, or any node that carries a workspaceId. */
export function argumentWorkspaceId(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg.length > 0) {
    return arg;
  }
  if (typeof arg !== 'object' || arg === null) {
    return undefined;
  }
  const node = arg as { kind?: unknown; id?: unknown; workspaceId?: unknown };
  if (node.kind === 'workspace' && typeof node.id === 'string') {
    return node.id;
  }
  return typeof node.workspaceId === 'string' ? node.workspaceId : undefined;
}

export interface PickOptions {
  /** Only the workspaces the action is valid for are offered (a workspace named by the argument is not filtered). */
  readonly filter?: (workspace: WorkspaceInfo) => boolean;
  /** What to say when the filter leaves none. */
  readonly none?: string;
}

/** The workspace named by `arg`, or one the user picks; undefined when they cancel or there is none. */
export function pickWorkspace(workspaces: WorkspaceStore, arg: unknown, placeHolder: string, options: PickOptions = {}): Promise<WorkspaceInfo | undefined> {
  return pickItem(argumentWorkspaceId(arg), { get: (id) => workspaces.get(id), unknown: (id) => `There is no Orchflow workspace "${id}".` }, () => {
    const all = workspaces.all();
    return {
      candidates: options.filter ? all.filter(options.filter) : all,
      none: all.length === 0 ? 'There is no Orchflow workspace yet. Create one from a folder first.' : (options.none ?? 'No Orchflow workspace fits this action.'),
      picks: (candidates) => workspacePicks(candidates, workspaces.activeId, workspaces.openIds()),
      placeHolder,
    };
  });
}
