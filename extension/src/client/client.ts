// The connection to the Orchflow daemon: find or start it, speak JSON-RPC 2.0 with LSP framing over its Unix
// socket, follow the LSP lifecycle (initialize, initialized, ..., shutdown, exit), and reconnect with back-off
// when the socket closes, for example because the daemon restarted.
// This module must not import 'vscode': the composition root (extension.ts) adapts its events and settings.
import * as net from 'node:net';
import {
  type CancellationToken,
  Emitter,
  type Event,
  type MessageConnection,
  NotificationType,
  NotificationType0,
  ParameterStructures,
  RequestType,
  RequestType0,
  SocketMessageReader,
  SocketMessageWriter,
  Trace,
  TraceFormat,
  createMessageConnection,
  type Disposable,
  type Logger as RpcLogger,
  type Tracer,
} from 'vscode-jsonrpc/node';
import { NotConnectedError } from '../protocol/errors';
import {
  Methods,
  type AgentChangedNotification,
  type AgentEventNotification,
  type AuditEntry,
  type ClientInfo,
  type ConfigChangedNotification,
  type ErrorData,
  type InitializeParams,
  type InitializeResult,
  type MemoryChangedNotification,
  type NotificationMethod,
  type NotificationParams,
  type RequestMethod,
  type RequestParams,
  type RequestResult,
  type ResourceSnapshot,
  type TerminalChangedNotification,
  type TerminalOutputNotification,
  type WorkspaceChangedNotification,
  type WorkspaceNotice,
} from '../protocol/generated';
import { Backoff } from './backoff';
import { initialConnectionState, transition, type ConnectionEvent, type ConnectionState } from './connectionState';
import { ensureDaemon, type EnsureResult } from './daemon';
import type { Logger } from './logger';
import {
  isAgentChangedNotification,
  isAgentEventNotification,
  isConfigChangedNotification,
  isMemoryChangedNotification,
  isResourceSnapshot,
  isTerminalChangedNotification,
  isTerminalOutputNotification,
  isWorkspaceChangedNotification,
  isWorkspaceNotice,
  isAuditEntry,
} from './validate';

/** LSP lifecycle messages that the protocol's method table leaves out (they carry no Orchflow types). */
export const LifecycleMethods = {
  Initialized: 'initialized',
  Shutdown: 'shutdown',
  Exit: 'exit',
} as const;

/**
 * The Orchflow protocol major version this client speaks. The server announces its version in
 * `capabilities.protocolVersion`; a server of another major version is refused rather than misread.
 */
export const SupportedProtocolMajor = 1;

/** How long a polite shutdown may take before the socket is closed anyway, so closing a window never hangs. */
export const ShutdownTimeoutMs = 2_000;

/** How long connecting to the socket that `daemon ensure` named may take: it is local, so this is generous. */
export const SocketConnectTimeoutMs = 5_000;

export type TraceLevel = 'off' | 'messages' | 'verbose';

export interface OrchflowClientOptions {
  /** The daemon binary, read at every connection attempt so a changed setting applies on the next one. */
  readonly serverPath: () => string;
  readonly clientInfo: ClientInfo;
  /** Absolute paths of the folders open in the client, sent with every `initialize`. */
  readonly folders: () => string[];
  readonly logger: Logger;
  readonly trace?: () => TraceLevel;
  readonly env?: NodeJS.ProcessEnv;
  /** Replaceable for tests; the real one runs `<server> daemon ensure --json`. */
  readonly ensure?: (serverPath: string, env: NodeJS.ProcessEnv) => Promise<EnsureResult>;
}

export class ProtocolVersionError extends Error {
  constructor(serverVersion: string) {
    super(
      `The Orchflow backend speaks protocol ${serverVersion}, but this extension speaks ${SupportedProtocolMajor}.x. ` +
        'Install matching versions of the extension and the backend.',
    );
    this.name = 'ProtocolVersionError';
  }
}

export function protocolMajor(version: string): number | undefined {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  return Number.isNaN(major) ? undefined : major;
}

function requestType<M extends RequestMethod>(method: M): RequestType<RequestParams<M>, RequestResult<M>, ErrorData> {
  return new RequestType<RequestParams<M>, RequestResult<M>, ErrorData>(method, ParameterStructures.byName);
}

/**
 * A notification the daemon sends: its method, the check that keeps a malformed one from the listeners, and the
 * event the client fires for each good one. Every notification reaches its listeners this way.
 */
class Incoming<M extends NotificationMethod> {
  private readonly type: NotificationType<unknown>;
  private readonly emitter = new Emitter<NotificationParams<M>>();
  readonly event: Event<NotificationParams<M>> = this.emitter.event;

  constructor(
    method: M,
    private readonly valid: (value: unknown) => value is NotificationParams<M>,
  ) {
    this.type = new NotificationType<unknown>(method, ParameterStructures.byName);
  }

  /** Fires the event for each notification of the connection that passes the check, and logs the ones that do not. */
  listen(connection: MessageConnection, logger: Logger): Disposable {
    return connection.onNotification(this.type, (params) => {
      if (this.valid(params)) {
        this.emitter.fire(params);
      } else {
        logger.warn(`Ignored a malformed ${this.type.method} notification.`);
      }
    });
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

const InitializedType = new NotificationType<Record<string, never>>(LifecycleMethods.Initialized, ParameterStructures.byName);
const ShutdownType = new RequestType0<null, void>(LifecycleMethods.Shutdown);
const ExitType = new NotificationType0(LifecycleMethods.Exit);

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function connectSocket(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`Connecting to ${path} timed out after ${SocketConnectTimeoutMs / 1000} s.`));
    }, SocketConnectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`Cannot connect to the Orchflow daemon at ${path}: ${error.message}`));
    });
  });
}

interface Session {
  readonly id: number;
  readonly socket: net.Socket;
  readonly connection: MessageConnection;
  readonly disposables: Disposable[];
}

export class OrchflowClient {
  private state: ConnectionState = initialConnectionState;
  private session: Session | undefined;
  private readonly backoff = new Backoff();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Incremented by each attempt and by stop(), so that late events of an older attempt are ignored. */
  private generation = 0;
  private stopped = true;

  private readonly stateEmitter = new Emitter<ConnectionState>();
  private readonly initializedEmitter = new Emitter<InitializeResult>();
  private readonly incoming = {
    workspaceChanged: new Incoming(Methods.WorkspaceChanged, isWorkspaceChangedNotification),
    configChanged: new Incoming(Methods.ConfigChanged, isConfigChangedNotification),
    terminalOutput: new Incoming(Methods.TerminalOutput, isTerminalOutputNotification),
    terminalChanged: new Incoming(Methods.TerminalChanged, isTerminalChangedNotification),
    agentChanged: new Incoming(Methods.AgentChanged, isAgentChangedNotification),
    agentEvent: new Incoming(Methods.AgentEvent, isAgentEventNotification),
    resourcesChanged: new Incoming(Methods.ResourcesChanged, isResourceSnapshot),
    memoryChanged: new Incoming(Methods.MemoryChanged, isMemoryChangedNotification),
    workspaceNotice: new Incoming(Methods.WorkspaceNotice, isWorkspaceNotice),
    workspaceAudited: new Incoming(Methods.WorkspaceAudited, isAuditEntry),
  };

  /** Fires on every state change. */
  readonly onDidChangeState: Event<ConnectionState> = this.stateEmitter.event;
  /** Fires after each successful `initialize`, the first and every reconnection: listeners refresh everything. */
  readonly onDidInitialize: Event<InitializeResult> = this.initializedEmitter.event;
  readonly onWorkspaceChanged: Event<WorkspaceChangedNotification> = this.incoming.workspaceChanged.event;
  readonly onConfigChanged: Event<ConfigChangedNotification> = this.incoming.configChanged.event;
  /** Output of a terminal this client is attached to, in order (listeners run synchronously, in arrival order). */
  readonly onTerminalOutput: Event<TerminalOutputNotification> = this.incoming.terminalOutput.event;
  readonly onTerminalChanged: Event<TerminalChangedNotification> = this.incoming.terminalChanged.event;
  /** An agent was created, changed state (or queue position, last line, message) or was removed; in the daemon's order. */
  readonly onAgentChanged: Event<AgentChangedNotification> = this.incoming.agentChanged.event;
  /** A new line of a workspace's recent agent activity. */
  readonly onAgentEvent: Event<AgentEventNotification> = this.incoming.agentEvent.event;
  /** The resource figures after each sample (every second while anything runs). */
  readonly onResourcesChanged: Event<ResourceSnapshot> = this.incoming.resourcesChanged.event;
  /** A workspace's memory segment after a change (coalesced by the daemon), or null stats when the workspace was deleted. */
  readonly onMemoryChanged: Event<MemoryChangedNotification> = this.incoming.memoryChanged.event;
  /** A limit acted on a workspace (an agent paused or stopped, OOM, refused forks), or it was suspended or resumed, and why. */
  readonly onWorkspaceNotice: Event<WorkspaceNotice> = this.incoming.workspaceNotice.event;
  /** An entry was added to a workspace's audit log, whoever caused it (this window, the CLI, the daemon itself). */
  readonly onWorkspaceAudited: Event<AuditEntry> = this.incoming.workspaceAudited.event;

  constructor(private readonly options: OrchflowClientOptions) {}

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** The last `initialize` result, while connected. */
  get server(): InitializeResult | undefined {
    return this.state.kind === 'connected' ? this.state.server : undefined;
  }

  /** Starts connecting; connection failures are reported through the state, never thrown. */
  start(): void {
    if (!this.stopped) {
      return;
    }
    this.stopped = false;
    this.apply({ type: 'start' });
    void this.attempt();
  }

  /** Drops the current connection (politely) and connects again at once, for example after a setting changed. */
  async restart(): Promise<void> {
    await this.stop();
    this.backoff.reset();
    this.start();
  }

  /** Sends `shutdown` and `exit`, closes the socket, and stops reconnecting. Never throws. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.clearRetry();
    const session = this.session;
    this.session = undefined;
    if (session) {
      await this.shutdownSession(session);
    }
    this.apply({ type: 'stop' });
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.stateEmitter.dispose();
    this.initializedEmitter.dispose();
    for (const incoming of Object.values(this.incoming)) {
      incoming.dispose();
    }
  }

  /** Sends a request of the protocol's method table; rejects with NotConnectedError while there is no connection. */
  request<M extends RequestMethod>(method: M, params: RequestParams<M>, token?: CancellationToken): Promise<RequestResult<M>> {
    const session = this.session;
    if (!session || this.state.kind !== 'connected') {
      return Promise.reject(new NotConnectedError());
    }
    return session.connection.sendRequest(requestType(method), params, token);
  }

  /**
   * Sends a client-to-server notification (such as `orchflow/terminal/ack`). Returns false, sending nothing,
   * while there is no connection: a notification has no answer to wait for, and a new connection starts afresh.
   */
  notify<M extends NotificationMethod>(method: M, params: NotificationParams<M>): boolean {
    const session = this.session;
    if (!session || this.state.kind !== 'connected') {
      return false;
    }
    session.connection
      .sendNotification(new NotificationType<NotificationParams<M>>(method, ParameterStructures.byName), params)
      .catch((error: unknown) => this.options.logger.warn(`Cannot send ${method}: ${errorText(error)}`));
    return true;
  }

  /** Applies a changed trace setting to the live connection. */
  async updateTrace(): Promise<void> {
    const session = this.session;
    if (session) {
      await this.applyTrace(session.connection);
    }
  }

  private apply(event: ConnectionEvent): void {
    const next = transition(this.state, event);
    if (next !== this.state) {
      this.state = next;
      this.stateEmitter.fire(next);
    }
  }

  private clearRetry(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
  }

  private scheduleRetry(kind: 'attemptFailed' | 'lost', error: string): void {
    if (this.stopped) {
      return;
    }
    const delayMs = this.backoff.next();
    this.apply({ type: kind, error, delayMs });
    this.options.logger.info(`Reconnecting in ${delayMs} ms.`);
    this.clearRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.apply({ type: 'retry' });
      void this.attempt();
    }, delayMs);
  }

  /** One connection attempt. Every failure ends in scheduleRetry; nothing escapes as a rejection. */
  private async attempt(): Promise<void> {
    const id = ++this.generation;
    const { logger } = this.options;
    let socket: net.Socket | undefined;
    let session: Session | undefined;
    try {
      const serverPath = this.options.serverPath();
      const env = this.options.env ?? process.env;
      logger.info(`Running ${serverPath} daemon ensure --json${env.ORCHFLOW_HOME ? ` (ORCHFLOW_HOME=${env.ORCHFLOW_HOME})` : ''}.`);
      const ensured = await (this.options.ensure ?? ensureDaemon)(serverPath, env);
      if (id !== this.generation) {
        return;
      }
      logger.info(`Daemon ${ensured.started ? 'started' : 'running'} (pid ${ensured.pid}) at ${ensured.socket}.`);
      socket = await connectSocket(ensured.socket);
      if (id !== this.generation) {
        socket.destroy();
        return;
      }
      session = this.openSession(id, socket);
      const params: InitializeParams = {
        processId: process.pid,
        clientInfo: this.options.clientInfo,
        folders: this.options.folders(),
      };
      const result = await session.connection.sendRequest(requestType(Methods.Initialize), params);
      const major = protocolMajor(result.capabilities.protocolVersion);
      if (major !== SupportedProtocolMajor) {
        throw new ProtocolVersionError(result.capabilities.protocolVersion);
      }
      await session.connection.sendNotification(InitializedType, {});
      if (id !== this.generation) {
        await this.shutdownSession(session);
        return;
      }
      this.session = session;
      this.backoff.reset();
      logger.info(
        `Connected to ${result.serverInfo.name} ${result.serverInfo.version} (protocol ${result.capabilities.protocolVersion}, ` +
          `daemon pid ${result.daemon.pid}, home ${result.daemon.home}).`,
      );
      this.apply({ type: 'connected', server: result });
      this.initializedEmitter.fire(result);
    } catch (error) {
      if (session) {
        this.disposeSession(session);
      } else {
        socket?.destroy();
      }
      if (id !== this.generation) {
        return;
      }
      const message = errorText(error);
      logger.error(`Cannot connect to the Orchflow backend: ${message}`);
      if (error instanceof ProtocolVersionError) {
        // Retrying cannot fix a version mismatch; the state says why, and a restart (Refresh) tries again.
        this.stopped = true;
        this.apply({ type: 'stop', reason: message });
        return;
      }
      this.scheduleRetry('attemptFailed', message);
    }
  }

  private openSession(id: number, socket: net.Socket): Session {
    const { logger } = this.options;
    const rpcLogger: RpcLogger = {
      error: (m) => logger.error(m),
      warn: (m) => logger.warn(m),
      info: (m) => logger.info(m),
      log: (m) => logger.trace(m),
    };
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket), rpcLogger);
    const disposables: Disposable[] = [];
    const session: Session = { id, socket, connection, disposables };
    disposables.push(
      ...Object.values(this.incoming).map((incoming) => incoming.listen(connection, logger)),
      connection.onError(([error]) => logger.error(`Connection error: ${error.message}`)),
      connection.onClose(() => this.onSessionClosed(session)),
    );
    connection.listen();
    void this.applyTrace(connection).catch((error: unknown) => logger.warn(`Cannot set tracing: ${errorText(error)}`));
    return session;
  }

  private onSessionClosed(session: Session): void {
    if (this.session !== session) {
      return; // An attempt that failed, or a session already replaced or stopped.
    }
    this.session = undefined;
    this.disposeSession(session);
    this.options.logger.warn('The connection to the Orchflow daemon closed.');
    this.scheduleRetry('lost', 'the daemon closed the connection');
  }

  private async applyTrace(connection: MessageConnection): Promise<void> {
    const level = this.options.trace?.() ?? 'off';
    const tracer: Tracer = {
      log: (message: unknown, data?: string) => {
        const text = typeof message === 'string' ? message : JSON.stringify(message);
        this.options.logger.trace(data ? `${text}\n${data}` : text);
      },
    };
    await connection.trace(Trace.fromString(level), tracer, { sendNotification: false, traceFormat: TraceFormat.Text });
  }

  private async shutdownSession(session: Session): Promise<void> {
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ShutdownTimeoutMs);
      });
      await Promise.race([session.connection.sendRequest(ShutdownType), timeout]);
      clearTimeout(timer);
      await session.connection.sendNotification(ExitType);
    } catch (error) {
      this.options.logger.warn(`Shutdown of the connection failed: ${errorText(error)}`);
    } finally {
      this.disposeSession(session);
    }
  }

  private disposeSession(session: Session): void {
    for (const d of session.disposables.splice(0)) {
      d.dispose();
    }
    session.connection.dispose();
    session.socket.destroy();
  }
}
