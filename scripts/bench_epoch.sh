#!/usr/bin/env bash
# Does a real training epoch run as fast as `sugar bench` says? One epoch of `sugar train` on a
# generated 50,000-image CIFAR-10-format file (data loading, random crop and flip included; the
# evaluation and dead-neuron passes are timed apart and not counted) against `sugar bench` on the same
# model, batch and threads, run right before and right after the epoch (this 2-core virtual machine's
# speed drifts by 10% and more within minutes, so the epoch is compared with the mean of the two).
# Issue 6's target: within 5%. Prints one Markdown row per model.
#
#   bash scripts/bench_epoch.sh [IMAGES] [BATCH] [THREADS] [MODEL...]
#   defaults: 50000 128 2 resnet18 vgg16
#
# Run it on an otherwise idle machine; it takes about 7 minutes per ResNet-18 epoch on 2 cores.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sugar=${SUGAR:-$repo_root/build/bin/sugar}
images=${1:-50000}
batch=${2:-128}
threads=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
models=("$@")
(( ${#models[@]} )) || models=(resnet18 vgg16)
[[ -x $sugar ]] || { echo "bench_epoch: $sugar is missing; run scripts/setup.sh first" >&2; exit 2; }
work=$(mktemp -d /tmp/sugar-bench-epoch.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "bench_epoch: writing $images CIFAR-10-format images" >&2
python3 "$repo_root/scripts/make_cifar_like.py" "$work/cifar" "$images"

json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
csv_field() { awk -F, -v key="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == key) c = i } NR == 2 { print $c }' "$1"; }

bench_imgs_per_sec() {
  echo "bench_epoch: sugar bench $1" >&2
  "$sugar" bench --model "$1" --batch "$batch" --threads "$threads" --iters 10 --json 2>>"$work/$1-bench.log" |
    json_field imgs_per_sec
}

echo "| model | sugar bench before | sugar train epoch | sugar bench after | epoch / mean of the benches |"
echo "|---|---|---|---|---|"
for model in "${models[@]}"; do
  # The bench first: with conv_algo auto it times the layers and stores the choices for this machine,
  # so the training run below computes with the same algorithms.
  before=$(bench_imgs_per_sec "$model")
  cat >"$work/$model.yaml" <<YAML
name: bench-epoch-$model
model: {name: $model, activation: relu}
data: {name: cifar10, root: "$work/cifar", augment: {crop_padding: 4, hflip: true}}
optim: {name: sgd, lr: 0.01, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: $batch, eval_batch_size: 256, threads: $threads, neuron_stats: false}
YAML
  echo "bench_epoch: sugar train $model, one epoch of $images images" >&2
  "$sugar" train "$work/$model.yaml" --out "$work/run-$model" --no-progress >"$work/$model.log" 2>&1 ||
    { cat "$work/$model.log" >&2; exit 1; }
  epoch=$(csv_field "$work/run-$model/metrics.csv" train_imgs_per_sec)
  after=$(bench_imgs_per_sec "$model")
  awk -v m="$model" -v e="$epoch" -v b="$before" -v a="$after" \
    'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.3f |\n", m, b, e, a, 2 * e / (b + a) }'
done
