// The VS Code side of the read-only documents (common/readOnlyDocuments.ts): which documents are open, and showing one.
import * as vscode from 'vscode';

/** The URIs of every open text document, for a provider's refresh. */
export function openDocumentUris(): vscode.Uri[] {
  return vscode.workspace.textDocuments.map((d) => d.uri);
}

/** Shows the document in a preview tab, scrolled to its end: the newest lines are what one opens a log for. */
export async function showAtEnd(uri: vscode.Uri): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(doc, { preview: true });
  const end = doc.lineAt(Math.max(0, doc.lineCount - 1)).range.end;
  editor.selection = new vscode.Selection(end, end);
  editor.revealRange(new vscode.Range(end, end));
}
