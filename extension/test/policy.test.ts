// A weaker policy waiting for a person, and a replaced root: the notifications (once each), the rows under the
// workspace, the workspace row's marks and menus, and the questions the commands ask.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Commands, TreeItemContext } from '../src/constants';
import type { PendingPolicy, WorkspaceInfo, WorkspaceRootProblem } from '../src/protocol/generated';
import {
  adoptQuestion,
  applyQuestion,
  decisionMessage,
  pendingPolicyNode,
  pendingPolicyPrompt,
  PolicyActions,
  PromptTracker,
  RootActions,
  rootProblemNode,
  rootProblemPrompt,
} from '../src/workspaces/policy';
import { workspaceNode } from '../src/workspaces/presentation';
import { unescapeMarkdown, workspace } from './fixtures';

function pending(o: Partial<PendingPolicy> = {}): PendingPolicy {
  return {
    requested: { tier: 'standard', allowedCommands: [], restrictedPaths: [], network: 'none', allowedHosts: [] },
    changes: o.changes ?? ['lowers its tier strict → standard'],
    seenAt: o.seenAt ?? '2025-03-01T10:00:00Z',
    fingerprint: o.fingerprint ?? '0123456789abcdef',
    rejectedAt: o.rejectedAt ?? null,
    rejectedBy: o.rejectedBy ?? null,
  };
}

function replaced(o: Partial<WorkspaceRootProblem> = {}): WorkspaceRootProblem {
  return {
    kind: o.kind ?? 'replaced',
    message:
      o.message ??
      'root replaced: the folder at /projects/b is not the one registered (device:inode changed); run `orchflow workspace update b --accept-root` to adopt it, as a person',
    registered: o.registered ?? 'device 254:0, inode 100',
    found: o.found === undefined ? 'device 254:0, inode 200' : o.found,
    seenAt: o.seenAt ?? '2025-03-01T10:00:00Z',
  };
}

function b(extra: Partial<WorkspaceInfo> = {}): WorkspaceInfo {
  const base = workspace({ id: 'b', name: 'B', rootPath: '/projects/b' });
  return { ...base, security: { ...base.security, tier: 'strict', network: 'none' }, ...extra };
}

test('a pending change asks: "Workspace B\'s .orchflow/workspace.json lowers its tier strict → standard." with Apply and Keep current policy', () => {
  const prompt = pendingPolicyPrompt(b({ pendingPolicy: pending() }));
  assert.deepEqual(prompt, {
    kind: 'policy',
    workspaceId: 'b',
    key: 'b:policy:0123456789abcdef',
    message: "Workspace B's .orchflow/workspace.json lowers its tier strict → standard.",
    actions: ['Apply', 'Keep current policy'],
    fingerprint: '0123456789abcdef',
  });
  const several = pendingPolicyPrompt(b({ pendingPolicy: pending({ changes: ['lowers its tier strict → standard', 'adds curl to allowed_commands'] }) }));
  assert.equal(several?.message, "Workspace B's .orchflow/workspace.json lowers its tier strict → standard; adds curl to allowed_commands.");
  assert.equal(pendingPolicyPrompt(b()), undefined);
  assert.equal(pendingPolicyPrompt(b({ pendingPolicy: pending({ rejectedAt: '2025-03-01T10:05:00Z', rejectedBy: 'vscode 1.99.0' }) })), undefined, 'a kept-out change asks no more');
});

test('a replaced root tells what happened and offers Adopt Folder; a missing one only the audit log', () => {
  const prompt = rootProblemPrompt(b({ rootProblem: replaced() }));
  assert.equal(prompt?.kind, 'root');
  assert.match(prompt?.message ?? '', /^Workspace B: root replaced: the folder at \/projects\/b is not the one registered \(device:inode changed\);/);
  assert.match(prompt?.message ?? '', /Nothing is launched in it, and its last policy holds\.$/);
  assert.deepEqual(prompt?.actions, [RootActions.Adopt, RootActions.ShowAuditLog]);
  const missing = rootProblemPrompt(b({ rootProblem: replaced({ kind: 'missing', message: 'root missing: /projects/b does not exist; …', found: null }) }));
  assert.deepEqual(missing?.actions, [RootActions.ShowAuditLog]);
  assert.equal(rootProblemPrompt(b()), undefined);
});

test('each prompt is shown once per window, again only when it comes back or changes', () => {
  const tracker = new PromptTracker();
  const first = tracker.next([b({ pendingPolicy: pending() }), workspace({ id: 'other' })]);
  assert.deepEqual(first.map((p) => p.key), ['b:policy:0123456789abcdef']);
  assert.deepEqual(tracker.next([b({ pendingPolicy: pending() })]), [], 'the same change again (another notification of it) asks nothing');

  // Another request replaces it: asked again. The root problem comes first.
  const next = tracker.next([b({ pendingPolicy: pending({ fingerprint: 'fedcba9876543210' }), rootProblem: replaced() })]);
  assert.deepEqual(next.map((p) => p.key), ['b:root:replaced:device 254:0, inode 200', 'b:policy:fedcba9876543210']);

  // Answered (gone), then the same change appears again: asked again.
  assert.deepEqual(tracker.next([b()]), []);
  assert.deepEqual(tracker.next([b({ pendingPolicy: pending({ fingerprint: 'fedcba9876543210' }) })]).map((p) => p.key), ['b:policy:fedcba9876543210']);
});

test('the Policy change pending row shows each change, and tells a kept-out one apart', () => {
  const row = pendingPolicyNode(b({ pendingPolicy: pending({ changes: ['lowers its tier strict → standard', 'unhides /srv (removed from restricted_paths)'] }) }));
  assert.ok(row);
  assert.equal(row.label, 'Policy change pending');
  assert.equal(row.description, 'lowers its tier strict → standard; unhides /srv (removed from restricted_paths)');
  assert.equal(row.contextValue, TreeItemContext.PendingPolicy);
  assert.deepEqual(row.icon, { id: 'shield', color: 'problemsWarningIcon.foreground' });
  const tooltip = unescapeMarkdown(row.tooltip);
  assert.match(tooltip, /^\*\*B › Policy change pending\*\*/);
  assert.match(tooltip, /seen 2025-03-01 10:00:00 UTC/);
  assert.match(tooltip, /- unhides \/srv \(removed from restricted_paths\)/);
  assert.match(tooltip, /every launch keeps the policy in force: tier strict, network none/);

  const kept = pendingPolicyNode(b({ pendingPolicy: pending({ rejectedAt: '2025-03-01T10:05:00Z', rejectedBy: 'vscode 1.99.0' }) }));
  assert.equal(kept?.label, 'Policy change kept out');
  assert.equal(kept?.contextValue, `${TreeItemContext.PendingPolicy} ${TreeItemContext.TagRejected}`);
  assert.match(unescapeMarkdown(kept?.tooltip ?? ''), /vscode 1\.99\.0 kept the current policy on 2025-03-01 10:05:00 UTC; it can still be applied/);
  assert.equal(pendingPolicyNode(b()), undefined);
});

test('the Root replaced row, and the workspace row marked by it', () => {
  const ws = b({ rootProblem: replaced() });
  const row = rootProblemNode(ws);
  assert.equal(row?.label, 'Root replaced');
  assert.equal(row?.description, 'another folder is at the path (device 254:0, inode 200); launches refused');
  assert.equal(row?.contextValue, `${TreeItemContext.RootProblem} ${TreeItemContext.TagReplaced}`);
  assert.equal(rootProblemNode(b({ rootProblem: replaced({ kind: 'missing', found: null }) }))?.label, 'Root missing');

  const node = workspaceNode(ws, undefined, new Set());
  assert.equal(node.description, 'node · b · root replaced');
  assert.deepEqual(node.icon, { id: 'error', color: 'problemsErrorIcon.foreground' });
  assert.match(node.contextValue, /\brootReplaced\b/);
  assert.match(unescapeMarkdown(node.tooltip), /root replaced: the folder at \/projects\/b is not the one registered/);

  const waiting = workspaceNode(b({ pendingPolicy: pending() }), undefined, new Set());
  assert.equal(waiting.description, 'node · b · policy change pending');
  assert.match(waiting.contextValue, /\bpolicyPending\b/);
  const kept = workspaceNode(b({ pendingPolicy: pending({ rejectedAt: '2025-03-01T10:05:00Z' }) }), undefined, new Set());
  assert.equal(kept.description, 'node · b');
  assert.doesNotMatch(kept.contextValue, /\bpolicyPending\b/);
});

test('Apply and Adopt from a row ask first, with what changes; decisions are reported in the daemon\'s words', () => {
  assert.deepEqual(applyQuestion(b({ pendingPolicy: pending() })), {
    message: 'Apply the weaker policy of workspace B?',
    detail: 'Its .orchflow/workspace.json lowers its tier strict → standard. Processes already running keep the isolation they started with.',
    button: PolicyActions.Apply,
  });
  assert.equal(applyQuestion(b()), undefined);
  const adopt = adoptQuestion(b({ rootProblem: replaced() }));
  assert.equal(adopt?.message, 'Adopt the folder now at /projects/b as the root of workspace B?');
  assert.match(adopt?.detail ?? '', /registered: device 254:0, inode 100; found: device 254:0, inode 200/);
  assert.equal(adopt?.button, RootActions.Adopt);
  assert.equal(adoptQuestion(b({ rootProblem: replaced({ kind: 'missing', found: null }) })), undefined, 'nothing to adopt');
  assert.equal(decisionMessage(b(), true), 'Kept the current policy of B (tier strict).');
  assert.match(decisionMessage(b(), false), /^Applied the policy of B: standard: enforced by the daemon/);
});

// ---- The menus match the rows ----

interface MenuEntry {
  command: string;
  when?: string;
  group?: string;
}

const menus = (JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: { menus: Record<string, MenuEntry[]> } }).contributes
  .menus['view/item/context'];

function offered(command: string, contextValue: string, inline = false): boolean {
  return menus.some((m) => {
    const match = /viewItem =~ \/(.*)\/(\w*)/.exec(m.when ?? '');
    return m.command === command && match !== null && (m.group ?? '').startsWith('inline') === inline && new RegExp(match[1], match[2]).test(contextValue);
  });
}

test('Apply and Keep are offered on the pending row (Keep not once kept) and on its workspace; Adopt only where a folder replaced the root', () => {
  const waiting = pendingPolicyNode(b({ pendingPolicy: pending() }))?.contextValue ?? '';
  const kept = pendingPolicyNode(b({ pendingPolicy: pending({ rejectedAt: '2025-03-01T10:05:00Z' }) }))?.contextValue ?? '';
  const swapped = rootProblemNode(b({ rootProblem: replaced() }))?.contextValue ?? '';
  const missing = rootProblemNode(b({ rootProblem: replaced({ kind: 'missing', found: null }) }))?.contextValue ?? '';
  const plain = workspaceNode(b(), undefined, new Set()).contextValue;
  const expected: [string, string, boolean, boolean][] = [
    // row, command, in the context menu, inline
    [waiting, Commands.ApplyPolicyChange, true, true],
    [waiting, Commands.KeepCurrentPolicy, true, true],
    [kept, Commands.ApplyPolicyChange, true, true],
    [kept, Commands.KeepCurrentPolicy, false, false],
    [swapped, Commands.AdoptWorkspaceRoot, true, true],
    [missing, Commands.AdoptWorkspaceRoot, false, false],
    [workspaceNode(b({ pendingPolicy: pending() }), undefined, new Set()).contextValue, Commands.ApplyPolicyChange, true, false],
    [workspaceNode(b({ pendingPolicy: pending() }), undefined, new Set()).contextValue, Commands.KeepCurrentPolicy, true, false],
    [workspaceNode(b({ rootProblem: replaced() }), undefined, new Set()).contextValue, Commands.AdoptWorkspaceRoot, true, false],
    [plain, Commands.ApplyPolicyChange, false, false],
    [plain, Commands.KeepCurrentPolicy, false, false],
    [plain, Commands.AdoptWorkspaceRoot, false, false],
  ];
  for (const [row, command, menu, inline] of expected) {
    assert.equal(offered(command, row), menu, `${command} in the menu of "${row}"`);
    assert.equal(offered(command, row, true), inline, `${command} inline on "${row}"`);
  }
  // The workspace's own actions stay off these rows.
  for (const command of [Commands.SwitchWorkspace, Commands.DeleteWorkspace, Commands.OpenWorkspaceConfig]) {
    assert.ok(!offered(command, waiting) && !offered(command, swapped), command);
  }
});
