// One memory entry's value as a read-only document: `orchflow-memory:/<workspace>/<key>?workspace=…&key=…`
// (a content provider's documents cannot be edited). JSON values are pretty-printed and shown as JSON.
// Opening an entry reads it with orchflow/memory/get, which counts as a use of it (its access time moves, as for
// `orchflow memory get`). An open document follows its workspace's memory: after each orchflow/memory/changed it is
// read again through orchflow/memory/search, which does not count as a use, so a document left open does not keep
// its entry from being evicted.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import { openDocumentUris } from '../common/documents';
import { ReadOnlyDocumentProvider } from '../common/readOnlyDocuments';
import { MemoryEntryScheme } from '../constants';
import { Methods, type MemoryEntry } from '../protocol/generated';
import { entryDocumentPath, entryDocumentQuery, entryDocumentText, entryLanguage, parseEntryDocumentQuery, type EntryRef } from './presentation';
import type { MemoryStore } from './store';

/** How many entries with the key as prefix a refresh reads to find the key itself (it sorts first). */
const RefreshLookup = 20;

export function entryUri(ref: EntryRef): vscode.Uri {
  return vscode.Uri.from({ scheme: MemoryEntryScheme, path: entryDocumentPath(ref), query: entryDocumentQuery(ref) });
}

export class MemoryEntryProvider extends ReadOnlyDocumentProvider<EntryRef, vscode.Uri> implements vscode.TextDocumentContentProvider {
  /** Entries just read by `open`, by URI, used once by the content request that follows. */
  private readonly justRead: Map<string, MemoryEntry>;
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly client: OrchflowClient,
    store: MemoryStore,
  ) {
    const justRead = new Map<string, MemoryEntry>();
    super(
      MemoryEntryScheme,
      {
        what: 'memory entry',
        keyOf: (uri) => parseEntryDocumentQuery(uri.query),
        read: async (ref, uri) => {
          const read = justRead.get(uri.toString());
          if (read) {
            justRead.delete(uri.toString());
            return entryDocumentText(read);
          }
          const { entries } = await client.request(Methods.MemorySearch, { workspaceId: ref.workspaceId, prefix: ref.key, limit: RefreshLookup });
          const entry = entries.find((e) => e.key === ref.key);
          return entry
            ? entryDocumentText(entry)
            : `(The entry "${ref.key}" is no longer in the memory of ${ref.workspaceId}: it was deleted, evicted to make room, or it expired.)\n`;
        },
        title: (ref) => `The entry "${ref.key}" of ${ref.workspaceId}`,
      },
      openDocumentUris,
    );
    this.justRead = justRead;
    // An open document follows its workspace's memory.
    this.subscription = store.onEntriesChanged((workspaceId) => this.refresh((ref) => ref.workspaceId === workspaceId));
  }

  /** Reads the entry (a use of it) and shows its value; throws when it is not there. */
  async open(ref: EntryRef): Promise<void> {
    const { entry } = await this.client.request(Methods.MemoryGet, { workspaceId: ref.workspaceId, key: ref.key });
    if (!entry) {
      throw new Error(`There is no entry "${ref.key}" in the memory of ${ref.workspaceId} any more: it was deleted, evicted to make room, or it expired.`);
    }
    const uri = entryUri(ref);
    this.justRead.set(uri.toString(), entry);
    let doc = await vscode.workspace.openTextDocument(uri);
    if (this.justRead.delete(uri.toString())) {
      // The document was open already, so its content was not asked for: show what was just read.
      this.justRead.set(uri.toString(), entry);
      this.reload(uri);
    }
    const language = entryLanguage(entry);
    if (doc.languageId !== language) {
      doc = await vscode.languages.setTextDocumentLanguage(doc, language);
    }
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  override dispose(): void {
    this.subscription.dispose();
    super.dispose();
  }
}
