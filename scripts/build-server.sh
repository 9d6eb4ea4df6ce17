#!/usr/bin/env bash
# Builds the .NET backend and publishes it (framework-dependent, ReadyToRun) into dist/server,
# where bin/orchflow and the extension find it. Skips the publish when nothing under server/ changed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/server
stamp=$out/.stamp
newest=$(find server Directory.Build.props Directory.Packages.props global.json -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.json' -o -name '*.txt' \) -not -path '*/obj/*' -not -path '*/bin/*' -newer "$stamp" 2>/dev/null | head -1 || true)
if [[ -f "$stamp" && -z "$newest" && -x "$out/orchflow" ]]; then
  exit 0
fi
dotnet publish server/Orchflow.Server/Orchflow.Server.csproj -c Release -r linux-x64 --self-contained false \
  -p:PublishReadyToRun=true -o "$out" --nologo -v quiet
touch "$stamp"
