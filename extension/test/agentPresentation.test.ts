import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  agentContextValue,
  agentDescription,
  agentIcon,
  agentNode,
  agentPicks,
  agentsGroupNode,
  agentTooltip,
  alertAnswer,
  alertView,
  choicePicks,
  formatCpu,
  formatDuration,
  formatRam,
  needsInputStatusView,
  stateText,
  truncateTask,
  typePicks,
  workspaceAgentsNote,
} from '../src/agents/presentation';
import type { AgentState } from '../src/protocol/generated';
import { agent, agentType, workspace } from './fixtures';

const MiB = 1024 * 1024;

test('state texts', () => {
  const table: [Partial<Parameters<typeof agent>[0]>, string][] = [
    [{ state: 'queued', queuePosition: 2 }, 'queued #2'],
    [{ state: 'queued' }, 'queued'],
    [{ state: 'starting' }, 'starting'],
    [{ state: 'running' }, 'running'],
    [{ state: 'needsInput' }, 'needs input'],
    [{ state: 'paused' }, 'paused'],
    [{ state: 'succeeded', exitCode: 0 }, 'succeeded'],
    [{ state: 'failed', exitCode: 3 }, 'failed (exit 3)'],
    [{ state: 'failed', signal: 9 }, 'failed (signal 9)'],
    [{ state: 'failed' }, 'failed'],
    [{ state: 'stopped' }, 'stopped'],
    [{ state: 'interrupted' }, 'interrupted'],
  ];
  for (const [o, text] of table) {
    assert.equal(stateText(agent(o)), text, JSON.stringify(o));
  }
});

test('figures: measured values rounded, unmeasured ones say so', () => {
  const cpu: [number | null | undefined, string][] = [
    [null, 'CPU —'],
    [undefined, 'CPU —'],
    [0, 'CPU 0%'],
    [0.44, 'CPU 0.4%'],
    [3, 'CPU 3%'],
    [12.6, 'CPU 13%'],
    [187.2, 'CPU 187%'],
  ];
  for (const [v, text] of cpu) {
    assert.equal(formatCpu(v), text, String(v));
  }
  const mem: [number | null | undefined, string][] = [
    [null, 'mem —'],
    [0, '0 KiB'],
    [100, '1 KiB'],
    [300 * 1024, '300 KiB'],
    [120 * MiB, '120 MiB'],
    [1536 * MiB, '1.5 GiB'],
  ];
  for (const [v, text] of mem) {
    assert.equal(formatRam(v), text, String(v));
  }
});

test('the description: type · state, then figures only while the agent has a process', () => {
  assert.equal(agentDescription(agent({ type: 'claude', state: 'running' }), { cpuPercent: 3, memoryBytes: 120 * MiB, processes: 4 }), 'claude · running · CPU 3% · 120 MiB');
  assert.equal(agentDescription(agent({ type: 'claude', state: 'starting' })), 'claude · starting · CPU — · mem —', 'not sampled yet');
  // Without a sample, the figures the agent record carries.
  assert.equal(agentDescription(agent({ state: 'paused', cpuPercent: 0, memoryBytes: 64 * MiB })), 'claude · paused · CPU 0% · 64 MiB');
  // No process, no figures: never a zero that was not measured.
  assert.equal(agentDescription(agent({ state: 'queued', queuePosition: 1 }), { cpuPercent: 5, memoryBytes: MiB }), 'claude · queued #1');
  assert.equal(agentDescription(agent({ state: 'failed', exitCode: 1 })), 'claude · failed (exit 1)');
  // Reported done and still running (an interactive CLI back at its prompt): says so; once ended, its state says it all.
  const done = { doneAt: '2025-01-01T00:03:00Z', message: 'Reports done: all tools called.' };
  assert.equal(agentDescription(agent({ state: 'running', ...done }), { cpuPercent: 0, memoryBytes: 120 * MiB, processes: 2 }), 'claude · running · done · CPU 0% · 120 MiB');
  assert.equal(agentDescription(agent({ state: 'succeeded', exitCode: 0, ...done })), 'claude · succeeded');
  assert.match(agentTooltip(agent({ state: 'running', ...done }), 'Shop API'), /Reported its task done at 2025-01-01 00:03:00 UTC\n\nReports done: all tools called\\\./);
});

test('each state has its icon; needs input and failed stand out by colour', () => {
  const states: AgentState[] = ['queued', 'starting', 'running', 'needsInput', 'paused', 'succeeded', 'failed', 'stopped', 'interrupted'];
  const icons = states.map((state) => agentIcon({ state }));
  assert.equal(new Set(icons.map((i) => i.id)).size, states.length, 'one icon per state');
  assert.deepEqual(agentIcon({ state: 'running' }), { id: 'sync~spin', color: 'charts.blue' });
  assert.deepEqual(agentIcon({ state: 'needsInput' }), { id: 'bell-dot', color: 'list.warningForeground' });
  assert.deepEqual(agentIcon({ state: 'failed' }), { id: 'error', color: 'errorForeground' });
  assert.deepEqual(agentIcon({ state: 'succeeded' }), { id: 'check', color: 'testing.iconPassed' });
  assert.deepEqual(agentIcon({ state: 'paused' }).id, 'debug-pause');
  assert.deepEqual(agentIcon({ state: 'queued' }).id, 'clock');
});

test('context values carry the state and exactly the actions it allows', () => {
  const tags = (state: AgentState, terminalId: string | null = 't1'): string[] => agentContextValue(agent({ state, terminalId })).split(' ');
  assert.deepEqual(tags('running'), ['orchflow.agent', 'running', 'live', 'pausable', 'sendable', 'hasTerminal']);
  assert.deepEqual(tags('needsInput'), ['orchflow.agent', 'needsInput', 'live', 'pausable', 'sendable', 'hasTerminal']);
  assert.deepEqual(tags('paused'), ['orchflow.agent', 'paused', 'live', 'resumable', 'hasTerminal']);
  assert.deepEqual(tags('queued', null), ['orchflow.agent', 'queued', 'live']);
  assert.deepEqual(tags('succeeded'), ['orchflow.agent', 'succeeded', 'ended', 'hasTerminal']);
  assert.deepEqual(tags('stopped', null), ['orchflow.agent', 'stopped', 'ended']);
  // Waiting on a menu its screen shows: it can be answered by choice; a question without choices cannot.
  const menu = { question: 'Do you want to proceed?', choices: [{ label: 'Yes', keys: '1' }, { label: 'No', keys: '2' }] };
  assert.deepEqual(agentContextValue(agent({ state: 'needsInput', terminalId: 't1', ...menu })).split(' '), [
    'orchflow.agent', 'needsInput', 'live', 'pausable', 'sendable', 'answerable', 'hasTerminal',
  ]);
  assert.ok(!agentContextValue(agent({ state: 'needsInput', terminalId: 't1', question: 'Proceed?', choices: [] })).includes('answerable'));
  // Choices left over on an agent that moved on are not offered.
  assert.ok(!agentContextValue(agent({ state: 'running', terminalId: 't1', ...menu })).includes('answerable'));
});

test('labels are the task on one line, cut with an ellipsis', () => {
  assert.equal(truncateTask('fix\nthe   parser'), 'fix the parser');
  const long = 'a'.repeat(60);
  assert.equal(truncateTask(long).length, 48);
  assert.ok(truncateTask(long).endsWith('…'));
  assert.equal(agentNode(agent({ task: long }), 'Shop API').label, truncateTask(long));
});

test('the tooltip has the full task, where it runs, when, and how it ended', () => {
  const t = agentTooltip(
    agent({
      id: 'shop-a3',
      task: 'a long task that the label cuts off somewhere in the middle of it',
      state: 'failed',
      exitCode: 3,
      cwd: '/data/worktrees/shop-api/shop-a3',
      worktree: { path: '/data/worktrees/shop-api/shop-a3', branch: 'orchflow/shop-a3' },
      startedAt: '2025-01-01T10:00:00Z',
      endedAt: '2025-01-01T10:03:12Z',
      message: 'The process ended: exit 3.',
    }),
    'Shop API',
  );
  assert.match(t, /\*\*Shop API › shop\\-a3\*\* — failed \\\(exit 3\\\)/);
  assert.match(t, /Task: a long task that the label cuts off somewhere in the middle of it/);
  assert.match(t, /Worktree on branch `orchflow\/shop-a3`/);
  assert.match(t, /started 2025-01-01 10:00:00 UTC · ended 2025-01-01 10:03:12 UTC \(ran 3m 12s\)/);
  assert.match(t, /Exit code 3/);
  assert.doesNotMatch(t, /CPU/, 'an ended agent has no figures');
  assert.match(agentTooltip(agent({ state: 'running' }), 'Shop API', { cpuPercent: 1, memoryBytes: MiB, processes: 2 }), /CPU 1% · 1 MiB · 2 processes/);
});

test('durations', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(45_000), '45s');
  assert.equal(formatDuration(192_000), '3m 12s');
  assert.equal(formatDuration(3_720_000), '1h 2m');
});

test('the Agents row and the workspace note count by state', () => {
  const ws = workspace({ id: 'shop-api', name: 'Shop API' });
  const agents = [
    agent({ id: 'a', state: 'needsInput' }),
    agent({ id: 'b', state: 'running' }),
    agent({ id: 'c', state: 'queued' }),
    agent({ id: 'd', state: 'succeeded' }),
    agent({ id: 'e', state: 'failed', exitCode: 1 }),
    agent({ id: 'f', state: 'succeeded' }),
  ];
  const group = agentsGroupNode(ws, agents);
  assert.equal(group.label, 'Agents (6)');
  assert.equal(group.description, '1 needs input · 1 running · 1 queued · 1 failed · 2 succeeded');
  assert.equal(group.contextValue, 'orchflow.agents');
  assert.equal(agentsGroupNode(ws, []).contextValue, 'orchflow.agents empty');
  assert.equal(workspaceAgentsNote(agents), '3 agents, 1 needs input');
  assert.equal(workspaceAgentsNote([agent({ state: 'running' })]), '1 agent');
  assert.equal(workspaceAgentsNote([agent({ state: 'succeeded' })]), '', 'ended agents are not worth a note');
});

test('the status bar counts agents needing input across workspaces, and hides at zero', () => {
  const name = (id: string): string => (id === 'cli' ? 'CLI Tool' : 'Shop API');
  assert.equal(needsInputStatusView([agent({ state: 'running' })], name).visible, false);
  const one = needsInputStatusView([agent({ id: 'a', state: 'needsInput', lastLine: 'Proceed? [y/n]' })], name);
  assert.equal(one.text, '$(bell) 1 needs input');
  assert.match(one.tooltip, /Shop API › add a health check endpoint \(`a`\): `Proceed\? \[y\/n\]`/);
  const two = needsInputStatusView([agent({ id: 'a', state: 'needsInput' }), agent({ id: 'b', workspaceId: 'cli', state: 'needsInput' })], name);
  assert.equal(two.text, '$(bell) 2 need input');
  assert.match(two.tooltip, /CLI Tool/);
});

test('agent picks put those needing input first', () => {
  const picks = agentPicks([agent({ id: 'a', state: 'running' }), agent({ id: 'b', state: 'needsInput', createdAt: '2025-02-01T00:00:00Z' })], () => 'Shop API');
  assert.deepEqual(picks.map((p) => p.id), ['b', 'a']);
  assert.equal(picks[1].label, '$(sync) add a health check endpoint', 'no spinning icons in a quick pick');
  assert.equal(picks[0].description, 'Shop API · b · claude · needs input');
});

test('type picks: installed first with the preferred on top; the others say how to install', () => {
  const picks = typePicks(
    [
      agentType({ name: 'claude', displayName: 'Claude Code', installed: false, installHint: 'install it with npm install -g @anthropic-ai/claude-code' }),
      agentType({ name: 'codex', displayName: 'Codex CLI', purpose: 'OpenAI' }),
      agentType({ name: 'fake', source: 'global', builtIn: false, purpose: 'the test agent' }),
    ],
    'fake',
  );
  assert.deepEqual(picks.map((p) => p.name), ['fake', 'codex', 'claude']);
  assert.equal(picks[0].label, '$(check) fake');
  assert.equal(picks[0].description, 'fake · orchflow.toml');
  assert.equal(picks[2].label, '$(circle-slash) Claude Code');
  assert.equal(picks[2].description, 'claude · built in · not installed');
  assert.equal(picks[2].detail, 'install it with npm install -g @anthropic-ai/claude-code');
});

test('alerts say which agent and what happened, with the buttons that help next', () => {
  const titles = (view: { buttons: readonly { title: string }[] }): string[] => view.buttons.map((b) => b.title);
  const asking = alertView(agent({ id: 'shop-a1', state: 'needsInput', lastLine: 'Proceed? [y/n]' }), 'needsInput', 'Shop API');
  assert.equal(asking.severity, 'warning');
  assert.equal(asking.message, 'Shop API › "add a health check endpoint" (shop-a1) needs input: Proceed? [y/n]');
  assert.equal(asking.question, undefined);
  assert.deepEqual(titles(asking), ['Show Terminal', 'Send Input…']);
  const failed = alertView(agent({ state: 'failed', exitCode: 3, message: 'The process ended: exit 3.' }), 'failed', 'Shop API');
  assert.equal(failed.severity, 'error');
  assert.match(failed.message, /failed \(exit 3\)\. The process ended: exit 3\.$/);
  assert.deepEqual(titles(failed), ['Show Terminal', 'Open Log']);
  // An agent that could not start has no terminal to show.
  assert.deepEqual(titles(alertView(agent({ state: 'failed', terminalId: null }), 'failed', 'Shop API')), ['Open Log']);
  assert.equal(alertView(agent({ state: 'succeeded' }), 'succeeded', 'Shop API').severity, 'info');
  // Back at its prompt after it reported done: it waits for more, which is news, not a warning; a question still asks.
  const idle = alertView(agent({ id: 'shop-a1', state: 'needsInput', doneAt: '2026-12-07T20:04:07Z', lastLine: '✻ Sautéed for 3s · done 8:04 PM', message: 'Reports done: all tools called.' }), 'needsInput', 'Shop API');
  assert.equal(idle.severity, 'info');
  assert.equal(idle.message, 'Shop API › "add a health check endpoint" (shop-a1) is done and waits at its prompt for more. Reports done: all tools called.');
  assert.deepEqual(titles(idle), ['Show Terminal', 'Send Input…']);
  const askedAfterDone = alertView(agent({ state: 'needsInput', doneAt: '2026-12-07T20:04:07Z', question: 'Do you want to proceed?' }), 'needsInput', 'Shop API');
  assert.equal(askedAfterDone.severity, 'warning');
});

const trust = {
  question: 'Is this a project you created or one you trust?',
  choices: [
    { label: 'No, exit', keys: '\r' },
    { label: 'Yes, I trust this folder', keys: '\u001b[B\r' },
  ],
};

test('a question on the agent\'s screen is quoted; its choices are the buttons, in order, then Show Terminal', () => {
  const view = alertView(agent({ id: 'shop-a1', state: 'needsInput', lastLine: '❯ 1. No, exit', ...trust }), 'needsInput', 'Shop API');
  assert.equal(view.severity, 'warning');
  assert.equal(view.message, 'Shop API › "add a health check endpoint" (shop-a1) asks: "Is this a project you created or one you trust?"');
  assert.equal(view.question, trust.question);
  assert.deepEqual(
    view.buttons.map((b) => b.title),
    ['No, exit', 'Yes, I trust this folder', 'Show Terminal'],
  );
  // Without a terminal (it cannot have one and a screen, but the view never offers what is not there).
  const withoutTerminal = agent({ state: 'needsInput', ...trust }).actions.filter((a) => a !== 'showTerminal');
  assert.deepEqual(alertView(agent({ state: 'needsInput', terminalId: null, ...trust, actions: withoutTerminal }), 'needsInput', 'A').buttons.map((b) => b.title), ['No, exit', 'Yes, I trust this folder']);
  // A question without a menu is quoted, with today's buttons.
  const open = alertView(agent({ state: 'needsInput', question: 'What should the commit message say?' }), 'needsInput', 'Shop API');
  assert.match(open.message, /asks: "What should the commit message say\?"$/);
  assert.deepEqual(open.buttons.map((b) => b.title), ['Show Terminal', 'Send Input…']);
  // A label longer than a button holds is cut; the choice it stands for is unchanged.
  const long = 'Yes, and always allow access to /tmp/of-screens-claude-lTXdwf/project from this project';
  const cut = alertView(agent({ state: 'needsInput', question: 'Do you want to proceed?', choices: [{ label: 'Yes', keys: '1' }, { label: long, keys: '2' }] }), 'needsInput', 'A');
  assert.equal(cut.buttons[1].title.length, 60);
  assert.ok(cut.buttons[1].title.endsWith('…') && long.startsWith(cut.buttons[1].title.slice(0, -1)));
  assert.deepEqual(cut.buttons[1], { title: cut.buttons[1].title, choice: '2' });
});

test('a clicked choice answers by its number, with the question the notification showed', () => {
  const view = alertView(agent({ id: 'shop-a1', state: 'needsInput', ...trust }), 'needsInput', 'Shop API');
  const click = (title: string) => {
    const button = view.buttons.find((b) => b.title === title);
    assert.ok(button && 'choice' in button, `${title} is a choice`);
    return alertAnswer('shop-a1', view, button);
  };
  assert.deepEqual(click('Yes, I trust this folder'), { id: 'shop-a1', choice: '2', question: trust.question });
  assert.deepEqual(click('No, exit'), { id: 'shop-a1', choice: '1', question: trust.question });
  assert.deepEqual(view.buttons.at(-1), { title: 'Show Terminal', action: 'Show Terminal' });
  // Two choices with one label are still two buttons, each with its own number.
  const twice = alertView(agent({ state: 'needsInput', question: 'Which one?', choices: [{ label: 'Yes', keys: '1' }, { label: 'Yes', keys: '2' }] }), 'needsInput', 'A');
  assert.deepEqual(twice.buttons.slice(0, 2), [{ title: 'Yes', choice: '1' }, { title: 'Yes', choice: '2' }]);
});

test('Answer Agent lists the choices in order with their numbers; the tooltip and the status bar quote the question', () => {
  assert.deepEqual(choicePicks(trust), [
    { label: 'No, exit', description: '1', choice: '1' },
    { label: 'Yes, I trust this folder', description: '2', choice: '2' },
  ]);
  assert.deepEqual(choicePicks({ choices: null }), []);
  const waiting = agent({ id: 'shop-a1', state: 'needsInput', needsInputSince: '2025-01-01T00:00:05Z', ...trust });
  assert.match(agentTooltip(waiting, 'Shop API'), /Asks: Is this a project you created or one you trust\? — 1\. No, exit · 2\. Yes, I trust this folder/);
  // Once it moved on, the tooltip no longer says it asks.
  assert.doesNotMatch(agentTooltip({ ...waiting, state: 'running' }, 'Shop API'), /Asks:/);
  assert.match(needsInputStatusView([waiting], () => 'Shop API').tooltip, /\(`shop-a1`\): `Is this a project you created or one you trust\?`/);
});
