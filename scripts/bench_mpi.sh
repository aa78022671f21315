#!/usr/bin/env bash
# Data-parallel scaling on one machine: ResNet-18 training (sugar train, data loading included) with
# 1 process x N threads against N ranks x 1 thread under mpirun, on a generated CIFAR-10-format data
# set, and the gradient all-reduce time per step that the ranks waited for after their backward pass.
# Prints a Markdown table (the one in the README's "Data-parallel training" section).
#
#   bash scripts/bench_mpi.sh [IMAGES] [BATCH] [MODEL]     defaults: 2560 128 resnet18
#
# Needs mpirun (openmpi-bin, installed by scripts/setup.sh) and python3 (to write the data). N is the
# number of cores (nproc). Run it on an otherwise idle machine: the numbers are images per second.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sugar=${SUGAR:-$repo_root/build/bin/sugar}
images=${1:-2560}
batch=${2:-128}
model=${3:-resnet18}
cores=$(nproc)
[[ -x $sugar ]] || { echo "bench_mpi: $sugar is missing; run scripts/setup.sh first" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "bench_mpi: mpirun is missing (apt-get install openmpi-bin)" >&2; exit 2; }
work=$(mktemp -d /tmp/sugar-bench-mpi.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Root, containers: see tests/mpi/mpi_env.sh for why each variable is there.
source "$repo_root/tests/mpi/mpi_env.sh"

# Random pixels are enough to time training.
python3 "$repo_root/scripts/make_cifar_like.py" "$work/cifar" "$images"

cat >"$work/bench.yaml" <<YAML
name: bench-mpi
model: {name: $model, activation: relu}
data: {name: cifar10, root: "$work/cifar"}
optim: {name: sgd, lr: 0.01, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: $batch, eval_batch_size: 256, neuron_stats: false}
YAML

imgs_per_sec() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "train_imgs_per_sec") c = i } NR == 2 { print $c }' "$1/metrics.csv"; }
allreduce_ms() { grep -o '[0-9.]* ms per step waited' "$1/train.log" | head -1 | cut -d' ' -f1; }

echo "bench_mpi: $model, batch $batch, $images images, $cores cores: 1 process x $cores threads" >&2
"$sugar" train "$work/bench.yaml" --out "$work/one" --set train.threads="$cores" --no-progress 2>"$work/one.log"
single=$(imgs_per_sec "$work/one")
echo "bench_mpi: $cores ranks x 1 thread" >&2
mpirun -np "$cores" --bind-to core "$sugar" train "$work/bench.yaml" --out "$work/ranks" --set train.threads=1 \
  --no-progress 2>"$work/ranks.log"
ranks=$(imgs_per_sec "$work/ranks")
wait_ms=$(allreduce_ms "$work/ranks")

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "| $model, batch $batch ($cpu, $cores cores) | train img/s | all-reduce wait per step |"
echo "|---|---|---|"
echo "| 1 process x $cores threads | $single | - |"
echo "| $cores ranks x 1 thread (mpirun --bind-to core) | $ranks | $wait_ms ms |"
