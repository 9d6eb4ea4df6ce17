import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  auditDocumentPath,
  auditDocumentText,
  auditDocumentWorkspace,
  auditLine,
  isolationFeatureNode,
  isolationNode,
  noSecretsMessage,
  noticeView,
  resourcesDescription,
  resourcesNode,
  resourcesTooltip,
  secretNameProblem,
  secretPicks,
  secretProblems,
  secretSetMessage,
  secretValueProblem,
  suspendMessage,
} from '../src/security/presentation';
import type { AuditEntry, SecretInfo, SecretListResult } from '../src/protocol/generated';
import { feature, hibernation, notice, strictEnforced, strictNotEnforced, unescapeMarkdown, workspace, workspaceResources } from './fixtures';

const MiB = 1024 * 1024;

test('the Isolation row shows the daemon\'s summary as written, with a warning when less than requested is enforced', () => {
  const below = isolationNode(workspace({ id: 'vault', name: 'Vault', isolation: strictNotEnforced() }));
  assert.equal(below.label, 'Isolation');
  assert.equal(below.description, 'strict requested: NOT enforced, bubblewrap unavailable (bwrap: not found)');
  assert.deepEqual(below.icon, { id: 'workspace-untrusted', color: 'problemsWarningIcon.foreground' });
  assert.equal(below.contextValue, 'orchflow.isolation belowRequested');
  assert.equal(below.hasChildren, true);
  const tooltip = unescapeMarkdown(below.tooltip);
  assert.match(tooltip, /^\*\*Vault › Isolation\*\* — as enforced on this machine/);
  assert.match(tooltip, /- `filesystem`: needs bubblewrap \(bwrap: not found\)/);
  assert.match(tooltip, /Requested: strict \(security\.tier\) · enforced: standard · mechanism: no operating-system sandbox/);

  const kept = isolationNode(workspace({ id: 'vault', isolation: strictEnforced() }));
  assert.equal(kept.description, 'strict: enforced by bubblewrap 0.8.0');
  assert.deepEqual(kept.icon, { id: 'shield' });
  assert.equal(kept.contextValue, 'orchflow.isolation');
  assert.match(unescapeMarkdown(kept.tooltip), /mechanism: bubblewrap/);
});

test('a kept tier with a promise not kept (CPU weights without control groups) gets a warning colour, not the below-requested icon', () => {
  const isolation = { ...strictEnforced(), requestedTier: 'standard' as const, enforcedTier: 'standard' as const, summary: 'standard: enforced by the daemon', features: [feature('environment', true), feature('cpu', false, 'NOT enforced: CPU weights need control groups (none)')] };
  const row = isolationNode(workspace({ isolation }));
  assert.deepEqual(row.icon, { id: 'shield', color: 'list.warningForeground' });
  assert.equal(row.contextValue, 'orchflow.isolation');
});

test('each promise has a row: enforced and how, or NOT enforced and why', () => {
  const ws = workspace({ id: 'vault', isolation: strictNotEnforced() });
  const [environment, , filesystem] = ws.isolation.features.map((f) => isolationFeatureNode(ws, f));
  assert.equal(environment.label, 'environment');
  assert.equal(environment.description, 'enforced — environment is kept');
  assert.deepEqual(environment.icon, { id: 'check', color: 'testing.iconPassed' });
  assert.equal(environment.contextValue, 'orchflow.isolationFeature enforced');
  assert.equal(filesystem.description, 'NOT enforced — needs bubblewrap (bwrap: not found)', 'the daemon\'s own "NOT enforced:" is not repeated');
  assert.equal(filesystem.icon.id, 'warning');
  assert.equal(filesystem.contextValue, 'orchflow.isolationFeature notEnforced');
  assert.match(unescapeMarkdown(filesystem.tooltip), /^\*\*filesystem\*\* — \*\*NOT enforced\*\*\n\nNOT enforced: needs bubblewrap \(bwrap: not found\)$/);
});

test('the Resources row: measured figures, "—" where not measured, nothing made up', () => {
  const limited = workspace({ id: 'shop-api', memoryLimitBytes: 2 * 1024 * MiB });
  const unlimited = workspace({ id: 'cli-tool' });
  const cases: [string, ReturnType<typeof workspaceResources> | undefined, ReturnType<typeof workspace>, string][] = [
    ['measured, with a memory limit', workspaceResources({ cpuPercent: 3.24, memoryBytes: 120 * MiB, processes: 4 }), limited, 'CPU 3.2% · 120 MiB of 2 GiB · 4 processes'],
    ['measured, no memory limit', workspaceResources({ cpuPercent: 42.4, memoryBytes: 1536 * MiB, processes: 1 }), unlimited, 'CPU 42% · 1.5 GiB · 1 process'],
    ['a terminal not sampled twice yet', workspaceResources({ cpuPercent: null, memoryBytes: 3 * MiB, processes: 2 }), unlimited, 'CPU — · 3 MiB · 2 processes'],
    ['nothing running', workspaceResources({ cpuPercent: 0, memoryBytes: 0, processes: 0, terminals: 0, agents: 0 }), limited, 'nothing running'],
    ['no figures for this workspace yet', undefined, limited, 'not measured yet (—)'],
  ];
  for (const [what, figures, ws, expected] of cases) {
    assert.equal(resourcesDescription(ws, figures), expected, what);
  }
});

test('the Resources tooltip has every figure against its limit, and says how limits act', () => {
  const ws = workspace({ id: 'shop-api', name: 'Shop API', memoryLimitBytes: 2 * 1024 * MiB });
  const text = unescapeMarkdown(resourcesTooltip(ws, workspaceResources({ cpuPercent: 3, memoryBytes: 512 * MiB, processes: 4, terminals: 2, agents: 1, queuedAgents: 2 })));
  assert.match(text, /^\*\*Shop API › Resources\*\* — measured by the daemon from \/proc/);
  assert.match(text, /CPU 3% \(100% is one core\) · memory 512 MiB of 2 GiB \(25%\) · 4 processes of 512 · 2 running terminals of 12 · 1 active agent of 6 \(2 queued\)/);
  assert.match(text, /Above 80% of memory_limit the newest running agent is paused; at the limit the one that pushed the workspace over is stopped/);
  assert.match(unescapeMarkdown(resourcesTooltip(ws, workspaceResources({ cpuPercent: null }))), /CPU — \(not measured twice yet\)/);
  assert.match(unescapeMarkdown(resourcesTooltip(ws, undefined)), /Not measured yet \(—\): the daemon has sent no figures for this workspace\./);
  const noLimit = unescapeMarkdown(resourcesTooltip(workspace(), workspaceResources({ memoryBytes: 10 * MiB })));
  assert.match(noLimit, /memory 10 MiB \(no memory_limit\)/);
  assert.doesNotMatch(noLimit, /Above 80%/);
});

test('a suspended workspace\'s Resources row is tagged so that Resume, not Suspend, is offered', () => {
  const suspended = resourcesNode(workspace({ hibernation: hibernation() }), workspaceResources());
  assert.equal(suspended.contextValue, 'orchflow.resources suspended');
  assert.deepEqual(suspended.icon, { id: 'debug-pause', color: 'charts.yellow' });
  assert.match(unescapeMarkdown(suspended.tooltip), /suspended since 2025-01-01 12:00:00 UTC by vscode \(cgroup freezer, 3 processes stopped\)/);
  const running = resourcesNode(workspace(), workspaceResources());
  assert.equal(running.contextValue, 'orchflow.resources');
  assert.equal(running.icon.id, 'pulse');
});

test('suspend and resume messages say what stopped or continued', () => {
  const ws = workspace({ hibernation: hibernation({ mechanism: 'SIGSTOP' }) });
  assert.equal(suspendMessage('Shop API', { workspace: ws, processes: 3, agents: ['shop-a1'], released: [] }, true), 'Suspended Shop API: 3 processes stopped (SIGSTOP); agents shop-a1 paused');
  assert.equal(suspendMessage('Shop API', { workspace: workspace(), processes: 1, agents: [], released: [] }, false), 'Resumed Shop API: 1 process continued');
});

test('secret names follow the daemon\'s rule; values are checked without being repeated', () => {
  for (const good of ['GITHUB_TOKEN', '_x', 'a1']) {
    assert.equal(secretNameProblem(good), undefined, good);
  }
  assert.match(secretNameProblem('') ?? '', /Type the name/);
  assert.match(secretNameProblem('1ABC') ?? '', /not starting with a digit/);
  assert.match(secretNameProblem('MY-TOKEN') ?? '', /letters, digits and '_'/);
  assert.match(secretNameProblem('ORCHFLOW_TOKEN') ?? '', /set by Orchflow itself/);
  assert.equal(secretValueProblem('s3cr3t'), undefined);
  assert.equal(secretValueProblem(''), 'A secret needs a value.');
  const long = 'x'.repeat(32 * 1024 + 1);
  assert.match(secretValueProblem(long) ?? '', /At most 32,768 characters/);
  assert.ok(!(secretValueProblem(`ab\0cd`) ?? '').includes('ab'), 'the value is not repeated');
});

function secretInfo(o: Partial<SecretInfo>): SecretInfo {
  return { name: o.name ?? 'GITHUB_TOKEN', source: o.source ?? 'daemon', masked: o.masked ?? 'gh…f3 (40 characters)', updatedAt: o.updatedAt ?? null, overridden: o.overridden ?? false };
}

test('secret picks show the masked hint and where each secret comes from; only Orchflow\'s can be removed', () => {
  const result: SecretListResult = {
    secrets: [
      secretInfo({ name: 'NPM_TOKEN', source: 'file', masked: '•••• (6 characters)' }),
      secretInfo({ name: 'API_KEY', source: 'file', masked: 'ab…yz (30 characters)', overridden: true }),
      secretInfo({ name: 'API_KEY', source: 'daemon', masked: 'cd…wx (31 characters)', updatedAt: '2025-01-02T03:04:05Z' }),
    ],
    file: '/projects/shop-api/.env',
    problems: [{ file: '/projects/shop-api/.env', line: 3, column: 1, message: 'expected NAME=value', severity: 'warning' }],
  };
  const picks = secretPicks(result);
  assert.deepEqual(
    picks.map((p) => [p.label, p.description, p.detail, p.removable]),
    [
      ['$(key) API_KEY', 'cd…wx (31 characters)', 'set with Orchflow on 2025-01-02 03:04:05 UTC', true],
      ['$(circle-slash) API_KEY', 'ab…yz (30 characters)', 'from /projects/shop-api/.env, hidden by the secret of the same name set with Orchflow', false],
      ['$(key) NPM_TOKEN', '•••• (6 characters)', 'from /projects/shop-api/.env', false],
    ],
  );
  assert.deepEqual(secretProblems(result), ['/projects/shop-api/.env:3:1: expected NAME=value']);
  assert.equal(
    secretSetMessage('Shop API', secretInfo({}), false),
    'Set secret GITHUB_TOKEN of Shop API (gh…f3 (40 characters)). Processes started from now on get it; running ones keep what they had.',
  );
  assert.match(secretSetMessage('Shop API', secretInfo({}), true), /^Replaced secret GITHUB_TOKEN/);
  assert.match(noSecretsMessage('Shop API', { secrets: [], problems: [], file: '/p/.env' }), /^Shop API has no secret\. Its secrets_file \/p\/\.env holds none either\./);
});

function entry(o: Partial<AuditEntry>): AuditEntry {
  return { at: o.at ?? '2025-01-01T12:00:00Z', workspaceId: 'shop-api', kind: o.kind ?? 'limit', message: o.message ?? 'something', rule: o.rule ?? null, subject: o.subject ?? null };
}

test('the audit log reads oldest first, newest last, one line per entry with its rule and subject', () => {
  const result = {
    path: '/home/u/.local/share/orchflow/audit/shop-api.jsonl',
    entries: [
      entry({ at: '2025-01-01T12:00:00Z', kind: 'refused', message: "'curl' is not in allowed_commands.", rule: 'security.allowed_commands', subject: 'shop-t2' }),
      entry({ at: '2025-01-01T12:05:00Z', kind: 'notEnforced', message: 'Started with less isolation than strict.' }),
      entry({ at: '2025-01-01T12:10:00Z', kind: 'secret', message: 'Secret GITHUB_TOKEN set (gh…f3 (40 characters)).', rule: 'secrets', subject: 'GITHUB_TOKEN' }),
    ],
  };
  const text = auditDocumentText({ id: 'shop-api', name: 'Shop API' }, result, new Date('2025-01-01T13:00:00Z'), 1000);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Audit log of Shop API (shop-api), oldest first, newest last.');
  assert.match(lines[1], /^Read at 2025-01-01 13:00:00 UTC from \/home\/u\/\.local\/share\/orchflow\/audit\/shop-api\.jsonl;/);
  assert.equal(lines[2], '3 entries.');
  assert.deepEqual(lines.slice(4, 7), [
    "2025-01-01 12:00:00 UTC  refused         'curl' is not in allowed_commands.  [security.allowed_commands]  (shop-t2)",
    '2025-01-01 12:05:00 UTC  not enforced    Started with less isolation than strict.',
    '2025-01-01 12:10:00 UTC  secret          Secret GITHUB_TOKEN set (gh…f3 (40 characters)).  [secrets]  (GITHUB_TOKEN)',
  ]);
  assert.ok(text.endsWith('\n'));
  assert.match(auditDocumentText({ id: 'x', name: 'X' }, { path: '/p', entries: [] }, new Date(), 1000), /\(No entry yet\./);
  assert.match(auditDocumentText({ id: 'x', name: 'X' }, { path: '/p', entries: [entry({}), entry({})] }, new Date(), 2), /Showing the newest 2 entries\./);
  assert.equal(auditLine(entry({ kind: 'policyChanged', message: 'tier strict → standard' })), '2025-01-01 12:00:00 UTC  policy changed  tier strict → standard');
});

test('an audit document\'s path names its workspace', () => {
  assert.equal(auditDocumentPath('shop-api'), '/shop-api-audit.log');
  assert.equal(auditDocumentWorkspace(auditDocumentPath('shop-api')), 'shop-api');
  assert.equal(auditDocumentWorkspace('/shop-a1.log'), undefined);
});

test('a notice shows the daemon\'s message with the buttons that fit its kind', () => {
  const cases: [string, ReturnType<typeof notice>, { hasTerminal: boolean } | undefined, string, string[]][] = [
    ['suspended', notice({ kind: 'suspended', level: 'info' }), undefined, 'info', ['Resume Workspace']],
    ['resumed', notice({ kind: 'resumed', level: 'info', message: "Workspace 'shop-api' resumed by vscode." }), undefined, 'info', []],
    [
      'agent paused at the soft limit',
      notice({ kind: 'agentPaused', level: 'warning', agentId: 'shop-a2', terminalId: 'shop-t3', rule: 'resources.memory_limit' }),
      { hasTerminal: true },
      'warning',
      ['Show Agent', 'Open Audit Log'],
    ],
    ['agent paused, not known to this window', notice({ kind: 'agentPaused', level: 'warning', agentId: 'shop-a2' }), undefined, 'warning', ['Open Audit Log']],
    ['agent stopped at the hard limit', notice({ kind: 'stopped', level: 'error', agentId: 'shop-a2', terminalId: 'shop-t3' }), { hasTerminal: false }, 'error', ['Open Agent Log', 'Open Audit Log']],
    ['terminal stopped at the hard limit', notice({ kind: 'stopped', level: 'error', terminalId: 'shop-t1' }), undefined, 'error', ['Open Audit Log']],
    ['soft limit, no agent to pause', notice({ kind: 'softLimit', level: 'warning' }), undefined, 'warning', ['Open Audit Log']],
    ['OOM kill', notice({ kind: 'outOfMemory', level: 'error' }), undefined, 'error', ['Open Audit Log']],
    ['refused forks', notice({ kind: 'forkRefused', level: 'warning' }), undefined, 'warning', ['Open Audit Log']],
    ['cleaned up after a daemon that did not stop cleanly', notice({ kind: 'recovered', level: 'warning' }), undefined, 'warning', ['Open Audit Log']],
  ];
  for (const [what, n, agent, severity, actions] of cases) {
    const view = noticeView(n, agent);
    assert.equal(view.message, n.message, what);
    assert.equal(view.severity, severity, what);
    assert.deepEqual(view.actions, actions, what);
  }
});
