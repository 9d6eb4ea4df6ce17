// What the extension knows of one kind of the daemon's things (workspaces, terminals, agents, memory segments): the
// items by id, replaced whole by the list read after every (re)connection, kept current by notifications, and
// forgotten when the connection is lost (a restarted daemon may know other things). Each store is a thin subclass
// with its own queries and its own rules for notifications and responses; this is what they have in common.
// This module must not import 'vscode'.
import { Emitter, type Event } from 'vscode-jsonrpc/node';

export class KeyedStore<T> {
  /** The items by id; subclasses may write it directly when several writes make one change (then call `changed`). */
  protected readonly items = new Map<string, T>();
  private loaded = false;
  private readonly changeEmitter = new Emitter<string | undefined>();

  /** Fires after any change: with the id when one item changed, undefined when any may have. */
  readonly onDidChange: Event<string | undefined> = this.changeEmitter.event;

  constructor(
    private readonly keyOf: (item: T) => string,
    /** The order of `all()`; insertion order without one. */
    private readonly order?: (a: T, b: T) => number,
  ) {}

  /** False until the first list arrived, and again after the connection is lost. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  get(id: string): T | undefined {
    return this.items.get(id);
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  /** Every item, in the store's order. */
  all(): T[] {
    const items = [...this.items.values()];
    return this.order ? items.sort(this.order) : items;
  }

  /** Records one item (a notification's, or a response's), replacing the one with its id. */
  upsert(item: T): void {
    const id = this.keyOf(item);
    this.items.set(id, item);
    this.changed(id);
  }

  /** Forgets one item; true (and a change) when it was known. */
  remove(id: string): boolean {
    const known = this.items.delete(id);
    if (known) {
      this.changed(id);
    }
    return known;
  }

  /** Forgets everything when the connection is lost; nothing changes (and nothing fires) when nothing was known. */
  clear(): void {
    if (!this.loaded && this.items.size === 0) {
      return;
    }
    this.items.clear();
    this.loaded = false;
    this.forgetOthers();
    this.changed(undefined);
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }

  /** Replaces every item with a fresh list (after each (re)connection); the store is loaded from then on. */
  protected replaceAll(items: Iterable<T>): void {
    this.items.clear();
    for (const item of items) {
      this.items.set(this.keyOf(item), item);
    }
    this.loaded = true;
    this.changed(undefined);
  }

  /** Called by `clear` before it fires: a subclass forgets what it keeps beside the items. */
  protected forgetOthers(): void {}

  protected changed(id: string | undefined): void {
    this.changeEmitter.fire(id);
  }
}
