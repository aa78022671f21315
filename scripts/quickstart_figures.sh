#!/usr/bin/env bash
# The quickstart's figures that README.md and configs/quickstart.yaml quote: configs/quickstart.yaml
# (ResNet-18, one epoch of Adam on 20,000 real Fashion-MNIST images, the whole test set) trained with
# seeds 0-2 under train.conv_algo direct and winograd, and once (seed 0) in bf16; a Markdown table of
# each run's test top-1, training images/s and wall time, then the per-algorithm means and the mean
# paired difference (winograd - direct, same seed).
#
#   bash scripts/quickstart_figures.sh [RUNS_DIR]     Markdown on stdout, training logs in RUNS_DIR
#
# RUNS_DIR defaults to runs/quickstart-figures; an existing one is reused run by run (a finished run is
# read again, not retrained), so an interrupted call continues where it stopped. Environment: SUGAR (the
# program, default build/bin/sugar), SEEDS ("0 1 2"), THREADS (2). About 4 minutes per run on 2 idle
# cores, 7 runs; the speed columns mean something only on an otherwise idle machine.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sugar=${SUGAR:-$repo_root/build/bin/sugar}
runs=${1:-runs/quickstart-figures}
seeds=${SEEDS:-0 1 2}
threads=${THREADS:-2}
[[ -x $sugar ]] || { echo "quickstart_figures: error: $sugar is missing; run scripts/setup.sh first" >&2; exit 2; }
[[ $threads =~ ^[1-9][0-9]{0,3}$ ]] || { echo "quickstart_figures: error: THREADS='$threads' (expected 1-9999)" >&2; exit 2; }
for seed in $seeds; do
  [[ $seed =~ ^[0-9]{1,19}$ ]] || { echo "quickstart_figures: error: SEEDS holds '$seed' (expected whole numbers)" >&2; exit 2; }
done
mkdir -p "$runs"

# train NAME KEY=VALUE...: one quickstart run into $runs/NAME unless it finished before.
train() {
  local name=$1
  shift
  local sets=()
  for kv in "$@"; do sets+=(--set "$kv"); done
  if [[ -f $runs/$name/status.json ]] && grep -q '"state": *"finished"' "$runs/$name/status.json"; then
    echo "quickstart_figures: $name finished before; reading it" >&2
    return
  fi
  echo "quickstart_figures: training $name ($*)" >&2
  local start=$SECONDS
  "$sugar" train "$repo_root/configs/quickstart.yaml" --out "$runs/$name" --force "${sets[@]}" \
    --set "train.threads=$threads" >"$runs/$name.log" 2>&1 ||
    { echo "quickstart_figures: error: $name failed; see $runs/$name.log" >&2; exit 1; }
  echo $((SECONDS - start)) >"$runs/$name.seconds"
}

names=()
for seed in $seeds; do
  for algo in direct winograd; do
    train "$algo-seed$seed" "seed=$seed" "train.conv_algo=$algo"
    names+=("$algo-seed$seed")
  done
done
train bf16-seed0 seed=0 train.dtype=bf16
names+=(bf16-seed0)

python3 - "$runs" "$("$sugar" --version | head -n 1)" "${names[@]}" <<'PY'
import csv, datetime, math, os, platform, statistics, sys

runs, version, names = sys.argv[1], sys.argv[2], sys.argv[3:]

def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

rows = {}
for name in names:
    with open(os.path.join(runs, name, "metrics.csv"), newline="") as f:
        last = list(csv.DictReader(f))[-1]
    seconds_file = os.path.join(runs, name + ".seconds")
    seconds = open(seconds_file).read().strip() if os.path.exists(seconds_file) else "?"
    rows[name] = (float(last["eval_top1"]), float(last["train_imgs_per_sec"]), seconds)

print(f"Quickstart figures ({version}; {cpu()}; {datetime.date.today().isoformat()}); "
      f"`bash scripts/quickstart_figures.sh`\n")
print("| run | test top-1 % | train images/s | wall s |")
print("|---|---|---|---|")
for name in names:
    top1, speed, seconds = rows[name]
    print(f"| {name} | {top1:.2f} | {speed:.1f} | {seconds} |")

def summary(algo):
    values = [rows[n][0] for n in names if n.startswith(algo + "-")]
    spread = statistics.stdev(values) if len(values) > 1 else float("nan")
    return values, statistics.mean(values), spread

direct, direct_mean, direct_sd = summary("direct")
wino, wino_mean, wino_sd = summary("winograd")
print()
print(f"direct: mean {direct_mean:.2f} ± {direct_sd:.2f} over {len(direct)} seeds; "
      f"winograd: {wino_mean:.2f} ± {wino_sd:.2f}; "
      f"mean paired difference (winograd - direct): {statistics.mean(w - d for w, d in zip(wino, direct)):+.2f} points")
PY
