#!/usr/bin/env bash
# `sugar sweep` as users run it, on synthetic CIFAR-10 files written here: --dry-run and --count; two
# sweeps at once on one runs directory (every cell trained exactly once); a second sweep skipping
# everything; an interrupted cell resumed; a stale claim (crashed host) taken over while a live one is
# left alone; failing cells reported with exit 1; job-array mode (--cell K, --cell env); usage errors.
# usage: sweep.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run, write_synthetic_cifar10

# 20 training records over the five batch files, 16 test records: 1 label byte + 3072 pixel bytes.
write_synthetic_cifar10 "$work/cifar" "4 4 4 4 4" 16

cat >"$work/grid.yaml" <<YAML
name: grid
model: {name: vgg11}
data: {name: cifar10, root: $work/cifar, train_limit: 16, test_limit: 16}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: 16, eval_batch_size: 16, threads: 1}
sweep:
  model.activation: [relu, "sugar(surrogate=bsilu)"]
  seed: [0, 1]
YAML
cd "$work"
cells=("activation=relu__seed=0" "activation=relu__seed=1" "activation=sugar(surrogate=bsilu)__seed=0"
       "activation=sugar(surrogate=bsilu)__seed=1")

# The plan: grid order (last axis fastest), names from the overrides, nothing run or created.
run sweep grid.yaml --dry-run
[[ $status == 0 ]] || fail "--dry-run exited $status: $err"
expected="cell  state  run directory                                        overrides
0     new    runs/grid/activation=relu__seed=0                    model.activation=relu seed=0
1     new    runs/grid/activation=relu__seed=1                    model.activation=relu seed=1
2     new    runs/grid/activation=sugar(surrogate=bsilu)__seed=0  model.activation=sugar(surrogate=bsilu) seed=0
3     new    runs/grid/activation=sugar(surrogate=bsilu)__seed=1  model.activation=sugar(surrogate=bsilu) seed=1"
[[ $out == "$expected" ]] || fail "--dry-run printed:
$out"
[[ ! -e runs ]] || fail "--dry-run created runs/"
run sweep grid.yaml --count
[[ $status == 0 && $out == 4 ]] || fail "--count: exit $status, '$out'"

# Two sweeps at once on one runs directory: together they train each cell exactly once.
"$sugar" sweep grid.yaml >a.out 2>a.err &
first=$!
"$sugar" sweep grid.yaml >b.out 2>b.err &
second=$!
status_a=0; wait $first || status_a=$?
status_b=0; wait $second || status_b=$?
[[ $status_a == 0 && $status_b == 0 ]] || fail "concurrent sweeps exited $status_a and $status_b: $(cat a.err b.err)"
for cell in "${cells[@]}"; do
  dir=runs/grid/$cell
  grep -q '"state": "finished"' "$dir/status.json" || fail "$dir/status.json: $(cat "$dir/status.json")"
  [[ $(wc -l <"$dir/metrics.csv") == 2 ]] || fail "$dir/metrics.csv: $(cat "$dir/metrics.csv")"
  # The trainer logs one "run <dir>: <model> ..." line each time it starts on a directory.
  [[ $(grep -cF "info: run $dir: vgg11" "$dir/train.log") == 1 ]] || fail "$dir/train.log: $(cat "$dir/train.log")"
  [[ $(cat a.out b.out | grep -cF "finished  $dir  (train,") == 1 ]] || fail "$cell: not trained by exactly one sweep: $(cat a.out b.out)"
done
# Both worked: each trained at least one cell, and each reported the others' cells as busy or skipped.
grep -q "finished  runs/grid" a.out && grep -q "finished  runs/grid" b.out || fail "one sweep did all the work: $(cat a.out b.out)"
# Each cell's claim history: exactly one claim that trained it; any other was released as skipped.
python3 - runs/grid/.sweep <<'PY' || fail "claim files: $(cat runs/grid/.sweep/*.claim)"
import glob, json, os, sys
outcomes = {}
for path in glob.glob(os.path.join(sys.argv[1], "*.claim")):
    claim = json.load(open(path))
    outcomes.setdefault(claim["cell"], []).append(claim["outcome"])
assert len(outcomes) == 4, outcomes
for cell, seen in outcomes.items():
    assert seen.count("finished") == 1 and set(seen) <= {"finished", "skipped"}, (cell, seen)
PY

# A second sweep skips every finished cell, without claiming any.
claims_before=$(ls runs/grid/.sweep/*.claim | wc -l)
run sweep grid.yaml
[[ $status == 0 && $out == "sweep grid (runs/grid): 4 of 4 cells: 4 skipped (finished before)"* ]] || fail "re-run: exit $status, $out $err"
[[ $(ls runs/grid/.sweep/*.claim | wc -l) == "$claims_before" ]] || fail "a skipped cell was claimed"

# An interrupted cell (status.json says so) is resumed from its checkpoint, not retrained.
python3 - "runs/grid/${cells[1]}/status.json" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))
status["state"] = "interrupted"
json.dump(status, open(sys.argv[1], "w"))
PY
run sweep grid.yaml --dry-run
[[ $out == *"1     interrupted (epoch 1/1)  runs/grid/${cells[1]}"* ]] || fail "--dry-run of an interrupted cell: $out"
run sweep grid.yaml --cell 1
[[ $status == 0 && $out == *"cell 1: finished  runs/grid/${cells[1]}  (resume,"* ]] || fail "resume: exit $status, $out $err"
grep -q '"state": "finished"' "runs/grid/${cells[1]}/status.json" || fail "resumed status: $(cat "runs/grid/${cells[1]}/status.json")"
[[ $(wc -l <"runs/grid/${cells[1]}/metrics.csv") == 2 ]] || fail "resume added rows: $(cat "runs/grid/${cells[1]}/metrics.csv")"

# A third seed adds two cells. One has a claim by a host that crashed an hour ago: it is taken over.
# The other is claimed by a live holder (fresh heartbeat): it is left alone.
python3 - runs/grid/.sweep <<'PY'
import json, os, sys, time
def claim(cell, host, age):
    record = {"cell": cell, "generation": 0, "state": "held", "host": host, "pid": 4242, "token": host,
              "claimed": "", "heartbeat": "", "heartbeat_unix": time.time() - age, "taken_over_from": "", "outcome": ""}
    json.dump(record, open(os.path.join(sys.argv[1], cell + ".0.claim"), "w"))
claim("activation=relu__seed=2", "crashed-node", 3600)
claim("activation=sugar(surrogate=bsilu)__seed=2", "busy-node", 0)
PY
# The live holder's training has just created its run directory and not yet written config.yaml: a
# directory that would be refused as foreign if the sweep judged it before looking at the claim.
busy_dir="runs/grid/activation=sugar(surrogate=bsilu)__seed=2"
mkdir "$busy_dir" && echo starting >"$busy_dir/train.log"
run sweep grid.yaml --set 'sweep.seed=[0, 1, 2]' --stale-after 60 --dry-run
[[ $out == *"2     new, stale claim by crashed-node pid 4242  runs/grid/activation=relu__seed=2"* &&
   $out == *"5     starting, claimed by busy-node pid 4242"* ]] || fail "--dry-run with claims: $out"
run sweep grid.yaml --set 'sweep.seed=[0, 1, 2]' --stale-after 60
[[ $status == 0 ]] || fail "sweep over claims exited $status: $err"
[[ $out == "sweep grid (runs/grid): 6 of 6 cells: 1 finished, 4 skipped (finished before), 1 busy (running elsewhere)"* ]] \
  || fail "summary: $out"
[[ $out == *"cell 2: finished  runs/grid/activation=relu__seed=2  (train,"* ]] || fail "stale cell: $out"
[[ $out == *"cell 5: busy  runs/grid/activation=sugar(surrogate=bsilu)__seed=2: claimed by busy-node pid 4242"* ]] || fail "busy cell: $out"
[[ $err == *"took over the stale claim of crashed-node pid 4242"* ]] || fail "no takeover logged: $err"
grep -q '"taken_over_from": "crashed-node pid 4242' runs/grid/.sweep/activation=relu__seed=2.1.claim \
  || fail "generation 1: $(cat runs/grid/.sweep/activation=relu__seed=2.1.claim)"
grep -q '"outcome": "finished"' runs/grid/.sweep/activation=relu__seed=2.1.claim || fail "takeover not released"
[[ $(ls "$busy_dir") == train.log ]] || fail "the live claim's cell was touched: $(ls "$busy_dir")"
rm -r "$busy_dir"

# Failing cells (a missing data directory) are reported with their error and exit code 1.
run sweep grid.yaml --set 'sweep.data.root=[missing-a, missing-b]' --set name=broken
[[ $status == 1 && $out == "sweep broken (runs/broken): 8 of 8 cells: 8 failed"* ]] || fail "failing cells: exit $status, $out"
[[ $out == *"cell 0: failed  runs/broken/activation=relu__seed=0__root=missing-a  (train, "*"s): exit status 1: error: cifar10: data folder missing-a does not exist"*"(log: runs/broken/.sweep/activation=relu__seed=0__root=missing-a.out)"* ]] \
  || fail "failure detail: $out"

# Job-array mode: --cell env reads SLURM_ARRAY_TASK_ID; a finished cell exits at once.
SLURM_ARRAY_TASK_ID=3 run sweep grid.yaml --cell env
[[ $status == 0 && $out == *"1 of 4 cells: 1 skipped"*"cell 3: skipped  runs/grid/${cells[3]}"* ]] || fail "--cell env: exit $status, $out $err"
SLURM_ARRAY_TASK_ID=9 run sweep grid.yaml --cell env
[[ $status == 2 && $err == "error: --cell env (SLURM_ARRAY_TASK_ID=9): the grid has 4 cells (0-3)" ]] || fail "--cell 9: exit $status, $err"
(unset SLURM_ARRAY_TASK_ID; run sweep grid.yaml --cell env
 [[ $status == 2 && $err == "error: --cell env: the environment variable SLURM_ARRAY_TASK_ID is not set"* ]] || fail "--cell env unset: $err")

# Usage errors are one line with exit code 2, before anything runs.
run sweep grid.yaml --set seed=3
[[ $status == 2 && $err == "error: --set seed=3: seed is a sweep axis"* && $(wc -l <"$work/err") == 1 ]] || fail "--set seed: exit $status, $err"
run sweep grid.yaml --set 'sweep.schedule.warmup_epochs=[0, 2]'
[[ $status == 2 && $err == "error: grid.yaml: sweep cell 1 (model.activation=relu seed=0 schedule.warmup_epochs=2):"*"only the cosine schedule has a warm-up"* ]] \
  || fail "invalid cell: exit $status, $err"
# An empty --cell (an unset variable in a job script) is a usage error, not "the whole grid".
run sweep grid.yaml --cell "" --dry-run
[[ $status == 2 && $err == "error: "*"--cell"* && $(wc -l <"$work/err") == 1 ]] || fail "--cell '': exit $status, $err"

# Signals reach the cells through the sweep (they run in their own process groups): SIGUSR1 asks each
# running cell for a checkpoint and the sweep goes on; SIGHUP (a closed terminal) stops each cell at its
# next step with a checkpoint, the sweep exits 129, and the same command finishes the grid.
write_synthetic_cifar10 "$work/cifar-long" "96 96 96 96 96" 16
cat >"$work/long.yaml" <<YAML
name: long
model: {name: vgg11}
data: {name: cifar10, root: $work/cifar-long}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 3, batch_size: 16, eval_batch_size: 16, threads: 1, neuron_stats: false}
sweep:
  seed: [0, 1]
YAML
"$sugar" sweep long.yaml --jobs 2 >long.out 2>long.err &
sweeper=$!
python3 - "$sweeper" runs/long/seed=0 runs/long/seed=1 <<'PY' || fail "signals to the sweep: $(cat long.err)"
import json, os, signal, sys, time
sweeper, cells = int(sys.argv[1]), sys.argv[2:]
deadline = time.monotonic() + 120
def wait_for(what, ok):
    while not ok():
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for " + what)
        time.sleep(0.01)
def running(cell):
    try:
        return json.load(open(cell + "/status.json"))["state"] == "running"
    except (OSError, ValueError, KeyError):
        return False
def mid_epoch_checkpoint(cell):  # only SIGUSR1 makes one here (no train.checkpoint_every_steps)
    try:
        with open(cell + "/last.safetensors", "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            return int(json.loads(f.read(n))["__metadata__"]["batch"]) > 0
    except (OSError, ValueError, KeyError):
        return False
wait_for("both cells running", lambda: all(running(c) for c in cells))
os.kill(sweeper, signal.SIGUSR1)
wait_for("a checkpoint in each cell", lambda: all(mid_epoch_checkpoint(c) for c in cells))
if not all(running(c) for c in cells):
    sys.exit("a cell stopped after SIGUSR1")
os.kill(sweeper, signal.SIGHUP)
PY
status=0; wait "$sweeper" || status=$?
[[ $status == 129 ]] || fail "a sweep stopped by SIGHUP exited $status (expected 129): $(cat long.err)"
grep -q "stopped by a signal" long.out || fail "the sweep did not say it was stopped: $(cat long.out)"
for cell in runs/long/seed=0 runs/long/seed=1; do
  grep -q '"state": "interrupted"' "$cell/status.json" || fail "$cell after SIGHUP: $(cat "$cell/status.json")"
  grep -q "checkpoint requested (SIGUSR1)" "$cell/train.log" || fail "$cell: the SIGUSR1 checkpoint is not in train.log"
  [[ -z $(find "$cell" -name '.*.tmp.*') ]] || fail "$cell: temporary files left: $(find "$cell" -name '.*.tmp.*')"
done
grep -q "interrupted  runs/long/seed=0" long.out || fail "the stopped cell is not reported as interrupted: $(cat long.out)"
run sweep long.yaml --jobs 2
[[ $status == 0 ]] || fail "the sweep after SIGHUP did not finish the grid: $err"
for cell in runs/long/seed=0 runs/long/seed=1; do
  [[ $(grep -c '^[0-9]' "$cell/metrics.csv") == 3 ]] || fail "$cell/metrics.csv: $(cat "$cell/metrics.csv")"
done

echo "sweep: all checks passed"
