// Agent logs as read-only documents: `orchflow-agent-log:/<agent id>.log` shows the plain text of the agent's
// output across its runs (orchflow/agent/logs: escape sequences removed). A content provider's documents cannot
// be edited, and an open one follows the agent: each change of the agent reloads it.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import { AgentLogScheme } from '../constants';
import { userMessage } from '../protocol/errors';
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

export class AgentLogProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange: vscode.Event<vscode.Uri> = this.changeEmitter.event;

  constructor(private readonly client: OrchflowClient) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = agentIdOfLogUri(uri);
    if (!id) {
      return `Not an Orchflow agent log: ${uri.toString()}`;
    }
    try {
      const logs = await this.client.request(Methods.AgentLogs, { id });
      // Each run's header starts on a fresh line; at the top of the document that line would only be blank.
      const text = logs.text.replace(/^(\r?\n)+/, '');
      return text.length > 0 ? text : `(${id} has printed nothing yet. Its log file: ${logs.path})\n`;
    } catch (error) {
      // A document cannot show an error dialog; it says what went wrong instead of going blank.
      return `The log of ${id} cannot be read: ${userMessage(error)}\n`;
    }
  }

  /** Reloads the agent's log if a document shows it. */
  agentChanged(id: string): void {
    const uri = logUri(id);
    if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) {
      this.changeEmitter.fire(uri);
    }
  }

  /** Opens the agent's log, scrolled to its end (the newest output is what one opens a log for). */
  async open(agentId: string): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(logUri(agentId));
    const editor = await vscode.window.showTextDocument(doc, { preview: true });
    const end = doc.lineAt(Math.max(0, doc.lineCount - 1)).range.end;
    editor.selection = new vscode.Selection(end, end);
    editor.revealRange(new vscode.Range(end, end));
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}
