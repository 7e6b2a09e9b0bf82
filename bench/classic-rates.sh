#!/usr/bin/env bash
# Measures the hash rate the web UI shows, in one run on this machine:
#   classic, 1 worker loop        (DockerCoins: about 3.3 hashes/s)
#   classic, 10 worker loops      (DockerCoins' scaling lesson: rng serves one request at a time, about 10 hashes/s)
#   classic, 10 loops, RNG_CONCURRENCY=10 (the bottleneck removed)
#   fast profile                  (a first look; the Speed issue builds the full harness)
# usage: bench/classic-rates.sh [seconds measured per case, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
dotnet build src/RamCoin -c Release -v q -nologo >/dev/null
dll=src/RamCoin/bin/Release/net10.0/ramcoin.dll

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hashes() { curl -sf "http://127.0.0.1:$1/json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["hashes"], d["now"])'; }

measure() { # name, then environment assignments and launcher options
  local name=$1; shift
  local web rng hasher worker store
  web=$(free_port); rng=$(free_port); hasher=$(free_port); worker=$(free_port); store=$(free_port)
  env "$@" dotnet "$dll" --in-memory --webui-port "$web" --rng-port "$rng" --hasher-port "$hasher" \
    --worker-port "$worker" --store-port "$store" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do hashes "$web" >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 3 # warm-up: connections, JIT
  read -r h0 t0 < <(hashes "$web")
  sleep "$seconds"
  read -r h1 t1 < <(hashes "$web")
  kill -TERM "$pid"; wait "$pid" || true
  python3 -c "print(f'{\"$name\":<44} {($h1-$h0)/($t1-$t0):10.1f} hashes/s')"
}

echo "hash rate over ${seconds} s per case (warm-up 3 s), $(nproc) cores"
measure "classic, 1 loop" RAMCOIN_PROFILE=classic
measure "classic, 10 loops, one rng" RAMCOIN_PROFILE=classic WORKER_CONCURRENCY=10
measure "classic, 10 loops, RNG_CONCURRENCY=10" RAMCOIN_PROFILE=classic WORKER_CONCURRENCY=10 RNG_CONCURRENCY=10
measure "fast profile" RAMCOIN_PROFILE=fast
