#!/usr/bin/env bash
# The README's performance tables, made so that anyone can rerun them and get the same ratios:
# Sugar (`sugar bench`) against PyTorch (scripts/bench_pytorch.py, Debian's python3-torch on OpenBLAS),
# with this CPU's register peak (`sugar bench --peak`) and the convolution-only ceiling (build/bin/
# conv_ceiling), then Sugar's images/s against threads and batch size.
#
#   bash scripts/bench_table.sh [ROUNDS]            Markdown on stdout, progress on stderr
#   ROUNDS=1 ITERS=1 WARMUP=1 bash scripts/bench_table.sh     a quick smoke run (numbers meaningless)
#
# A virtual machine's speed drifts by ~10% within minutes, so every number is measured in ROUNDS rounds
# (default 3), and within a round each row's cells run one right after the other (Sugar, then
# PyTorch's), so that drift hits both alike; a cell reports the median [min-max] of its rounds, and a
# ratio is computed per round, then summarised the same way. Sugar's convolution choices start fresh:
# SUGAR_CACHE_DIR points at a new empty directory, so the first Sugar cell of each model measures its
# layers (auto) within its warm-up steps and later cells reuse the choices.
#
# Environment (defaults): ROUNDS (3), ITERS (5 timed steps per training cell), INFER_ITERS (4 x ITERS
# timed steps per inference cell: an inference step is 3-4x shorter, and 5 of them left PyTorch's bf16
# inference cells 20% apart from one run of the script to the next), WARMUP (2 untimed steps), THREADS
# (2), BATCH (128), MODELS ("resnet18 vgg16"; any of Sugar's models that scripts/bench_pytorch.py also
# builds; the convolution-only ceiling exists for resnet18 and vgg16 only), SCALING_THREADS ("1 2") and
# SCALING_BATCHES ("32 64 128 256"; empty: no threads x batch table), SUGAR and CONV_CEILING (the
# programs, default build/bin/). Needs scripts/setup.sh --tests (python3-torch, libopenblas0-openmp).
# Run it on an otherwise idle machine.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sugar=${SUGAR:-$repo_root/build/bin/sugar}
conv_ceiling=${CONV_CEILING:-$repo_root/build/bin/conv_ceiling}
rounds=${1:-${ROUNDS:-3}}
iters=${ITERS:-5}
infer_iters=${INFER_ITERS:-$((4 * iters))}
warmup=${WARMUP:-2}
threads=${THREADS:-2}
batch=${BATCH:-128}
models=${MODELS:-resnet18 vgg16}
scaling_threads=${SCALING_THREADS-1 2}
scaling_batches=${SCALING_BATCHES-32 64 128 256}
# Debian's torch is installed for /usr/bin/python3 (a python3 earlier on PATH may not have it).
python=/usr/bin/python3

usage_error() { echo "bench_table: error: $*" >&2; exit 2; }
for setting in "ROUNDS=$rounds" "ITERS=$iters" "INFER_ITERS=$infer_iters" "THREADS=$threads" "BATCH=$batch"; do
  [[ ${setting#*=} =~ ^[1-9][0-9]*$ ]] || usage_error "${setting%%=*} must be a whole number >= 1, got '${setting#*=}'"
done
[[ $warmup =~ ^[0-9]+$ ]] || usage_error "WARMUP must be a whole number >= 0, got '$warmup'"
[[ -x $sugar && -x $conv_ceiling ]] || usage_error "$sugar or $conv_ceiling is missing; run scripts/setup.sh first"
# Sugar's models (the registry, as `sugar train --list-keys` lists them); conv_ceiling knows two of them.
known_models=$("$sugar" train --list-keys 2>/dev/null | awk '/^  [a-z0-9_]+ +activation / { print $1 }')
for model in $models; do
  grep -qx -- "$model" <<<"$known_models" || usage_error "MODELS: '$model' is not one of Sugar's models ($(echo $known_models))"
done
has_ceiling() { [[ $1 == resnet18 || $1 == vgg16 ]]; }
"$python" -c 'import torch' 2>/dev/null || usage_error "python3-torch is missing (scripts/setup.sh --tests)"

work=$(mktemp -d /tmp/sugar-bench-table.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SUGAR_CACHE_DIR="$work/sugar-cache"  # a fresh, empty choice file for this run alone
mkdir -p "$SUGAR_CACHE_DIR"
results="$work/results.jsonl"

# bf16 runs on oneDNN's AVX-512 kernels only (emulated without AVX512_BF16).
dtypes="f32"
grep -qw avx512f /proc/cpuinfo && dtypes="f32 bf16"

round=0
# measure '<fields of the record, JSON>' program args...: runs one cell and appends its JSON to the results.
measure() {
  local fields=$1
  shift
  echo "bench_table: round $round/$rounds: $(basename "$1") ${*:2}" >&2
  if ! "$@" >"$work/out.json" 2>"$work/err"; then
    echo "bench_table: error: $(basename "$1") ${*:2} failed:" >&2
    tail -n 5 "$work/err" >&2
    exit 1
  fi
  "$python" -c 'import json, sys; r = json.loads(sys.argv[1]); r["result"] = json.load(open(sys.argv[2])); print(json.dumps(r))' \
    "$fields" "$work/out.json" >>"$results"
}
# A cell's timed steps: $cell_iters (set per phase below).
sugar_bench() { "$sugar" bench --threads "$threads" --iters "$cell_iters" --warmup "$warmup" --conv-algo auto --json "$@"; }
torch_bench() {
  "$python" "$repo_root/scripts/bench_pytorch.py" --threads "$threads" --iters "$cell_iters" --warmup "$warmup" --json "$@"
}

for ((round = 1; round <= rounds; ++round)); do
  measure "{\"kind\": \"peak\", \"round\": $round}" "$sugar" bench --peak --threads "$threads" --json
  for model in $models; do
    for dtype in $dtypes; do
      has_ceiling "$model" || continue  # the table says '-' for a model without one
      measure "{\"kind\": \"ceiling\", \"round\": $round, \"model\": \"$model\", \"dtype\": \"$dtype\"}" \
        "$conv_ceiling" --model "$model" --dtype "$dtype" --batch "$batch" --threads "$threads" --iters "$iters" --json
    done
    for phase in train infer; do
      cell_iters=$iters
      [[ $phase == infer ]] && cell_iters=$infer_iters
      for dtype in $dtypes; do
        cell="\"kind\": \"cell\", \"round\": $round, \"model\": \"$model\", \"phase\": \"$phase\", \"dtype\": \"$dtype\""
        measure "{$cell, \"who\": \"sugar\"}" sugar_bench --model "$model" --batch "$batch" --phase "$phase" --dtype "$dtype"
        # PyTorch's bf16 is autocast, which is only fast with channels_last: NCHW is not measured.
        if [[ $dtype == f32 ]]; then
          measure "{$cell, \"who\": \"torch_nchw\"}" torch_bench --model "$model" --batch "$batch" --phase "$phase"
        fi
        measure "{$cell, \"who\": \"torch_channels_last\"}" \
          torch_bench --model "$model" --batch "$batch" --phase "$phase" --dtype "$dtype" --channels-last
      done
    done
  done
  for t in $scaling_threads; do
    for b in $scaling_batches; do
      measure "{\"kind\": \"scaling\", \"round\": $round, \"threads\": $t, \"batch\": $b}" \
        "$sugar" bench --model resnet18 --batch "$b" --threads "$t" --iters "$iters" --warmup "$warmup" --conv-algo auto --json
    done
  done
done

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
flags=$(grep -m1 '^flags' /proc/cpuinfo)
isa=""
for flag in avx512f avx512_bf16 amx_tile; do
  if [[ " $flags " == *" $flag "* ]]; then isa+="$flag "; fi
done
"$python" "$repo_root/scripts/bench_table_report.py" "$results" --cpu "$cpu" --cpu-flags "${isa% }" --cores "$(nproc)" \
  --date "$(date -u +%Y-%m-%d)" --rounds "$rounds" --iters "$iters" --infer-iters "$infer_iters" --warmup "$warmup" --threads "$threads" --batch "$batch" \
  --sugar-version "$("$sugar" --version | head -n 1)"
