// The "Orchflow" output channel: the extension's own events, and protocol traffic when tracing is on.
import * as vscode from 'vscode';
import type { Logger } from './client/logger';
import { OutputChannelName } from './constants';

export class OutputLogger implements Logger, vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel(OutputChannelName, { log: true });
  }

  info(message: string): void {
    this.channel.info(message);
  }

  warn(message: string): void {
    this.channel.warn(message);
  }

  error(message: string): void {
    this.channel.error(message);
  }

  /**
   * Traffic is logged at info level: it is only produced while `orchflow.trace.server` is on, and a user who
   * turned that on wants to see it without also changing the channel's log level.
   */
  trace(message: string): void {
    this.channel.info(`[rpc] ${message}`);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
