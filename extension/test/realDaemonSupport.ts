// What the tests that talk to a client share: waiting for a connection state, and where the real daemon is built.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { OrchflowClient } from '../src/client/client';
import type { ConnectionStateKind } from '../src/client/connectionState';

/** The published backend (dist/server/orchflow) the real-daemon tests run. */
export const builtServer = path.join(path.resolve(__dirname, '..', '..'), 'dist', 'server', 'orchflow');

/** Why the real-daemon tests are skipped, or false when the backend is built. */
export const skipWithoutServer: string | false = existsSync(builtServer)
  ? false
  : `the backend is not built (${builtServer}); run npm run build:server`;

/** Resolves once the client is in state `kind` (at once if it already is); rejects after `timeoutMs`, saying where it stayed. */
export function waitForState(client: OrchflowClient, kind: ConnectionStateKind, timeoutMs: number): Promise<void> {
  if (client.connectionState.kind === kind) {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`state stayed ${JSON.stringify(client.connectionState)}, expected ${kind}`));
    }, timeoutMs);
    const sub = client.onDidChangeState((s) => {
      if (s.kind === kind) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}
