// The ground of the `agents` tier, bench/agents.mjs and the screen recorder: a fresh Orchflow home and a fresh user
// HOME, the pinned real CLIs of tests/agents/node_modules on PATH, a stand-in of each vendor's API, the real daemon
// (dist/server/orchflow), and a workspace whose .orchflow/workspace.json passes the vendors' variables through.
//
// The user's side is what a person who uses these CLIs would have, and nothing Orchflow-specific: the vendor's key and
// base URL exported in the shell the daemon starts from, Gemini's chosen auth type in ~/.gemini/settings.json, Codex's
// provider in ~/.codex/config.toml (a local endpoint without WebSockets), Claude's first-run onboarding done.
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, chmodSync, chownSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { anthropicStandin, openaiStandin, geminiStandin } from './standins.mjs';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const orchflow = path.join(repo, 'dist', 'server', 'orchflow');
export const cliBin = path.join(here, 'node_modules', '.bin');

export const VENDORS = {
  claude: { pkg: '@anthropic-ai/claude-code', standin: anthropicStandin },
  codex: { pkg: '@openai/codex', standin: openaiStandin },
  gemini: { pkg: '@google/gemini-cli', standin: geminiStandin },
};

/** The pinned version actually installed, for failure messages ("claude 2.1.337"). */
export function installedVersion(type) {
  const file = path.join(here, 'node_modules', ...VENDORS[type].pkg.split('/'), 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : 'not installed';
}

/** Why the tier cannot run here, or null. */
export function missingPrerequisite() {
  if (!existsSync(orchflow)) return `the daemon is not built (${orchflow}); run scripts/build-server.sh`;
  for (const [type, v] of Object.entries(VENDORS)) {
    if (!existsSync(path.join(cliBin, type))) return `${v.pkg} is not installed in tests/agents; run scripts/setup.sh`;
  }
  return null;
}

/**
 * A fresh user: HOME, Orchflow home, project folder and the vendors' own settings a user of them would have.
 * @param {{user?: {uid:number, gid:number, name:string}, label?: string}} opts a user to run as (root when absent)
 */
export async function makeWorld({ user = null, label = 'agents', types = Object.keys(VENDORS) } = {}) {
  const root = mkdtempSync(path.join('/var/tmp', `of-${label}-`));
  const home = path.join(root, 'home');
  const orchHome = path.join(root, 'orchflow');
  const project = path.join(root, 'project');
  for (const d of [home, orchHome, project, path.join(project, '.orchflow')]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(project, 'README.md'), '# demo project\n');

  const standins = {};
  for (const t of types) standins[t] = await VENDORS[t].standin();

  const env = {
    PATH: `${cliBin}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    USER: user?.name ?? 'root',
    LOGNAME: user?.name ?? 'root',
    LANG: 'C.UTF-8',
    SHELL: '/bin/sh',
    ORCHFLOW_HOME: orchHome,
  };
  const passthrough = [];
  if (standins.claude) {
    Object.assign(env, { ANTHROPIC_API_KEY: 'sk-ant-api03-standin-key-0123456789', ANTHROPIC_BASE_URL: standins.claude.url });
    passthrough.push('ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL');
    // A user who has run Claude Code before: onboarding done, and this key approved at its "use this API key?" question.
    writeFileSync(path.join(home, '.claude.json'), JSON.stringify({
      hasCompletedOnboarding: true,
      lastOnboardingVersion: installedVersion('claude'),
      customApiKeyResponses: { approved: ['standin-key-0123456789'.slice(-20)], rejected: [] },
    }));
  }
  if (standins.codex) {
    Object.assign(env, { OPENAI_API_KEY: 'sk-standin-openai-key' });
    passthrough.push('OPENAI_API_KEY');
    mkdirSync(path.join(home, '.codex'));
    writeFileSync(path.join(home, '.codex', 'config.toml'), [
      'model_provider = "standin"',
      'model = "gpt-standin"',
      '[model_providers.standin]',
      'name = "Local stand-in of the OpenAI Responses API"',
      `base_url = "${standins.codex.url}"`,
      'env_key = "OPENAI_API_KEY"',
      'wire_api = "responses"',
      'supports_websockets = false',
      '',
    ].join('\n'));
  }
  if (standins.gemini) {
    Object.assign(env, { GEMINI_API_KEY: 'standin-gemini-key', GOOGLE_GEMINI_BASE_URL: standins.gemini.url });
    passthrough.push('GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL');
    mkdirSync(path.join(home, '.gemini'));
    writeFileSync(path.join(home, '.gemini', 'settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }, null, 2));
  }
  writeFileSync(path.join(project, '.orchflow', 'workspace.json'), JSON.stringify({ workspace: { id: 'demo', agents: { env_passthrough: passthrough } } }, null, 2));
  if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, root]);

  const world = {
    root, home, orchHome, project, env, standins, user,
    run(args, { check = true } = {}) {
      const r = spawnSync(orchflow, args, { env, encoding: 'utf8', cwd: project, ...(user ? { uid: user.uid, gid: user.gid } : {}) });
      if (check && r.status !== 0) throw new Error(`orchflow ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
      return r;
    },
    json(args) { return JSON.parse(this.run([...args, '--json']).stdout); },
    async close() {
      spawnSync(orchflow, ['daemon', 'stop'], { env, ...(user ? { uid: user.uid, gid: user.gid } : {}) });
      for (const s of Object.values(standins)) await s.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  world.run(['daemon', 'start']);
  world.run(['workspace', 'create', project]);
  return world;
}

/** Trusts the project folder the way each vendor keeps a person's "yes, trust this folder". */
export function trustProject(world, type) {
  const { home, project } = world;
  if (type === 'gemini') {
    writeFileSync(path.join(home, '.gemini', 'trustedFolders.json'), JSON.stringify({ [project]: 'TRUST_FOLDER' }, null, 2));
  } else if (type === 'claude') {
    const file = path.join(home, '.claude.json');
    const c = JSON.parse(readFileSync(file, 'utf8'));
    c.projects = { ...(c.projects ?? {}), [project]: { hasTrustDialogAccepted: true, allowedTools: [] } };
    writeFileSync(file, JSON.stringify(c));
  } else if (type === 'codex') {
    const file = path.join(home, '.codex', 'config.toml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n[projects."${project}"]\ntrust_level = "trusted"\n`);
  }
  if (world.user) spawnSync('chown', ['-R', `${world.user.uid}:${world.user.gid}`, home]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `orchflow agent show ID` until pred(info) or the deadline; returns the last info. */
export async function waitAgent(world, id, pred, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let info;
  while (Date.now() < deadline) {
    info = world.json(['agent', 'show', id]);
    if (pred(info)) return info;
    await sleep(250);
  }
  return info;
}

/** An unprivileged user for the run, created once (useradd); null with the reason when that cannot be done. */
export function unprivilegedUser(name = 'orchflow-agents-test') {
  if (process.getuid?.() !== 0) return { user: null, reason: 'the tests do not run as root, so they cannot create a user' };
  let r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) {
    r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
    if (r.status !== 0) return { user: null, reason: `useradd ${name} failed: ${r.stderr.trim()}` };
  }
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { user: { uid, gid, name }, reason: null };
}

export { chmodSync, chownSync };
