// A workspace's audit log as a read-only document: `orchflow-audit:/<workspace>-audit.log` shows the entries of
// orchflow/workspace/audit (refusals, launches under less isolation than requested, policy changes, secrets set or
// removed, limits acting), oldest first, newest last. A content provider's documents cannot be edited.
// An open one is read again when the daemon announces a new entry of its workspace (orchflow/workspace/audited),
// whoever caused it: this window, the CLI, a refused connection or host. Nothing polls.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import { AuditLogScheme } from '../constants';
import { userMessage } from '../protocol/errors';
import { Methods } from '../protocol/generated';
import type { WorkspaceStore } from '../workspaces/store';
import { auditDocumentPath, auditDocumentText, auditDocumentWorkspace } from './presentation';

/** How many of the newest entries a document shows (the file keeps them all). */
export const AuditDocumentLimit = 1000;

export function auditUri(workspaceId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: AuditLogScheme, path: auditDocumentPath(workspaceId) });
}

export class AuditLogProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange: vscode.Event<vscode.Uri> = this.changeEmitter.event;
  private readonly subscriptions: { dispose(): void }[];

  constructor(
    private readonly client: OrchflowClient,
    private readonly workspaces: WorkspaceStore,
  ) {
    this.subscriptions = [
      client.onWorkspaceAudited((entry) => this.workspaceChanged(entry.workspaceId)),
    ];
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = auditDocumentWorkspace(uri.path);
    if (!id) {
      return `Not an Orchflow audit log: ${uri.toString()}\n`;
    }
    const workspace = this.workspaces.get(id) ?? { id, name: id };
    try {
      const result = await this.client.request(Methods.WorkspaceAudit, { id, limit: AuditDocumentLimit });
      return auditDocumentText(workspace, result, new Date(), AuditDocumentLimit);
    } catch (error) {
      // A document cannot show an error dialog; it says what went wrong instead of going blank.
      return `The audit log of ${workspace.name} cannot be read: ${userMessage(error)}\n`;
    }
  }

  /** Reads the workspace's audit log again if a document shows it. */
  workspaceChanged(workspaceId: string): void {
    const uri = auditUri(workspaceId);
    if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) {
      this.changeEmitter.fire(uri);
    }
  }

  /** Opens the workspace's audit log (read again if it was open), scrolled to its end: the newest entries. */
  async open(workspaceId: string): Promise<void> {
    this.workspaceChanged(workspaceId);
    const doc = await vscode.workspace.openTextDocument(auditUri(workspaceId));
    const editor = await vscode.window.showTextDocument(doc, { preview: true });
    const end = doc.lineAt(Math.max(0, doc.lineCount - 1)).range.end;
    editor.selection = new vscode.Selection(end, end);
    editor.revealRange(new vscode.Range(end, end));
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
    this.changeEmitter.dispose();
  }
}
