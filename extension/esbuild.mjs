#!/usr/bin/env node
// Bundles the extension into dist/extension.js (CommonJS for VS Code's extension host, 'vscode' left external).
// With --tests, bundles each extension/test/*.test.ts into out/extension-tests/ for `node --test` instead.
// With --watch, rebuilds on change (used by the "Run Extension" launch configuration's watch task).
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = new Set(process.argv.slice(2));
const production = args.has('--production');

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  sourcemap: true,
  logLevel: 'info',
};

/** @type {esbuild.BuildOptions} */
const options = args.has('--tests')
  ? {
      ...common,
      entryPoints: readdirSync(path.join(here, 'test'))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => path.join(here, 'test', f)),
      outdir: path.join(root, 'out', 'extension-tests'),
      outExtension: { '.js': '.cjs' },
      logLevel: 'warning',
    }
  : {
      ...common,
      entryPoints: [path.join(here, 'src', 'extension.ts')],
      outfile: path.join(root, 'dist', 'extension.js'),
      minify: production,
      sourcesContent: false,
    };

if (args.has('--tests')) {
  // Start from an empty folder so a deleted test file does not keep running from an old bundle.
  rmSync(options.outdir, { recursive: true, force: true });
}

if (args.has('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('esbuild: watching for changes');
} else {
  await esbuild.build(options);
}
