// Shared helpers for Orchflow's benchmarks: timing statistics, a fresh ORCHFLOW_HOME, the CLI and a JSON-RPC client.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as rpc from 'vscode-jsonrpc/node.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const orchflow = path.join(repo, 'dist', 'server', 'orchflow');

export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), min: s[0], max: s[s.length - 1] };
}

export const ms = (ns) => Number(ns) / 1e6;
export const sleep = (t) => new Promise((r) => setTimeout(r, t));

/**
 * Waits until `predicate` (it may return a promise) holds, looking again every `pollMs` (0: on the next timer tick,
 * for figures where a millisecond counts); throws "timed out waiting for <what>" after `timeoutMs`.
 */
export async function until(predicate, timeoutMs, what, pollMs = 1) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}
export const fmt = (v, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

export function freshHome(label) {
  const root = mkdtempSync(path.join(os.tmpdir(), `ofb-${label}-`));
  const home = path.join(root, 'h');
  mkdirSync(home);
  return { root, home, env: { ...process.env, ORCHFLOW_HOME: home } };
}

export function cleanup(h) {
  spawnSync(orchflow, ['daemon', 'stop'], { env: h.env });
  rmSync(h.root, { recursive: true, force: true });
}

export function cli(h, args) {
  const r = spawnSync(orchflow, args, { env: h.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`orchflow ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function socketPath(h) {
  return path.join(h.home, 'run', 'orchflow.sock');
}

/** Connects a vscode-jsonrpc client (the same library VS Code uses) to the daemon and initializes it. */
export async function connect(h) {
  const sock = net.connect(socketPath(h));
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const conn = rpc.createMessageConnection(new rpc.SocketMessageReader(sock), new rpc.SocketMessageWriter(sock));
  conn.listen();
  await conn.sendRequest('initialize', { processId: process.pid, clientInfo: { name: 'bench' } });
  await conn.sendNotification('initialized', {});
  return { conn, close: () => { conn.dispose(); sock.destroy(); } };
}

export function rssBytes(pid) {
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return Number(statm[1]) * 4096;
}

export function daemonPid(h) {
  return Number(readFileSync(path.join(h.home, 'run', 'daemon.pid'), 'utf8').trim());
}

export function makeProjects(h, n) {
  const dirs = [];
  for (let i = 0; i < n; i++) {
    const d = path.join(h.root, 'projects', `p${String(i).padStart(3, '0')}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'package.json'), '{}');
    dirs.push(d);
  }
  return dirs;
}

export function timeCommand(cmd, args, env, runs) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    samples.push(ms(t1 - t0));
  }
  return stats(samples);
}

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export { spawn, spawnSync, existsSync, path, os };

/** Replaces the section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in docs/benchmarks.md. */
export function writeSection(name, markdown) {
  const file = path.join(repo, 'docs', 'benchmarks.md');
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
}

export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, node ${process.version}`;
}
