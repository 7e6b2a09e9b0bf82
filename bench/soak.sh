#!/usr/bin/env bash
# Soak: the all-in-one process at full speed (fast profile, persistent store in a temporary folder, the launch
# profile's settings as `dotnet run` has them) for N minutes, sampled every S seconds: resident memory, threads,
# open files, hash rate, and the worker's errors and backlog. Then a verdict: RSS in the minute after warm-up (W minutes)
# against the last minute, and its slope. At the end, the worker's totals are checked against its log after a clean stop.
# usage: bench/soak.sh [minutes, default 16] [sample seconds, default 10] [warm-up minutes, default 6]
# (RSS rose for the first 5 minutes in every run here, then stayed flat: the verdict starts after that.)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-16}
every=${2:-10}
warmup=${3:-6}
if ! { [ "$minutes" -ge 1 ] && [ "$minutes" -le 1440 ] && [ "$every" -ge 1 ] && [ "$warmup" -lt "$minutes" ]; }; then
  echo "soak.sh: want 1-1440 minutes, a sample every 1 s or more, a warm-up shorter than the run" >&2; exit 2
fi
dotnet build src/RamCoin -c Release -v q -nologo >/dev/null
dll=src/RamCoin/bin/Release/net10.0/ramcoin.dll
data=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
web=$(free_port); rng=$(free_port); hasher=$(free_port); worker=$(free_port); store=$(free_port)
# The launch profile's environment (the GC budget), as `dotnet run --project src/RamCoin` sets it.
launch_env=$(python3 -c 'import json; e=json.load(open("src/RamCoin/Properties/launchSettings.json"))["profiles"]["ramcoin"]["environmentVariables"]; print(" ".join(f"{k}={v}" for k,v in e.items()))')
# shellcheck disable=SC2086 # launch_env is NAME=VALUE words
env $launch_env dotnet "$dll" --profile fast --data-dir "$data" --webui-port "$web" --rng-port "$rng" --hasher-port "$hasher" \
  --worker-port "$worker" --store-port "$store" > "$data/ramcoin.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$web/json" >/dev/null && break; sleep 0.1; done

# Numeric fields of a JSON answer, space-separated; "-" (and a warning) for one that is missing or not a number.
fields() { # url, field...
  local url=$1; shift
  { curl -sf --max-time 5 "$url" || true; } | python3 -c "
import json, sys
names = sys.argv[1:]
try:
    answer = json.load(sys.stdin)
except Exception:
    answer = None
out = []
for name in names:
    v = answer.get(name) if isinstance(answer, dict) else None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        out.append(str(v))
    else:
        out.append('-'); print(f'soak.sh: warning: $url has no numeric \"{name}\"; the sample shows -', file=sys.stderr)
print(' '.join(out))
" "$@"
}
# Resident memory of the launcher and any process it started (the all-in-one run is one process).
rss_mib() { local total=0 p; for p in $1 $(pgrep -P "$1" || true); do
  total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done
  awk -v k="$total" 'BEGIN {printf "%.1f", k/1024}'; }

samples="$data/samples.tsv"
if commit=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- src || commit="$commit with uncommitted changes in src/"
else
  commit="unknown (not a git checkout)"
fi
echo "soak: ramcoin --profile fast, pid $pid, $(nproc) cores, commit $commit, $(date -u '+%F %T') UTC; $minutes min, a sample every $every s"
printf '%6s %9s %8s %6s %11s %8s %9s %8s\n' "min:s" "RSS MiB" "threads" "fds" "hashes/s" "errors" "pending" "coins"
start=$(date +%s)
prev_h=$(fields "http://127.0.0.1:$web/json" hashes); prev_t=$start
end=$((start + minutes * 60))
tick=$start
while [ "$tick" -lt "$end" ]; do
  # On a fixed schedule: the sampling's own time does not stretch the interval.
  tick=$((tick + every))
  wait_s=$((tick - $(date +%s)))
  [ "$wait_s" -gt 0 ] && sleep "$wait_s"
  kill -0 "$pid" 2>/dev/null || { echo "soak.sh: the launcher exited; its log:" >&2; tail -20 "$data/ramcoin.log" >&2; exit 1; }
  now=$(date +%s)
  rss=$(rss_mib "$pid")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  h=$(fields "http://127.0.0.1:$web/json" hashes)
  rate=$(python3 -c "h, p = '$h', '$prev_h'; print('-' if '-' in (h, p) else round((float(h) - float(p)) / max(1, $now - $prev_t)))")
  read -r errors pending coins < <(fields "http://127.0.0.1:$worker/status" errors hashesPending coinsWritten)
  printf '%3d:%02d %9s %8s %6s %11s %8s %9s %8s\n' $(((now - start) / 60)) $(((now - start) % 60)) "$rss" "$threads" "$fds" "$rate" \
    "$errors" "$pending" "$coins"
  printf '%s\t%s\t%s\n' $((now - start)) "$rss" "$rate" >> "$samples"
  prev_h=$h; prev_t=$now
done

# The verdict: median RSS in the minute after warm-up against the last minute's (one sample swings with each GC),
# and the least-squares slope in between.
python3 - "$samples" "$warmup" <<'EOF'
import statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
warm = float(sys.argv[2]) * 60
after = [(float(t), float(r)) for t, r, _ in rows if float(t) >= warm]
rates = [float(x) for t, _, x in rows if float(t) >= warm and x.strip() != "-"]
if len(after) < 3:
    sys.exit("soak: too few samples after the warm-up for a verdict")
first_t, last_t = after[0][0], after[-1][0]
early = statistics.median(r for t, r in after if t < first_t + 60)
late = statistics.median(r for t, r in after if t > last_t - 60)
n = len(after); mt = sum(t for t, _ in after) / n; mr = sum(r for _, r in after) / n
slope = sum((t - mt) * (r - mr) for t, r in after) / sum((t - mt) ** 2 for t, _ in after) * 60
growth = late - early
flat = growth <= max(0.05 * early, 8)
print(f"RSS, median of a minute: {early:.1f} MiB after warm-up ({first_t / 60:.1f}-{min(first_t + 60, last_t) / 60:.1f} min), "
      f"{late:.1f} MiB at the end ({max(last_t - 60, first_t) / 60:.1f}-{last_t / 60:.1f} min): {growth:+.1f} MiB ({growth / early:+.1%}); "
      f"after warm-up min {min(r for _, r in after):.1f}, max {max(r for _, r in after):.1f}, slope {slope:+.2f} MiB/min")
if rates:
    print(f"hashes/s after warm-up: median {statistics.median(rates):.0f}, min {min(rates):.0f}, max {max(rates):.0f}")
print("verdict: " + ("flat (the end within 5 % or 8 MiB of the minute after warm-up)" if flat else "GROWS (the end more than 5 % or 8 MiB above the minute after warm-up)"))
EOF

computed=$(fields "http://127.0.0.1:$worker/status" hashesComputed)
kill -TERM "$pid"; wait "$pid" || true; pid=
final=$(grep -oE '[0-9]+ units of work done' "$data/ramcoin.log" | awk '{s+=$1} END {print s}')
echo "stopped cleanly; hashes logged by the worker: $final (computed at the last sample: $computed)"
