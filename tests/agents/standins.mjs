// Local stand-ins of the three vendors' model APIs, on 127.0.0.1 only, for the `agents` test tier and bench/agents.mjs.
// Each one speaks its vendor's wire format, streaming as the real CLI expects: Anthropic Messages (SSE), OpenAI
// Responses (SSE) and Gemini generateContent / streamGenerateContent (SSE with ?alt=sse). Each scripts the same
// conversation against Orchflow's MCP tools (see SCRIPT), records every request, and reports token usage the way its
// vendor does.
//
// The conversation is stateless on the server's side: the next step is the number of tool results already in the
// request's history, so retries, side requests (titles, summaries, quota probes) and restarts never shift the script.
// A request that carries no Orchflow tool gets a plain text answer and is recorded as such (`withoutOrchflowTools`),
// which is how a test sees that the MCP server was not connected before a turn.
import http from 'node:http';

/** The scripted conversation: every Orchflow MCP tool once, one bad call, then report_status done. */
export const SCRIPT = [
  { tool: 'memory_store', args: { key: 'agents-e2e/greeting', value: 'hello from the stand-in', tags: ['e2e'] } },
  { tool: 'memory_get', args: { key: 'agents-e2e/greeting' } },
  { tool: 'memory_search', args: { prefix: 'agents-e2e/' } },
  { tool: 'workspace_info', args: {} },
  { tool: 'memory_delete', args: { key: 'agents-e2e/greeting' } },
  // The bad call: an argument no tool takes (an attempt to name another workspace); Orchflow must refuse it.
  { tool: 'memory_get', args: { key: 'agents-e2e/greeting', workspace: 'someone-else' }, bad: true },
  { tool: 'report_status', args: { status: 'done', message: 'Scripted run finished: every Orchflow tool called.' } },
];

export const FINAL_TEXT = 'All Orchflow tools were called; the task is done.';

/** A custom step list for dialog recording (e.g. a shell command that needs approval). */
export function makeRecorder() {
  const requests = [];
  return {
    requests,
    record(entry) { requests.push({ at: Date.now(), ...entry }); },
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

/**
 * One vendor's stand-in server on 127.0.0.1: reads each request's body (and its JSON, when it is JSON), delays and
 * reports model requests (POSTs; the CLI shows its working spinner meanwhile), not probes, and hands the request to
 * the vendor's `handler({ req, res, body, json, url, rec })`. Resolves to what tests use: vendor, port, base url
 * (`path` appended), the recorded requests and close().
 */
async function serve({ vendor, path, delayMs, onRequest }, handler) {
  const rec = makeRecorder();
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.method === 'POST') {
      onRequest?.('start', req.url);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      res.on('finish', () => onRequest?.('end', req.url));
    }
    let json = null;
    try { json = body ? JSON.parse(body) : null; } catch { /* recorded raw */ }
    await handler({ req, res, body, json, url: new URL(req.url, 'http://x'), rec });
  });
  const port = await listen(server);
  return { vendor, port, url: `http://127.0.0.1:${port}${path}`, requests: rec.requests, close: () => close(server) };
}

/** Picks the vendor's name of an Orchflow tool from the request's tool list: `mcp__orchflow__memory_store`, etc. */
function orchflowToolName(names, tool) {
  return names.find((n) => n === tool || n.endsWith(`__${tool}`) || n.endsWith(`::${tool}`) || n.endsWith(`_${tool}`) && n.includes('orchflow'))
    ?? names.find((n) => n.endsWith(tool));
}

/**
 * Decides the answer for one model request, whatever the vendor.
 * @param {string[]} toolNames the tools the request offers
 * @param {number} done the tool results already in its history
 * @param {object[]} steps the script
 * @returns {{kind:'call', name:string, args:object, step:number} | {kind:'text', text:string, reason:string}}
 */
function decide(toolNames, done, steps) {
  const hasOrchflow = steps.some((s) => s.tool && orchflowToolName(toolNames, s.tool));
  if (done >= steps.length) return { kind: 'text', text: FINAL_TEXT, reason: 'finished' };
  const step = steps[done];
  if (step.tool) {
    if (!hasOrchflow) return { kind: 'text', text: 'I have no Orchflow tools in this session.', reason: 'no-orchflow-tools' };
    const name = orchflowToolName(toolNames, step.tool);
    if (!name) return { kind: 'text', text: `There is no ${step.tool} tool.`, reason: 'no-such-tool' };
    return { kind: 'call', name, args: step.args, step: done };
  }
  // A vendor tool (shell, edit): named by the caller for each vendor.
  const name = step.vendorTool && toolNames.find((n) => step.vendorTool.includes(n));
  if (!name) return { kind: 'text', text: `There is no tool among ${step.vendorTool?.join(', ')}.`, reason: 'no-such-tool' };
  return { kind: 'call', name, args: step.args, step: done };
}

// ---------------------------------------------------------------------------------------------------------------
// Anthropic Messages API (Claude Code: ANTHROPIC_BASE_URL=http://127.0.0.1:PORT, key in ANTHROPIC_API_KEY).

export async function anthropicStandin({ steps = SCRIPT, delayMs = 0, onRequest = null } = {}) {
  let seq = 0;
  return serve({ vendor: 'anthropic', path: '', delayMs, onRequest }, async ({ req, res, body, json, url, rec }) => {
    if (req.method === 'POST' && url.pathname === '/v1/messages/count_tokens') {
      rec.record({ method: req.method, path: url.pathname, kind: 'count_tokens' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: Math.ceil(body.length / 4) }));
      return;
    }
    if (!(req.method === 'POST' && url.pathname === '/v1/messages')) {
      rec.record({ method: req.method, path: url.pathname, kind: 'other' });
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `The stand-in has no ${req.method} ${url.pathname}` } }));
      return;
    }
    // Claude Code defers MCP tools: their names come in a system message and the model fetches their schemas with
    // ToolSearch before calling them, as a real model does. Loaded tools carry no defer_loading.
    const tools = (json?.tools ?? []).filter((t) => t.name && !t.defer_loading).map((t) => t.name);
    const deferred = [...new Set(body.match(/mcp__orchflow__[a-z_]+/g) ?? [])].filter((n) => !tools.includes(n));
    const messages = json?.messages ?? [];
    const blocks = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []));
    const searchIds = new Set(blocks.filter((b) => b.type === 'tool_use' && b.name === 'ToolSearch').map((b) => b.id));
    const results = blocks.filter((b) => b.type === 'tool_result' && !searchIds.has(b.tool_use_id));
    // Claude Code's side requests (the session's title, on a small model) offer no tool at all, where every turn of the
    // agent offers its own tools at least: answered plainly, and never taken for a turn without Orchflow's tools.
    const side = (json?.tools ?? []).length === 0;
    let d = side ? { kind: 'text', text: 'Stand-in session', reason: 'side' } : decide([...tools, ...deferred], results.length, steps);
    if (d.kind === 'call' && deferred.includes(d.name) && searchIds.size === 0 && tools.includes('ToolSearch')) {
      d = { kind: 'call', name: 'ToolSearch', args: { query: `select:${deferred.join(',')}`, max_results: deferred.length }, step: 'tool-search' };
    }
    rec.record({
      method: req.method, path: url.pathname, kind: 'messages', model: json?.model, stream: !!json?.stream, tools, deferred, side,
      toolResults: results.map((r) => ({ isError: !!r.is_error, text: textOf(r.content) })), decision: d,
      withoutOrchflowTools: d.reason === 'no-orchflow-tools',
    });
    const id = `msg_standin_${++seq}`;
    const usage = { input_tokens: 100 + Math.ceil(body.length / 40), output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const outputTokens = d.kind === 'call' ? 20 + JSON.stringify(d.args).length : 12;
    const content = d.kind === 'call'
      ? [{ type: 'tool_use', id: `toolu_standin_${seq}`, name: d.name, input: d.args }]
      : [{ type: 'text', text: d.text }];
    const stopReason = d.kind === 'call' ? 'tool_use' : 'end_turn';
    if (!json?.stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${seq}` });
      res.end(JSON.stringify({ id, type: 'message', role: 'assistant', model: json?.model ?? 'claude-standin', content, stop_reason: stopReason, stop_sequence: null, usage: { ...usage, output_tokens: outputTokens } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${seq}` });
    const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    send('message_start', { message: { id, type: 'message', role: 'assistant', model: json?.model ?? 'claude-standin', content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
    if (d.kind === 'call') {
      send('content_block_start', { index: 0, content_block: { type: 'tool_use', id: content[0].id, name: d.name, input: {} } });
      const args = JSON.stringify(d.args);
      const half = Math.floor(args.length / 2);
      send('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(0, half) } });
      send('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(half) } });
    } else {
      send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: d.text } });
    }
    send('content_block_stop', { index: 0 });
    send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } });
    send('message_stop', {});
    res.end();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAI Responses API (Codex CLI: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1, key in OPENAI_API_KEY).

export async function openaiStandin({ steps = SCRIPT, delayMs = 0, onRequest = null } = {}) {
  let seq = 0;
  return serve({ vendor: 'openai', path: '/v1', delayMs, onRequest }, async ({ req, res, body, json, url, rec }) => {
    if (req.method === 'GET' && url.pathname.endsWith('/models')) {
      rec.record({ method: req.method, path: url.pathname, kind: 'models' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [], models: [] }));
      return;
    }
    if (!(req.method === 'POST' && url.pathname.endsWith('/responses'))) {
      rec.record({ method: req.method, path: url.pathname, kind: 'other' });
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `The stand-in has no ${req.method} ${url.pathname}`, type: 'invalid_request_error' } }));
      return;
    }
    const tools = (json?.tools ?? []).flatMap((t) => toolNamesOfOpenAi(t));
    if (process.env.STANDIN_DUMP) (await import('node:fs')).writeFileSync(`${process.env.STANDIN_DUMP}-${seq + 1}.json`, body);
    const input = Array.isArray(json?.input) ? json.input : [];
    const outputs = input.filter((i) => i.type === 'function_call_output' || i.type === 'custom_tool_call_output' || i.type === 'mcp_tool_call_output');
    const d = decide(tools, outputs.length, steps);
    rec.record({
      method: req.method, path: url.pathname, kind: 'responses', model: json?.model, stream: !!json?.stream, tools,
      toolResults: outputs.map((o) => ({ text: typeof o.output === 'string' ? o.output : JSON.stringify(o.output) })), decision: d,
      withoutOrchflowTools: d.reason === 'no-orchflow-tools',
    });
    const id = `resp_standin_${++seq}`;
    const inputTokens = 100 + Math.ceil(body.length / 40);
    const [namespace, fn] = d.kind === 'call' && d.name.includes('::') ? d.name.split('::') : [undefined, d.name];
    const item = d.kind === 'call'
      ? { type: 'function_call', id: `fc_standin_${seq}`, call_id: `call_standin_${seq}`, ...(namespace ? { namespace } : {}), name: fn, arguments: JSON.stringify(d.args), status: 'completed' }
      : { type: 'message', id: `msg_standin_${seq}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: d.text, annotations: [] }] };
    const outputTokens = d.kind === 'call' ? 20 + item.arguments.length : 12;
    const usage = { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + outputTokens };
    const response = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), status: 'completed', model: json?.model ?? 'gpt-standin', output: [item], usage };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_${seq}` });
    let n = 0;
    const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n++, ...data })}\n\n`);
    send('response.created', { response: { ...response, status: 'in_progress', output: [], usage: null } });
    send('response.in_progress', { response: { ...response, status: 'in_progress', output: [], usage: null } });
    if (d.kind === 'call') {
      send('response.output_item.added', { output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } });
      send('response.function_call_arguments.delta', { output_index: 0, item_id: item.id, delta: item.arguments });
      send('response.function_call_arguments.done', { output_index: 0, item_id: item.id, arguments: item.arguments });
    } else {
      send('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
      send('response.content_part.added', { output_index: 0, item_id: item.id, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
      send('response.output_text.delta', { output_index: 0, item_id: item.id, content_index: 0, delta: d.text });
      send('response.output_text.done', { output_index: 0, item_id: item.id, content_index: 0, text: d.text });
      send('response.content_part.done', { output_index: 0, item_id: item.id, content_index: 0, part: item.content[0] });
    }
    send('response.output_item.done', { output_index: 0, item });
    send('response.completed', { response });
    res.end();
  });
}

function toolNamesOfOpenAi(t) {
  if (t.type === 'function' || t.type === 'custom') return [t.name ?? t.function?.name].filter(Boolean);
  // A namespace (Codex puts each MCP server's tools in one): called as {namespace, name}; kept here as "ns::name".
  if (t.type === 'namespace' && Array.isArray(t.tools)) return t.tools.flatMap((x) => toolNamesOfOpenAi(x).map((n) => `${t.name}::${n}`));
  return t.name ? [t.name] : [];
}

// ---------------------------------------------------------------------------------------------------------------
// Gemini API (Gemini CLI: GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT, key in GEMINI_API_KEY).

export async function geminiStandin({ steps = SCRIPT, delayMs = 0, onRequest = null } = {}) {
  let seq = 0;
  return serve({ vendor: 'gemini', path: '', delayMs, onRequest }, async ({ req, res, body, json, url, rec }) => {
    const m = /^\/[^/]+\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(url.pathname);
    if (!(req.method === 'POST' && m)) {
      rec.record({ method: req.method, path: url.pathname, kind: 'other' });
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 404, message: `The stand-in has no ${req.method} ${url.pathname}`, status: 'NOT_FOUND' } }));
      return;
    }
    if (m[2] === 'countTokens') {
      rec.record({ method: req.method, path: url.pathname, kind: 'countTokens' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ totalTokens: Math.ceil(body.length / 4) }));
      return;
    }
    const tools = (json?.tools ?? []).flatMap((t) => (t.functionDeclarations ?? []).map((f) => f.name));
    if (process.env.STANDIN_DUMP) (await import('node:fs')).writeFileSync(`${process.env.STANDIN_DUMP}-${seq + 1}.json`, body);
    const contents = json?.contents ?? [];
    const responses = contents.flatMap((c) => c.parts ?? []).filter((p) => p.functionResponse);
    // Gemini CLI's side requests (next-speaker checks, routing, summaries) carry no tools and a JSON schema; answer them plainly.
    const side = tools.length === 0 && json?.generationConfig?.responseMimeType === 'application/json';
    const d = side ? { kind: 'json', text: sideAnswer(json) } : decide(tools, responses.length, steps);
    rec.record({
      method: req.method, path: url.pathname, kind: m[2], model: m[1], tools, side,
      toolResults: responses.map((p) => ({ name: p.functionResponse.name, text: JSON.stringify(p.functionResponse.response) })), decision: d,
      withoutOrchflowTools: d.reason === 'no-orchflow-tools',
    });
    seq++;
    const promptTokens = 100 + Math.ceil(body.length / 40);
    const parts = d.kind === 'call' ? [{ functionCall: { name: d.name, args: d.args } }] : [{ text: d.text }];
    const candidatesTokens = d.kind === 'call' ? 20 + JSON.stringify(d.args).length : 12;
    const payload = {
      candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: promptTokens, candidatesTokenCount: candidatesTokens, totalTokenCount: promptTokens + candidatesTokens },
      modelVersion: m[1],
      responseId: `standin-${seq}`,
    };
    if (m[2] === 'generateContent') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`data: ${JSON.stringify(payload)}\r\n\r\n`);
    res.end();
  });
}

function sideAnswer(json) {
  const schema = json?.generationConfig?.responseJsonSchema ?? json?.generationConfig?.responseSchema;
  const props = schema?.properties ?? {};
  // The next-speaker check: the model has finished its turn, the user speaks next.
  if ('next_speaker' in props) return JSON.stringify({ reasoning: 'The model finished its turn.', next_speaker: 'user' });
  const out = {};
  for (const [k, v] of Object.entries(props)) out[k] = String(v.type).toLowerCase() === 'boolean' ? false : ['number', 'integer'].includes(String(v.type).toLowerCase()) ? 1 : v.enum?.[0] ?? '';
  return JSON.stringify(out);
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((b) => b.text ?? '').join('');
  return '';
}

function close(server) {
  return new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); });
}

/** The scripted tool calls this stand-in answered, and their results, for assertions and failure messages. */
export function transcript(standin) {
  return standin.requests.filter((r) => r.decision).map((r) => ({
    path: r.path, decision: r.decision.kind === 'call' ? `${r.decision.name}#${r.decision.step}` : `text:${r.decision.reason ?? 'side'}`,
    lastResult: r.toolResults?.at(-1)?.text?.slice(0, 200),
  }));
}
