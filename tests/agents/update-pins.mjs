// Moves the pins of the real agent CLIs (tests/agents/package.json) to the latest versions npm serves, and updates
// package-lock.json and node_modules to match: node tests/agents/update-pins.mjs [--check]
// With --check it only prints what would change and exits 1 when a pin is behind. Afterwards run the `agents` tier
// (ORCHFLOW_TEST_TIERS=agents npm test); a failing run names the CLI version that broke. If a built-in type's minimum
// version (server/Orchflow.Server/Agents/AgentTypes.cs) should follow, move it there too.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.join(here, 'package.json');
const pkg = JSON.parse(readFileSync(file, 'utf8'));
const check = process.argv.includes('--check');
const npm = (args) => execFileSync('npm', args, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

let behind = 0;
for (const [name, pinned] of Object.entries(pkg.dependencies)) {
  const latest = npm(['view', name, 'version']);
  if (latest === pinned) {
    console.log(`${name}: ${pinned} (latest)`);
    continue;
  }
  behind++;
  console.log(`${name}: ${pinned} -> ${latest}`);
  pkg.dependencies[name] = latest;
}

if (check) process.exit(behind ? 1 : 0);
if (behind) {
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here, stdio: 'inherit' });
  console.log('Pins moved; run the agents tier: ORCHFLOW_TEST_TIERS=agents npm test');
}
