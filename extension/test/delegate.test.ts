import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTypes, delegateTemplate, DelegateHeader, MaxTaskChars, parseDelegateText } from '../src/agents/delegate';
import { agentType, workspace } from './fixtures';

const workspaces = [
  workspace({ id: 'shop-api', name: 'Shop API', namespace: 'shop' }),
  workspace({ id: 'cli-tool', name: 'CLI Tool', namespace: 'cli' }),
  // Its name is another workspace's namespace: "cli" alone is ambiguous only if no id matches.
  workspace({ id: 'docs', name: 'cli', namespace: 'docs' }),
];

/** One line in, the task (workspace id, type, task) or the problem's message and column out. */
function check(line: string, expected: { ws: string; type?: string; task: string } | { problem: RegExp; column?: number }): void {
  const { tasks, problems } = parseDelegateText(line, workspaces);
  if ('problem' in expected) {
    assert.equal(tasks.length, 0, line);
    assert.equal(problems.length, 1, line);
    assert.match(problems[0].message, expected.problem, line);
    assert.match(problems[0].message, /^Line 1: /, line);
    if (expected.column !== undefined) {
      assert.equal(problems[0].column, expected.column, `${line}: column`);
    }
  } else {
    assert.deepEqual(problems, [], line);
    assert.deepEqual(
      tasks.map((t) => ({ ws: t.workspaceId, type: t.type, task: t.task })),
      [{ ws: expected.ws, type: expected.type, task: expected.task }],
      line,
    );
  }
}

test('a line names its workspace by id, name or namespace, ignoring case', () => {
  check('shop: add a health check', { ws: 'shop-api', task: 'add a health check' });
  check('Shop API: add a health check', { ws: 'shop-api', task: 'add a health check' });
  check('SHOP-API:add a health check', { ws: 'shop-api', task: 'add a health check' });
  check('  cli-tool :  print --help  ', { ws: 'cli-tool', task: 'print --help' });
  check('docs: write the guide', { ws: 'docs', task: 'write the guide' });
});

test('the first colon ends the workspace; the task keeps the rest', () => {
  check('shop: fix: the parser drops "a:b"', { ws: 'shop-api', task: 'fix: the parser drops "a:b"' });
});

test('[type] picks the agent type', () => {
  check('shop [codex]: add tests', { ws: 'shop-api', type: 'codex', task: 'add tests' });
  check('shop[fake-quick]: add tests', { ws: 'shop-api', type: 'fake-quick', task: 'add tests' });
});

test('bad lines are problems with their line and column', () => {
  check('just some words', { problem: /expected "workspace: task"/, column: 1 });
  check(': a task without workspace', { problem: /workspace is missing/ });
  check('shop:', { problem: /task after the colon is empty/ });
  check('shop []: task', { problem: /agent type between \[ \] is empty/, column: 6 });
  check('shop [two words]: task', { problem: /not an agent type name/, column: 7 });
  check('  nowhere: task', { problem: /there is no workspace "nowhere" \(known: shop-api \(Shop API, shop\); cli-tool \(CLI Tool, cli\); docs \(cli\)\)/, column: 3 });
  check(`shop: ${'x'.repeat(MaxTaskChars + 1)}`, { problem: /at most 100000/ });
});

test('a name that means several workspaces is refused unless it is an id', () => {
  check('cli: task', { problem: /"cli" names several workspaces \(cli-tool \(CLI Tool, cli\); docs \(cli\)\); use the id/ });
  check('docs: task', { ws: 'docs', task: 'task' });
});

test('comments and blank lines are skipped; lines are numbered as in the editor', () => {
  const text = [DelegateHeader, '# shop: not a task', '', 'shop: one', 'nowhere: two', 'cli-tool [aider]: three'].join('\n');
  const { tasks, problems } = parseDelegateText(text, workspaces);
  assert.deepEqual(tasks.map((t) => [t.line, t.workspaceId, t.task]), [
    [4, 'shop-api', 'one'],
    [6, 'cli-tool', 'three'],
  ]);
  assert.deepEqual(problems.map((p) => p.line), [5]);
  assert.match(problems[0].message, /^Line 5: there is no workspace "nowhere"/);
});

test('Windows line ends read the same', () => {
  const { tasks } = parseDelegateText('shop: one\r\ncli: two\r\n', workspaces.slice(0, 2));
  assert.deepEqual(tasks.map((t) => t.task), ['one', 'two']);
});

test('checkTypes: an unknown or uninstalled type is a problem of its line; the default type is named as such', () => {
  const { tasks } = parseDelegateText(['shop: a', 'shop [fake]: b', 'cli-tool [ghost]: c', 'cli-tool [codex]: d'].join('\n'), workspaces);
  const types = new Map([
    ['shop-api', [agentType({ name: 'claude', installed: false, installHint: 'Claude Code (`claude`) is not installed: install it with `npm install -g @anthropic-ai/claude-code`.' }), agentType({ name: 'fake' })]],
    ['cli-tool', [agentType({ name: 'codex' })]],
  ]);
  const problems = checkTypes(tasks, (id) => types.get(id), 'claude');
  assert.deepEqual(problems.map((p) => p.line), [1, 3]);
  assert.match(problems[0].message, /^Line 1: Claude Code \(`claude`\) is not installed: install it with .*the default type, setting orchflow\.agents\.defaultType.*name another with \[type\]/);
  assert.equal(problems[1].message, 'Line 3: CLI Tool has no agent type "ghost"; its types are codex.');
});

test('the template lists the workspaces (the active one first) and the types, and parses to no task', () => {
  const text = delegateTemplate(workspaces, 'cli-tool', 'claude', ['claude', 'fake']);
  assert.ok(text.startsWith(`${DelegateHeader}\n`));
  assert.match(text, /# Workspaces \(id, name or namespace\): cli-tool \(CLI Tool, cli\); /);
  assert.match(text, /# Agent types: claude, fake/);
  assert.match(text, /# Example: cli: /);
  assert.deepEqual(parseDelegateText(text, workspaces), { tasks: [], problems: [] });
});
