#!/usr/bin/env bash
# Two builds of Sugar against each other, alternated: `sugar bench` of binary A then binary B for each
# model, ROUNDS times, and per round the img/s of each and the ratio B / A (the machine's speed drifts
# by ~10% within minutes, so only ratios of neighbouring runs mean anything). How the README's
# "alternated with the build before it" figures are measured. Run it on an otherwise idle machine.
#
#   bash scripts/ab_bench.sh A_BINARY B_BINARY      a Markdown table on stdout, progress on stderr
#   B_ARGS=--no-fusion bash scripts/ab_bench.sh build/bin/sugar build/bin/sugar
#                                                  one binary, with and without an option
#
# Environment (defaults): MODELS ("resnet18 vgg16"), DTYPE (bf16), CONV_ALGO (direct), ROUNDS (3),
# ITERS (5), WARMUP (2), THREADS (2), BATCH (128), A_ARGS and B_ARGS (more `sugar bench` options for
# A or B, split at spaces; empty).
set -euo pipefail
usage_error() { echo "ab_bench: error: $*" >&2; exit 2; }
[[ $# == 2 ]] || usage_error "expected two sugar binaries, A and B (got $# arguments)"
a=$1 b=$2
for binary in "$a" "$b"; do [[ -x $binary ]] || usage_error "$binary is not an executable"; done
models=${MODELS:-resnet18 vgg16}
dtype=${DTYPE:-bf16}
conv_algo=${CONV_ALGO:-direct}
rounds=${ROUNDS:-3}
iters=${ITERS:-5}
warmup=${WARMUP:-2}
threads=${THREADS:-2}
batch=${BATCH:-128}
for n in "$rounds" "$iters" "$warmup" "$threads" "$batch"; do
  [[ $n =~ ^[1-9][0-9]{0,3}$ ]] || usage_error "ROUNDS, ITERS, WARMUP, THREADS and BATCH must be whole numbers 1-9999 (got '$n')"
done

read -r -a a_args <<<"${A_ARGS:-}"
read -r -a b_args <<<"${B_ARGS:-}"

# img/s of one `sugar bench` run (its first line that ends the measurement: "<img/s> img/s (median ...").
# Arguments: binary, model, then more bench options.
images_per_second() {
  "$1" bench --model "$2" --dtype "$dtype" --conv-algo "$conv_algo" --threads "$threads" --batch "$batch" \
    --iters "$iters" --warmup "$warmup" "${@:3}" 2>/dev/null | sed -n 's/^\([0-9.]*\) img\/s (median.*/\1/p' | head -n 1
}

echo "A: $("$a" --version | head -n 1) ${A_ARGS:-}; B: $("$b" --version | head -n 1) ${B_ARGS:-}; $dtype, --conv-algo $conv_algo, batch $batch, $threads threads, $(date -u +%Y-%m-%d)"
echo
echo "| model | round | A img/s | B img/s | B / A |"
echo "|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for model in $models; do
    echo "ab_bench: round $round/$rounds, $model" >&2
    speed_a=$(images_per_second "$a" "$model" "${a_args[@]}")
    speed_b=$(images_per_second "$b" "$model" "${b_args[@]}")
    [[ -n $speed_a && -n $speed_b ]] || { echo "ab_bench: error: a sugar bench run gave no img/s ($model)" >&2; exit 1; }
    echo "| $model | $round | $speed_a | $speed_b | $(python3 -c "print(f'{$speed_b / $speed_a:.3f}')") |"
  done
done
