// package.json declares every contribution; constants.ts names them for the code. These tests fail when one
// changes without the other, and check the `when` clauses against the contextValues the tree really produces.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Commands, ContextKeys, DelegateLanguageId, Settings, TerminalProfileId, TreeItemContext, Views } from '../src/constants';
import { canPause, canResume, canSendInput, isEnded, isLive } from '../src/agents/model';
import { agentNode, agentsGroupNode } from '../src/agents/presentation';
import { isolationFeatureNode, isolationNode, resourcesNode } from '../src/security/presentation';
import { memoryNode } from '../src/memory/presentation';
import type { AgentState } from '../src/protocol/generated';
import { terminalNode, terminalsGroupNode } from '../src/terminals/presentation';
import { workspaceNode } from '../src/workspaces/presentation';
import { agent, feature, hibernation, memoryStats, strictNotEnforced, terminal, workspace, workspaceResources } from './fixtures';

const root = path.resolve(__dirname, '..', '..');

interface Manifest {
  activationEvents: string[];
  main: string;
  engines: { vscode: string };
  icon: string;
  devDependencies: Record<string, string>;
  contributes: {
    commands: { command: string; title: string; category: string }[];
    viewsContainers: { activitybar: { id: string; title: string; icon: string }[] };
    views: Record<string, { id: string; name: string }[]>;
    viewsWelcome: { view: string; contents: string; when: string }[];
    menus: Record<string, { command: string; when?: string; group?: string }[]>;
    configuration: { properties: Record<string, { type: string; enum?: string[]; default: unknown }> };
    jsonValidation: { fileMatch: string; url: string }[];
    terminal: { profiles: { id: string; title: string; icon: string }[] };
  };
}

const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
const c = manifest.contributes;

test('every command id in constants.ts is declared, and nothing else', () => {
  assert.deepEqual(c.commands.map((x) => x.command).sort(), Object.values(Commands).sort());
});

test('every command is in the Orchflow category', () => {
  for (const cmd of c.commands) {
    assert.equal(cmd.category, 'Orchflow', cmd.command);
  }
});

test('the command palette titles the e2e test types exist', () => {
  const titles = c.commands.map((x) => `${x.category}: ${x.title}`);
  assert.ok(titles.includes('Orchflow: Switch Workspace...'));
  assert.ok(titles.includes('Orchflow: Create Workspace from Folder...'));
  assert.ok(titles.includes('Orchflow: New Terminal in Workspace...'));
  assert.ok(titles.includes('Orchflow: Show Terminal'));
  assert.ok(titles.includes('Orchflow: Open Terminal Group'));
  assert.ok(titles.includes('Orchflow: Kill Terminal...'));
  assert.ok(titles.includes('Orchflow: Rename Terminal...'));
  assert.ok(titles.includes('Orchflow: Spawn Agent...'));
  assert.ok(titles.includes('Orchflow: Delegate Tasks...'));
  assert.ok(titles.includes('Orchflow: Delegate the Tasks in This Editor'));
  assert.ok(titles.includes('Orchflow: Browse Memory...'));
  assert.ok(titles.includes('Orchflow: Delete Memory Entry...'));
  assert.ok(titles.includes('Orchflow: Export Memory...'));
  assert.ok(titles.includes('Orchflow: Import Memory...'));
  for (const title of ['Suspend Workspace', 'Resume Workspace', 'Show Audit Log', 'Set Secret...', 'Remove Secret...', 'List Secrets']) {
    assert.ok(titles.includes(`Orchflow: ${title}`), title);
  }
});

test('the Delegate Tasks language, its comment syntax file, and its editor button', () => {
  const languages = (manifest.contributes as unknown as { languages: { id: string; configuration: string }[] }).languages;
  assert.deepEqual(languages.map((l) => l.id), [DelegateLanguageId]);
  assert.ok(existsSync(path.join(root, languages[0].configuration)));
  assert.ok(readFileSync(path.join(root, '.vscodeignore'), 'utf8').includes(`!${languages[0].configuration.replace(/^\.\//, '')}`), 'shipped in the .vsix');
  const button = c.menus['editor/title'].find((m) => m.command === Commands.DelegateTasksInEditor);
  assert.equal(button?.when, `editorLangId == ${DelegateLanguageId}`);
});

test('menus name only declared commands', () => {
  const known = new Set<string>(Object.values(Commands));
  for (const [menu, entries] of Object.entries(c.menus)) {
    for (const entry of entries) {
      assert.ok(known.has(entry.command), `${menu} names unknown command ${entry.command}`);
    }
  }
});

test('settings match constants.ts', () => {
  const keys = Object.values(Settings).filter((k) => k !== Settings.Section);
  assert.deepEqual(Object.keys(c.configuration.properties).sort(), [...keys].sort());
  assert.deepEqual(c.configuration.properties[Settings.TraceServer].enum, ['off', 'messages', 'verbose']);
  assert.deepEqual(c.configuration.properties[Settings.TerminalsCloseAction].enum, ['detach', 'kill']);
  assert.equal(c.configuration.properties[Settings.TerminalsCloseAction].default, 'detach');
});

test('the terminal profile of the "+" menu', () => {
  assert.deepEqual(c.terminal.profiles.map((p) => [p.id, p.title]), [[TerminalProfileId, 'Orchflow workspace terminal']]);
});

test('the activity bar container and the Workspaces view', () => {
  assert.deepEqual(c.viewsContainers.activitybar, [{ id: Views.Container, title: 'Orchflow', icon: 'resources/orchflow.svg' }]);
  assert.deepEqual(c.views[Views.Container].map((v) => [v.id, v.name]), [[Views.Workspaces, 'Workspaces']]);
  assert.ok(existsSync(path.join(root, 'resources', 'orchflow.svg')));
  assert.ok(existsSync(path.join(root, manifest.icon)));
});

test('activation is on the workspace marker file, never on *', () => {
  assert.ok(!manifest.activationEvents.includes('*'));
  assert.ok(manifest.activationEvents.includes('workspaceContains:.orchflow/workspace.json'));
  assert.equal(manifest.main, './dist/extension.js');
});

test('the welcome view offers to create a workspace when no folder is mapped', () => {
  const welcome = c.viewsWelcome.find((w) => w.contents.startsWith('This folder is not an Orchflow workspace yet.'));
  assert.ok(welcome);
  assert.equal(welcome.view, Views.Workspaces);
  assert.ok(welcome.contents.includes(`[Create Workspace from Folder](command:${Commands.CreateWorkspace})`));
  assert.ok(welcome.when.includes(`!${ContextKeys.AnyFolderMapped}`));
  assert.ok(welcome.when.includes(`${ContextKeys.ConnectionState} == connected`));
});

test('workspace.json gets the workspace schema', () => {
  assert.deepEqual(c.jsonValidation, [{ fileMatch: '.orchflow/workspace.json', url: './schemas/workspace.schema.json' }]);
});

test('the pinned versions the brief asks for', () => {
  assert.equal(manifest.engines.vscode, '^1.90.0');
  assert.equal(manifest.devDependencies['@types/vscode'], '1.90.0');
  assert.match(manifest.devDependencies.typescript, /^5\./);
});

/** The regular expression of a `viewItem =~ /.../` when clause. */
function viewItemRegex(when: string): RegExp {
  const match = /viewItem =~ \/(.*)\/(\w*)/.exec(when);
  assert.ok(match, `no viewItem regex in ${when}`);
  return new RegExp(match[1], match[2]);
}

function itemMenu(command: string): { when: string; group: string }[] {
  return c.menus['view/item/context']
    .filter((m) => m.command === command)
    .map((m) => ({ when: m.when ?? '', group: m.group ?? '' }));
}

test('Switch is offered on every workspace row except the active one', () => {
  const ws = workspace({ id: 'a' });
  const inactive = workspaceNode(ws, 'b', new Set(['a'])).contextValue;
  const active = workspaceNode(ws, 'a', new Set(['a'])).contextValue;
  for (const entry of itemMenu(Commands.SwitchWorkspace)) {
    const re = viewItemRegex(entry.when);
    assert.ok(re.test(inactive), `${entry.group}: ${inactive}`);
    assert.ok(!re.test(active), `${entry.group}: ${active}`);
    assert.ok(!re.test(TreeItemContext.UnmappedFolder));
  }
});

test('Delete is not offered on the default workspace', () => {
  const [entry] = itemMenu(Commands.DeleteWorkspace);
  const re = viewItemRegex(entry.when);
  assert.ok(re.test(workspaceNode(workspace({ id: 'a' }), 'a', new Set(['a'])).contextValue));
  assert.ok(!re.test(workspaceNode(workspace({ id: 'd', isDefault: true }), undefined, new Set()).contextValue));
});

test('Open Config and Reveal Root are offered on every workspace row, Create on unmapped folders', () => {
  for (const command of [Commands.OpenWorkspaceConfig, Commands.RevealWorkspaceRoot]) {
    const re = viewItemRegex(itemMenu(command)[0].when);
    assert.ok(re.test(workspaceNode(workspace({ id: 'd', isDefault: true }), 'd', new Set()).contextValue));
    assert.ok(!re.test(TreeItemContext.UnmappedFolder));
  }
  for (const entry of itemMenu(Commands.CreateWorkspace)) {
    assert.ok(entry.when.includes(`viewItem == ${TreeItemContext.UnmappedFolder}`));
  }
});

test('terminal actions match the rows they belong to', () => {
  const ws = workspaceNode(workspace({ id: 'a' }), 'a', new Set(['a'])).contextValue;
  const group = terminalsGroupNode(workspace({ id: 'a' }), [terminal()]).contextValue;
  const emptyGroup = terminalsGroupNode(workspace({ id: 'a' }), []).contextValue;
  const running = terminalNode(terminal(), 'A').contextValue;
  const ended = terminalNode(terminal({ status: 'exited', exitCode: 0 }), 'A').contextValue;
  const matches = (command: string, contextValue: string): boolean => itemMenu(command).some((e) => viewItemRegex(e.when).test(contextValue));

  for (const command of [Commands.ShowTerminal, Commands.KillTerminal, Commands.RenameTerminal]) {
    assert.ok(matches(command, running) && matches(command, ended), command);
    assert.ok(!matches(command, group) && !matches(command, ws), `${command} only on terminal rows`);
  }
  assert.ok(matches(Commands.OpenTerminalGroup, ws));
  assert.ok(matches(Commands.OpenTerminalGroup, group));
  assert.ok(!matches(Commands.OpenTerminalGroup, emptyGroup), 'no group of nothing');
  assert.ok(matches(Commands.NewTerminal, ws) && matches(Commands.NewTerminal, emptyGroup));
  // The workspace actions stay on workspace rows only.
  for (const command of [Commands.OpenWorkspaceConfig, Commands.RevealWorkspaceRoot, Commands.DeleteWorkspace, Commands.SwitchWorkspace]) {
    assert.ok(!matches(command, group) && !matches(command, running), command);
  }
});

test('agent actions are offered exactly in the states the daemon accepts them', () => {
  const states: AgentState[] = ['queued', 'starting', 'running', 'needsInput', 'paused', 'succeeded', 'failed', 'stopped', 'interrupted'];
  const matches = (command: string, contextValue: string): boolean => itemMenu(command).some((e) => viewItemRegex(e.when).test(contextValue));
  for (const state of states) {
    for (const terminalId of ['shop-t1', null]) {
      const subject = agent({ state, terminalId });
      const row = agentNode(subject, 'Shop API').contextValue;
      const expected: [string, boolean][] = [
        [Commands.ShowAgentTerminal, terminalId !== null],
        [Commands.SendAgentInput, canSendInput(subject)],
        [Commands.AnswerAgent, false],
        [Commands.PauseAgent, canPause(subject)],
        [Commands.ResumeAgent, canResume(subject)],
        [Commands.StopAgent, isLive(subject)],
        [Commands.RestartAgent, isEnded(subject)],
        [Commands.RemoveAgent, isEnded(subject)],
        [Commands.OpenAgentLog, true],
      ];
      for (const [command, offered] of expected) {
        assert.equal(matches(command, row), offered, `${command} on "${row}"`);
      }
      for (const command of [Commands.ShowTerminal, Commands.KillTerminal, Commands.SwitchWorkspace, Commands.DeleteWorkspace, Commands.SpawnAgent]) {
        assert.ok(!matches(command, row), `${command} on an agent row`);
      }
    }
  }
  // Inline, Send Input shows only while the agent waits for it.
  const inlineSend = c.menus['view/item/context'].filter((m) => m.command === Commands.SendAgentInput && m.group?.startsWith('inline'));
  assert.equal(inlineSend.length, 1);
  const re = viewItemRegex(inlineSend[0].when ?? '');
  assert.ok(re.test(agentNode(agent({ state: 'needsInput' }), 'A').contextValue));
  assert.ok(!re.test(agentNode(agent({ state: 'running' }), 'A').contextValue));
});

test('Answer Agent is offered on an agent waiting on a menu, inline in Send Input\'s place, and in the palette only then', () => {
  const menu = { question: 'Is this a project you created or one you trust?', choices: [{ label: 'No, exit', keys: '\r' }, { label: 'Yes, I trust this folder', keys: '\u001b[B\r' }] };
  const answerable = agentNode(agent({ state: 'needsInput', ...menu }), 'A').contextValue;
  const plain = agentNode(agent({ state: 'needsInput' }), 'A').contextValue;
  const inline = (command: string, row: string): boolean =>
    itemMenu(command).some((e) => e.group.startsWith('inline') && viewItemRegex(e.when).test(row));
  const anywhere = (command: string, row: string): boolean => itemMenu(command).some((e) => viewItemRegex(e.when).test(row));
  assert.ok(inline(Commands.AnswerAgent, answerable) && !inline(Commands.SendAgentInput, answerable), 'inline: Answer, not Send Input');
  assert.ok(!inline(Commands.AnswerAgent, plain) && inline(Commands.SendAgentInput, plain), 'inline: Send Input without a menu');
  assert.ok(anywhere(Commands.AnswerAgent, answerable) && anywhere(Commands.SendAgentInput, answerable), 'the context menu has both');
  for (const state of ['running', 'paused', 'succeeded'] as const) {
    assert.ok(!anywhere(Commands.AnswerAgent, agentNode(agent({ state, ...menu }), 'A').contextValue), state);
  }
  const palette = c.menus.commandPalette.find((m) => m.command === Commands.AnswerAgent);
  assert.equal(palette?.when, ContextKeys.AnyAgentAnswerable);
  assert.ok(c.commands.some((x) => x.command === Commands.AnswerAgent && x.title === 'Answer Agent...'));
});

test('Spawn Agent is offered on workspace rows and Agents rows, agent actions on neither', () => {
  const matches = (command: string, contextValue: string): boolean => itemMenu(command).some((e) => viewItemRegex(e.when).test(contextValue));
  const ws = workspaceNode(workspace({ id: 'a' }), 'a', new Set(['a'])).contextValue;
  const group = agentsGroupNode(workspace({ id: 'a' }), []).contextValue;
  for (const row of [ws, group]) {
    assert.ok(matches(Commands.SpawnAgent, row) && matches(Commands.DelegateTasks, row), row);
    for (const command of [Commands.ShowAgentTerminal, Commands.StopAgent, Commands.OpenAgentLog, Commands.RemoveAgent]) {
      assert.ok(!matches(command, row), `${command} on ${row}`);
    }
  }
  assert.ok(!matches(Commands.NewTerminal, group) && !matches(Commands.OpenTerminalGroup, group), 'terminal actions stay off the Agents row');
  assert.ok(!matches(Commands.SpawnAgent, terminalsGroupNode(workspace({ id: 'a' }), []).contextValue));
});

test('memory actions match the Memory row: Browse and Export need a readable memory, Delete an entry, Import is always there', () => {
  const matches = (command: string, contextValue: string, inline = false): boolean =>
    itemMenu(command).some((e) => e.group.startsWith('inline') === inline && viewItemRegex(e.when).test(contextValue));
  const ws = workspace({ id: 'a' });
  const some = memoryNode(ws, memoryStats({ entries: 2 })).contextValue;
  const empty = memoryNode(ws, memoryStats({ entries: 0 })).contextValue;
  const damaged = memoryNode(ws, memoryStats({ state: 'damaged' })).contextValue;
  const expected: [string, string, boolean, boolean][] = [
    // command, row, in the context menu, inline
    [Commands.BrowseMemory, some, true, true],
    [Commands.BrowseMemory, empty, true, true],
    [Commands.BrowseMemory, damaged, false, false],
    [Commands.DeleteMemoryEntry, some, true, false],
    [Commands.DeleteMemoryEntry, empty, false, false],
    [Commands.DeleteMemoryEntry, damaged, false, false],
    [Commands.ExportMemory, some, true, true],
    [Commands.ExportMemory, empty, true, false],
    [Commands.ExportMemory, damaged, false, false],
    [Commands.ImportMemory, some, true, false],
    [Commands.ImportMemory, damaged, true, true],
  ];
  for (const [command, row, menu, inline] of expected) {
    assert.equal(matches(command, row), menu, `${command} in the menu of "${row}"`);
    assert.equal(matches(command, row, true), inline, `${command} inline on "${row}"`);
  }
  // Browse is also on the workspace row; memory actions stay off the other rows.
  assert.ok(matches(Commands.BrowseMemory, workspaceNode(ws, 'a', new Set(['a'])).contextValue));
  for (const row of [agentsGroupNode(ws, []).contextValue, terminalsGroupNode(ws, []).contextValue, terminalNode(terminal(), 'A').contextValue, agentNode(agent(), 'A').contextValue]) {
    for (const command of [Commands.BrowseMemory, Commands.DeleteMemoryEntry, Commands.ExportMemory, Commands.ImportMemory]) {
      assert.ok(!matches(command, row) && !matches(command, row, true), `${command} on ${row}`);
    }
  }
  for (const command of [Commands.NewTerminal, Commands.SpawnAgent, Commands.SwitchWorkspace, Commands.DeleteWorkspace]) {
    assert.ok(!matches(command, some) && !matches(command, some, true), `${command} on the Memory row`);
  }
});

test('Suspend is offered only on a running workspace and Resume only on a suspended one, on its row and its Resources row', () => {
  const matches = (command: string, contextValue: string, inline = false): boolean =>
    itemMenu(command).some((e) => e.group.startsWith('inline') === inline && viewItemRegex(e.when).test(contextValue));
  const running = workspace({ id: 'a' });
  const suspended = workspace({ id: 'a', hibernation: hibernation() });
  const rows: [string, boolean, boolean][] = [
    // contextValue, suspended, inline actions expected
    [workspaceNode(running, 'a', new Set(['a'])).contextValue, false, false],
    [workspaceNode(suspended, 'a', new Set(['a'])).contextValue, true, false],
    [workspaceNode(workspace({ id: 'd', isDefault: true, hibernation: hibernation() }), undefined, new Set()).contextValue, true, false],
    [resourcesNode(running, workspaceResources()).contextValue, false, true],
    [resourcesNode(suspended, workspaceResources()).contextValue, true, true],
  ];
  for (const [row, isSuspended, inline] of rows) {
    assert.equal(matches(Commands.SuspendWorkspace, row), !isSuspended, `Suspend in the menu of "${row}"`);
    assert.equal(matches(Commands.ResumeWorkspace, row), isSuspended, `Resume in the menu of "${row}"`);
    assert.equal(matches(Commands.SuspendWorkspace, row, true), inline && !isSuspended, `Suspend inline on "${row}"`);
    assert.equal(matches(Commands.ResumeWorkspace, row, true), inline && isSuspended, `Resume inline on "${row}"`);
  }
  // Nowhere else.
  const others = [
    agentsGroupNode(running, []).contextValue,
    terminalsGroupNode(running, []).contextValue,
    terminalNode(terminal(), 'A').contextValue,
    agentNode(agent({ state: 'paused' }), 'A').contextValue,
    memoryNode(running, memoryStats()).contextValue,
    isolationNode(running).contextValue,
    TreeItemContext.UnmappedFolder,
  ];
  for (const row of others) {
    for (const command of [Commands.SuspendWorkspace, Commands.ResumeWorkspace]) {
      assert.ok(!matches(command, row) && !matches(command, row, true), `${command} on ${row}`);
    }
  }
});

test('the audit log and secrets are offered on workspace rows and the Isolation row, not on its promises or other rows', () => {
  const matches = (command: string, contextValue: string, inline = false): boolean =>
    itemMenu(command).some((e) => e.group.startsWith('inline') === inline && viewItemRegex(e.when).test(contextValue));
  const ws = workspace({ id: 'a', isolation: strictNotEnforced() });
  const commands = [Commands.ShowAuditLog, Commands.SetSecret, Commands.ListSecrets, Commands.RemoveSecret];
  for (const row of [workspaceNode(ws, 'a', new Set(['a'])).contextValue, isolationNode(ws).contextValue, isolationNode(workspace({ id: 'b' })).contextValue]) {
    for (const command of commands) {
      assert.ok(matches(command, row), `${command} in the menu of "${row}"`);
    }
  }
  assert.ok(matches(Commands.ShowAuditLog, isolationNode(ws).contextValue, true), 'the audit log inline on the Isolation row');
  assert.ok(matches(Commands.SetSecret, isolationNode(ws).contextValue, true), 'Set Secret inline on the Isolation row');
  const others = [
    isolationFeatureNode(ws, feature('network', false)).contextValue,
    isolationFeatureNode(ws, feature('cwd', true)).contextValue,
    resourcesNode(ws, undefined).contextValue,
    agentsGroupNode(ws, []).contextValue,
    terminalNode(terminal(), 'A').contextValue,
    memoryNode(ws, memoryStats()).contextValue,
    TreeItemContext.UnmappedFolder,
  ];
  for (const row of others) {
    for (const command of commands) {
      assert.ok(!matches(command, row) && !matches(command, row, true), `${command} on ${row}`);
    }
  }
  // The Isolation row carries none of the workspace's own actions.
  for (const command of [Commands.DeleteWorkspace, Commands.SwitchWorkspace, Commands.SpawnAgent, Commands.NewTerminal, Commands.BrowseMemory]) {
    assert.ok(!matches(command, isolationNode(ws).contextValue) && !matches(command, isolationNode(ws).contextValue, true), `${command} on the Isolation row`);
  }
});
