// The VS Code Pseudoterminal of one Orchflow terminal: turns VS Code's calls into the session's and the
// session's effects into Pseudoterminal events. All decisions are in session.ts.
import * as vscode from 'vscode';
import type { TerminalInfo } from '../protocol/generated';
import { TerminalSession, type TerminalSessionOptions, type TerminalSink } from './session';

export class OrchflowPty implements vscode.Pseudoterminal, vscode.Disposable {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  private readonly nameEmitter = new vscode.EventEmitter<string>();

  readonly onDidWrite: vscode.Event<string> = this.writeEmitter.event;
  readonly onDidClose: vscode.Event<number | void> = this.closeEmitter.event;
  readonly onDidChangeName: vscode.Event<string> = this.nameEmitter.event;

  readonly session: TerminalSession;

  constructor(terminal: TerminalInfo, options: TerminalSessionOptions) {
    const sink: TerminalSink = {
      write: (data) => this.writeEmitter.fire(data),
      close: () => this.closeEmitter.fire(),
      setName: (name) => this.nameEmitter.fire(name),
    };
    this.session = new TerminalSession(terminal, sink, options);
  }

  open(initialDimensions: vscode.TerminalDimensions | undefined): void {
    this.session.open(initialDimensions ? { columns: initialDimensions.columns, rows: initialDimensions.rows } : undefined);
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.session.setDimensions({ columns: dimensions.columns, rows: dimensions.rows });
  }

  handleInput(data: string): void {
    this.session.input(data);
  }

  close(): void {
    // The session logs its own failures; nothing waits for the detach here.
    void this.session.close().finally(() => this.dispose());
  }

  dispose(): void {
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
    this.nameEmitter.dispose();
  }
}
