#!/usr/bin/env bash
# What `auto` does when its first measurement happens on a busy machine (issue 17): a fresh choice
# store, a competing process that keeps every core busy during the first `sugar bench`, then idle runs
# alternating auto with the fixed policies. Before issue 17, the busy run's choices were kept forever
# and every later run was 10-30% slower; now they are provisional and the next idle run measures them
# again.
#
#   bash scripts/auto_under_load.sh [MODEL] [BATCH] [ROUNDS]     defaults: resnet18 128 3
#
# Needs build/bin/sugar (scripts/setup.sh) and an otherwise idle machine. Markdown on stdout, progress
# on stderr. The competitor is `yes >/dev/null`, one per core.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sugar=${SUGAR:-$repo_root/build/bin/sugar}
model=${1:-resnet18}
batch=${2:-128}
rounds=${3:-3}
threads=${THREADS:-2}
[[ -x $sugar ]] || { echo "auto_under_load: $sugar is missing; run scripts/setup.sh first" >&2; exit 2; }
export SUGAR_CACHE_DIR=$(mktemp -d /tmp/sugar-auto-under-load.XXXXXX)
competitors=()
cleanup() {
  for pid in "${competitors[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$SUGAR_CACHE_DIR"
}
trap cleanup EXIT

# bench ALGO: one JSON line of `sugar bench` (2 timed steps after 1 warm-up).
bench() {
  echo "auto_under_load: sugar bench --conv-algo $1 ($2)" >&2
  "$sugar" bench --model "$model" --batch "$batch" --threads "$threads" --warmup 1 --iters 2 --conv-algo "$1" --json 2>/dev/null
}
# summary JSON: img/s, then how the choices were made.
summary() {
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
layers = list(d["conv_algo"]["layers"].values())
sources = {}
for c in layers:
    s = c["source"] + (" (provisional)" if c.get("provisional") else "")
    sources[s] = sources.get(s, 0) + 1
wino = sum(1 for c in layers if "winograd" in (c["forward"], c["backward_data"], c["backward_weights"]))
made = ", ".join(str(n) + " " + s for s, n in sorted(sources.items()))
print("%.1f | %d of %d | %s" % (d["imgs_per_sec"], wino, len(layers), made))'
}

# row LABEL MACHINE ALGO: one table row, or the script stops with the bench's error.
row() {
  local json
  json=$(bench "$3" "$2") || { echo "auto_under_load: sugar bench failed ($1)" >&2; exit 1; }
  echo "| $1 | $2 | $(summary <<<"$json") |"
}
busy() {  # busy N: N competing processes
  for _ in $(seq "$1"); do yes >/dev/null & competitors+=($!); done
  sleep 1
}
idle() {
  for pid in "${competitors[@]}"; do kill "$pid" 2>/dev/null || true; done
  competitors=()
  sleep 2
}

echo "auto under load: $model, batch $batch, $threads threads, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(date -u +%Y-%m-%d)."
echo
echo "| run | machine | img/s | layers using Winograd | how the choices were made |"
echo "|---|---|---|---|---|"
busy "$(nproc)"
row "auto, first run (fresh store)" "busy: $(nproc) x yes" auto
idle
for round in $(seq "$rounds"); do
  row "auto, idle run $round" idle auto
  row "winograd, idle run $round" idle winograd
  row "direct, idle run $round" idle direct
done

# The issue's own case: a small batch (short measurements) under moderate load (one competitor).
rm -rf "${SUGAR_CACHE_DIR:?}"/*
batch=${SMALL_BATCH:-32}
echo
echo "Then batch $batch, a fresh store, one competing process during the first run:"
echo
echo "| run | machine | img/s | layers using Winograd | how the choices were made |"
echo "|---|---|---|---|---|"
busy 1
row "auto, first run (fresh store)" "busy: 1 x yes" auto
idle
row "auto, idle run" idle auto
row "winograd, idle run" idle winograd
