#!/usr/bin/env bash
# The convolution-only ceiling of CIFAR ResNet-18 and VGG-16 training on this machine, in f32 and (where
# the CPU has AVX-512) bf16: build/bin/conv_ceiling times every convolution's forward, backward-data and
# backward-weights oneDNN primitive alone (direct algorithm, preferred layouts) and prints per layer and
# in total ms, GFLOPS and batch / (sum of all pass times) img/s. No framework can train faster than
# that with direct convolution; compare with `sugar bench --peak` (the register peak) and `sugar bench`.
#
#   bash scripts/conv_ceiling.sh [--json]        text per model and dtype on stdout (--json: one line each)
#
# Environment (defaults): BATCH (128), THREADS (2), ITERS (5 timed runs per pass, median kept), MODELS
# ("resnet18 vgg16"), CONV_CEILING (build/bin/conv_ceiling). Run it on an otherwise idle machine.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
conv_ceiling=${CONV_CEILING:-$repo_root/build/bin/conv_ceiling}
json=()
for arg in "$@"; do
  case $arg in
    --json) json=(--json) ;;
    *) echo "conv_ceiling.sh: error: unknown argument '$arg' (expected --json)" >&2; exit 2 ;;
  esac
done
[[ -x $conv_ceiling ]] || { echo "conv_ceiling.sh: error: $conv_ceiling is missing; run scripts/setup.sh first" >&2; exit 2; }

dtypes="f32"
grep -qw avx512f /proc/cpuinfo && dtypes="f32 bf16"  # oneDNN's bf16 convolutions need AVX-512
for model in ${MODELS:-resnet18 vgg16}; do
  for dtype in $dtypes; do
    "$conv_ceiling" --model "$model" --dtype "$dtype" --batch "${BATCH:-128}" --threads "${THREADS:-2}" \
      --iters "${ITERS:-5}" "${json[@]}"
    [[ ${#json[@]} -gt 0 ]] || echo
  done
done
