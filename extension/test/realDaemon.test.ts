// The client against the real daemon (dist/server/orchflow, built by `npm run build:server`), over its real
// socket, with a private ORCHFLOW_HOME. Skipped when the backend has not been built.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { OrchflowClient } from '../src/client/client';
import type { ConnectionStateKind } from '../src/client/connectionState';
import { NullLogger } from '../src/client/logger';
import { isErrorCode, userMessage } from '../src/protocol/errors';
import { ErrorCodes, type WorkspaceChangedNotification } from '../src/protocol/generated';
import { builtServer, skipWithoutServer, waitForState as waitForClientState } from './realDaemonSupport';

const server = builtServer;
const skip = skipWithoutServer;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'orchflow-real-daemon-'));
const env = { ...process.env, ORCHFLOW_HOME: path.join(tmp, 'home') };
const project = path.join(tmp, 'projects', 'shop-api');
let client: OrchflowClient;
const changes: WorkspaceChangedNotification[] = [];

function waitForState(kind: ConnectionStateKind, timeoutMs = 20_000): Promise<void> {
  return waitForClientState(client, kind, timeoutMs);
}

function waitForChange(kind: WorkspaceChangedNotification['kind'], id: string, timeoutMs = 10_000): Promise<WorkspaceChangedNotification> {
  const seen = changes.find((c) => c.kind === kind && c.id === id);
  if (seen) {
    return Promise.resolve(seen);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no ${kind} notification for ${id}; saw ${JSON.stringify(changes.map((c) => [c.kind, c.id]))}`));
    }, timeoutMs);
    const sub = client.onWorkspaceChanged((c) => {
      if (c.kind === kind && c.id === id) {
        clearTimeout(timer);
        sub.dispose();
        resolve(c);
      }
    });
  });
}

before(() => {
  if (skip) {
    return;
  }
  mkdirSync(path.join(project, '.orchflow'), { recursive: true });
  writeFileSync(
    path.join(project, '.orchflow', 'workspace.json'),
    JSON.stringify({ workspace: { id: 'shop-api', name: 'Shop API', type: 'node', namespace: { prefix: 'shop' } } }),
  );
  client = new OrchflowClient({
    serverPath: () => server,
    clientInfo: { name: 'vscode', version: 'test' },
    folders: () => [project],
    logger: NullLogger,
    env,
  });
  client.onWorkspaceChanged((c) => changes.push(c));
});

after(async () => {
  if (!skip) {
    await client.dispose();
    await promisify(execFile)(server, ['daemon', 'stop'], { env, timeout: 20_000 }).catch(() => undefined);
  }
  rmSync(tmp, { recursive: true, force: true });
});

test('connects through daemon ensure and initializes', { skip }, async () => {
  client.start();
  await waitForState('connected');
  const info = client.server;
  assert.ok(info);
  assert.equal(info.capabilities.protocolVersion.split('.')[0], '1');
  assert.equal(info.daemon.home, env.ORCHFLOW_HOME);
  assert.ok(info.daemon.logFile.length > 0);
});

test('registers a folder, resolves it, and switches to it', { skip }, async () => {
  assert.equal((await client.request('orchflow/workspace/resolve', { path: project })).workspace ?? null, null);
  const created = await client.request('orchflow/workspace/create', { path: project });
  assert.equal(created.id, 'shop-api');
  assert.equal(created.name, 'Shop API');
  assert.equal(created.namespace, 'shop');
  assert.equal(created.metadata.projectType, 'node');
  await waitForChange('created', 'shop-api');
  const resolved = await client.request('orchflow/workspace/resolve', { path: path.join(project, '.orchflow') });
  assert.equal(resolved.workspace?.id, 'shop-api');
  const switched = await client.request('orchflow/workspace/switch', { id: 'shop-api' });
  assert.equal(switched.id, 'shop-api');
  const list = await client.request('orchflow/workspace/list', {});
  assert.equal(list.activeWorkspaceId, 'shop-api');
  assert.ok(list.workspaces.some((w) => w.id === 'shop-api'));
});

test('expected failures come back as coded errors with messages to act on', { skip }, async () => {
  await assert.rejects(client.request('orchflow/workspace/create', { path: project }), (error: unknown) => {
    assert.ok(isErrorCode(error, ErrorCodes.AlreadyRegistered), `code of ${userMessage(error)}`);
    assert.ok(userMessage(error).length > 10);
    return true;
  });
  await assert.rejects(client.request('orchflow/workspace/show', { id: 'no-such-workspace' }), (error: unknown) => {
    assert.ok(isErrorCode(error, ErrorCodes.NotFound), `code of ${userMessage(error)}`);
    return true;
  });
});

test('reconnects when the daemon restarts, and initializes again', { skip }, async () => {
  let initialized = 0;
  const sub = client.onDidInitialize(() => initialized++);
  const lost = waitForState('reconnecting');
  await promisify(execFile)(server, ['daemon', 'stop'], { env, timeout: 20_000 });
  await lost;
  await waitForState('connected');
  sub.dispose();
  assert.equal(initialized, 1);
  // The registration survived the restart; the active workspace is per connection, so it starts empty.
  const list = await client.request('orchflow/workspace/list', {});
  assert.ok(list.workspaces.some((w) => w.id === 'shop-api'));
});
