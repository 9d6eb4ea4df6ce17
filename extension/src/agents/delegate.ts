// Delegate Tasks: several `workspace: task` lines in one document, one agent per line. This module reads and
// checks the lines; nothing is spawned unless every line is good (commands.ts spawns).
//
//   shop: add a health check endpoint
//   cli [codex]: make --help list the subcommands
//   # a comment, and blank lines, are ignored
//
// The workspace is matched by id, name or namespace, ignoring case; `[type]` picks the agent type, otherwise
// the default one (`orchflow.agents.defaultType`).
// This module must not import 'vscode'.
import { Limits, type AgentTypeInfo, type WorkspaceInfo } from '../protocol/generated';

/** The daemon refuses longer tasks. */
export const MaxTaskChars = Limits.AgentTaskMaxChars;

/** What an agent type may be called, as the configs name them. */
const TypeNamePattern = new RegExp(Limits.AgentTypeNamePattern);

export interface DelegateTask {
  /** 1-based, as editors number lines. */
  readonly line: number;
  readonly workspaceId: string;
  readonly workspaceName: string;
  /** Undefined: the default type. */
  readonly type: string | undefined;
  readonly task: string;
}

export interface DelegateProblem {
  /** 1-based. */
  readonly line: number;
  /** 1-based start column of the part that is wrong, and its length (for editor diagnostics). */
  readonly column: number;
  readonly length: number;
  readonly message: string;
}

export interface DelegateParse {
  readonly tasks: DelegateTask[];
  readonly problems: DelegateProblem[];
}

/** `workspace [type]: task`; the workspace part holds no colon or brackets. */
const LinePattern = /^(\s*)([^:[\]]*?)\s*(?:\[([^\]]*)\])?\s*:(.*)$/;

const CommentPrefix = '#';

/** "shop-api (Shop API, shop)": how a workspace is named in messages, with every name a line may use. */
export function workspaceNames(w: Pick<WorkspaceInfo, 'id' | 'name' | 'namespace'>): string {
  const others = [w.name, w.namespace].filter((n, i, all) => n !== w.id && all.indexOf(n) === i);
  return others.length > 0 ? `${w.id} (${others.join(', ')})` : w.id;
}

/**
 * The workspaces a name means: the one whose id it is, else every one whose name or namespace it is (ignoring
 * case). More than one is ambiguous; the caller says so.
 */
export function matchWorkspaces(name: string, workspaces: readonly WorkspaceInfo[]): WorkspaceInfo[] {
  const want = name.trim().toLowerCase();
  const byId = workspaces.filter((w) => w.id.toLowerCase() === want);
  if (byId.length > 0) {
    return byId;
  }
  return workspaces.filter((w) => w.name.toLowerCase() === want || w.namespace.toLowerCase() === want);
}

function knownList(workspaces: readonly WorkspaceInfo[]): string {
  return workspaces.length === 0 ? 'there is no workspace yet' : `known: ${workspaces.map(workspaceNames).join('; ')}`;
}

/** Reads every line; each bad one is a problem with its line and column, and is left out of the tasks. */
export function parseDelegateText(text: string, workspaces: readonly WorkspaceInfo[]): DelegateParse {
  const tasks: DelegateTask[] = [];
  const problems: DelegateProblem[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(CommentPrefix)) {
      return;
    }
    const problem = (column: number, length: number, message: string): void => {
      problems.push({ line, column, length: Math.max(1, length), message: `Line ${line}: ${message}` });
    };
    const m = LinePattern.exec(raw);
    if (!m) {
      problem(raw.length - raw.trimStart().length + 1, trimmed.length, 'expected "workspace: task" (or "workspace [type]: task").');
      return;
    }
    const [, indent, name, type, rest] = m;
    const nameColumn = indent.length + 1;
    if (name.trim() === '') {
      problem(nameColumn, 1, 'the workspace is missing before the colon; write "workspace: task".');
      return;
    }
    const typeColumn = raw.indexOf('[') + 2;
    if (type !== undefined && type.trim() === '') {
      problem(typeColumn - 1, 2, 'the agent type between [ ] is empty; write a type such as [claude], or leave out the brackets.');
      return;
    }
    if (type !== undefined && !TypeNamePattern.test(type.trim())) {
      problem(typeColumn, type.length, `"${type.trim()}" is not an agent type name (up to 64 letters, digits, "-" and "_").`);
      return;
    }
    const task = rest.trim();
    const taskColumn = raw.length - rest.length + (rest.length - rest.trimStart().length) + 1;
    if (task === '') {
      problem(raw.indexOf(':') + 1, 1, 'the task after the colon is empty.');
      return;
    }
    if (task.length > MaxTaskChars) {
      problem(taskColumn, task.length, `the task has ${task.length} characters; at most ${MaxTaskChars} are accepted. Put the details in a file and name the file.`);
      return;
    }
    const matches = matchWorkspaces(name, workspaces);
    if (matches.length === 0) {
      problem(nameColumn, name.length, `there is no workspace "${name.trim()}" (${knownList(workspaces)}).`);
      return;
    }
    if (matches.length > 1) {
      problem(nameColumn, name.length, `"${name.trim()}" names several workspaces (${matches.map(workspaceNames).join('; ')}); use the id.`);
      return;
    }
    tasks.push({ line, workspaceId: matches[0].id, workspaceName: matches[0].name, type: type?.trim(), task });
  });
  return { tasks, problems };
}

/**
 * Checks each task's agent type against the types in force in its workspace (from orchflow/agent/types): it
 * must exist and be installed. `typesOf` returns undefined for a workspace whose types are unknown.
 */
export function checkTypes(
  tasks: readonly DelegateTask[],
  typesOf: (workspaceId: string) => readonly AgentTypeInfo[] | undefined,
  defaultType: string,
): DelegateProblem[] {
  const problems: DelegateProblem[] = [];
  for (const t of tasks) {
    const name = t.type ?? defaultType;
    const types = typesOf(t.workspaceId);
    if (!types) {
      continue;
    }
    const type = types.find((x) => x.name === name);
    const implicit = t.type === undefined ? ' (the default type, setting orchflow.agents.defaultType)' : '';
    if (!type) {
      problems.push({
        line: t.line,
        column: 1,
        length: 1,
        message: `Line ${t.line}: ${t.workspaceName} has no agent type "${name}"${implicit}; its types are ${types.map((x) => x.name).join(', ')}.`,
      });
    } else if (!type.installed) {
      problems.push({
        line: t.line,
        column: 1,
        length: 1,
        message: `Line ${t.line}: ${type.installHint ?? `${type.displayName} is not installed for ${t.workspaceName}.`}${implicit ? ` It is${implicit}; name another with [type].` : ''}`,
      });
    }
  }
  return problems;
}

/** The first line of a Delegate Tasks document; the rest explains the format. */
export const DelegateHeader = '# Orchflow: Delegate Tasks';

/** The document Delegate Tasks opens: the format, the workspaces and types one may name, then room for lines. */
export function delegateTemplate(workspaces: readonly WorkspaceInfo[], activeId: string | undefined, defaultType: string, typeNames: readonly string[]): string {
  const ordered = [...workspaces].sort((a, b) => Number(b.id === activeId) - Number(a.id === activeId) || a.name.localeCompare(b.name));
  const example = ordered[0]?.namespace ?? 'shop';
  return [
    DelegateHeader,
    '# One agent per line: "workspace: task", or "workspace [type]: task" to choose the agent type.',
    `# Lines without [type] use "${defaultType}" (setting orchflow.agents.defaultType). Lines starting with # are ignored.`,
    `# Workspaces (id, name or namespace): ${ordered.map(workspaceNames).join('; ') || 'none yet'}`,
    `# Agent types: ${typeNames.join(', ') || 'see "Orchflow: Spawn Agent..."'}`,
    '# "Delegate" above the first line (or the rocket in the title bar) checks every line, then starts one agent per line.',
    `# Example: ${example}: add tests for the parser`,
    '',
    '',
  ].join('\n');
}

/** "3 tasks", "1 task". */
export function taskCount(n: number): string {
  return `${n} task${n === 1 ? '' : 's'}`;
}
