#!/usr/bin/env bash
# Seconds from `dotnet run --project src/RamCoin` on a built tree to the hash counter rising at the web UI's /json,
# RUNS times (default 3), each on a fresh data folder (so the counter starts at 0). Usage: bench/startup.sh [RUNS] [extra launcher arguments]
# The web UI is read on RAMCOIN_WEBUI_PORT (default 8000), as the launcher reads it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
dotnet build src/RamCoin -v q -nologo >/dev/null
hashes() { curl -fsS --max-time 1 "http://127.0.0.1:${RAMCOIN_WEBUI_PORT:-8000}/json" 2>/dev/null | sed -n 's/.*"hashes":\([0-9]*\).*/\1/p'; }
for run in $(seq "$runs"); do
  data=$(mktemp -d)
  start=$(date +%s.%N)
  RAMCOIN_DATA_DIR=$data dotnet run --project src/RamCoin -- "$@" >"$data.log" 2>&1 &
  pid=$!
  now=""
  for _ in $(seq 600); do
    now=$(hashes || true)
    if [ -n "$now" ] && [ "$now" -gt 0 ]; then break; fi
    sleep 0.05
  done
  end=$(date +%s.%N)
  printf 'run %s: %.1f s to hashes rising (%s)\n' "$run" "$(echo "$end - $start" | bc)" "${now:-none}"
  # A background job ignores SIGINT: stop the launcher under `dotnet run` as a service manager would.
  pkill -TERM -P "$pid" || true; wait "$pid" || true
  rm -rf "$data" "$data.log"
done
