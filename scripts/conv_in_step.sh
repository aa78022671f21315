#!/usr/bin/env bash
# How fast the convolutions run inside a Sugar training step, against the same oneDNN primitives run
# alone (build/bin/conv_ceiling): both under DNNL_VERBOSE=1, which prints every primitive execution with
# its time; per layer shape and pass, the mean time in the last steps of `sugar bench` beside the
# median time alone, their ratio, and the totals. A ratio well above 1 says the step makes that
# primitive slower (cache or TLB misses, other layouts) rather than the primitive being slow; this is
# how the 4 KiB-page TLB misses of the bf16 backward-weights passes were found (memory_pool.cpp).
#
#   bash scripts/conv_in_step.sh [MODEL] [DTYPE]      (default resnet18 bf16; batch 128, 2 threads)
#
# Environment: BATCH (128), THREADS (2), SUGAR, CONV_CEILING (the programs, default build/bin/). Run
# it on an otherwise idle machine; verbose printing costs a little time outside the primitives.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sugar=${SUGAR:-$repo_root/build/bin/sugar}
conv_ceiling=${CONV_CEILING:-$repo_root/build/bin/conv_ceiling}
model=${1:-resnet18}
dtype=${2:-bf16}
batch=${BATCH:-128}
threads=${THREADS:-2}
usage_error() { echo "conv_in_step: error: $*" >&2; exit 2; }
[[ $model == resnet18 || $model == vgg16 ]] || usage_error "MODEL '$model' (expected resnet18 or vgg16, what conv_ceiling knows)"
[[ $dtype == f32 || $dtype == bf16 ]] || usage_error "DTYPE '$dtype' (expected f32 or bf16)"
[[ $batch =~ ^[1-9][0-9]{0,3}$ ]] || usage_error "BATCH='$batch' (expected 1-9999)"
[[ $threads =~ ^[1-9][0-9]{0,3}$ ]] || usage_error "THREADS='$threads' (expected 1-9999)"
for program in "$sugar" "$conv_ceiling"; do
  [[ -x $program ]] || usage_error "$program is missing; run scripts/setup.sh first"
done
work=$(mktemp -d /tmp/conv_in_step.XXXXXX)
trap 'rm -rf "$work"' EXIT

steps=3  # timed steps after 3 warm-up; direct convolution, so that both sides run the same primitives
echo "conv_in_step: sugar bench --model $model --dtype $dtype (DNNL_VERBOSE)" >&2
DNNL_VERBOSE=1 "$sugar" bench --model "$model" --dtype "$dtype" --batch "$batch" --threads "$threads" \
  --conv-algo direct --warmup 3 --iters "$steps" >"$work/step.txt" 2>/dev/null
echo "conv_in_step: conv_ceiling --model $model --dtype $dtype (DNNL_VERBOSE)" >&2
DNNL_VERBOSE=1 "$conv_ceiling" --model "$model" --dtype "$dtype" --batch "$batch" --threads "$threads" \
  --iters 3 >"$work/alone.txt" 2>/dev/null

python3 - "$work/step.txt" "$work/alone.txt" "$steps" "$model" "$dtype" <<'PY'
import collections, statistics, sys

step_file, alone_file, steps, model, dtype = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def executions(path):
    """(pass, problem, memory layouts) -> times in ms, in execution order, for every convolution run.
    The layouts are part of the key: conv_ceiling times backward-weights with bf16 and with f32
    diff_weights, and a layer Sugar runs in other layouts is another primitive."""
    times = collections.defaultdict(list)
    for line in open(path):
        fields = line.rstrip("\n").split(",")
        # onednn_verbose,exec,cpu,convolution,<impl>,<prop>,<memory descriptors>,<attrs>,<alg>,<problem>,<ms>
        if len(fields) < 11 or fields[1] != "exec" or fields[3] != "convolution":
            continue
        times[(fields[5], fields[-2], fields[6])].append(float(fields[-1]))
    return times

step, alone = executions(step_file), executions(alone_file)
total_step = total_alone = 0.0
unmatched = []
print(f"{model} {dtype}: convolution primitives inside `sugar bench` (mean of the last {steps} steps) "
      "against the same primitive alone (conv_ceiling, median)\n")
print(f"{'pass':18s} {'problem':58s} {'calls':>5s} {'in step ms':>10s} {'alone ms':>9s} {'ratio':>6s}")
for key in sorted(step, key=lambda k: (k[0], k[1])):
    calls_per_step = len(step[key]) // (steps + 3)  # warm-up steps executed them too
    if calls_per_step == 0:
        continue
    if key not in alone:
        unmatched.append(key)
        continue
    last = step[key][-calls_per_step * steps:]
    in_step = sum(last) / len(last)
    alone_ms = statistics.median(alone[key])
    total_step += in_step * calls_per_step
    total_alone += alone_ms * calls_per_step
    print(f"{key[0]:18s} {key[1][:58]:58s} {calls_per_step:5d} {in_step:10.2f} {alone_ms:9.2f} {in_step / alone_ms:6.2f}")
print(f"\nper step: {total_step:.1f} ms inside the step, {total_alone:.1f} ms alone ({total_step / total_alone:.2f}x)")
for key in unmatched:
    print(f"not timed alone in these layouts (left out above): {key[0]} {key[1]} {key[2]}")
PY
