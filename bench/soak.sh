#!/usr/bin/env bash
# Soak: the all-in-one process at full speed (fast profile, persistent store in a temporary folder) for
# N minutes, sampled every S seconds: resident memory, hash rate, and the worker's errors and backlog.
# At the end, the worker's totals are checked against the store after a clean stop.
# usage: bench/soak.sh [minutes, default 5] [sample seconds, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
every=${2:-10}
dotnet build src/RamCoin -c Release -v q -nologo >/dev/null
dll=src/RamCoin/bin/Release/net10.0/ramcoin.dll
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
web=$(free_port); rng=$(free_port); hasher=$(free_port); worker=$(free_port); store=$(free_port)
dotnet "$dll" --profile fast --data-dir "$data" --webui-port "$web" --rng-port "$rng" --hasher-port "$hasher" \
  --worker-port "$worker" --store-port "$store" > "$data/ramcoin.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$web/json" >/dev/null && break; sleep 0.1; done

json() { curl -sf "$1"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

printf '%8s %10s %12s %10s %10s %10s\n' "seconds" "RSS MiB" "hashes/s" "errors" "pending" "coins"
start=$(date +%s)
prev_h=$(json "http://127.0.0.1:$web/json" | field hashes); prev_t=$start
end=$((start + minutes * 60))
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$every"
  now=$(date +%s)
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status")
  h=$(json "http://127.0.0.1:$web/json" | field hashes)
  status=$(json "http://127.0.0.1:$worker/status")
  printf '%8d %10s %12.0f %10s %10s %10s\n' $((now - start)) "$rss" "$(python3 -c "print(($h-$prev_h)/max(1,$now-$prev_t))")" \
    "$(echo "$status" | field errors)" "$(echo "$status" | field hashesPending)" "$(echo "$status" | field coinsWritten)"
  prev_h=$h; prev_t=$now
done

computed=$(json "http://127.0.0.1:$worker/status" | field hashesComputed)
kill -TERM "$pid"; wait "$pid" || true
final=$(grep -oE '[0-9]+ units of work done' "$data/ramcoin.log" | awk '{s+=$1} END {print s}')
echo "stopped cleanly; hashes logged by the worker: $final (computed at the last sample: $computed)"
