// Orchflow terminals in this window's terminal panel. Owns one session (and VS Code terminal) per daemon terminal
// shown here, routes output and changes to them, keeps the terminal store current, and after every
// (re)connection shows again the running terminals of the workspaces open in this window, with their scrollback:
// that is how they reappear after a window reload. Closing a VS Code terminal detaches (or kills, per setting);
// the daemon's terminal goes on.
import * as vscode from 'vscode';
import type { OrchflowClient } from '../client/client';
import type { Logger } from '../client/logger';
import { ConnectionSync } from '../common/connectionSync';
import { Settings } from '../constants';
import { userMessage } from '../protocol/errors';
import { Methods, type TerminalInfo, type TerminalOutputNotification, type TerminalPurpose, type WorkspaceInfo } from '../protocol/generated';
import { windowFolderPaths } from '../workspaces/controller';
import type { WorkspaceStore } from '../workspaces/store';
import { closeActionFrom, groupHeaderLine, purposeView, terminalsToReattach, terminalTitle } from './model';
import { OrchflowPty } from './pty';
import type { Dimensions, TerminalSession } from './session';
import type { TerminalStore } from './store';

interface Entry {
  readonly pty: OrchflowPty;
  readonly session: TerminalSession;
  /** Undefined until VS Code opened it (a terminal created from a profile is created by VS Code itself). */
  terminal: vscode.Terminal | undefined;
  /** Show it once VS Code has created it: VS Code does not always reveal a terminal made from a profile. */
  revealWhenOpened: boolean;
}

/** How many output notifications for not-yet-known terminals are kept while a create is on its way. */
const MaxOrphanNotifications = 2_000;

export interface OpenOptions {
  /** 'created': the create request attached this client from the first byte; 'attach': attach now. */
  readonly mode: 'created' | 'attach';
  readonly header?: string;
  /** Split beside this terminal (VS Code's terminal groups). */
  readonly parent?: vscode.Terminal;
}

export class TerminalManager implements vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  /** Detaches this window sent and the daemon has not answered yet, by terminal id. */
  private readonly pendingDetach = new Map<string, Promise<void>>();
  /** Output for terminals whose create response has not arrived yet (create with attach). */
  private readonly orphans = new Map<string, TerminalOutputNotification[]>();
  private orphanCount = 0;
  private pendingCreates = 0;
  private lastDimensions: Dimensions | undefined;
  /** Workspace names from the last list, for titles before the workspace store has loaded. */
  private readonly knownNames = new Map<string, string>();
  private readonly subscriptions: { dispose(): void }[] = [];

  constructor(
    private readonly client: OrchflowClient,
    private readonly workspaces: WorkspaceStore,
    private readonly terminals: TerminalStore,
    private readonly logger: Logger,
  ) {
    this.subscriptions.push(
      new ConnectionSync(client, {
        connected: () => this.onConnected(),
        lost: () => this.onDisconnected(),
        failed: (error) => this.logger.error(`Failed while showing the terminals again: ${userMessage(error)}`),
      }),
      client.onTerminalOutput((n) => this.onOutput(n)),
      client.onTerminalChanged((change) => {
        this.terminals.applyChange(change);
        const entry = this.entries.get(change.id);
        if (change.kind === 'removed') {
          this.dropOrphans(change.id);
          entry?.session.removed();
        } else if (change.terminal) {
          entry?.session.update(change.terminal);
        }
      }),
      workspaces.onDidChange(() => {
        for (const e of this.entries.values()) {
          e.session.refreshTitle();
        }
      }),
      vscode.window.onDidOpenTerminal((terminal) => this.adopt(terminal)),
    );
  }

  /** The terminal ids this window shows. */
  shownIds(): Set<string> {
    return new Set(this.entries.keys());
  }

  /** The Orchflow terminal id of VS Code's active terminal, when it is one. */
  activeTerminalId(): string | undefined {
    const active = vscode.window.activeTerminal;
    if (!active) {
      return undefined;
    }
    for (const [id, e] of this.entries) {
      if (this.terminalOf(e) === active) {
        return id;
      }
    }
    return undefined;
  }

  workspaceName(workspaceId: string): string {
    return this.workspaces.get(workspaceId)?.name ?? this.knownNames.get(workspaceId) ?? workspaceId;
  }

  title(terminal: TerminalInfo): string {
    return terminalTitle(this.workspaceName(terminal.workspaceId), terminal.name);
  }

  /** Creates a terminal in the daemon, attached from its first byte, and shows it in the terminal panel. */
  async create(workspace: WorkspaceInfo, purpose: TerminalPurpose): Promise<vscode.Terminal> {
    const info = await this.createInDaemon(workspace, purpose);
    const terminal = this.openTerminal(info, { mode: 'created' });
    terminal.show(false);
    return terminal;
  }

  /** For the terminal profile: creates a terminal in the daemon and the options VS Code creates its terminal with. */
  async createForProfile(workspace: WorkspaceInfo, purpose: TerminalPurpose): Promise<vscode.ExtensionTerminalOptions> {
    const info = await this.createInDaemon(workspace, purpose);
    const { entry, options } = this.prepare(info, { mode: 'created' });
    entry.revealWhenOpened = true;
    return options;
  }

  /** Reveals the terminal's VS Code terminal, attaching a new one when this window does not show it. */
  show(info: TerminalInfo, preserveFocus = false): vscode.Terminal {
    const existing = this.entries.get(info.id);
    const terminal = existing ? this.terminalOf(existing) : undefined;
    if (terminal) {
      terminal.show(preserveFocus);
      return terminal;
    }
    const created = this.openTerminal(info, { mode: 'attach' });
    created.show(preserveFocus);
    return created;
  }

  /** Ends the terminal's process tree and removes it; its VS Code terminal closes. */
  async kill(id: string): Promise<void> {
    await this.client.request(Methods.TerminalKill, { id });
    this.terminals.remove(id);
    this.dropOrphans(id);
    this.entries.get(id)?.session.removed();
  }

  async rename(id: string, name: string): Promise<TerminalInfo> {
    const info = await this.client.request(Methods.TerminalRename, { id, name });
    this.terminals.upsert(info);
    this.entries.get(id)?.session.update(info);
    return info;
  }

  /**
   * The terminal group view: the workspace's terminals side by side in one group of the terminal panel, each
   * starting with a line of the workspace's context. Terminals shown elsewhere in this window move into it.
   * Returns how many terminals the group has.
   */
  openGroup(workspace: WorkspaceInfo): number {
    const members = this.terminals.forWorkspace(workspace.id);
    if (members.length === 0) {
      return 0;
    }
    for (const t of members) {
      const entry = this.entries.get(t.id);
      if (entry) {
        const terminal = this.terminalOf(entry);
        this.entries.delete(t.id);
        this.trackDetach(t.id, entry.session.release());
        terminal?.dispose();
      }
    }
    const header = groupHeaderLine(workspace, members.length);
    let first: vscode.Terminal | undefined;
    for (const t of members) {
      const terminal = this.openTerminal(t, first ? { mode: 'attach', header, parent: first } : { mode: 'attach', header });
      first ??= terminal;
    }
    first?.show(false);
    return members.length;
  }

  private async createInDaemon(workspace: WorkspaceInfo, purpose: TerminalPurpose): Promise<TerminalInfo> {
    this.pendingCreates++;
    try {
      const dims = this.lastDimensions;
      const info = await this.client.request(Methods.TerminalCreate, {
        workspaceId: workspace.id,
        purpose,
        attach: true,
        ...(dims ? { columns: dims.columns, rows: dims.rows } : {}),
      });
      this.terminals.upsert(info);
      this.logger.info(`Created terminal ${info.id} (${info.name}) in ${workspace.name}.`);
      return info;
    } finally {
      this.pendingCreates--;
    }
  }

  private openTerminal(info: TerminalInfo, options: OpenOptions): vscode.Terminal {
    const { entry, options: terminalOptions } = this.prepare(info, options);
    const terminal = vscode.window.createTerminal(
      options.parent ? { ...terminalOptions, location: { parentTerminal: options.parent } } : { ...terminalOptions, location: vscode.TerminalLocation.Panel },
    );
    entry.terminal = terminal;
    return terminal;
  }

  /** Creates the session and its Pseudoterminal, starts attaching, and returns the options of the VS Code terminal. */
  private prepare(info: TerminalInfo, options: OpenOptions): { entry: Entry; options: vscode.ExtensionTerminalOptions } {
    const previous = this.entries.get(info.id);
    if (previous) {
      // One VS Code terminal per daemon terminal in a window: the older one lets go.
      this.entries.delete(info.id);
      this.trackDetach(info.id, previous.session.release());
      this.terminalOf(previous)?.dispose();
    }
    const pty = new OrchflowPty(info, {
      rpc: this.client,
      logger: this.logger,
      title: (t) => this.title(t),
      closeAction: () => closeActionFrom(vscode.workspace.getConfiguration().get(Settings.TerminalsCloseAction)),
      ...(options.header ? { header: options.header } : {}),
      beforeAttach: () => this.pendingDetach.get(info.id),
      onClosed: (session) => {
        if (this.entries.get(session.id)?.session === session) {
          this.entries.delete(session.id);
        }
      },
      onDimensions: (dims) => {
        this.lastDimensions = dims;
      },
    });
    const entry: Entry = { pty, session: pty.session, terminal: undefined, revealWhenOpened: false };
    this.entries.set(info.id, entry);
    for (const n of this.takeOrphans(info.id)) {
      entry.session.output(n.seq, n.data);
    }
    if (options.mode === 'created') {
      entry.session.startAttachedFromCreate();
    } else {
      void entry.session.attach();
    }
    const view = purposeView(info.purpose);
    return {
      entry,
      options: {
        name: entry.session.title,
        pty,
        iconPath: new vscode.ThemeIcon(view.icon),
        ...(view.color ? { color: new vscode.ThemeColor(view.color) } : {}),
        // VS Code cannot revive an extension's terminal after a reload; this extension shows it again itself.
        isTransient: true,
      },
    };
  }

  private terminalOf(entry: Entry): vscode.Terminal | undefined {
    if (!entry.terminal) {
      this.adoptAll();
    }
    return entry.terminal;
  }

  /** Links a VS Code terminal that VS Code created from this extension's profile to its entry. */
  private adopt(terminal: vscode.Terminal): void {
    const pty = (terminal.creationOptions as Partial<vscode.ExtensionTerminalOptions>).pty;
    if (!pty) {
      return;
    }
    for (const e of this.entries.values()) {
      if (e.pty === pty && !e.terminal) {
        e.terminal = terminal;
        if (e.revealWhenOpened) {
          e.revealWhenOpened = false;
          terminal.show(false);
        }
        return;
      }
    }
  }

  private adoptAll(): void {
    for (const t of vscode.window.terminals) {
      this.adopt(t);
    }
  }

  private trackDetach(id: string, detach: Promise<void>): void {
    const tracked = detach.finally(() => {
      if (this.pendingDetach.get(id) === tracked) {
        this.pendingDetach.delete(id);
      }
    });
    this.pendingDetach.set(id, tracked);
  }

  private onOutput(n: TerminalOutputNotification): void {
    const entry = this.entries.get(n.id);
    if (entry) {
      entry.session.output(n.seq, n.data);
      return;
    }
    if (this.pendingCreates > 0) {
      // Output of a terminal whose create (with attach) has not been answered yet.
      const list = this.orphans.get(n.id) ?? [];
      list.push(n);
      this.orphans.set(n.id, list);
      this.orphanCount++;
      if (this.orphanCount > MaxOrphanNotifications) {
        this.orphans.clear();
        this.orphanCount = 0;
      }
    }
  }

  private takeOrphans(id: string): TerminalOutputNotification[] {
    const list = this.orphans.get(id) ?? [];
    this.dropOrphans(id);
    return list;
  }

  private dropOrphans(id: string): void {
    const list = this.orphans.get(id);
    if (list) {
      this.orphanCount -= list.length;
      this.orphans.delete(id);
    }
  }

  private onDisconnected(): void {
    this.terminals.clear();
    this.orphans.clear();
    this.orphanCount = 0;
    this.pendingDetach.clear();
    for (const e of this.entries.values()) {
      e.session.connectionLost();
    }
  }

  private async onConnected(): Promise<void> {
    const [{ terminals }, workspaceList] = await Promise.all([
      this.client.request(Methods.TerminalList, {}),
      this.client.request(Methods.WorkspaceList, {}),
    ]);
    for (const w of workspaceList.workspaces) {
      this.knownNames.set(w.id, w.name);
    }
    this.terminals.reset(terminals);
    const byId = new Map(terminals.map((t) => [t.id, t]));
    for (const [id, e] of this.entries) {
      const info = byId.get(id);
      if (!info) {
        e.session.gone();
        continue;
      }
      e.session.update(info);
      void e.session.attach();
    }
    const openIds = await this.openWorkspaceIds();
    const again = terminalsToReattach(terminals, openIds, this.shownIds());
    for (const t of again) {
      this.openTerminal(t, { mode: 'attach' });
    }
    if (again.length > 0) {
      this.logger.info(`Showing ${again.length} running terminal${again.length === 1 ? '' : 's'} again: ${again.map((t) => t.id).join(', ')}.`);
    }
  }

  /** The workspaces that this window's folders map to, as the daemon resolves them. */
  private async openWorkspaceIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const folder of windowFolderPaths()) {
      const resolved = await this.client.request(Methods.WorkspaceResolve, { path: folder });
      if (resolved.workspace) {
        ids.add(resolved.workspace.id);
      }
    }
    return ids;
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
  }
}
