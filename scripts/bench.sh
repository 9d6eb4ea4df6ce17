#!/usr/bin/env bash
# Runs the benchmarks on this machine and rewrites their sections of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-server.sh
# node-pty, the peer of bench/terminals.mjs, lives in bench/package.json so that npm start and npm test never build it.
# It has no prebuilt binary for Linux: node-gyp compiles it against the running Node's own headers (Debian's nodejs
# ships them under /usr/include/node), because node-gyp's default is to download headers, and only the package
# registries are reachable here. Without the headers the benchmark says node-pty was not measured, and why.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [[ ! -f bench/node_modules/.package-lock.json || bench/package-lock.json -nt bench/node_modules/.package-lock.json ]]; then
  if [[ -f "$node_prefix/include/node/common.gypi" ]]; then
    (cd bench && npm_config_nodedir="$node_prefix" npm ci --no-audit --no-fund --loglevel=error) \
      || echo "bench: node-pty could not be built; the terminals benchmark will say so" >&2
  else
    echo "bench: no Node headers under $node_prefix/include/node; node-pty is not built and not measured" >&2
  fi
fi
for b in bench/foundation.mjs bench/terminals.mjs bench/agents.mjs bench/dialogs.mjs bench/memory.mjs bench/isolation.mjs ${BENCH_EXTRA:-}; do
  echo "== $b"
  node "$b"
done
