// One Orchflow terminal shown in one VS Code terminal of this window: what the Pseudoterminal does, as plain
// logic. It attaches to the daemon's terminal (or was attached by its create), writes the scrollback and then
// the live output in sequence, acknowledges what was written, forwards input and size, and on close detaches
// or kills. The VS Code adapter (pty.ts) only turns the sink's calls into Pseudoterminal events.
// This module must not import 'vscode'.
import type { Logger } from '../client/logger';
import { errorCode, userMessage } from '../protocol/errors';
import {
  ErrorCodes,
  Methods,
  type NotificationMethod,
  type NotificationParams,
  type RequestMethod,
  type RequestParams,
  type RequestResult,
  type TerminalInfo,
} from '../protocol/generated';
import { AckBatcher, FlowControl, OutputSequencer } from './flow';
import { endedNotice, isRunning, noticeLine, type CloseAction } from './model';

/** The part of the client a session uses; OrchflowClient has it. */
export interface TerminalRpc {
  request<M extends RequestMethod>(method: M, params: RequestParams<M>): Promise<RequestResult<M>>;
  notify<M extends NotificationMethod>(method: M, params: NotificationParams<M>): boolean;
}

/** Where a session's effects go: the Pseudoterminal's onDidWrite, onDidClose and onDidChangeName. */
export interface TerminalSink {
  write(data: string): void;
  close(): void;
  setName(name: string): void;
}

export interface Dimensions {
  readonly columns: number;
  readonly rows: number;
}

export interface TerminalSessionOptions {
  readonly rpc: TerminalRpc;
  readonly logger: Logger;
  /** The VS Code terminal's name for this terminal; asked again whenever the terminal or its workspace changes. */
  readonly title: (terminal: TerminalInfo) => string;
  /** What closing the VS Code terminal does to a running terminal; read when it closes. */
  readonly closeAction: () => CloseAction;
  /** Written before anything else, such as the terminal group's context line. */
  readonly header?: string;
  /** Resolves when an earlier detach of the same terminal by this window is done, so an attach never overtakes it. */
  readonly beforeAttach?: () => Promise<void> | undefined;
  /** Called once when the VS Code terminal goes away (closed by the user, or the terminal was removed). */
  readonly onClosed?: (session: TerminalSession) => void;
  /** Called when the size of the terminal in VS Code is known or changes. */
  readonly onDimensions?: (dimensions: Dimensions) => void;
  /** Runs the "process exited" notice a moment later, so that output still on its way is written before it. */
  readonly deferNotice?: (show: () => void) => void;
  readonly ackThreshold?: number;
}

type AttachState = 'idle' | 'attaching' | 'attached' | 'detached';

/** How long the "process exited" notice waits for the last output, which travels separately from the exit. */
export const EndedNoticeDelayMs = 150;

const defaultDefer = (show: () => void): void => {
  setTimeout(show, EndedNoticeDelayMs);
};

export class TerminalSession {
  private info: TerminalInfo;
  private currentTitle: string;
  private state: AttachState = 'idle';
  /** Output that arrived while an attach was being answered; written after its scrollback, in sequence. */
  private early: { seq: number; data: string }[] = [];
  private readonly sequencer = new OutputSequencer();
  private readonly acks: AckBatcher;
  /** Writes made before VS Code opened the Pseudoterminal: VS Code drops events fired before open(). */
  private pending: { text: string; seq?: number }[] = [];
  private opened = false;
  private closed = false;
  private removedFromDaemon = false;
  private endedShown = false;
  private endedScheduled = false;
  private lostShown = false;
  private sentDimensions: Dimensions | undefined;

  constructor(
    terminal: TerminalInfo,
    private readonly sink: TerminalSink,
    private readonly options: TerminalSessionOptions,
  ) {
    this.info = terminal;
    this.currentTitle = options.title(terminal);
    this.acks = new AckBatcher(0, options.ackThreshold ?? FlowControl.LowWatermarkChars);
    if (options.header) {
      this.emit(options.header);
    }
  }

  get id(): string {
    return this.info.id;
  }

  get terminal(): TerminalInfo {
    return this.info;
  }

  get title(): string {
    return this.currentTitle;
  }

  /** True once the VS Code terminal closed or is closing. */
  get isClosed(): boolean {
    return this.closed;
  }

  get isAttached(): boolean {
    return this.state === 'attached';
  }

  /** The position after the last output character written (for tests and logs). */
  get position(): number | undefined {
    return this.sequencer.position;
  }

  /** For a terminal that `orchflow/terminal/create` attached from its first byte: its output starts at 0. */
  startAttachedFromCreate(): void {
    this.state = 'attached';
    this.acks.reset(0);
    if (this.sequencer.position === undefined) {
      this.sequencer.accept(0, '');
    }
    this.drainEarly();
  }

  /**
   * Attaches to the daemon's terminal: its scrollback is written (only what this session has not written yet,
   * after a reconnection), then the live output. Never rejects; a failure is written into the terminal.
   */
  async attach(): Promise<void> {
    if (this.closed || this.state === 'attaching') {
      return;
    }
    // Output already received for this terminal (while it was being created) stays in `early`: the sequencer
    // drops whatever the scrollback covers.
    this.state = 'attaching';
    try {
      const earlierDetach = this.options.beforeAttach?.();
      if (earlierDetach) {
        await earlierDetach;
      }
      const result = await this.options.rpc.request(Methods.TerminalAttach, { id: this.id });
      if (this.closed) {
        // Closed while the attach was on its way: undo it.
        await this.detachQuietly();
        return;
      }
      this.state = 'attached';
      this.lostShown = false;
      this.acks.reset(result.seq);
      this.deliver(result.seq, result.scrollback);
      this.drainEarly();
      this.update(result.terminal);
    } catch (error) {
      this.state = 'detached';
      this.early = [];
      if (errorCode(error) === ErrorCodes.NotFound) {
        this.gone();
        return;
      }
      const message = userMessage(error);
      this.options.logger.error(`Cannot attach to terminal ${this.id}: ${message}`);
      this.emit(noticeLine(`cannot attach: ${message}`));
    }
  }

  /** An `orchflow/terminal/output` notification for this terminal. */
  output(seq: number, data: string): void {
    if (this.closed) {
      return;
    }
    if (this.state === 'attaching' || this.state === 'idle') {
      this.early.push({ seq, data });
    } else if (this.state === 'attached') {
      this.deliver(seq, data);
    }
  }

  /** The terminal's info changed (a notification or a response): name, status. */
  update(terminal: TerminalInfo): void {
    this.info = terminal;
    this.refreshTitle();
    if (this.state === 'attached' && !isRunning(terminal) && !this.endedShown && !this.endedScheduled) {
      this.endedScheduled = true;
      (this.options.deferNotice ?? defaultDefer)(() => this.showEnded());
    }
  }

  /** Asks the title function again, for example after the workspace was renamed. */
  refreshTitle(): void {
    const title = this.options.title(this.info);
    if (title !== this.currentTitle) {
      this.currentTitle = title;
      if (!this.closed) {
        this.sink.setName(title);
      }
    }
  }

  /** Pseudoterminal.open: VS Code now takes writes. */
  open(dimensions: Dimensions | undefined): void {
    if (this.opened) {
      return;
    }
    this.opened = true;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      this.write(p.text, p.seq);
    }
    if (dimensions) {
      this.setDimensions(dimensions);
    }
  }

  /** Pseudoterminal.setDimensions (and open's initial size): resizes the daemon's PTY. */
  setDimensions(dimensions: Dimensions): void {
    if (dimensions.columns <= 0 || dimensions.rows <= 0) {
      return;
    }
    this.options.onDimensions?.(dimensions);
    const sent = this.sentDimensions;
    if (this.closed || !isRunning(this.info) || (sent && sent.columns === dimensions.columns && sent.rows === dimensions.rows)) {
      return;
    }
    this.sentDimensions = dimensions;
    this.options.rpc
      .request(Methods.TerminalResize, { id: this.id, columns: dimensions.columns, rows: dimensions.rows })
      .catch((error: unknown) => {
        this.sentDimensions = undefined;
        this.options.logger.warn(`Cannot resize terminal ${this.id}: ${userMessage(error)}`);
      });
  }

  /** Pseudoterminal.handleInput: what the user typed, sent as is. */
  input(data: string): void {
    if (this.closed || !isRunning(this.info) || this.state !== 'attached') {
      return;
    }
    this.options.rpc.request(Methods.TerminalInput, { id: this.id, data }).catch((error: unknown) => {
      this.options.logger.warn(`Cannot send input to terminal ${this.id}: ${userMessage(error)}`);
    });
  }

  /**
   * Pseudoterminal.close: the user closed the VS Code terminal. A running terminal is detached (it goes on in
   * the daemon) or killed, as the setting says; an ended one is detached. Never rejects.
   */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    const state = this.state;
    this.markClosed();
    this.state = 'detached';
    if (this.removedFromDaemon) {
      return;
    }
    if (isRunning(this.info) && this.options.closeAction() === 'kill') {
      try {
        await this.options.rpc.request(Methods.TerminalKill, { id: this.id });
      } catch (error) {
        this.options.logger.warn(`Cannot kill terminal ${this.id}: ${userMessage(error)}`);
      }
      return;
    }
    if (state === 'attached') {
      await this.detachQuietly();
    }
    // An attach still on its way detaches again when it returns (it sees the session closed).
  }

  /**
   * Detaches without killing, whatever the setting says, and ends this session; the caller then disposes the
   * VS Code terminal (its later close() does nothing). Used to show the terminal elsewhere, as in a group.
   */
  async release(): Promise<void> {
    if (this.closed) {
      return;
    }
    const wasAttached = this.state === 'attached';
    this.markClosed();
    this.state = 'detached';
    if (wasAttached) {
      await this.detachQuietly();
    }
  }

  /** The daemon removed the terminal (killed): the VS Code terminal closes. */
  removed(): void {
    this.removedFromDaemon = true;
    if (this.closed) {
      return;
    }
    this.markClosed();
    this.state = 'detached';
    this.sink.close();
  }

  /** The connection to the daemon was lost; a reconnection attaches again and fills in what was missed. */
  connectionLost(): void {
    if (this.closed) {
      return;
    }
    if (this.state === 'attached' || this.state === 'attaching') {
      this.state = 'detached';
      this.early = [];
    }
    if (!this.lostShown && !this.endedShown) {
      this.lostShown = true;
      this.emit(noticeLine('connection to the Orchflow daemon lost; reconnecting...'));
    }
  }

  /** After a reconnection the daemon no longer has this terminal. The VS Code terminal stays until closed. */
  gone(): void {
    this.state = 'detached';
    if (this.closed || this.endedShown) {
      return;
    }
    this.endedShown = true;
    this.emit(noticeLine('this terminal no longer exists in the Orchflow daemon'));
  }

  private markClosed(): void {
    this.closed = true;
    this.early = [];
    this.pending = [];
    this.options.onClosed?.(this);
  }

  private async detachQuietly(): Promise<void> {
    try {
      await this.options.rpc.request(Methods.TerminalDetach, { id: this.id });
    } catch (error) {
      // The terminal may be gone already, or the connection: either way nothing stays attached.
      this.options.logger.info(`Detach of terminal ${this.id}: ${userMessage(error)}`);
    }
  }

  private showEnded(): void {
    this.endedScheduled = false;
    if (this.endedShown || this.closed) {
      return;
    }
    const text = endedNotice(this.info);
    if (text) {
      this.endedShown = true;
      this.emit(noticeLine(text));
    }
  }

  private drainEarly(): void {
    const early = this.early;
    this.early = [];
    for (const e of early) {
      this.deliver(e.seq, e.data);
    }
  }

  private deliver(seq: number, data: string): void {
    const { text, gap } = this.sequencer.accept(seq, data);
    if (gap > 0) {
      this.options.logger.warn(`Terminal ${this.id}: ${gap} characters of output were not received.`);
    }
    if (text.length > 0) {
      this.emit(text, seq);
    }
  }

  /** Writes now when VS Code has opened the terminal, or keeps the text for open(). */
  private emit(text: string, seq?: number): void {
    if (this.opened) {
      this.write(text, seq);
    } else {
      this.pending.push(seq === undefined ? { text } : { text, seq });
    }
  }

  private write(text: string, seq: number | undefined): void {
    if (this.closed) {
      return;
    }
    this.sink.write(text);
    if (seq !== undefined && this.state === 'attached') {
      const ack = this.acks.written(seq);
      if (ack !== undefined) {
        this.options.rpc.notify(Methods.TerminalAck, { id: this.id, seq: ack });
      }
    }
  }
}
