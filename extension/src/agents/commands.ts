// The agent commands: Spawn Agent…, Delegate Tasks…, and the actions on one agent (Show Terminal, Send Input…,
// Answer…, Pause, Resume, Stop, Restart, Remove, Open Log). Like the other commands, each shows the daemon's own message
// and hint when it fails and never lets a rejection escape.
import * as vscode from 'vscode';
import { registerGuardedCommands, type CommandHandler } from '../commandRegistry';
import { pickItem, requireLoaded } from '../common/pickItem';
import type { OrchflowClient } from '../client/client';
import type { Logger } from '../client/logger';
import { Commands, DefaultAgentType, DelegateLanguageId, Settings, type CommandId } from '../constants';
import { userMessage } from '../protocol/errors';
import { Methods, type AgentInfo, type AgentTypeInfo, type WorkspaceInfo } from '../protocol/generated';
import type { TerminalManager } from '../terminals/manager';
import type { TerminalStore } from '../terminals/store';
import { argumentIdOfKind, pickWorkspace as pickWorkspaceIn } from '../workspaces/pick';
import type { WorkspaceStore } from '../workspaces/store';
import { answerAgent as sendAnswer } from './answer';
import { checkTypes, delegateTemplate, parseDelegateText, taskCount, type DelegateProblem, type DelegateTask } from './delegate';
import type { AgentLogProvider } from './logDocuments';
import { canAnswer, canPause, canRemove, canRestart, canResume, canSendInput, canStop, hasTerminal, isLive } from './model';
import { agentPicks, choicePicks, stateText, truncateTask, typePicks } from './presentation';
import type { AgentStore } from './store';

export interface AgentCommandContext {
  readonly client: OrchflowClient;
  readonly workspaces: WorkspaceStore;
  readonly agents: AgentStore;
  readonly terminals: TerminalStore;
  readonly manager: TerminalManager;
  readonly logs: AgentLogProvider;
  readonly logger: Logger;
}

/** How many problems an error message lists before it says "and N more" (the editor shows all of them). */
const MaxProblemsInMessage = 3;

export function argumentAgentId(arg: unknown): string | undefined {
  return argumentIdOfKind(arg, 'agent');
}

function workspaceName(ctx: AgentCommandContext, id: string): string {
  return ctx.workspaces.get(id)?.name ?? ctx.manager.workspaceName(id);
}

function defaultType(): string {
  const value = vscode.workspace.getConfiguration().get<string>(Settings.AgentsDefaultType, DefaultAgentType);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : DefaultAgentType;
}

function pickWorkspace(ctx: AgentCommandContext, arg: unknown, placeHolder: string): Promise<WorkspaceInfo | undefined> {
  requireLoaded(ctx.workspaces, ctx.agents);
  return pickWorkspaceIn(ctx.workspaces, arg, placeHolder);
}

/**
 * The agent a command acts on: the one named by the argument, or one the user picks among those for which the
 * action is valid. `none` says why the pick would be empty.
 */
async function pickAgent(
  ctx: AgentCommandContext,
  arg: unknown,
  options: { placeHolder: string; filter: (a: AgentInfo) => boolean; none: string },
): Promise<AgentInfo | undefined> {
  requireLoaded(ctx.workspaces, ctx.agents);
  return pickItem(argumentAgentId(arg), { get: (id) => ctx.agents.get(id), unknown: (id) => `There is no Orchflow agent "${id}"; it may have been removed.` }, () => ({
    candidates: ctx.agents.all().filter(options.filter),
    none: options.none,
    picks: (candidates) => agentPicks(candidates, (w) => workspaceName(ctx, w)),
    placeHolder: options.placeHolder,
  }));
}

// ---- Spawn Agent… ----

type TypeItem = vscode.QuickPickItem & { name: string; installed: boolean; hint: string };

async function pickType(ctx: AgentCommandContext, workspace: WorkspaceInfo): Promise<AgentTypeInfo | undefined> {
  const typesPromise = ctx.client.request(Methods.AgentTypes, { workspaceId: workspace.id });
  for (;;) {
    const items = typesPromise.then(({ types }) =>
      typePicks(types, defaultType()).map(
        (p): TypeItem => ({ label: p.label, description: p.description, detail: p.detail, name: p.name, installed: p.installed, hint: p.detail }),
      ),
    );
    const chosen = await vscode.window.showQuickPick(items, {
      placeHolder: `Which agent should work in ${workspace.name}?`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!chosen) {
      return undefined;
    }
    const { types } = await typesPromise;
    const type = types.find((t) => t.name === chosen.name);
    if (type?.installed) {
      return type;
    }
    const another = 'Pick Another Type';
    const config = 'Open Workspace Config';
    const choice = await vscode.window.showWarningMessage(chosen.hint, another, ...(workspace.isDefault ? [] : [config]));
    if (choice === config) {
      await vscode.commands.executeCommand(Commands.OpenWorkspaceConfig, workspace.id);
      return undefined;
    }
    if (choice !== another) {
      return undefined;
    }
  }
}

async function askTask(workspace: WorkspaceInfo, type: AgentTypeInfo): Promise<string | undefined> {
  const task = await vscode.window.showInputBox({
    title: `Spawn ${type.displayName} in ${workspace.name}`,
    prompt: type.name === 'command' ? 'The command line to run, by the workspace\'s shell' : 'What should the agent do? It gets this as its task.',
    placeHolder: type.name === 'command' ? 'npm test' : 'add tests for the parser',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() === '' ? 'Say what the agent should do.' : undefined),
  });
  return task === undefined ? undefined : task.trim();
}

/** Where the agent works: asked only when the workspace is a git repository (a worktree needs one). */
async function askWorktree(workspace: WorkspaceInfo): Promise<boolean | undefined> {
  if (workspace.metadata.vcs?.kind !== 'git') {
    return false;
  }
  const items: (vscode.QuickPickItem & { worktree: boolean })[] = [
    { label: '$(root-folder) In the workspace root', detail: workspace.rootPath, worktree: false },
    {
      label: '$(git-branch) In a new git worktree',
      detail: "On its own branch orchflow/<agent id>, outside the root: the workspace's files stay as they are.",
      worktree: true,
    },
  ];
  const chosen = await vscode.window.showQuickPick(items, { placeHolder: `Where should the agent work? ${workspace.name} is a git repository.` });
  return chosen?.worktree;
}

async function spawnAgent(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  const workspace = await pickWorkspace(ctx, arg, 'Pick the workspace the agent works in');
  if (!workspace) {
    return;
  }
  const type = await pickType(ctx, workspace);
  if (!type) {
    return;
  }
  const task = await askTask(workspace, type);
  if (!task) {
    return;
  }
  const worktree = await askWorktree(workspace);
  if (worktree === undefined) {
    return;
  }
  const agent = await ctx.client.request(Methods.AgentSpawn, { workspaceId: workspace.id, type: type.name, task, worktree });
  ctx.agents.recordResponse(agent);
  ctx.logger.info(`Spawned agent ${agent.id} (${agent.type}) in ${workspace.name}: ${agent.task}`);
  if (agent.state === 'queued') {
    void vscode.window.showInformationMessage(
      `${workspace.name} already runs ${workspace.metadata.resourceLimits.maxAgents} agents (max_agents): "${truncateTask(task, 60)}" (${agent.id}) waits in the queue${agent.queuePosition != null ? ` at position ${agent.queuePosition}` : ''} and starts when one ends.`,
    );
  } else {
    vscode.window.setStatusBarMessage(`$(hubot) Spawned ${agent.id} in ${workspace.name}`, 5_000);
  }
}

// ---- Delegate Tasks… ----

async function typeNamesFor(ctx: AgentCommandContext, workspaceId: string | undefined): Promise<string[]> {
  try {
    const { types } = await ctx.client.request(Methods.AgentTypes, workspaceId ? { workspaceId } : {});
    return types.map((t) => (t.installed ? t.name : `${t.name} (not installed)`));
  } catch (error) {
    ctx.logger.warn(`Cannot list the agent types: ${userMessage(error)}`);
    return [];
  }
}

async function delegateTasks(ctx: AgentCommandContext): Promise<void> {
  requireLoaded(ctx.workspaces, ctx.agents);
  const active = ctx.workspaces.activeId;
  const text = delegateTemplate(ctx.workspaces.all(), active, defaultType(), await typeNamesFor(ctx, active));
  const doc = await vscode.workspace.openTextDocument({ language: DelegateLanguageId, content: text });
  const editor = await vscode.window.showTextDocument(doc);
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  editor.selection = new vscode.Selection(end, end);
}

function problemsMessage(problems: readonly DelegateProblem[]): string {
  const shown = problems.slice(0, MaxProblemsInMessage).map((p) => p.message);
  const more = problems.length - shown.length;
  return `Nothing was delegated: ${shown.join(' ')}${more > 0 ? ` (and ${more} more; the editor marks every one)` : ''}`;
}

function targetDocument(arg: unknown): vscode.TextDocument | undefined {
  if (arg instanceof vscode.Uri) {
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === arg.toString());
  }
  const doc = vscode.window.activeTextEditor?.document;
  return doc?.languageId === DelegateLanguageId ? doc : undefined;
}

/** Checks every line (workspaces, then each workspace's agent types), and spawns one agent per line only if all are good. */
async function delegateTasksInEditor(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  requireLoaded(ctx.workspaces, ctx.agents);
  const doc = targetDocument(arg);
  if (!doc) {
    void vscode.window.showInformationMessage('Open the tasks with "Orchflow: Delegate Tasks..." first: one "workspace: task" line per agent.');
    return;
  }
  const parsed = parseDelegateText(doc.getText(), ctx.workspaces.all());
  if (parsed.problems.length > 0) {
    void vscode.window.showErrorMessage(problemsMessage(parsed.problems));
    return;
  }
  if (parsed.tasks.length === 0) {
    void vscode.window.showInformationMessage('There is no task to delegate yet: add one "workspace: task" line per agent.');
    return;
  }
  const fallback = defaultType();
  const workspaceIds = [...new Set(parsed.tasks.map((t) => t.workspaceId))];
  const typeLists = await Promise.all(workspaceIds.map((id) => ctx.client.request(Methods.AgentTypes, { workspaceId: id })));
  const typesByWorkspace = new Map(workspaceIds.map((id, i) => [id, typeLists[i].types]));
  const typeProblems = checkTypes(parsed.tasks, (id) => typesByWorkspace.get(id), fallback);
  if (typeProblems.length > 0) {
    void vscode.window.showErrorMessage(problemsMessage(typeProblems));
    return;
  }

  const spawned: { task: DelegateTask; agent: AgentInfo }[] = [];
  const failed: { task: DelegateTask; message: string }[] = [];
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Delegating ${taskCount(parsed.tasks.length)}` },
    async (progress) => {
      for (const task of parsed.tasks) {
        progress.report({ message: `${task.workspaceName}: ${truncateTask(task.task, 40)}`, increment: 100 / parsed.tasks.length });
        try {
          const agent = await ctx.client.request(Methods.AgentSpawn, { workspaceId: task.workspaceId, type: task.type ?? fallback, task: task.task });
          ctx.agents.recordResponse(agent);
          spawned.push({ task, agent });
          ctx.logger.info(`Delegated line ${task.line} to ${agent.id} (${agent.type}) in ${task.workspaceName}.`);
        } catch (error) {
          const message = userMessage(error);
          failed.push({ task, message });
          ctx.logger.error(`Delegating line ${task.line} failed: ${message}`);
        }
      }
    },
  );

  await markSpawned(doc, spawned);
  const list = spawned.map((s) => `${s.agent.id} in ${s.task.workspaceName}${s.agent.state === 'queued' ? ' (queued)' : ''}`).join(', ');
  const showAgents = 'Show Agents';
  if (failed.length === 0) {
    await closeIfUntitled(doc);
    const choice = await vscode.window.showInformationMessage(`Delegated ${taskCount(spawned.length)}: ${list}.`, showAgents);
    if (choice === showAgents) {
      await vscode.commands.executeCommand('orchflow.workspaces.focus');
    }
    return;
  }
  const failures = failed.map((f) => `line ${f.task.line}: ${f.message}`).join(' ');
  void vscode.window.showWarningMessage(
    `Delegated ${spawned.length} of ${taskCount(parsed.tasks.length)}${spawned.length > 0 ? ` (${list})` : ''}. Not started, ${failures} The lines that did not start stay in the document; Delegate again to retry them.`,
  );
}

/** Turns each line that got an agent into a comment naming the agent, so that delegating again never repeats it. */
async function markSpawned(doc: vscode.TextDocument, spawned: readonly { task: DelegateTask; agent: AgentInfo }[]): Promise<void> {
  if (spawned.length === 0 || doc.isClosed) {
    return;
  }
  const edit = new vscode.WorkspaceEdit();
  for (const { task, agent } of spawned) {
    edit.insert(doc.uri, new vscode.Position(task.line - 1, 0), `# delegated to ${agent.id}: `);
  }
  await vscode.workspace.applyEdit(edit);
}

/** An untitled tasks document has done its job once every line started: close it without asking to save. */
async function closeIfUntitled(doc: vscode.TextDocument): Promise<void> {
  if (!doc.isUntitled || doc.isClosed) {
    return;
  }
  await vscode.window.showTextDocument(doc);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
}

// ---- Actions on one agent ----

/** Shows the agent's terminal in the terminal panel (attaching when this window does not show it yet). */
async function revealTerminal(ctx: AgentCommandContext, agent: AgentInfo): Promise<void> {
  const current = ctx.agents.get(agent.id) ?? agent;
  if (!current.terminalId) {
    const why = current.state === 'queued' ? 'it waits in the queue and has not started' : `it is ${stateText(current)} and its terminal is gone`;
    const open = 'Open Log';
    const choice = await vscode.window.showInformationMessage(`${current.id} has no terminal: ${why}.`, ...(current.state === 'queued' ? [] : [open]));
    if (choice === open) {
      await ctx.logs.open(current.id);
    }
    return;
  }
  const info = ctx.terminals.get(current.terminalId) ?? (await ctx.client.request(Methods.TerminalShow, { id: current.terminalId }));
  ctx.manager.show(info);
}

async function showAgentTerminal(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  const agent = await pickAgent(ctx, arg, {
    placeHolder: 'Pick the agent whose terminal to show',
    filter: hasTerminal,
    none: 'No Orchflow agent has a terminal. Start one with "Orchflow: Spawn Agent...".',
  });
  if (agent) {
    await revealTerminal(ctx, agent);
  }
}

async function showAgentsNeedingInput(ctx: AgentCommandContext): Promise<void> {
  const agent = await pickAgent(ctx, undefined, {
    placeHolder: 'These agents wait for an answer: pick one to show its terminal',
    filter: (a) => a.state === 'needsInput',
    none: 'No Orchflow agent is waiting for input.',
  });
  if (agent) {
    await revealTerminal(ctx, agent);
  }
}

async function sendAgentInput(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  const agent = await pickAgent(ctx, arg, {
    placeHolder: 'Pick the agent to send input to',
    filter: canSendInput,
    none: 'No Orchflow agent is running to take input.',
  });
  if (!agent) {
    return;
  }
  const current = ctx.agents.get(agent.id) ?? agent;
  const question = current.question ?? current.lastLine;
  const text = await vscode.window.showInputBox({
    title: `Send input to ${agent.id} (${truncateTask(agent.task, 40)})`,
    prompt: question ? `It says: ${question}` : 'Typed into its terminal, then Enter.',
    placeHolder: 'Your answer; Enter alone sends just Enter',
    ignoreFocusOut: true,
  });
  if (text === undefined) {
    return;
  }
  await ctx.client.request(Methods.AgentSend, { id: agent.id, text: `${text}\r` });
  ctx.logger.info(`Sent input to ${agent.id}.`);
}

/** Picks one choice of the menu the agent's screen shows, in a quick pick titled with its question, and sends it. */
async function answerAgent(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  const agent = await pickAgent(ctx, arg, {
    placeHolder: 'Pick the agent to answer',
    filter: canAnswer,
    none: 'No Orchflow agent waits on a menu to answer. Send Input... types into one that asks something else.',
  });
  if (!agent) {
    return;
  }
  const current = ctx.agents.get(agent.id) ?? agent;
  if (!canAnswer(current) || !current.question) {
    const why = current.state === 'needsInput' ? 'its screen shows no menu Orchflow recognises; Send Input... types an answer' : `it is ${stateText(current)}`;
    throw new Error(`${current.id} has no question with choices to answer: ${why}.`);
  }
  const question = current.question;
  const chosen = await vscode.window.showQuickPick(choicePicks(current), {
    title: `${current.id} asks: ${question}`,
    placeHolder: question,
    ignoreFocusOut: true,
  });
  if (!chosen) {
    return;
  }
  await sendAnswer(ctx.client, ctx.logger, { id: current.id, choice: chosen.choice, question }, chosen.label);
}

async function simpleAction(
  ctx: AgentCommandContext,
  arg: unknown,
  action: { method: typeof Methods.AgentPause | typeof Methods.AgentResume | typeof Methods.AgentRestart; verb: string; filter: (a: AgentInfo) => boolean; none: string },
): Promise<void> {
  const agent = await pickAgent(ctx, arg, { placeHolder: `Pick the agent to ${action.verb}`, filter: action.filter, none: action.none });
  if (!agent) {
    return;
  }
  const result = await ctx.client.request(action.method, { id: agent.id });
  ctx.logger.info(`${action.verb} ${agent.id}: now ${result.state}.`);
}

async function stopAgent(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  const agent = await pickAgent(ctx, arg, {
    placeHolder: 'Pick the agent to stop',
    filter: canStop,
    none: 'No Orchflow agent is running or queued.',
  });
  if (!agent) {
    return;
  }
  const stop = 'Stop';
  const detail =
    agent.state === 'queued'
      ? 'It leaves the queue without starting.'
      : 'Its process and every process it started end. The agent stays, stopped, with its log; Restart runs its task again.';
  const choice = await vscode.window.showWarningMessage(`Stop ${agent.id} ("${truncateTask(agent.task, 60)}")?`, { modal: true, detail }, stop);
  if (choice !== stop) {
    return;
  }
  await ctx.client.request(Methods.AgentStop, { id: agent.id });
  ctx.logger.info(`Stopped ${agent.id}.`);
}

async function removeAgent(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  const agent = await pickAgent(ctx, arg, {
    placeHolder: 'Pick the ended agent to remove',
    filter: canRemove,
    none: 'No Orchflow agent has ended; stop one first to remove it.',
  });
  if (!agent) {
    return;
  }
  if (isLive(agent)) {
    throw new Error(`${agent.id} is ${stateText(agent)}; stop it first, then remove it.`);
  }
  const remove = 'Remove';
  const detail = [
    'Orchflow forgets the agent and deletes its log.',
    agent.worktree ? `Its worktree ${agent.worktree.path} is deleted; its branch ${agent.worktree.branch} is kept.` : undefined,
  ]
    .filter((l): l is string => l !== undefined)
    .join(' ');
  const choice = await vscode.window.showWarningMessage(`Remove ${agent.id} ("${truncateTask(agent.task, 60)}")?`, { modal: true, detail }, remove);
  if (choice !== remove) {
    return;
  }
  await ctx.client.request(Methods.AgentRemove, { id: agent.id });
  ctx.logger.info(`Removed ${agent.id}.`);
}

async function openAgentLog(ctx: AgentCommandContext, arg: unknown): Promise<void> {
  const agent = await pickAgent(ctx, arg, { placeHolder: 'Pick the agent whose log to open', filter: () => true, none: 'There is no Orchflow agent yet.' });
  if (agent) {
    await ctx.logs.open(agent.id);
  }
}

export function registerAgentCommands(ctx: AgentCommandContext): vscode.Disposable[] {
  const handlers: [CommandId, CommandHandler][] = [
    [Commands.SpawnAgent, (arg) => spawnAgent(ctx, arg)],
    [Commands.DelegateTasks, () => delegateTasks(ctx)],
    [Commands.DelegateTasksInEditor, (arg) => delegateTasksInEditor(ctx, arg)],
    [Commands.ShowAgentTerminal, (arg) => showAgentTerminal(ctx, arg)],
    [Commands.ShowAgentsNeedingInput, () => showAgentsNeedingInput(ctx)],
    [Commands.SendAgentInput, (arg) => sendAgentInput(ctx, arg)],
    [Commands.AnswerAgent, (arg) => answerAgent(ctx, arg)],
    [
      Commands.PauseAgent,
      (arg) => simpleAction(ctx, arg, { method: Methods.AgentPause, verb: 'pause', filter: canPause, none: 'No Orchflow agent is running.' }),
    ],
    [
      Commands.ResumeAgent,
      (arg) => simpleAction(ctx, arg, { method: Methods.AgentResume, verb: 'resume', filter: canResume, none: 'No Orchflow agent is paused.' }),
    ],
    [
      Commands.RestartAgent,
      (arg) =>
        simpleAction(ctx, arg, { method: Methods.AgentRestart, verb: 'restart', filter: canRestart, none: 'No Orchflow agent has ended.' }),
    ],
    [Commands.StopAgent, (arg) => stopAgent(ctx, arg)],
    [Commands.RemoveAgent, (arg) => removeAgent(ctx, arg)],
    [Commands.OpenAgentLog, (arg) => openAgentLog(ctx, arg)],
  ];
  return registerGuardedCommands(ctx.logger, handlers);
}
