// Choosing the one workspace, terminal or agent a command acts on: the one its argument names, else one the user picks
// in a quick pick. Written once so that every command treats a stale id, an empty list and a cancel alike.
import * as vscode from 'vscode';
import { NotConnectedError } from '../protocol/errors';

/** Throws NotConnectedError unless every store a command reads has its list from the daemon. */
export function requireLoaded(...stores: readonly { readonly isLoaded: boolean }[]): void {
  if (stores.some((s) => !s.isLoaded)) {
    throw new NotConnectedError();
  }
}

/** A quick pick row that knows the id of what it stands for. */
export type IdPick = vscode.QuickPickItem & { readonly id: string };

/** Where the items come from and what to say about them. */
export interface ItemSource<T> {
  /** The item with this id, or undefined when the store does not hold it (any more). */
  readonly get: (id: string) => T | undefined;
  /** The error for an id the argument names and the store does not hold, for example `There is no Orchflow agent "x"`. */
  readonly unknown: (id: string) => string;
}

/** The quick pick among several: what is offered, what to say when that is none, and how the rows look. */
export interface ItemChoice<T> {
  readonly candidates: readonly T[];
  /** The information message when there are no candidates. */
  readonly none: string;
  readonly picks: (candidates: readonly T[]) => IdPick[];
  readonly placeHolder: string;
}

/** One of `candidates`, as the user picks it; undefined (after saying `none`) when there are none or they cancel. */
export async function chooseItem<T>(source: Pick<ItemSource<T>, 'get'>, choice: ItemChoice<T>): Promise<T | undefined> {
  if (choice.candidates.length === 0) {
    void vscode.window.showInformationMessage(choice.none);
    return undefined;
  }
  const chosen = await vscode.window.showQuickPick(choice.picks(choice.candidates), {
    placeHolder: choice.placeHolder,
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return chosen ? source.get(chosen.id) : undefined;
}

/**
 * The item the argument names (`id`), or one the user picks. An id the store does not hold is an error that says so
 * (the row the command came from may be stale); the filter applies only to the pick, never to a named item.
 */
export async function pickItem<T>(id: string | undefined, source: ItemSource<T>, choice: () => ItemChoice<T>): Promise<T | undefined> {
  if (id !== undefined) {
    const known = source.get(id);
    if (!known) {
      throw new Error(source.unknown(id));
    }
    return known;
  }
  return chooseItem(source, choice());
}
