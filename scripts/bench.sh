#!/usr/bin/env bash
# Runs the benchmarks on this machine and rewrites their sections of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-server.sh
for b in bench/foundation.mjs bench/terminals.mjs bench/agents.mjs bench/memory.mjs bench/isolation.mjs ${BENCH_EXTRA:-}; do
  echo "== $b"
  node "$b"
done
