// Finds or starts the daemon: `orchflow daemon ensure --json` starts one if none runs (never two) and prints
// where it listens. The child inherits the extension host's environment, ORCHFLOW_HOME included, so tests and
// users who move Orchflow's files get the daemon of that home.
// This module must not import 'vscode'.
import { execFile } from 'node:child_process';
import type { DaemonEnsureResult } from '../protocol/generated';

/** What `daemon ensure --json` prints (the daemon's DaemonEnsureResult); a missing pid reads as 0. */
export type EnsureResult = DaemonEnsureResult & { readonly pid: number };

/**
 * Long enough for a cold daemon start on a busy 2-core machine (about 200 ms normally, seconds under load or
 * on a first ReadyToRun load from a cold disk), short enough that a hung binary does not stall the status bar.
 */
export const EnsureTimeoutMs = 30_000;

function asEnsureResult(value: unknown): EnsureResult | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (typeof v.socket !== 'string' || v.socket.length === 0) {
    return undefined;
  }
  return { socket: v.socket, pid: typeof v.pid === 'number' ? v.pid : 0, started: v.started === true };
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Reads what `daemon ensure --json` prints: one JSON object with the socket path, on one line or indented.
 * When other lines surround it (a warning a future version may print), the last line that is a whole JSON
 * object with a socket path wins.
 */
export function parseEnsureOutput(stdout: string): EnsureResult {
  const whole = asEnsureResult(tryParse(stdout.trim()));
  if (whole) {
    return whole;
  }
  const lines = stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    const result = asEnsureResult(tryParse(lines[i]));
    if (result) {
      return result;
    }
  }
  const shown = stdout.trim().slice(0, 200);
  throw new Error(`\`daemon ensure --json\` printed no socket path${shown ? `: ${shown}` : ' (no output)'}.`);
}

/** The last non-empty line of a process's stderr: where .NET and our CLI put the one-line reason. */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.length > 0 ? lines[lines.length - 1] : '';
}

interface ExecFailure extends Error {
  code?: string | number | null;
  killed?: boolean;
  signal?: NodeJS.Signals | null;
}

/** A message that says what to do, for the ways starting the backend fails. */
export function describeEnsureFailure(serverPath: string, error: ExecFailure, stderr: string): string {
  if (error.code === 'ENOENT') {
    return `The Orchflow backend was not found at ${serverPath}. Build it with \`npm run build:server\`, or set \`orchflow.server.path\`.`;
  }
  if (error.code === 'EACCES') {
    return `The Orchflow backend at ${serverPath} is not executable. Check its permissions, or set \`orchflow.server.path\`.`;
  }
  if (error.killed || error.signal) {
    return `\`${serverPath} daemon ensure\` did not finish within ${EnsureTimeoutMs / 1000} s and was stopped.`;
  }
  const reason = lastLine(stderr) || error.message;
  return `\`${serverPath} daemon ensure\` failed${typeof error.code === 'number' ? ` (exit code ${error.code})` : ''}: ${reason}`;
}

export function ensureDaemon(serverPath: string, env: NodeJS.ProcessEnv = process.env): Promise<EnsureResult & { stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      serverPath,
      ['daemon', 'ensure', '--json'],
      // DOTNET_EnableDiagnostics=0: every Orchflow process runs with the .NET diagnostics endpoints closed, and one
      // started without it re-executes itself to close them, which would cost this call a second runtime start.
      { env: { ...env, DOTNET_EnableDiagnostics: '0' }, timeout: EnsureTimeoutMs, maxBuffer: 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(describeEnsureFailure(serverPath, error, stderr)));
          return;
        }
        try {
          resolve({ ...parseEnsureOutput(stdout), stderr });
        } catch (parseError) {
          reject(parseError instanceof Error ? parseError : new Error(String(parseError)));
        }
      },
    );
  });
}
