// Agent logs as read-only documents: `orchflow-agent-log:/<agent id>.log` shows the plain text of the agent's
// output across its runs (orchflow/agent/logs: escape sequences removed). A content provider's documents cannot
// be edited, and an open one follows the agent: each change of the agent reloads it.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import { openDocumentUris, showAtEnd } from '../common/documents';
import { ReadOnlyDocumentProvider } from '../common/readOnlyDocuments';
import { AgentLogScheme } from '../constants';
import { Methods } from '../protocol/generated';

/** The agent id of a log document's URI, or undefined for another URI. */
export function agentIdOfLogUri(uri: vscode.Uri): string | undefined {
  if (uri.scheme !== AgentLogScheme) {
    return undefined;
  }
  const match = /^\/?(.+)\.log$/.exec(uri.path);
  return match ? match[1] : undefined;
}

export function logUri(agentId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: AgentLogScheme, path: `/${agentId}.log` });
}

export class AgentLogProvider extends ReadOnlyDocumentProvider<string, vscode.Uri> implements vscode.TextDocumentContentProvider {
  constructor(client: OrchflowClient) {
    super(
      AgentLogScheme,
      {
        what: 'agent log',
        keyOf: agentIdOfLogUri,
        read: async (id) => {
          const logs = await client.request(Methods.AgentLogs, { id });
          // Each run's header starts on a fresh line; at the top of the document that line would only be blank.
          const text = logs.text.replace(/^(\r?\n)+/, '');
          return text.length > 0 ? text : `(${id} has printed nothing yet. Its log file: ${logs.path})\n`;
        },
        title: (id) => `The log of ${id}`,
      },
      openDocumentUris,
    );
  }

  /** Reloads the agent's log if a document shows it. */
  agentChanged(id: string): void {
    this.refresh((shown) => shown === id);
  }

  /** Opens the agent's log, scrolled to its end (the newest output is what one opens a log for). */
  open(agentId: string): Promise<void> {
    return showAtEnd(logUri(agentId));
  }
}
