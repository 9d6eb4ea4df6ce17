// Memory benchmarks (issue: segmented memory per workspace): store and get latency through the daemon's RPC, search
// over 100,000 entries, batch import rate, and the daemon's memory with 20 segments open. Each figure is set beside a
// peer measured in the same run: a store against the disk's own write+fsync (a store is acknowledged only once on
// disk), a get against the cheapest read RPC, an import against single stores. Figures, not pass/fail.
// Run with `npm run bench` (or `node bench/memory.mjs`); it rewrites its section of docs/benchmarks.md.
// Environment: BENCH_STORES (default 300), BENCH_GETS (default 2000), BENCH_SEARCH_ENTRIES (default 100000),
// BENCH_SEGMENTS (default 20), BENCH_SEGMENT_ENTRIES (default 1000).
import { closeSync, fsyncSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import {
  stats, ms, fmt, freshHome, cleanup, cli, connect, rssBytes, daemonPid, writeSection, machine, path, os, sleep,
} from './lib.mjs';

const STORES = Number(process.env.BENCH_STORES ?? 300);
const GETS = Number(process.env.BENCH_GETS ?? 2000);
const SEARCH_ENTRIES = Number(process.env.BENCH_SEARCH_ENTRIES ?? 100_000);
const SEGMENTS = Number(process.env.BENCH_SEGMENTS ?? 20);
const SEGMENT_ENTRIES = Number(process.env.BENCH_SEGMENT_ENTRIES ?? 1000);
const SEARCH_RUNS = 20;

const rows = [];
const note = (metric, value, detail = '') => { rows.push([metric, value, detail]); console.log(`${metric}: ${value} ${detail}`); };
const now = () => process.hrtime.bigint();
const latency = (s) => `p50 ${fmt(s.p50, 3)} ms, p99 ${fmt(s.p99, 3)} ms`;

async function timed(n, fn) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await fn(i);
    samples.push(ms(now() - t0));
  }
  return stats(samples);
}

/** JSON lines of n entries like agents write them: a path-like key, a sentence or two, a tag or two. */
function lines(n, prefix = 'notes') {
  const words = ['parser', 'migration', 'endpoint', 'cache', 'retry', 'schema', 'token', 'build', 'flaky', 'index'];
  const out = [];
  for (let i = 0; i < n; i++) {
    const w = words[i % words.length];
    out.push(JSON.stringify({
      key: `${prefix}/${w}/${String(i).padStart(6, '0')}`,
      value: `Entry ${i}: the ${w} work of step ${i % 97} is done; see commit ${(i * 2654435761 % 2 ** 32).toString(16)} for details.`,
      tags: i % 10 === 0 ? [w, 'decision'] : [w],
    }));
  }
  return `${out.join('\n')}\n`;
}

const h = freshHome('mem');
const configDir = path.join(h.home, 'config');
mkdirSync(configDir, { recursive: true });
writeFileSync(path.join(configDir, 'orchflow.toml'), `[orchestration]\nmax_workspaces = ${SEGMENTS + 5}\n`);
cli(h, ['daemon', 'start']);
const pid = daemonPid(h);
const c = await connect(h);
const projects = path.join(h.root, 'projects');

async function workspace(id, capacityEntries = 10_000) {
  const dir = path.join(projects, id);
  mkdirSync(path.join(dir, '.orchflow'), { recursive: true });
  writeFileSync(path.join(dir, '.orchflow', 'workspace.json'), JSON.stringify({ workspace: { memory: { capacity_entries: capacityEntries } } }));
  await c.conn.sendRequest('orchflow/workspace/create', { path: dir, id });
  return id;
}

// 1. Store latency, against the disk's own write+fsync in the same directory.
const ws = await workspace('bench');
for (let i = 0; i < 20; i++) await c.conn.sendRequest('orchflow/memory/set', { workspaceId: ws, key: `warm/${i}`, value: 'x' });
const store = await timed(STORES, (i) => c.conn.sendRequest('orchflow/memory/set', {
  workspaceId: ws, key: `store/${i}`, value: `value ${i} `.repeat(10), tags: ['bench'],
}));
const fsyncFile = path.join(h.home, 'data', 'memory', 'fsync-peer.bin');
const fd = openSync(fsyncFile, 'w');
const block = Buffer.alloc(8192, 1);
const fsync = await timed(STORES, () => { writeSync(fd, block); fsyncSync(fd); });
closeSync(fd);
note('Store (memory/set), client round trip', latency(store), `(n=${store.n}; acknowledged only once LiteDB's log is written and fsynced: ≈ ${fmt(1000 / store.p50, 0)} stores/s one at a time)`);
note('Peer: write 8 KiB + fsync, same directory', latency(fsync), `(the floor of any durable write here; store/fsync p50 ratio ${fmt(store.p50 / fsync.p50, 1)}×)`);

// 2. Get latency, against the cheapest read RPC.
const getStats = await timed(GETS, (i) => c.conn.sendRequest('orchflow/memory/get', { workspaceId: ws, key: `store/${i % STORES}` }));
const show = await timed(GETS, () => c.conn.sendRequest('orchflow/workspace/show', { id: ws }));
note('Get (memory/get), client round trip', latency(getStats), `(n=${getStats.n}; the access time and count are kept in memory and written within a second)`);
note('Peer: orchflow/workspace/show round trip', latency(show), `(RPC floor; get/show p50 ratio ${fmt(getStats.p50 / show.p50, 1)}×)`);

// 3. Batch import of SEARCH_ENTRIES entries (one transaction), against single stores.
const big = await workspace('big', SEARCH_ENTRIES * 2);
const importFile = path.join(h.root, 'import.jsonl');
writeFileSync(importFile, lines(SEARCH_ENTRIES));
const t0 = now();
const imported = await c.conn.sendRequest('orchflow/memory/import', { workspaceId: big, path: importFile });
const importMs = ms(now() - t0);
const rate = imported.imported / (importMs / 1000);
note(`Batch import of ${imported.imported.toLocaleString('en')} entries (one file, one transaction)`, `${fmt(importMs / 1000, 2)} s, ${fmt(rate, 0)} entries/s`,
  `(parse, validate, write and fsync; ${fmt(rate / (1000 / store.p50), 0)}× the one-at-a-time store rate above)`);

// 4. Search over those entries: indexed prefix and tag, full-scan text, the first 100 matches in key order.
const search = async (label, params, detail) => {
  await c.conn.sendRequest('orchflow/memory/search', { workspaceId: big, ...params });
  let matched = 0;
  const s = await timed(SEARCH_RUNS, async () => { matched = (await c.conn.sendRequest('orchflow/memory/search', { workspaceId: big, ...params })).entries.length; });
  note(`Search ${SEARCH_ENTRIES.toLocaleString('en')} entries: ${label}`, latency(s), `(n=${s.n}, ${matched} returned; ${detail})`);
};
await search('key prefix', { prefix: 'notes/cache/0001', limit: 100 }, 'key index');
await search('tag', { tags: ['decision'], limit: 100 }, `tag index, ${SEARCH_ENTRIES / 10} entries carry the tag`);
await search('text, common', { text: 'migration work', limit: 100 }, 'scan in key order, stops at 100 matches');
await search('text, rare', { text: 'step 96 is done; see commit 5', limit: 100 }, 'scan of every entry: the worst case');
await search('text, none', { text: 'no such text anywhere', limit: 100 }, 'scan of every entry, nothing matches');
const bigStats = (await c.conn.sendRequest('orchflow/memory/stats', { workspaceId: big })).segments[0];
note(`Segment of ${SEARCH_ENTRIES.toLocaleString('en')} entries on disk`, `${fmt(bigStats.fileBytes / 2 ** 20, 1)} MiB`, `(${fmt(bigStats.bytes / 2 ** 20, 1)} MiB of keys, values and tags; LiteDB file and its log)`);

// 5. Daemon memory with SEGMENTS segments open, each with SEGMENT_ENTRIES entries: measured in a fresh daemon so
// the big segment above does not count.
c.close();
cli(h, ['daemon', 'stop']);
const h2 = freshHome('mem20');
mkdirSync(path.join(h2.home, 'config'), { recursive: true });
writeFileSync(path.join(h2.home, 'config', 'orchflow.toml'), `[orchestration]\nmax_workspaces = ${SEGMENTS + 5}\n`);
cli(h2, ['daemon', 'start']);
const pid2 = daemonPid(h2);
const c2 = await connect(h2);
const ids = [];
for (let i = 0; i < SEGMENTS - 1; i++) {
  const dir = path.join(h2.root, 'projects', `s${i}`);
  mkdirSync(dir, { recursive: true });
  ids.push((await c2.conn.sendRequest('orchflow/workspace/create', { path: dir, id: `s${i}` })).id);
}
ids.push('default');
await sleep(500);
const rssNone = rssBytes(pid2);
const segFile = path.join(h2.root, 'segment.jsonl');
writeFileSync(segFile, lines(SEGMENT_ENTRIES));
const tOpen = now();
for (const id of ids) await c2.conn.sendRequest('orchflow/memory/import', { workspaceId: id, path: segFile });
const openMs = ms(now() - tOpen);
for (const id of ids) await c2.conn.sendRequest('orchflow/memory/get', { workspaceId: id, key: 'notes/parser/000000' });
await sleep(1500);
const rssOpen = rssBytes(pid2);
const all = (await c2.conn.sendRequest('orchflow/memory/stats', {})).segments;
note(`Daemon RSS, ${ids.length} workspaces: no segment open → ${ids.length} open`, `${fmt(rssNone / 2 ** 20, 1)} → ${fmt(rssOpen / 2 ** 20, 1)} MiB`,
  `(≈ ${fmt((rssOpen - rssNone) / ids.length / 2 ** 20, 2)} MiB per segment of ${SEGMENT_ENTRIES} entries; ${all.filter((s) => s.entries === SEGMENT_ENTRIES).length} segments verified full; opening and importing all took ${fmt(openMs, 0)} ms)`);
c2.close();
cleanup(h2);
cleanup(h);

const load = os.loadavg()[0];
const table = ['| Metric | Result | Detail |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
writeSection('memory', `## Memory: segments per workspace

Command: \`npm run bench\` (runs \`node bench/memory.mjs\`), ${new Date().toISOString().slice(0, 10)}, on ${machine()}; load average ${fmt(load, 2)} at the end.
Client: a Node process speaking the protocol over the daemon's socket (vscode-jsonrpc), one request at a time.
A store is acknowledged only after LiteDB's write-ahead log is written and fsynced, so its latency is bounded by the disk's fsync (the peer row); reads never touch the disk.

${table}`);
