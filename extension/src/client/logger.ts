// The extension's own log, as an interface so the client can be used without VS Code (tests, scripts).
// This module must not import 'vscode'.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Protocol traffic when `orchflow.trace.server` is on. */
  trace(message: string): void;
}

export const NullLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  trace: () => undefined,
};
