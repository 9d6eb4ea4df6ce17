// Read-only documents of the daemon's text (agent logs, memory entries, audit logs): a content provider's documents
// cannot be edited, and an open one is read again when what it shows changes. One provider per URI scheme; what a
// URI names, how it is read and what it is called come from the source. A read that fails shows why in the document
// (a document cannot show an error dialog), instead of going blank.
// This module must not import 'vscode': its URIs are anything with a scheme, a path and a query, as vscode.Uri has.
import { Emitter, type Event } from 'vscode-jsonrpc/node';
import { userMessage } from '../protocol/errors';

/** The parts of a document URI the provider reads. */
export interface DocumentUri {
  readonly scheme: string;
  readonly path: string;
  readonly query: string;
  toString(): string;
}

/** What one scheme's documents are, and how they are read. */
export interface DocumentSource<K, U extends DocumentUri> {
  /** What a document is called, as in "Not an Orchflow agent log". */
  readonly what: string;
  /** The key a URI of the scheme names (an agent id, an entry, a workspace id), or undefined when it names none. */
  keyOf(uri: U): K | undefined;
  /** The document's text, from the daemon. */
  read(key: K, uri: U): Promise<string>;
  /** What could not be read, to start the text that says why: "The log of shop-a1". */
  title(key: K): string;
}

export class ReadOnlyDocumentProvider<K, U extends DocumentUri> {
  private readonly changeEmitter = new Emitter<U>();

  /** VS Code reads a document again when this fires with its URI. */
  readonly onDidChange: Event<U> = this.changeEmitter.event;

  constructor(
    readonly scheme: string,
    private readonly source: DocumentSource<K, U>,
    /** The URIs of the documents open now (in VS Code, every text document's). */
    private readonly openDocuments: () => readonly U[],
  ) {}

  async provideTextDocumentContent(uri: U): Promise<string> {
    const key = this.source.keyOf(uri);
    if (key === undefined) {
      return `Not an Orchflow ${this.source.what}: ${uri.toString()}\n`;
    }
    try {
      return await this.source.read(key, uri);
    } catch (error) {
      return `${this.source.title(key)} cannot be read: ${userMessage(error)}\n`;
    }
  }

  /** Reads again each open document of this scheme whose key passes `which`. */
  refresh(which: (key: K) => boolean): void {
    for (const uri of this.openDocuments()) {
      if (uri.scheme !== this.scheme) {
        continue;
      }
      const key = this.source.keyOf(uri);
      if (key !== undefined && which(key)) {
        this.changeEmitter.fire(uri);
      }
    }
  }

  /** Reads one document again, whether VS Code shows it or not. */
  reload(uri: U): void {
    this.changeEmitter.fire(uri);
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}
