#!/usr/bin/env bash
# `npm test` (and so CI): sets up the machine, then runs every test tier, going on after a failing one.
# Ends with a summary table and, alone on the last line, "N passed, N failed", where N counts individual tests
# reported by the test runners; a check or step that fails without reporting tests (a lint error, a build failure,
# a tier that could not run) counts as one failed test, so the line never says "0 failed" on a failing run.
# Exits non-zero when anything failed.
#
# Tiers, in order (ORCHFLOW_TEST_TIERS=a,b runs a subset):
#   contract   generated TypeScript types and JSON schemas match the C# protocol
#   static     TypeScript typecheck and lint
#   dotnet     build the solution (warnings are errors when CI=true), then its tests, of four tiers: each test class
#              carries exactly one xunit trait Tier (tests/Shared/TierTests.cs checks):
#                unit  in-process, no daemon (the PTY library's own processes count)
#                rpc   client and server joined in-process over in-memory streams
#                e2e   the real daemon and CLI started as processes, over their real sockets
#                slow  the long ones: the 1 GiB flood, the 100 kill -9 runs, the escape and tamper suites, the agent CLI
#              Naming some of unit, rpc, e2e, slow (and not dotnet) builds and runs only those:
#              dotnet test --filter "Tier=unit|Tier=rpc". "unit" also runs the extension tier (its unit tests).
#   extension  the extension's unit tests
#   mcp        `orchflow mcp` driven by the official MCP TypeScript SDK (@modelcontextprotocol/sdk): node --test tests/mcp/
#   agents     the real agent CLIs (Claude Code, Codex CLI, Gemini CLI, pinned in tests/agents/package.json) run by the
#              daemon against local stand-ins of their vendors' APIs: node --test tests/agents/
#   package    build the .vsix (out/orchflow.vsix)
#   vscode     the extension inside a real VS Code (code-server + headless Chromium): node --test tests/vscode/
#
# Logs of every step, TRX files and the summary go to artifacts/test-results/; screenshots and code-server logs of
# the vscode tier to artifacts/screenshots/ and artifacts/logs/.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ORCHFLOW_ROOT"

# npm puts <every folder above the checkout>/node_modules/.bin on PATH, and most of those do not exist. One that does
# not exist under a folder every user may write (/tmp/node_modules/.bin, for a checkout under /tmp) is a name anyone
# could create, so the daemon rightly refuses to vouch for a program found through it (security.allowed_commands),
# and the tests' workspaces, which inherit this PATH, would have every launch refused. The tests run with the PATH
# entries that exist.
existing_path=""
IFS=':' read -r -a path_entries <<<"$PATH"
for entry in "${path_entries[@]}"; do
  [[ -n "$entry" && -d "$entry" ]] && existing_path="${existing_path:+$existing_path:}$entry"
done
export PATH="$existing_path"

all_tiers=(contract static dotnet extension mcp agents package vscode)
dotnet_traits=(unit rpc e2e slow)
requested="${ORCHFLOW_TEST_TIERS:-all}"
declare -A want=() trait=()
IFS=',' read -r -a names <<<"$requested"
for n in "${names[@]}"; do
  n="${n// /}"
  case "$n" in
    all) for t in "${all_tiers[@]}"; do want[$t]=1; done ;;
    unit) trait[unit]=1; want[extension]=1 ;;
    rpc|e2e|slow) trait[$n]=1 ;;
    contract|static|dotnet|extension|mcp|agents|package|vscode) want[$n]=1 ;;
    "") ;;
    *) echo "test: unknown tier '$n' in ORCHFLOW_TEST_TIERS (known: ${all_tiers[*]}, ${dotnet_traits[*]}, all)" >&2; exit 2 ;;
  esac
done

# The dotnet tier runs the traits asked for, or all four; dotnet_filter is empty when it runs them all.
dotnet_run=() dotnet_filter=""
for t in "${dotnet_traits[@]}"; do
  if [[ -n "${want[dotnet]:-}" || -n "${trait[$t]:-}" ]]; then
    dotnet_run+=("$t")
  fi
done
if [[ -z "${want[dotnet]:-}" && ${#dotnet_run[@]} -gt 0 ]]; then
  want[dotnet]=1
  dotnet_filter=$(printf 'Tier=%s|' "${dotnet_run[@]}")
  dotnet_filter=${dotnet_filter%|}
fi

results="$ORCHFLOW_ARTIFACTS/test-results"
rm -rf "$results" "$ORCHFLOW_ARTIFACTS/screenshots" "$ORCHFLOW_ARTIFACTS/logs"
mkdir -p "$results"

rows=()          # "tier|step|result|passed|failed|skipped|seconds"
total_passed=0
total_failed=0
total_skipped=0
t_start=$(now_s)

# counts_from_log LOG: prints "passed failed skipped" summed over the test-runner summaries found in LOG
# (node's test runner in TAP or spec form, mocha, vitest), or nothing when there is none.
counts_from_log() {
  awk '
    { line = $0; sub(/\r$/, "", line) }
    # node --test, TAP reporter ("# pass 3") and spec reporter ("ℹ pass 3"); cancelled tests count as failed.
    match(line, /^(# |ℹ )(pass|fail|cancelled|skipped|todo) [0-9]+$/) {
      n = line; sub(/^.* /, "", n); k = line; sub(/^(# |ℹ )/, "", k); sub(/ .*/, "", k)
      if (k == "pass") p += n; else if (k == "fail" || k == "cancelled") f += n; else s += n
      found = 1; next
    }
    # mocha: "  12 passing (3s)", "  1 failing", "  2 pending"
    match(line, /^ *[0-9]+ (passing|failing|pending)/) {
      split(line, a, " "); if (a[2] ~ /^passing/) p += a[1]; else if (a[2] ~ /^failing/) f += a[1]; else s += a[1]
      found = 1; next
    }
    # vitest: " Tests  1 failed | 12 passed | 2 skipped (15)"
    match(line, /^ *Tests +[0-9]+ (passed|failed|skipped)/) {
      rest = line; sub(/^ *Tests +/, "", rest); sub(/ *\(.*$/, "", rest)
      m = split(rest, parts, / *\| */)
      for (i = 1; i <= m; i++) { split(parts[i], b, " "); if (b[2] == "passed") p += b[1]; else if (b[2] == "failed") f += b[1]; else s += b[1] }
      found = 1; next
    }
    END { if (found) print p + 0, f + 0, s + 0 }
  ' "$1"
}

# counts_from_trx DIR: prints "passed failed skipped" summed over the TRX files in DIR, or nothing when there is none.
counts_from_trx() {
  local files=("$1"/*.trx)
  [[ -e "${files[0]}" ]] || return 0
  # <Counters total="12" executed="12" passed="11" failed="1" error="0" timeout="0" aborted="0" ... notExecuted="0" .../>
  grep -ho '<Counters [^>]*>' "${files[@]}" | awk '
    function attr(name,   r) { r = $0; if (!match(r, name "=\"[0-9]+\"")) return 0; r = substr(r, RSTART, RLENGTH); gsub(/[^0-9]/, "", r); return r + 0 }
    { p += attr("passed"); f += attr("failed") + attr("error") + attr("timeout") + attr("aborted"); s += attr("notExecuted") }
    END { print p + 0, f + 0, s + 0 }'
}

# record TIER STEP RESULT PASSED FAILED SKIPPED SECONDS
record() {
  rows+=("$1|$2|$3|$4|$5|$6|$7")
  total_passed=$((total_passed + $4))
  total_failed=$((total_failed + $5))
  total_skipped=$((total_skipped + $6))
}

# step TIER STEP TIMEOUT COUNTS CMD...: runs CMD, its output shown and kept in artifacts/test-results/<tier>-<step>.log.
# COUNTS is "log" (parse the runner summary from the output), "trx:DIR" (parse TRX files) or "none" (a check).
# Returns CMD's exit status.
step() {
  local tier=$1 name=$2 limit=$3 counts=$4; shift 4
  local log="$results/$tier-${name//[^A-Za-z0-9._-]/_}.log"
  printf '\n=== [%s] %s: %s\n' "$tier" "$name" "$*"
  local t rc
  t=$(now_s)
  timeout --kill-after=30s "$limit" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local secs
  secs=$(elapsed "$t")
  (( rc == 124 )) && echo "test: [$tier] $name timed out after $limit" | tee -a "$log"

  local c=""
  case "$counts" in
    log) c=$(counts_from_log "$log") ;;
    trx:*) c=$(counts_from_trx "${counts#trx:}") ;;
  esac
  [[ -z "$c" && "$counts" == trx:* ]] && c=$(dotnet_console_counts "$log")
  local p=0 f=0 s=0
  [[ -n "$c" ]] && read -r p f s <<<"$c"
  # A failing step that reported no failed test (a check, a crash, a missing script) counts as one failure.
  (( rc != 0 && f == 0 )) && f=1
  record "$tier" "$name" "$( ((rc == 0)) && echo pass || echo FAIL)" "$p" "$f" "$s" "$secs"
  return "$rc"
}

# dotnet_console_counts LOG: VSTest's console summaries, summed over the test projects: with normal verbosity
# "Test Run Successful." followed by "     Passed: 12", "     Failed: 1", "    Skipped: 2"; with minimal verbosity
# "Passed!  - Failed: 0, Passed: 12, Skipped: 0, ...".
dotnet_console_counts() {
  awk '
    /^Test Run (Successful|Failed|Aborted)/ { inrun = 1; next }
    inrun && /^ +(Passed|Failed|Skipped): +[0-9]+ *$/ {
      k = $1; n = $2; if (k == "Passed:") p += n; else if (k == "Failed:") f += n; else s += n; found = 1; next
    }
    inrun && !/^(Total tests:| +(Passed|Failed|Skipped|Total time):)/ { inrun = 0 }
    /(Passed|Failed)! +- +Failed: / {
      split($0, a, /[:,]/); f += a[2]; p += a[4]; s += a[6]; found = 1
    }
    END { if (found) print p + 0, f + 0, s + 0 }' "$1"
}

# not_run TIER STEP REASON: a step that could not run counts as one failure.
not_run() {
  printf '\n=== [%s] %s: not run: %s\n' "$1" "$2" "$3"
  record "$1" "$2" "not run" 0 1 0 0
}

printf '=== setup\n'
if ! step setup setup.sh 30m none bash scripts/setup.sh; then
  echo "test: setup failed; running the tiers anyway, several will fail for that reason"
fi

if [[ -n "${want[contract]:-}" ]]; then
  step contract check:types 10m none npm run --silent check:types
  step contract "schema export --check" 10m none bin/orchflow schema export --check
fi

if [[ -n "${want[static]:-}" ]]; then
  step static typecheck 10m none npm run --silent typecheck
  step static lint 10m none npm run --silent lint
fi

if [[ -n "${want[dotnet]:-}" ]]; then
  trx_dir="$results/dotnet"
  # Named with its traits in the summary: "test (unit,rpc)".
  test_step="test ($(IFS=,; echo "${dotnet_run[*]}"))"
  if step dotnet build 20m none dotnet build Orchflow.sln -c Release --nologo; then
    step dotnet "$test_step" 40m "trx:$trx_dir" dotnet test Orchflow.sln -c Release --no-build --nologo \
      ${dotnet_filter:+--filter "$dotnet_filter"} \
      --logger "trx;LogFilePrefix=dotnet" --logger "console;verbosity=normal" --results-directory "$trx_dir" \
      --blame-hang-timeout 5m --blame-hang-dump-type mini
  else
    not_run dotnet "$test_step" "the build failed"
  fi
fi

if [[ -n "${want[extension]:-}" ]]; then
  step extension test:extension 15m log npm run --silent test:extension
fi

if [[ -n "${want[mcp]:-}" ]]; then
  # The server as agents' CLIs start it (dist/server/orchflow, built when its sources changed).
  if step mcp build-server 15m none bash scripts/build-server.sh; then
    step mcp "node --test tests/mcp/" 10m log node --test --test-concurrency=1 --test-reporter=spec tests/mcp/
  else
    not_run mcp "node --test tests/mcp/" "the server did not build"
  fi
fi

if [[ -n "${want[agents]:-}" ]]; then
  # The pinned CLIs are installed by scripts/setup.sh (tests/agents/node_modules); each test names the CLI version it ran.
  # One file, its tests one at a time: each starts a daemon and a real CLI, and the machine has 2 cores.
  if step agents build-server 15m none bash scripts/build-server.sh; then
    step agents "node --test tests/agents/" 60m log node --test --test-concurrency=1 --test-reporter=spec tests/agents/
  else
    not_run agents "node --test tests/agents/" "the server did not build"
  fi
fi

if [[ -n "${want[package]:-}" ]]; then
  step package "npm run package" 15m none npm run --silent package
fi

if [[ -n "${want[vscode]:-}" ]]; then
  # The runner is the machine's Node; the harness starts code-server with Node 24 itself.
  # One test file at a time: each starts its own code-server and Chromium, and the machine has 2 cores.
  step vscode "node --test tests/vscode/" 30m log node --test --test-concurrency=1 --test-reporter=spec tests/vscode/
fi

# failures_digest: the failed tests' names and the start of their messages, so the end of the output says what
# failed even when only the end of it is kept.
failures_digest() {
  local files=("$results"/dotnet/*.trx)
  if [[ -e "${files[0]}" ]]; then
    python3 - "${files[@]}" <<'PY' || true
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for f in sys.argv[1:]:
    for r in ET.parse(f).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") not in ("Passed", "NotExecuted"):
            msg = r.findtext(".//t:Message", default="", namespaces=ns).strip().splitlines()
            st = r.findtext(".//t:StackTrace", default="", namespaces=ns).strip().splitlines()
            print(f"dotnet  {r.get('outcome')}: {r.get('testName')}")
            for line in (msg[:6] + st[:4]):
                print(f"          {line[:300]}")
PY
  fi
  local log
  for log in "$results"/extension-*.log "$results"/mcp-*.log "$results"/vscode-*.log; do
    [[ -e "$log" ]] || continue
    grep -E '^(not ok [0-9]+ - |✖ )' "$log" | grep -v '^✖ failing tests' | sed "s|^|$(basename "$log" .log)  |" || true
  done
}

# Summary.
{
  if (( total_failed > 0 )); then
    printf '\n=== Failures\n'
    failures_digest
  fi
  printf '\n=== Summary (%s s, tiers: %s)\n' "$(elapsed "$t_start")" "$requested"
  printf '%-10s %-28s %-8s %7s %7s %7s %8s\n' tier step result passed failed skipped seconds
  for r in "${rows[@]}"; do
    IFS='|' read -r tier name result p f s secs <<<"$r"
    printf '%-10s %-28s %-8s %7s %7s %7s %8s\n' "$tier" "$name" "$result" "$p" "$f" "$s" "$secs"
  done
  (( total_skipped > 0 )) && printf '(%s skipped)\n' "$total_skipped"
  printf '%s passed, %s failed\n' "$total_passed" "$total_failed"
} | tee "$results/summary.txt"

(( total_failed == 0 ))
