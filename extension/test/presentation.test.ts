import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ActiveMarker,
  buildTree,
  codeSpan,
  escapeMarkdown,
  formatBytes,
  workspaceNode,
  workspacePicks,
  workspaceStatusView,
  workspaceTooltip,
  type TreeNode,
} from '../src/workspaces/presentation';
import { diagnostic, hibernation, strictEnforced, strictNotEnforced, unescapeMarkdown, workspace } from './fixtures';

const shop = workspace({ id: 'shop-api', namespace: 'shop', projectType: 'node', branch: 'main', dirty: true });
const cli = workspace({ id: 'cli-tool', namespace: 'cli', projectType: 'rust' });
const mobile = workspace({ id: 'mobile', name: 'Mobile App', projectType: 'mixed' });

function labels(nodes: TreeNode[]): string[] {
  return nodes.map((n) => n.label);
}

test('rows are sorted by name, and do not move when the active one changes', () => {
  const folders = [{ folder: '/projects/shop-api', workspaceId: 'shop-api' }];
  const a = buildTree({ workspaces: [shop, mobile, cli], activeId: 'shop-api', folders });
  const b = buildTree({ workspaces: [shop, mobile, cli], activeId: 'cli-tool', folders });
  assert.deepEqual(labels(a), ['cli-tool', 'Mobile App', 'shop-api']);
  assert.deepEqual(labels(b), labels(a));
});

test('the default workspace comes last', () => {
  const defaultWs = workspace({ id: 'default', name: 'Default', isDefault: true });
  assert.deepEqual(labels(buildTree({ workspaces: [defaultWs, shop, cli], activeId: undefined, folders: [] })), ['cli-tool', 'shop-api', 'Default']);
});

test('the description is "<type> · <namespace>", and the active row is marked', () => {
  const openIds = new Set(['shop-api']);
  assert.equal(workspaceNode(cli, 'shop-api', openIds).description, 'rust · cli');
  assert.equal(workspaceNode(shop, 'shop-api', openIds).description, `node · shop  ${ActiveMarker}`);
});

test('the icon shows whether the folder is open here, and config errors win', () => {
  assert.equal(workspaceNode(shop, undefined, new Set(['shop-api'])).icon.id, 'root-folder-opened');
  assert.equal(workspaceNode(shop, undefined, new Set()).icon.id, 'root-folder');
  const broken = workspace({ id: 'broken', diagnostics: [diagnostic()] });
  assert.equal(workspaceNode(broken, undefined, new Set(['broken'])).icon.id, 'warning');
  const warnedOnly = workspace({ id: 'warned', diagnostics: [diagnostic({ severity: 'warning' })] });
  assert.equal(workspaceNode(warnedOnly, undefined, new Set()).icon.id, 'root-folder');
});

test('contextValue carries the tags menus match on', () => {
  const defaultWs = workspace({ id: 'default', isDefault: true });
  assert.equal(workspaceNode(shop, 'shop-api', new Set(['shop-api'])).contextValue, 'orchflow.workspace active open');
  assert.equal(workspaceNode(cli, 'shop-api', new Set()).contextValue, 'orchflow.workspace');
  assert.equal(workspaceNode(defaultWs, undefined, new Set()).contextValue, 'orchflow.workspace default');
  const broken = workspace({ id: 'broken', diagnostics: [diagnostic()] });
  assert.equal(workspaceNode(broken, undefined, new Set()).contextValue, 'orchflow.workspace configErrors');
});

test('the tooltip has root, git, tier, limits and config errors', () => {
  const ws = workspace({
    id: 'shop-api',
    branch: 'feature/x',
    dirty: true,
    memoryLimitBytes: 4 * 1024 ** 3,
    diagnostics: [diagnostic({ file: '/p/.orchflow/workspace.json', line: 4, column: 9, message: 'expected a size' })],
  });
  const text = workspaceTooltip(ws, { active: true, open: true });
  assert.match(text, /\*\*shop\\-api\*\* — active, open in this window/);
  assert.match(text, /`\/projects\/shop-api`/);
  assert.match(text, /git, branch `feature\/x`, uncommitted changes/);
  assert.match(unescapeMarkdown(text), /Isolation: \*\*standard: enforced by the daemon \(no operating-system sandbox\)\*\*/);
  assert.match(text, /6 agents · 12 terminals · 512 processes · 4 GiB memory · 1024 CPU shares/);
  assert.match(text, /Config errors \(the last good config stays in force\)/);
  assert.match(text, /`\/p\/\.orchflow\/workspace\.json:4:9: expected a size`/);
});

test('the tooltip says when there is no repository and no config file', () => {
  const text = workspaceTooltip(workspace({ configPath: null }), { active: false, open: false });
  assert.match(text, /Git: not a repository/);
  assert.match(text, /Config: none \(defaults apply\)/);
  assert.match(text, /no memory limit/);
});

test('when no folder of the window maps to a workspace, the view is empty so the welcome shows', () => {
  const tree = buildTree({ workspaces: [shop, cli], activeId: undefined, folders: [{ folder: '/else', workspaceId: undefined }] });
  assert.deepEqual(tree, []);
});

test('with no folders at all, every workspace is listed', () => {
  assert.deepEqual(labels(buildTree({ workspaces: [shop, cli], activeId: undefined, folders: [] })), ['cli-tool', 'shop-api']);
});

test('folders that map to nothing follow the workspaces, with a create action', () => {
  const tree = buildTree({
    workspaces: [shop],
    activeId: 'shop-api',
    folders: [
      { folder: '/projects/shop-api', workspaceId: 'shop-api' },
      { folder: '/projects/notes/', workspaceId: undefined },
    ],
  });
  assert.deepEqual(labels(tree), ['shop-api', 'notes']);
  const last = tree[1];
  assert.equal(last.kind, 'unmappedFolder');
  assert.equal(last.contextValue, 'orchflow.unmappedFolder');
  assert.equal(last.description, 'not an Orchflow workspace');
});

test('the switcher lists the active workspace first and marked, then open ones, then the rest', () => {
  const picks = workspacePicks([mobile, shop, cli], 'cli-tool', new Set(['shop-api', 'cli-tool']));
  assert.deepEqual(
    picks.map((p) => p.id),
    ['cli-tool', 'shop-api', 'mobile'],
  );
  assert.equal(picks[0].label, '$(check) cli-tool');
  assert.equal(picks[0].description, `rust · cli · ${ActiveMarker}`);
  assert.equal(picks[0].detail, '/projects/cli-tool');
  assert.equal(picks[1].description, 'node · shop · open in this window');
  assert.equal(picks[2].label, 'Mobile App');
});

test('the status bar shows the active workspace, or invites to pick one', () => {
  assert.equal(workspaceStatusView(shop, new Set()).text, '$(layers) shop-api');
  assert.match(workspaceStatusView(shop, new Set()).tooltip, /Namespace: `shop`/);
  assert.equal(workspaceStatusView(undefined, new Set()).text, '$(layers) Orchflow: no workspace');
  const broken = workspace({ id: 'broken', diagnostics: [diagnostic()] });
  assert.equal(workspaceStatusView(broken, new Set()).text, '$(layers) broken $(warning)');
});

test('formatBytes uses binary units', () => {
  assert.equal(formatBytes(100), '100 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(512 * 1024 ** 2), '512 MiB');
  assert.equal(formatBytes(4 * 1024 ** 3), '4 GiB');
});

test('Markdown helpers keep text as written', () => {
  assert.equal(escapeMarkdown('a_b*[c]'), 'a\\_b\\*\\[c\\]');
  assert.equal(codeSpan('/a/b'), '`/a/b`');
  assert.equal(codeSpan('a`b'), '``a`b``');
  assert.equal(codeSpan('`x'), '`` `x ``');
});

test('a workspace row notes its live agents after the type and namespace', () => {
  const ws = workspace({ id: 'shop-api', namespace: 'shop', projectType: 'node' });
  assert.equal(workspaceNode(ws, undefined, new Set(), '2 agents, 1 needs input').description, 'node · shop · 2 agents, 1 needs input');
  assert.equal(workspaceNode(ws, 'shop-api', new Set(), '1 agent').description, 'node · shop · 1 agent  ● active');
  assert.equal(workspaceNode(ws, undefined, new Set()).description, 'node · shop');
});

test('the tooltip repeats the daemon\'s isolation report: kept promises by name, each one not kept with its reason, the notes', () => {
  const text = unescapeMarkdown(workspaceTooltip(workspace({ id: 'vault', isolation: strictNotEnforced() }), { active: false, open: false }));
  assert.match(text, /\$\(warning\) Isolation: \*\*strict requested: NOT enforced, bubblewrap unavailable \(bwrap: not found\)\*\*/);
  assert.match(text, /\$\(check\) Enforced: `environment`, `cwd`\n/);
  assert.match(text, /\*\*NOT enforced:\*\*\n\n- `filesystem`: needs bubblewrap \(bwrap: not found\)\n- `network`: network needs bubblewrap/);
  assert.match(text, /Not covered:\n\n- strict needs bubblewrap: bwrap: not found\n- No operating-system sandbox/);
  // Enforced in full: no warning, nothing listed as not enforced.
  const kept = unescapeMarkdown(workspaceTooltip(workspace({ id: 'vault', isolation: strictEnforced() }), { active: false, open: false }));
  assert.match(kept, /Isolation: \*\*strict: enforced by bubblewrap 0\.8\.0\*\*/);
  assert.doesNotMatch(kept, /warning|NOT enforced/);
});

test('a suspended workspace says so in its description, its icon, its tags and its tooltip', () => {
  const ws = workspace({ id: 'shop-api', namespace: 'shop', hibernation: hibernation({ by: 'vscode', processes: 3 }) });
  const row = workspaceNode(ws, 'shop-api', new Set(['shop-api']), '1 agent');
  assert.equal(row.description, `node · shop · suspended · 1 agent  ${ActiveMarker}`);
  assert.deepEqual(row.icon, { id: 'debug-pause', color: 'charts.yellow' });
  assert.equal(row.contextValue, 'orchflow.workspace active open suspended');
  assert.match(unescapeMarkdown(row.tooltip), /suspended since 2025-01-01 12:00:00 UTC by vscode \(cgroup freezer, 3 processes stopped\)/);
  const idle = workspaceNode(workspace({ hibernation: hibernation({ by: 'idle', processes: 1 }) }), undefined, new Set());
  assert.match(unescapeMarkdown(idle.tooltip), /by hibernation after being idle \(cgroup freezer, 1 process stopped\)/);
  // Not suspended: none of it.
  const running = workspaceNode(workspace(), undefined, new Set());
  assert.doesNotMatch(running.description, /suspended/);
  assert.doesNotMatch(running.contextValue, /suspended/);
});

test('the status bar warns when the active workspace gets less isolation than requested, and says why', () => {
  const below = workspaceStatusView(workspace({ id: 'vault', isolation: strictNotEnforced() }), new Set());
  assert.equal(below.text, '$(layers) vault $(warning)');
  assert.equal(below.isolationBelow, true);
  assert.equal(below.hasErrors, false);
  assert.match(
    unescapeMarkdown(below.tooltip),
    /^\$\(warning\) \*\*Less isolation than requested:\*\* strict requested: NOT enforced, bubblewrap unavailable \(bwrap: not found\)\. Its processes run with the standard tier's protection only\.\n\n- strict needs bubblewrap/,
  );
  // What is enforced in full gets no marker and claims nothing more than the daemon's summary.
  const kept = workspaceStatusView(workspace({ id: 'vault', isolation: strictEnforced() }), new Set());
  assert.equal(kept.text, '$(layers) vault');
  assert.equal(kept.isolationBelow, false);
  assert.doesNotMatch(kept.tooltip, /Less isolation/);
  // Suspended shows in the text.
  assert.equal(workspaceStatusView(workspace({ id: 'shop', hibernation: hibernation() }), new Set()).text, '$(layers) shop $(debug-pause) suspended');
});
