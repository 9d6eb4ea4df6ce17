// Records the real CLIs' dialogs as Orchflow sees them, for the screen model's ground truth:
//   node tests/agents/record-screens.mjs [claude|codex|gemini ...]
// Each CLI is spawned interactively through the real daemon in a folder it does not trust, against its stand-in API,
// which scripts a shell command and a file edit (each needs approval) with a delay per model request (the CLI shows
// its working spinner meanwhile). Whenever the output goes quiet, the agent's own log (Orchflow's raw byte stream of
// its terminal) is cut there: if the visible text holds a question, the bytes so far are saved as
// tests/Orchflow.Server.Tests/Fixtures/screens/<vendor>-<dialog>.bin and the default choice is taken with Enter.
// Labels go to screens.json: file, vendor, dialog kind, the byte offset where the dialog is fully drawn, the question
// and the choices as shown, and the segments during which only the working spinner was drawn. The question and
// choices are read from the bytes with a rough escape stripper, so check a new recording by eye before committing it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { makeWorld, repo, installedVersion, sleep } from './harness.mjs';
import { anthropicStandin, openaiStandin, geminiStandin } from './standins.mjs';

const outDir = path.join(repo, 'tests', 'Orchflow.Server.Tests', 'Fixtures', 'screens');
const QUIET_MS = 1500;
const DELAY_MS = 2500;

const done = { tool: 'report_status', args: { status: 'done', message: 'Recorded.' } };
const plans = {
  claude: {
    standin: anthropicStandin,
    steps: (project) => [
      { vendorTool: ['Bash'], args: { command: 'touch made-by-agent.txt', description: 'Create an empty file' } },
      { vendorTool: ['Write'], args: { file_path: path.join(project, 'NOTES.md'), content: 'Written by the agent.\n' } },
      done,
    ],
  },
  codex: {
    standin: openaiStandin,
    steps: () => [
      { vendorTool: ['exec_command'], args: { cmd: 'touch made-by-agent.txt', sandbox_permissions: 'require_escalated', justification: 'Create an empty file in the project?' } },
      done,
    ],
  },
  gemini: {
    standin: geminiStandin,
    steps: (project) => [
      { vendorTool: ['run_shell_command'], args: { command: 'touch made-by-agent.txt', description: 'Create an empty file' } },
      { vendorTool: ['write_file'], args: { file_path: path.join(project, 'NOTES.md'), content: 'Written by the agent.\n' } },
      done,
    ],
  },
};

/** Visible text of a byte stream, roughly: escape sequences dropped, cursor moves to a new row become newlines. */
export function roughText(buf) {
  return buf.toString('utf8')
    .replace(/\x1b\[[0-9;?]*[Hf]/g, '\n')
    .replace(/\x1b\[\d*[ABE]/g, '\n')
    .replace(/\x1b\[\d*[GC]/g, ' ')
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-9;?<>=!]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\x1b[=>78cDEHMNOZ]/g, '')
    .replace(/\r/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

function classify(vendor, text) {
  if (/trust/i.test(text) && /(folder|directory|files)/i.test(text)) return 'trust';
  if (/proceed\?/i.test(text)) return 'proceed';
  // Approval before edit: a command's approval may quote its reason ("Create an empty file in the project?").
  if (/(allow execution|run this command|would you like to run|allow .*command)/i.test(text)) return 'tool-approval';
  if (/(make this edit|create .*\?|apply this change|edit confirmation|overwrite)/i.test(text)) return 'edit';
  if (/^\s*[❯›>●]?\s*1[.)]\s+\S/m.test(text)) return 'menu';
  return null;
}

const clean = (l) => l.replace(/[│╭╮╰╯─┃]/g, '').replace(/\s+/g, ' ').trim();

function question(text) {
  const lines = text.split('\n').map(clean).filter(Boolean);
  const first = lines.findIndex((l) => /^(?:[❯›>●]\s*)?\d[.)]\s|^[❯›]\s/.test(l));
  const above = first > 0 ? lines.slice(0, first) : lines;
  for (const l of [...above].reverse()) {
    const m = l.match(/(?:[^.!?]|\.(?=\S))*\?/g)?.filter((q) => q.trim().length > 8);
    if (m?.length) return m.at(-1).trim();
  }
  return null;
}

/** The options of the last menu drawn: from its first option (numbered, or under the ❯ pointer) to its footer. */
function choices(text) {
  const lines = text.split('\n').map(clean).filter(Boolean);
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) if (/^(?:[❯›>●]\s*)?1[.)]\s/.test(lines[i]) || /^[❯›]\s/.test(lines[i])) { start = i; if (/1[.)]\s/.test(lines[i])) break; }
  if (start < 0) return [];
  const out = [];
  const numbered = /^(?:[❯›>●]\s*)?1[.)]\s/.test(lines[start]);
  for (const l of lines.slice(start)) {
    if (/\b(enter|esc|tab) (to|continue|back)\b|^press /i.test(l)) break;
    const option = l.replace(/^[❯›>●]\s*/, '');
    // A numbered option that wraps continues on lines without a number.
    if (numbered && out.length && !/^\d[.)]\s/.test(option)) out[out.length - 1] += ` ${option}`;
    else out.push(option);
  }
  return out.slice(0, 8);
}

async function record(vendor) {
  const labels = [];
  const working = [];
  const plan = plans[vendor];
  let logPath = null;
  const size = () => (logPath && existsSync(logPath) ? statSync(logPath).size : 0);
  let pending = 0;
  const world = await makeWorld({ types: [vendor], label: `screens-${vendor}` });
  // Replace the default stand-in by one with the dialog script and a delay (the spinner's time).
  await world.standins[vendor].close();
  let openAt = 0;
  const standin = await plan.standin({
    steps: plan.steps(world.project),
    delayMs: DELAY_MS,
    onRequest: (what) => {
      if (what === 'start') { if (pending++ === 0) openAt = size(); }
      else if (--pending === 0 && logPath) working.push([openAt, size()]);
    },
  });
  world.standins[vendor] = standin;
  // Point the user's config at the new stand-in.
  const rewire = { claude: ['ANTHROPIC_BASE_URL', standin.url], gemini: ['GOOGLE_GEMINI_BASE_URL', standin.url] }[vendor];
  if (rewire) world.env[rewire[0]] = rewire[1];
  if (vendor === 'codex') {
    const file = path.join(world.home, '.codex', 'config.toml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/base_url = ".*"/, `base_url = "${standin.url}"`));
  }
  if (vendor === 'claude') {
    // Claude Code's default permission mode here is "auto" (no approvals); a user who wants to be asked sets "default".
    mkdirSync(path.join(world.home, '.claude'), { recursive: true });
    writeFileSync(path.join(world.home, '.claude', 'settings.json'), JSON.stringify({ permissions: { defaultMode: 'default' } }));
  }
  // Codex CLI asks its trust question only in a folder under version control, where people run it.
  if (vendor === 'codex') execFileSync('git', ['init', '-q', world.project]);
  world.run(['daemon', 'stop']);
  world.run(['daemon', 'start']);
  try {
    const a = world.json(['agent', 'spawn', '--workspace', 'demo', '--type', vendor, 'Create a file and a note, then report done.']);
    logPath = a.logPath;
    let last = null;
    let quietSince = Date.now();
    let answered = 0;
    const deadline = Date.now() + 120_000;
    let lastDialogAt = 0;
    while (Date.now() < deadline && answered < 8) {
      await sleep(200);
      const now = size();
      // Quiet is judged on what the screen shows, digits aside: Codex CLI redraws a running clock every second, so its
      // byte stream never goes quiet while a dialog waits.
      const shown = world.run(['terminal', 'read', a.terminalId, '--screen'], { check: false }).stdout.replace(/\d+/g, '#');
      if (shown !== last) { last = shown; quietSince = Date.now(); continue; }
      if (Date.now() - quietSince < QUIET_MS || pending > 0 || now === lastDialogAt) continue;
      const bytes = readFileSync(logPath);
      const tail = bytes.subarray(Math.max(lastDialogAt, bytes.length - 6000));
      const text = roughText(tail);
      const kind = classify(vendor, text);
      const info = world.json(['agent', 'show', a.id]);
      if (!kind) {
        if (info.doneAt || !['running', 'needsInput', 'starting'].includes(info.state)) {
          console.log(`${vendor}: no dialog; the agent is ${info.state}${info.doneAt ? ', done' : ''}: ${info.lastLine ?? ''}`);
          writeFileSync(path.join(outDir, `${vendor}-session.bin`), bytes);
          labels.push({
            file: `${vendor}-session.bin`, vendor, version: installedVersion(vendor), dialog: null, drawnAt: null, question: null, choices: [],
            working: working.filter(([s, e]) => e > s && e <= bytes.length).map(([start, end]) => ({ start, end })),
            note: 'The whole run after the last dialog: no question on screen at its end (the agent reported done).',
          });
          break;
        }
        lastDialogAt = now;
        continue;
      }
      const n = labels.filter((l) => l.dialog === kind).length;
      const file = `${vendor}-${kind}${n ? `-${n + 1}` : ''}.bin`;
      writeFileSync(path.join(outDir, file), bytes);
      labels.push({
        file, vendor, version: installedVersion(vendor), dialog: kind, drawnAt: bytes.length,
        question: question(text), choices: choices(text),
        working: working.filter(([s, e]) => e > s && e <= bytes.length).map(([start, end]) => ({ start, end })),
      });
      console.log(`${vendor}: ${file} (${kind}) at ${bytes.length}: ${labels.at(-1).question} | ${labels.at(-1).choices.join(' | ')}`);
      lastDialogAt = now;
      // Claude's trust dialog has "No, exit" first: the recording takes "Yes" below it.
      world.run(['terminal', 'send', a.terminalId, vendor === 'claude' && kind === 'trust' ? '\\e[B\\r' : '\\r']);
      answered++;
    }
    if (!labels.some((l) => l.dialog === null) && logPath && existsSync(logPath)) {
      const bytes = readFileSync(logPath);
      writeFileSync(path.join(outDir, `${vendor}-session.bin`), bytes);
      labels.push({
        file: `${vendor}-session.bin`, vendor, version: installedVersion(vendor), dialog: null, drawnAt: null, question: null, choices: [],
        working: working.filter(([s, e]) => e > s && e <= bytes.length).map(([start, end]) => ({ start, end })),
        note: 'The whole recorded run, ending without a question on screen.',
      });
      console.log(`${vendor}: model requests: ${JSON.stringify(standin.requests.map((r) => r.decision ? `${r.decision.kind}:${r.decision.name ?? r.decision.reason}` : r.path))}`);
    }
  } finally {
    await world.close();
  }
  return labels;
}

mkdirSync(outDir, { recursive: true });
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(plans);
const indexFile = path.join(outDir, 'screens.json');
const index = existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')) : { about: '', screens: [] };
index.about = 'Raw byte streams of real agent CLIs (from Orchflow agent logs) cut where a dialog is fully drawn (drawnAt = the file length); '
  + 'working = byte ranges drawn while a model request was open (spinner only, never a question). Recorded by tests/agents/record-screens.mjs.';
for (const vendor of wanted) {
  const labels = await record(vendor);
  index.screens = [...index.screens.filter((s) => s.vendor !== vendor), ...labels];
  writeFileSync(indexFile, `${JSON.stringify(index, null, 2)}\n`);
}
