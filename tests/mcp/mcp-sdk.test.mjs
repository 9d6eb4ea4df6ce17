// Orchflow's MCP server driven by an MCP client that nobody here wrote: the official TypeScript SDK
// (@modelcontextprotocol/sdk). The server is started exactly as a built-in agent's CLI starts it: from the MCP
// configuration Orchflow wrote for a spawned agent (command and args, which name the agent's token file and the
// daemon's MCP socket), with the SDK's own minimal environment.
// Run: node --test tests/mcp/ (after scripts/build-server.sh; the `mcp` test tier does both).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { freshHome, cleanup, cli, connect } from '../../bench/lib.mjs';

const h = freshHome('mcp');
let daemon;
let agent;
let config;
let client;

const agentDir = (ws, id) => path.join(h.home, 'data', 'agents', ws, `${id}.mcp`);

async function startClient(server, name = 'mcp-sdk-test') {
  const c = new Client({ name, version: '1.0.0' });
  await c.connect(new StdioClientTransport({ command: server.command, args: server.args, stderr: 'ignore' }));
  return c;
}

const call = (c, name, args = {}) => c.callTool({ name, arguments: args });
const text = (result) => result.content.map((b) => b.text).join('\n');

before(async () => {
  cli(h, ['daemon', 'start']);
  for (const id of ['alpha', 'beta']) {
    const dir = path.join(h.root, 'projects', id);
    mkdirSync(dir, { recursive: true });
    cli(h, ['workspace', 'create', dir, '--id', id]);
  }
  daemon = await connect(h);
  agent = await daemon.conn.sendRequest('orchflow/agent/spawn', { workspaceId: 'alpha', type: 'command', task: 'exec sleep 600' });
  config = JSON.parse(readFileSync(path.join(agentDir('alpha', agent.id), 'mcp.json'), 'utf8')).mcpServers.orchflow;
  client = await startClient(config);
});

after(async () => {
  await client?.close();
  daemon?.close();
  cleanup(h);
});

test('lists the tools', async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['memory_delete', 'memory_get', 'memory_search', 'memory_store', 'report_status', 'workspace_info']);
  const store = tools.find((t) => t.name === 'memory_store');
  assert.deepEqual(store.inputSchema.required, ['key', 'value']);
  assert.equal(client.getServerVersion().name, 'orchflow');
});

test('the client\'s first list of the tools tells the daemon that the agent is connected', async () => {
  let shown = await daemon.conn.sendRequest('orchflow/agent/show', { id: agent.id });
  for (const deadline = Date.now() + 30_000; !shown.mcpConnectedAt && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 50));
    shown = await daemon.conn.sendRequest('orchflow/agent/show', { id: agent.id });
  }
  assert.ok(shown.mcpConnectedAt, 'the daemon did not record the MCP connection');
  await client.listTools();
  const { events } = await daemon.conn.sendRequest('orchflow/agent/events', { workspaceId: 'alpha' });
  const connected = events.filter((e) => e.agentId === agent.id && e.kind === 'mcpConnected');
  assert.equal(connected.length, 1, JSON.stringify(connected));
  assert.equal(connected[0].by, 'mcp-sdk-test');
  assert.match(connected[0].message, new RegExp(`^${agent.id}: mcp-sdk-test connected to Orchflow's MCP server \\(\\d+\\.\\d s after its start\\)$`));
});

test('stores, gets, searches and deletes in the agent\'s own workspace', async () => {
  const stored = await call(client, 'memory_store', { key: 'decisions/db', value: { engine: 'postgres' }, tags: ['decision'] });
  assert.equal(stored.isError, undefined, text(stored));
  assert.equal(stored.structuredContent.entry.kind, 'json');
  assert.equal(stored.structuredContent.entry.provenance.kind, 'agent');
  assert.equal(stored.structuredContent.entry.provenance.agentId, agent.id);
  assert.equal(stored.structuredContent.entry.provenance.tool, 'mcp-sdk-test');

  const got = await call(client, 'memory_get', { key: 'decisions/db' });
  assert.deepEqual(JSON.parse(got.structuredContent.entry.value), { engine: 'postgres' });
  assert.equal(got.structuredContent.entry.accessCount, 1);

  await call(client, 'memory_store', { key: 'notes/todo', value: 'write the migration' });
  const found = await call(client, 'memory_search', { tags: ['decision'] });
  assert.deepEqual(found.structuredContent.entries.map((e) => e.key), ['decisions/db']);
  const byText = await call(client, 'memory_search', { text: 'MIGRATION' });
  assert.deepEqual(byText.structuredContent.entries.map((e) => e.key), ['notes/todo']);

  // A person sees what the agent wrote, through the CLI.
  assert.equal(cli(h, ['memory', 'get', 'notes/todo', '--workspace', 'alpha']), 'write the migration\n');

  const deleted = await call(client, 'memory_delete', { key: 'notes/todo' });
  assert.equal(deleted.structuredContent.deleted, true);
});

test('cannot reach another workspace by any argument', async () => {
  cli(h, ['memory', 'set', 'decisions/db', 'B-secret', '--workspace', 'beta']);
  cli(h, ['memory', 'set', 'beta-only', 'B-secret', '--workspace', 'beta']);

  const own = await call(client, 'memory_get', { key: 'decisions/db' });
  assert.notEqual(own.structuredContent.entry.value, 'B-secret');
  for (const key of ['beta-only', 'beta:beta-only', '../beta/beta-only', 'beta/beta-only']) {
    const r = await call(client, 'memory_get', { key });
    assert.equal(r.isError, true, `${key} must not be found`);
    assert.equal(r.structuredContent, undefined);
    assert.match(text(r), /^Not found: this workspace's memory has no entry/);
  }
  const all = await call(client, 'memory_search', { text: 'B-secret', limit: 10000 });
  assert.deepEqual(all.structuredContent.entries, []);

  const smuggled = await call(client, 'memory_get', { key: 'beta-only', workspace: 'beta' });
  assert.equal(smuggled.isError, true);
  assert.match(text(smuggled), /no argument 'workspace'/);
  const smuggledStore = await call(client, 'memory_store', { key: 'x', value: 'y', workspaceId: 'beta' });
  assert.equal(smuggledStore.isError, true);
  assert.doesNotMatch(cli(h, ['memory', 'list', '--workspace', 'beta']), /\bx\b/);
});

test('every property of every tool schema has a type (MCP Inspector --strict)', async () => {
  const { tools } = await client.listTools();
  for (const t of tools) {
    assert.equal(t.inputSchema.type, 'object', t.name);
    for (const [name, prop] of Object.entries(t.inputSchema.properties ?? {})) {
      assert.ok(prop.type, `${t.name}.${name} has no type`);
    }
  }
  const store = tools.find((t) => t.name === 'memory_store').inputSchema.properties;
  assert.equal(store.value.type, 'string');
  assert.equal(store.as_json.type, 'boolean');
});

test('memory_store stores JSON text as JSON with as_json, and refuses invalid JSON text', async () => {
  const stored = await call(client, 'memory_store', { key: 'notes/json', value: '{"port": 8080}', as_json: true });
  assert.equal(stored.isError, undefined, text(stored));
  assert.equal(stored.structuredContent.entry.kind, 'json');
  const bad = await call(client, 'memory_store', { key: 'notes/json', value: '{port', as_json: true });
  assert.equal(bad.isError, true);
  assert.match(text(bad), /must be valid JSON text/);
});

test('accepts the arguments clients add on their own (Gemini\'s wait_for_previous), and only those', async () => {
  const info = await call(client, 'workspace_info', { wait_for_previous: true });
  assert.equal(info.isError, undefined, text(info));
  const stored = await call(client, 'memory_store', { key: 'notes/wait', value: 'x', wait_for_previous: false });
  assert.equal(stored.isError, undefined, text(stored));
  const other = await call(client, 'workspace_info', { wait_for_next: true });
  assert.equal(other.isError, true);
  assert.match(text(other), /workspace_info has no argument 'wait_for_next'/);
});

test('result texts are readable JSON, without \\u escapes', async () => {
  await call(client, 'memory_store', { key: 'notes/quote', value: 'say "hi" & <b>bye</b> é' });
  const got = await call(client, 'memory_get', { key: 'notes/quote' });
  const body = text(got);
  assert.doesNotMatch(body, /\\u[0-9a-fA-F]{4}/);
  assert.match(body, /say \\"hi\\" & <b>bye<\/b> é/);
  assert.equal(JSON.parse(body).entry.value, 'say "hi" & <b>bye</b> é');
});

test('workspace_info shows the own workspace and its agents only', async () => {
  const info = await call(client, 'workspace_info');
  assert.equal(info.structuredContent.workspace.id, 'alpha');
  assert.deepEqual(info.structuredContent.agents.map((a) => a.id), [agent.id]);
});

test('report_status feeds the agent\'s state', async () => {
  const asked = await call(client, 'report_status', { status: 'needs_input', message: 'Which port?' });
  assert.equal(asked.structuredContent.state, 'needsInput', text(asked));
  let shown = await daemon.conn.sendRequest('orchflow/agent/show', { id: agent.id });
  assert.equal(shown.state, 'needsInput');
  assert.equal(shown.message, 'Asks: Which port?');

  await call(client, 'report_status', { status: 'done', message: 'migration written' });
  shown = await daemon.conn.sendRequest('orchflow/agent/show', { id: agent.id });
  assert.ok(shown.doneAt);
  const events = await daemon.conn.sendRequest('orchflow/agent/events', { workspaceId: 'alpha' });
  assert.ok(events.events.some((e) => e.kind === 'done' && e.by === 'mcp-sdk-test'));
});

test('a forged token lists tools but every call is refused', async () => {
  const forged = path.join(h.root, 'forged-token');
  writeFileSync(forged, 'ofmcp_forged-token-of-nobody');
  const args = [...config.args];
  args[args.indexOf('--token-file') + 1] = forged;
  const other = await startClient({ command: config.command, args });
  try {
    assert.equal((await other.listTools()).tools.length, 6);
    const r = await call(other, 'memory_get', { key: 'decisions/db' });
    assert.equal(r.isError, true);
    assert.match(text(r), /not valid/);
  } finally {
    await other.close();
  }
});

test('the token is refused on the next call once the agent is stopped', async () => {
  await daemon.conn.sendRequest('orchflow/agent/stop', { id: agent.id });
  const r = await call(client, 'memory_get', { key: 'decisions/db' });
  assert.equal(r.isError, true);
  assert.match(text(r), /not valid/);
  assert.equal(existsSync(agentDir('alpha', agent.id)), false);
});
