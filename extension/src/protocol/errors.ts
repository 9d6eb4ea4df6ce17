// Turns failures of requests to the backend into text a user can act on.
// The server writes its error messages (and hints) for people, so they are shown verbatim.
// This module must not import 'vscode'.
import type { Diagnostic, ErrorCodes, ErrorData } from './generated';

/** Raised for a request made while there is no connection to the daemon. */
export class NotConnectedError extends Error {
  constructor() {
    super('The Orchflow backend is not connected yet. Wait for the status bar to show the workspace, or click it to see the log.');
    this.name = 'NotConnectedError';
  }
}

/** The shape of a JSON-RPC error response as vscode-jsonrpc's ResponseError carries it. */
export interface RpcErrorLike {
  code: number;
  message: string;
  data?: unknown;
}

export function isRpcErrorLike(value: unknown): value is RpcErrorLike {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.code === 'number' && typeof v.message === 'string';
}

export function isErrorData(value: unknown): value is ErrorData {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.kind === 'string';
}

export function errorCode(value: unknown): number | undefined {
  return isRpcErrorLike(value) ? value.code : undefined;
}

export function isErrorCode(value: unknown, code: (typeof ErrorCodes)[keyof typeof ErrorCodes]): boolean {
  return errorCode(value) === code;
}

/** `file:line:col: message`, the form compilers use and terminals and editors link. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}`;
}

/** How many configuration diagnostics a one-line notification lists before it says "and N more". */
const MaxDiagnosticsInMessage = 3;

/**
 * The message to show for a failed request: the server's message, its hint, and the first diagnostics.
 * Anything that is not a server error (a bug, a broken connection) is shown with its own message.
 */
export function userMessage(error: unknown): string {
  if (isRpcErrorLike(error)) {
    const parts = [error.message.trim()];
    if (isErrorData(error.data)) {
      const hint = error.data.hint?.trim();
      if (hint && !error.message.includes(hint)) {
        parts.push(hint);
      }
      // Servers often quote the first problem in the message itself; list only the ones it does not mention.
      const diagnostics = (error.data.diagnostics ?? []).filter((d) => !error.message.includes(d.message));
      const shown = diagnostics.slice(0, MaxDiagnosticsInMessage).map(formatDiagnostic);
      if (shown.length > 0) {
        const more = diagnostics.length - shown.length;
        parts.push(shown.join('; ') + (more > 0 ? ` (and ${more} more)` : ''));
      }
    }
    return parts.join(' ');
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
