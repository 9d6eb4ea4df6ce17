// A workspace's audit log as a read-only document: `orchflow-audit:/<workspace>-audit.log` shows the entries of
// orchflow/workspace/audit (refusals, launches under less isolation than requested, policy changes, secrets set or
// removed, limits acting), oldest first, newest last. A content provider's documents cannot be edited.
// An open one is read again when the daemon announces a new entry of its workspace (orchflow/workspace/audited),
// whoever caused it: this window, the CLI, a refused connection or host. Nothing polls.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import { openDocumentUris, showAtEnd } from '../common/documents';
import { ReadOnlyDocumentProvider } from '../common/readOnlyDocuments';
import { AuditLogScheme } from '../constants';
import { Methods } from '../protocol/generated';
import type { WorkspaceStore } from '../workspaces/store';
import { auditDocumentPath, auditDocumentText, auditDocumentWorkspace } from './presentation';

/** How many of the newest entries a document shows (the file keeps them all). */
export const AuditDocumentLimit = 1000;

export function auditUri(workspaceId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: AuditLogScheme, path: auditDocumentPath(workspaceId) });
}

export class AuditLogProvider extends ReadOnlyDocumentProvider<string, vscode.Uri> implements vscode.TextDocumentContentProvider {
  private readonly subscription: { dispose(): void };

  constructor(client: OrchflowClient, workspaces: WorkspaceStore) {
    const named = (id: string): { id: string; name: string } => workspaces.get(id) ?? { id, name: id };
    super(
      AuditLogScheme,
      {
        what: 'audit log',
        keyOf: (uri) => auditDocumentWorkspace(uri.path),
        read: async (id) => {
          const result = await client.request(Methods.WorkspaceAudit, { id, limit: AuditDocumentLimit });
          return auditDocumentText(named(id), result, new Date(), AuditDocumentLimit);
        },
        title: (id) => `The audit log of ${named(id).name}`,
      },
      openDocumentUris,
    );
    this.subscription = client.onWorkspaceAudited((entry) => this.workspaceChanged(entry.workspaceId));
  }

  /** Reads the workspace's audit log again if a document shows it. */
  workspaceChanged(workspaceId: string): void {
    this.refresh((shown) => shown === workspaceId);
  }

  /** Opens the workspace's audit log (read again if it was open), scrolled to its end: the newest entries. */
  async open(workspaceId: string): Promise<void> {
    this.workspaceChanged(workspaceId);
    await showAtEnd(auditUri(workspaceId));
  }

  override dispose(): void {
    this.subscription.dispose();
    super.dispose();
  }
}
