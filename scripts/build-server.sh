#!/usr/bin/env bash
# Builds the .NET backend and publishes it (framework-dependent, ReadyToRun) into dist/server,
# where bin/orchflow and the extension find it. Skips the publish when nothing under server/ changed.
# A build says so on stderr, one line to start and one per project built, so that a first call is never silent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/server
stamp=$out/.stamp
newest=$(find server Directory.Build.props Directory.Packages.props global.json -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.json' -o -name '*.txt' -o -name '*.c' -o -name '*.targets' \) -not -path '*/obj/*' -not -path '*/bin/*' -newer "$stamp" 2>/dev/null | head -1 || true)
if [[ -f "$stamp" && -z "$newest" && -x "$out/orchflow" ]]; then
  exit 0
fi
if [[ -f "$stamp" ]]; then why="sources changed since the last build: ${newest:-$out/orchflow is missing}"; else why="first build in this checkout, about 90 s"; fi
echo "orchflow: building the daemon into $out ($why)" >&2
start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# -tl:off: plain lines, one "Project -> path" per project built, which become the progress lines.
set +e
dotnet publish server/Orchflow.Server/Orchflow.Server.csproj -c Release -r linux-x64 --self-contained false \
  -p:PublishReadyToRun=true -o "$out" --nologo -v minimal -tl:off 2>&1 | tee "$log" \
  | while IFS= read -r line; do
      [[ $line == *" -> "* ]] || continue
      line=${line#"${line%%[! ]*}"}
      case ${line##* -> } in
        */) echo "orchflow: published ${line%% -> *} into $out ($((SECONDS - start)) s)" >&2 ;;
        *) echo "orchflow: built ${line%% -> *} ($((SECONDS - start)) s)" >&2 ;;
      esac
    done
status=${PIPESTATUS[0]}
set -e
if (( status != 0 )); then
  grep -E ': (error|warning) ' "$log" | sort -u | head -40 >&2 || true
  echo "orchflow: ERROR: the daemon did not build (dotnet publish exited $status); the errors are above" >&2
  exit "$status"
fi
touch "$stamp"
echo "orchflow: daemon built in $((SECONDS - start)) s" >&2
