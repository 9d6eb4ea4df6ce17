#!/usr/bin/env bash
# `npm start`: sets up the machine, builds the extension, makes the demo workspace and opens it in VS Code.
# With a `code` command on PATH (desktop VS Code, or a VS Code terminal) it opens there; otherwise it serves
# VS Code in the browser with code-server on 127.0.0.1 and stays in the foreground until Ctrl-C.
#   --no-open   set up, build and make the demo, then stop (no editor)
# ORCHFLOW_DEMO_DIR overrides where the demo goes (default ~/orchflow-demo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ORCHFLOW_ROOT"

no_open=false
for arg in "$@"; do
  case "$arg" in
    --no-open) no_open=true ;;
    *) die start "unknown argument: $arg (known: --no-open)" ;;
  esac
done

bash scripts/setup.sh

t=$(now_s)
npm run --silent package >&2 || die start "npm run package failed; the extension could not be built"
vsix="$ORCHFLOW_ROOT/out/orchflow.vsix"
[[ -f "$vsix" ]] || die start "npm run package did not produce $vsix"
log start "built $vsix in $(elapsed "$t") s"

# The demo is the user's once copied: later runs keep it as it is, edits and all.
demo="${ORCHFLOW_DEMO_DIR:-$HOME/orchflow-demo}"
workspace_file="$demo/orchflow-demo.code-workspace"
if [[ -e "$demo" ]]; then
  log start "demo: keeping the existing $demo"
else
  tmp="$demo.tmp.$$"
  rm -rf "$tmp"
  cp -R demo "$tmp"
  # The copy lives outside the repository, so its workspace files point at the repository's schemas directly.
  find "$tmp" -path '*/.orchflow/workspace.json' -print0 \
    | xargs -0 -r sed -i "s#\"\\\$schema\": \"\\(\\.\\./\\)*schemas/#\"\$schema\": \"$ORCHFLOW_ROOT/schemas/#"
  # Each sample project is a git repository with one commit, so that VCS detection has something to show.
  for project in "$tmp"/*/; do
    [[ -d "$project/.orchflow" ]] || continue
    git -C "$project" init -q -b main
    git -C "$project" add -A
    git -C "$project" -c user.name="Orchflow demo" -c user.email="demo@orchflow.invalid" \
      commit -q -m "Initial commit of the $(basename "$project") sample"
  done
  mv "$tmp" "$demo"
  log start "demo: created $demo"
fi
[[ -f "$workspace_file" ]] || die start "$workspace_file is missing; move $demo aside and run again to recreate it"

if $no_open; then
  log start "done (--no-open): open $workspace_file in VS Code with the extension $vsix"
  exit 0
fi

if command -v code >/dev/null 2>&1; then
  code --install-extension "$vsix" --force
  code "$workspace_file"
  log start "opened $workspace_file in VS Code"
  exit 0
fi

# No `code`: serve VS Code from code-server, with its own extensions and user data under the cache.
cs_home="$ORCHFLOW_CACHE/code-server-demo"
ext_dir="$cs_home/extensions"
user_dir="$cs_home/user-data"
mkdir -p "$ext_dir" "$user_dir/User"
export PATH="$NODE24_DIR/bin:$PATH"
code_server=("$NODE24_BIN" "$CODE_SERVER_ENTRY" --user-data-dir "$user_dir" --extensions-dir "$ext_dir")

# Workspace trust off, or the demo opens in Restricted Mode with the extension disabled. Keeps the user's other settings.
node - "$user_dir/User/settings.json" <<'JS' || log start "warning: could not update $user_dir/User/settings.json; set security.workspace.trust.enabled to false there"
const fs = require('fs');
const file = process.argv[2];
const settings = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
Object.assign(settings, { 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none' });
fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
JS

"${code_server[@]}" --install-extension "$vsix" --force >"$ORCHFLOW_CACHE/logs/code-server-demo-install.log" 2>&1 \
  || { tail -20 "$ORCHFLOW_CACHE/logs/code-server-demo-install.log" >&2; die start "installing $vsix into code-server failed"; }
log start "installed $vsix into $ext_dir"

port=$(free_port 8080)
cs_log="$ORCHFLOW_CACHE/logs/code-server-demo.log"
# In a session of its own, so that stopping it ends the extension host and everything else it started too.
# (A background job of a script is not a process group leader, so setsid does not fork: $! is the group's id.)
setsid "${code_server[@]}" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --disable-update-check \
  --disable-workspace-trust "$workspace_file" >"$cs_log" 2>&1 &
cs_pid=$!
stop_code_server() {
  kill -TERM -- "-$cs_pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 5))
  while kill -0 -- "-$cs_pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
  kill -KILL -- "-$cs_pid" 2>/dev/null || true
}
trap stop_code_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wait_for_port "$port" 60 || { tail -20 "$cs_log" >&2; die start "code-server did not start on port $port (log: $cs_log)"; }

url="http://127.0.0.1:$port/?workspace=$workspace_file"
cat >&2 <<MSG

  ============================================================================
   Orchflow demo is running. Open this in a browser on this machine:

     $url

   code-server log: $cs_log
   Press Ctrl-C to stop.
  ============================================================================

MSG
wait "$cs_pid"
