// The Delegate Tasks document in the editor: every line is checked as it is typed (unknown workspaces, missing
// tasks, with line and column), and a code lens above the first line says how many agents "Delegate" starts.
// The checks of agent types need the daemon and run when Delegate is chosen (commands.ts).
import * as vscode from 'vscode';
import { Commands, DelegateLanguageId } from '../constants';
import type { WorkspaceStore } from '../workspaces/store';
import { parseDelegateText, taskCount } from './delegate';

export class DelegateEditorSupport implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('Orchflow tasks');
  private readonly lensEmitter = new vscode.EventEmitter<void>();
  private readonly subscriptions: { dispose(): void }[] = [];

  readonly onDidChangeCodeLenses: vscode.Event<void> = this.lensEmitter.event;

  constructor(private readonly workspaces: WorkspaceStore) {
    this.subscriptions.push(
      vscode.languages.registerCodeLensProvider({ language: DelegateLanguageId }, this),
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.check(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.diagnostics.delete(d.uri)),
      // A workspace created or renamed changes which lines are good.
      workspaces.onDidChange(() => this.checkAll()),
    );
    this.checkAll();
  }

  private checkAll(): void {
    for (const d of vscode.workspace.textDocuments) {
      this.check(d);
    }
  }

  private check(doc: vscode.TextDocument): void {
    if (doc.languageId !== DelegateLanguageId) {
      return;
    }
    this.lensEmitter.fire();
    if (!this.workspaces.isLoaded) {
      // Without the workspace list every line would look wrong; the checks run once it arrives.
      this.diagnostics.delete(doc.uri);
      return;
    }
    const { problems } = parseDelegateText(doc.getText(), this.workspaces.all());
    this.diagnostics.set(
      doc.uri,
      problems.map((p) => {
        const range = new vscode.Range(p.line - 1, p.column - 1, p.line - 1, p.column - 1 + p.length);
        const d = new vscode.Diagnostic(range, p.message, vscode.DiagnosticSeverity.Error);
        d.source = 'Orchflow';
        return d;
      }),
    );
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    if (!this.workspaces.isLoaded) {
      return [new vscode.CodeLens(top, { title: '$(sync~spin) Connecting to Orchflow…', command: '' })];
    }
    const { tasks, problems } = parseDelegateText(doc.getText(), this.workspaces.all());
    const title =
      problems.length > 0
        ? `$(error) Delegate: fix ${problems.length} line${problems.length === 1 ? '' : 's'} first`
        : tasks.length === 0
          ? '$(rocket) Delegate: add "workspace: task" lines below'
          : `$(rocket) Delegate ${taskCount(tasks.length)} (one agent each)`;
    return [new vscode.CodeLens(top, { title, command: Commands.DelegateTasksInEditor, arguments: [doc.uri] })];
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
    this.diagnostics.dispose();
    this.lensEmitter.dispose();
  }
}
