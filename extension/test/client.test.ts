// The client against an in-process fake daemon that speaks the same framing (LSP base protocol over a Unix
// socket, via vscode-jsonrpc): lifecycle, typed requests, notifications, errors and reconnection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { ResponseError, SocketMessageReader, SocketMessageWriter, createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';
import { OrchflowClient, type OrchflowClientOptions } from '../src/client/client';
import type { ConnectionStateKind } from '../src/client/connectionState';
import { NullLogger } from '../src/client/logger';
import { NotConnectedError, userMessage } from '../src/protocol/errors';
import type { ErrorData, InitializeParams, InitializeResult, WorkspaceChangedNotification, WorkspaceNotice } from '../src/protocol/generated';
import { notice, workspace } from './fixtures';
import { waitForState as waitForClientState } from './realDaemonSupport';

const dir = mkdtempSync(path.join(os.tmpdir(), 'orchflow-client-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let socketCount = 0;

class FakeDaemon {
  readonly socketPath = path.join(dir, `d${++socketCount}.sock`);
  readonly received: { method: string; params: unknown }[] = [];
  readonly connections: MessageConnection[] = [];
  readonly sockets: net.Socket[] = [];
  protocolVersion = '1.0';
  private markInitialized: () => void = () => undefined;
  private markExited: () => void = () => undefined;
  /** Resolves when the first `exit` notification arrived. */
  readonly exitSeen = new Promise<void>((resolve) => {
    this.markExited = resolve;
  });
  /** Resolves when the first `initialized` notification arrived. */
  readonly initializedSeen = new Promise<void>((resolve) => {
    this.markInitialized = resolve;
  });
  private readonly server = net.createServer((socket) => this.accept(socket));

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  private accept(socket: net.Socket): void {
    this.sockets.push(socket);
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    this.connections.push(connection);
    connection.onRequest('initialize', (params: InitializeParams): InitializeResult => {
      this.received.push({ method: 'initialize', params });
      return {
        capabilities: { protocolVersion: this.protocolVersion, features: ['workspaces'] },
        serverInfo: { name: 'fake', version: '0' },
        daemon: { pid: 42, home: dir, dataDirectory: dir, configFile: path.join(dir, 'orchflow.toml'), logFile: path.join(dir, 'daemon.log'), socket: this.socketPath, startedAt: '2025-01-01T00:00:00Z' },
      };
    });
    connection.onNotification('initialized', (params: unknown) => {
      this.received.push({ method: 'initialized', params });
      this.markInitialized();
    });
    connection.onRequest('orchflow/workspace/list', (params: unknown) => {
      this.received.push({ method: 'orchflow/workspace/list', params });
      return { workspaces: [workspace({ id: 'shop-api' })], activeWorkspaceId: null };
    });
    connection.onRequest('orchflow/workspace/show', (params: { id: string }) => {
      throw new ResponseError<ErrorData>(1001, `No workspace is named "${params.id}".`, { kind: 'NotFound', hint: 'Run `orchflow workspace list` to see them.' });
    });
    connection.onRequest('shutdown', () => {
      this.received.push({ method: 'shutdown', params: undefined });
      return null;
    });
    connection.onNotification('exit', () => {
      this.received.push({ method: 'exit', params: undefined });
      this.markExited();
      socket.end();
    });
    connection.listen();
  }

  methods(): string[] {
    return this.received.map((r) => r.method);
  }

  /** Drops every client connection, as a daemon that exits does. */
  dropAll(): void {
    for (const s of this.sockets.splice(0)) {
      s.destroy();
    }
  }

  close(): Promise<void> {
    this.dropAll();
    for (const c of this.connections.splice(0)) {
      c.dispose();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function waitForState(client: OrchflowClient, kind: ConnectionStateKind, timeoutMs = 5000): Promise<void> {
  return waitForClientState(client, kind, timeoutMs);
}

/** A listening fake daemon and a client for it, both closed when the test ends, also when it fails. */
async function setup(t: TestContext, configure?: (d: FakeDaemon) => void): Promise<{ daemon: FakeDaemon; client: OrchflowClient }> {
  const daemon = new FakeDaemon();
  configure?.(daemon);
  await daemon.listen();
  const client = clientFor(daemon);
  t.after(async () => {
    await client.dispose();
    await daemon.close();
  });
  return { daemon, client };
}

function clientFor(daemon: { socketPath: string } | (() => Promise<string>), extra: Partial<OrchflowClientOptions> = {}): OrchflowClient {
  return new OrchflowClient({
    serverPath: () => '/fake/orchflow',
    clientInfo: { name: 'vscode', version: '1.90.0' },
    folders: () => ['/projects/shop-api', '/projects/cli-tool'],
    logger: NullLogger,
    ...extra,
    ensure: async () => ({ socket: typeof daemon === 'function' ? await daemon() : daemon.socketPath, pid: 42, started: false }),
  });
}

test('initializes with one params object, then sends initialized', async (t) => {
  const { daemon, client } = await setup(t);
  client.start();
  await waitForState(client, 'connected');
  await daemon.initializedSeen;
  assert.deepEqual(daemon.methods().slice(0, 2), ['initialize', 'initialized']);
  const init = daemon.received[0].params as InitializeParams;
  assert.equal(init.processId, process.pid);
  assert.deepEqual(init.clientInfo, { name: 'vscode', version: '1.90.0' });
  assert.deepEqual(init.folders, ['/projects/shop-api', '/projects/cli-tool']);
  assert.equal(client.server?.daemon.logFile, path.join(dir, 'daemon.log'));
});

test('typed requests send a params object and return the result', async (t) => {
  const { daemon, client } = await setup(t);
  client.start();
  await waitForState(client, 'connected');
  const list = await client.request('orchflow/workspace/list', {});
  assert.deepEqual(list.workspaces.map((w) => w.id), ['shop-api']);
  assert.deepEqual(daemon.received.find((r) => r.method === 'orchflow/workspace/list')?.params, {});
});

test('server errors arrive with their code and data, and read well', async (t) => {
  const { client } = await setup(t);
  client.start();
  await waitForState(client, 'connected');
  await assert.rejects(client.request('orchflow/workspace/show', { id: 'nope' }), (error: unknown) => {
    assert.ok(error instanceof ResponseError);
    assert.equal(error.code, 1001);
    assert.equal(userMessage(error), 'No workspace is named "nope". Run `orchflow workspace list` to see them.');
    return true;
  });
});

test('notifications from the daemon reach listeners; malformed ones are dropped', async (t) => {
  const { daemon, client } = await setup(t);
  const seen: WorkspaceChangedNotification[] = [];
  client.onWorkspaceChanged((n) => seen.push(n));
  client.start();
  await waitForState(client, 'connected');
  const server = daemon.connections[0];
  await server.sendNotification('orchflow/workspace/changed', { kind: 'bogus', id: 'x' });
  await server.sendNotification('orchflow/workspace/changed', { kind: 'created', id: 'cli-tool', workspace: workspace({ id: 'cli-tool' }) });
  await new Promise<void>((resolve) => {
    const sub = client.onWorkspaceChanged(() => {
      sub.dispose();
      resolve();
    });
  });
  assert.deepEqual(seen.map((n) => [n.kind, n.id]), [['created', 'cli-tool']]);
});

test('workspace notices reach listeners with their kind and agent; malformed ones are dropped', async (t) => {
  const { daemon, client } = await setup(t);
  const seen: WorkspaceNotice[] = [];
  client.onWorkspaceNotice((n) => seen.push(n));
  client.start();
  await waitForState(client, 'connected');
  const server = daemon.connections[0];
  await server.sendNotification('orchflow/workspace/notice', { ...notice(), kind: 'exploded' });
  await server.sendNotification('orchflow/workspace/notice', { ...notice(), agentId: 42 });
  await server.sendNotification('orchflow/workspace/notice', notice({ kind: 'agentPaused', level: 'warning', agentId: 'shop-a2', message: 'paused shop-a2' }));
  await new Promise<void>((resolve) => {
    const sub = client.onWorkspaceNotice(() => {
      sub.dispose();
      resolve();
    });
  });
  assert.deepEqual(seen.map((n) => [n.kind, n.level, n.agentId, n.message]), [['agentPaused', 'warning', 'shop-a2', 'paused shop-a2']]);
});

test('stop sends shutdown then exit', async (t) => {
  const { daemon, client } = await setup(t);
  client.start();
  await waitForState(client, 'connected');
  await client.stop();
  await daemon.exitSeen;
  assert.deepEqual(daemon.methods().slice(-2), ['shutdown', 'exit']);
  assert.equal(client.connectionState.kind, 'disconnected');
  await assert.rejects(client.request('orchflow/workspace/list', {}), NotConnectedError);
});

test('reconnects and initializes again when the daemon drops the connection', async (t) => {
  const { daemon, client } = await setup(t);
  let initializations = 0;
  client.onDidInitialize(() => initializations++);
  client.start();
  await waitForState(client, 'connected');
  daemon.dropAll();
  await waitForState(client, 'reconnecting');
  await waitForState(client, 'connected');
  assert.equal(initializations, 2);
  assert.equal(daemon.methods().filter((m) => m === 'initialize').length, 2);
});

test('keeps retrying while the daemon cannot be started, then connects', async (t) => {
  const daemon = new FakeDaemon();
  await daemon.listen();
  let calls = 0;
  const client = clientFor(() => {
    calls++;
    if (calls < 3) {
      return Promise.reject(new Error('The Orchflow backend was not found at /fake/orchflow.'));
    }
    return Promise.resolve(daemon.socketPath);
  });
  t.after(async () => {
    await client.dispose();
    await daemon.close();
  });
  const kinds: string[] = [];
  client.onDidChangeState((s) => kinds.push(s.kind));
  client.start();
  await waitForState(client, 'connected');
  assert.equal(calls, 3);
  assert.deepEqual(kinds, ['connecting', 'reconnecting', 'reconnecting', 'connected']);
});

test('refuses a daemon of another protocol major version, without retrying', async (t) => {
  const { client } = await setup(t, (d) => {
    d.protocolVersion = '2.0';
  });
  client.start();
  await waitForState(client, 'disconnected');
  const state = client.connectionState;
  assert.ok(state.kind === 'disconnected' && state.reason?.includes('protocol 2.0'));
});

test('requests before the connection fail with a message to act on', async () => {
  const client = clientFor({ socketPath: path.join(dir, 'none.sock') });
  await assert.rejects(client.request('orchflow/status', {}), NotConnectedError);
  await client.dispose();
});

test('with orchflow.trace.server on, traffic goes to the log', async (t) => {
  const daemon = new FakeDaemon();
  await daemon.listen();
  const traced: string[] = [];
  const client = clientFor(daemon, { trace: () => 'messages', logger: { ...NullLogger, trace: (m) => traced.push(m) } });
  t.after(async () => {
    await client.dispose();
    await daemon.close();
  });
  client.start();
  await waitForState(client, 'connected');
  await client.request('orchflow/workspace/list', {});
  assert.ok(traced.some((line) => line.includes("Sending request 'orchflow/workspace/list")), traced.join('\n'));
  assert.ok(traced.some((line) => line.includes("Received response 'orchflow/workspace/list")), traced.join('\n'));
});
