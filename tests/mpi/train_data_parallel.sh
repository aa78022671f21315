#!/usr/bin/env bash
# Data-parallel `sugar train` under mpirun (issue 8):
#   - 2 ranks x 1 thread with train.sync_bn end with the weights, optimizer state and BN statistics of
#     one process training the same global batches (float tolerance), and the same metrics;
#   - only rank 0 writes the run directory, and run.json says 2 ranks;
#   - --resume continues a 2-rank run in one process, and ends where the one-process run ended;
#   - without sync_bn the result differs (so the comparison above is not vacuous);
#   - with mixup and cutmix, 2 ranks still end where one process ends (pairs never span two ranks), and
#     an odd number of images per rank is refused; a last batch split 7 + 8 ends where one process ends;
#   - a global batch the ranks cannot split evenly is one clear error, nothing written;
#   - a failure on one rank (rank 0 refuses an existing run directory while rank 1 goes on) ends both
#     ranks with the error instead of leaving rank 1 waiting.
# usage: train_data_parallel.sh <sugar binary> <build dir> <mpiexec>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../cli/lib/common.sh" "$@"
source "$here/mpi_env.sh"
mpiexec=$3
compare="$here/compare_checkpoints.py"
# torch-free python3 is enough for the comparison; the test machine has it (setup.sh --tests).
python=python3

write_synthetic_cifar10 "$work/cifar" "10 10 10 10 8" 40
# SiLU, not ReLU: the comparisons are to float tolerance, and a ReLU net turns rounding differences
# into different masks wherever an input sits at 0. Measured on this data: one process with 1 and
# with 2 threads already differs by 1% in some gradients after one ReLU step and by 28% after two,
# while 2 ranks and 1 process with SiLU agree to 7e-5 after three steps. And lr 0.01: at 0.05 the six
# steps amplify rounding so much that one process with 1 and with 2 threads differs by 4e-3 (2 ranks:
# 3e-3); at 0.01 by 3.6e-5 (2 ranks: 4.3e-5), hence the tolerance 5e-4.
cat >"$work/base.yaml" <<YAML
name: data-parallel
seed: 3
model: {name: resnet18, activation: silu}
data: {name: cifar10, root: "$work/cifar"}
optim: {name: sgd, lr: 0.01, momentum: 0.9, weight_decay: 5.0e-4}
schedule: {name: constant}
train: {epochs: 2, batch_size: 16, eval_batch_size: 16, threads: 1, sync_bn: true}
YAML

# mpirun with a time limit: a hang is one of the failures looked for.
mpi() {
  set +e
  timeout 300 "$mpiexec" -np 2 --bind-to none "$sugar" "$@" >"$work/out" 2>"$work/err"
  status=$?
  set -e
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

run train "$work/base.yaml" --out "$work/one" --no-progress
[[ $status == 0 ]] || fail "one process: exit $status: $err"

mpi train "$work/base.yaml" --out "$work/two" --no-progress
[[ $status == 0 ]] || fail "2 ranks: exit $status: $err"
[[ $err == *"data parallel: 2 ranks x 1 threads"* ]] || fail "2 ranks: no data-parallel line in the log: $err"
grep -q '"ranks": 2' "$work/two/run.json" || fail "run.json does not say 2 ranks"
# rank 1 wrote nothing anywhere: the run directory holds one run's files.
[[ $(grep -c '^[0-9]' "$work/two/metrics.csv") == 2 ]] || fail "metrics.csv should have 2 rows: $(cat "$work/two/metrics.csv")"
$python "$compare" "$work/one/last.safetensors" "$work/two/last.safetensors" 5e-4 \
  || fail "2 ranks with sync_bn did not end with the one-process weights"
# The same losses and accuracies, epoch by epoch (columns 2-7: train loss/top-1, eval loss/top-1/top-5, lr).
$python - "$work/one/metrics.csv" "$work/two/metrics.csv" <<'PY' || fail "metrics differ between 1 process and 2 ranks"
import csv, sys
one, two = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
assert len(one) == len(two) == 2, (one, two)
for a, b in zip(one, two):
    for key in ("train_loss", "eval_loss"):
        assert abs(float(a[key]) - float(b[key])) <= 1e-4 * max(1.0, abs(float(a[key]))), (key, a[key], b[key])
    for key in ("train_top1", "eval_top1", "eval_top5", "lr"):
        assert a[key] == b[key], (key, a[key], b[key])
print("metrics agree:", [(a["train_loss"], b["train_loss"]) for a, b in zip(one, two)])
PY
# neurons.csv: each rank measured its shards of the test set and its gradients; summed over ranks they
# are the one-process statistics (gradients scaled by each rank's share of the batch).
$python - "$work/one/neurons.csv" "$work/two/neurons.csv" <<'PY' || fail "neurons.csv differs between 1 process and 2 ranks"
import csv, sys
one, two = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
assert len(one) == len(two) > 0, (len(one), len(two))
for a, b in zip(one, two):
    assert (a["epoch"], a["site"]) == (b["epoch"], b["site"]), (a, b)
    for key in ("dead_fraction", "sparsity", "grad_nonzero_fraction"):
        assert abs(float(a[key]) - float(b[key])) <= 1e-3, (a["site"], key, a[key], b[key])
    assert abs(float(a["grad_norm"]) - float(b["grad_norm"])) <= 1e-3 * float(a["grad_norm"]), (a["site"], a["grad_norm"], b["grad_norm"])
print("neurons.csv agrees:", len(one), "rows")
PY

# Resume with another number of ranks: 1 epoch on 2 ranks, the second in one process.
mpi train "$work/base.yaml" --out "$work/resumed" --set train.epochs=1 --no-progress
[[ $status == 0 ]] || fail "2 ranks, 1 epoch: exit $status: $err"
run train --resume "$work/resumed" --set train.epochs=2 --no-progress
[[ $status == 0 ]] || fail "resume in one process: exit $status: $err"
$python "$compare" "$work/one/last.safetensors" "$work/resumed/last.safetensors" 5e-4 \
  || fail "a 2-rank run resumed in one process did not end with the one-process weights"

# A last batch that does not split evenly (47 images, batches of 16: the last 15 are cut 7 + 8): with
# sync_bn the ranks' batch-norm gradients must be on one scale (the backward starts from each rank's
# share of the global mean loss).
run train "$work/base.yaml" --out "$work/uneven-one" --set data.train_limit=47 --no-progress
[[ $status == 0 ]] || fail "one process, 47 images: exit $status: $err"
mpi train "$work/base.yaml" --out "$work/uneven-two" --set data.train_limit=47 --no-progress
[[ $status == 0 ]] || fail "2 ranks, 47 images: exit $status: $err"
$python "$compare" "$work/uneven-one/last.safetensors" "$work/uneven-two/last.safetensors" 5e-4 \
  || fail "2 ranks with a last batch of 7 + 8 did not end with the one-process weights"

# Mixup and cutmix pair neighbours of the global batch, and each rank's part holds whole pairs: with
# batches of 12 (6 per rank), 2 ranks mix the pairs one process mixes, with the same weights and boxes.
# 7 images per rank would cut a pair: refused before anything is written.
mixing=(--set data.mix.mixup_alpha=0.4 --set data.mix.cutmix_alpha=1.0)
run train "$work/base.yaml" --out "$work/mixed-one" "${mixing[@]}" --set train.batch_size=12 --no-progress
[[ $status == 0 ]] || fail "one process with mixing: exit $status: $err"
mpi train "$work/base.yaml" --out "$work/mixed-two" "${mixing[@]}" --set train.batch_size=12 --no-progress
[[ $status == 0 ]] || fail "2 ranks with mixing: exit $status: $err"
$python "$compare" "$work/one/last.safetensors" "$work/mixed-one/last.safetensors" 1e-2 --expect-different \
  || fail "mixing did not change the training"
$python "$compare" "$work/mixed-one/last.safetensors" "$work/mixed-two/last.safetensors" 5e-4 \
  || fail "2 ranks with mixing did not end with the one-process weights"
mpi train "$work/base.yaml" --out "$work/mixed-odd" "${mixing[@]}" --set train.batch_size=14 --no-progress
[[ $status != 0 && $err == *"each of the 2 ranks needs an even number of them; 14 gives 7"* ]] \
  || fail "mixing with 7 images per rank: exit $status: $err"
[[ ! -e $work/mixed-odd ]] || fail "mixing with 7 images per rank: a run directory was created"

# Per-rank batch-norm statistics: a different computation (each rank normalises its 8 images alone).
mpi train "$work/base.yaml" --out "$work/local-bn" --set train.sync_bn=false --no-progress
[[ $status == 0 ]] || fail "2 ranks without sync_bn: exit $status: $err"
$python "$compare" "$work/one/last.safetensors" "$work/local-bn/last.safetensors" 1e-2 --expect-different \
  || fail "without sync_bn the weights should differ from the one-process run"

# A global batch of 15 cannot be split across 2 ranks.
mpi train "$work/base.yaml" --out "$work/odd" --set train.batch_size=15 --no-progress
[[ $status != 0 ]] || fail "batch 15 on 2 ranks should fail"
[[ $err == *"cannot be split evenly across 2 ranks"* ]] || fail "batch 15: unexpected message: $err"
[[ ! -e $work/odd ]] || fail "batch 15: a run directory was created"

# Rank 0 fails (the run directory exists) while rank 1 builds its model and enters training.
mpi train "$work/base.yaml" --out "$work/two" --no-progress
[[ $status != 0 && $status != 124 ]] || fail "an existing run directory: exit $status (124 = hung): $err"
[[ $err == *"error: rank 0 of 2: run directory $work/two already exists"* ]] \
  || fail "an existing run directory: unexpected message: $err"
$python "$compare" "$work/one/last.safetensors" "$work/two/last.safetensors" 5e-4 \
  || fail "the refused run changed the existing run directory"
echo "ok"
