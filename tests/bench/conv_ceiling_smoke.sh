#!/usr/bin/env bash
# conv_ceiling on a batch of 2, one timed run: every convolution of ResNet-18 and VGG-16 gets its
# passes (no backward-data for the first), the totals add up, and the FLOPs per image are the closed
# forms written out below. bf16 where the CPU has AVX512_BF16. Bad options: one line, exit 2. Never a
# speed assertion.
# usage: conv_ceiling_smoke.sh <conv_ceiling binary>
set -euo pipefail
conv_ceiling=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "conv_ceiling_smoke: FAIL: $*" >&2; exit 1; }

# Direct-convolution FLOPs of one training image: 3 passes of 2 x Cout x side^2 x Cin x k^2 each,
# less the first layer's backward-data.
full() { echo $((2 * $1 * $1 * $2 * $2 * 9)); }  # a 3x3 layer keeping C channels at side s: full C s
stem=$((2 * 64 * 32 * 32 * 3 * 9))              # 3 -> 64 at 32x32
# ResNet-18: stage 1 is four 64-channel layers at 32x32; stages 2-4 each have a stride-2 3x3 layer (half
# a full layer: Cin = C/2), three full layers and a 1x1 stride-2 shortcut (2 x C x s^2 x C/2).
resnet_stage() { echo $(($(full $1 $2) / 2 + 3 * $(full $1 $2) + 2 * $1 * $2 * $2 * $1 / 2)); }
resnet_forward=$((stem + 4 * $(full 64 32) + $(resnet_stage 128 16) + $(resnet_stage 256 8) + $(resnet_stage 512 4)))
# VGG-16: stem, 64 at 32; 128 at 16 (first from 64); 256 at 8 (x3, first from 128); 512 at 4 (x3, first
# from 256); 512 at 2 (x3).
vgg_forward=$((stem + $(full 64 32) + $(full 128 16) / 2 + $(full 128 16) + $(full 256 8) / 2 + 2 * $(full 256 8) +
  $(full 512 4) / 2 + 2 * $(full 512 4) + 3 * $(full 512 2)))
resnet_training=$((3 * resnet_forward - stem))
vgg_training=$((3 * vgg_forward - stem))
[[ $resnet_training == 3328966656 && $vgg_training == 1875640320 ]] ||
  fail "the closed forms themselves are off: $resnet_training, $vgg_training"

check() {  # model dtype layers flops
  local model=$1 dtype=$2 layers=$3 flops=$4
  "$conv_ceiling" --model "$model" --dtype "$dtype" --batch 2 --threads 1 --iters 1 --warmup 0 --json \
    >"$work/out" 2>"$work/err" || fail "$model $dtype exited $?: $(cat "$work/err")"
  [[ $(wc -l <"$work/out") == 1 ]] || fail "$model $dtype: expected one JSON line, got $(cat "$work/out")"
  python3 - "$work/out" "$model" "$dtype" "$layers" "$flops" <<'PY' || fail "$model $dtype: see above"
import json, sys
path, model, dtype, layers, flops = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
run = json.load(open(path))["conv_ceiling"]
def check(ok, what):
    if not ok:
        print(f"conv_ceiling_smoke: {model} {dtype}: {what}", file=sys.stderr)
        sys.exit(1)
check(run["model"] == model and run["dtype"] == dtype and run["batch"] == 2, f"header {run}")
check(len(run["layers"]) == layers, f"{len(run['layers'])} layers, expected {layers}")
for i, layer in enumerate(run["layers"]):
    check(layer["forward"]["ms"] > 0 and layer["backward_weights"]["ms"] > 0, f"{layer['name']} has no time")
    check((layer["backward_data"] is None) == (i == 0), f"{layer['name']}: backward-data only after the first layer")
    check((layer["backward_weights_f32_diff_weights"] is not None) == (dtype == "bf16"),
          f"{layer['name']}: f32 diff_weights timed exactly for bf16")
total = run["total"]
check(abs(total["gflop_per_image"] * 1e9 - flops) < 1e3, f"{total['gflop_per_image']} GFLOP per image, expected {flops / 1e9}")
summed = total["forward_ms"] + total["backward_data_ms"] + total["backward_weights_ms"]
check(abs(total["ms"] - summed) < 1e-3, f"total ms {total['ms']} is not its passes' sum {summed}")
check(abs(total["img_per_s"] - 2 / (total["ms"] / 1e3)) < 1e-2 * total["img_per_s"], f"img/s {total['img_per_s']}")
if dtype == "bf16":
    check(run["backward_weights_by_diff_weights"]["faster"] in ("f32", "bf16"), "no faster diff_weights type")
PY
}

check resnet18 f32 20 "$resnet_training"
check vgg16 f32 13 "$vgg_training"
if grep -qw avx512_bf16 /proc/cpuinfo; then
  check resnet18 bf16 20 "$resnet_training"
  check vgg16 bf16 13 "$vgg_training"
fi

for bad in "--batch 0" "--model resnet99" "--dtype f16" "--iters" "--frobnicate 1"; do
  # shellcheck disable=SC2086 # the options are meant to split
  if "$conv_ceiling" $bad >"$work/out" 2>"$work/err"; then fail "conv_ceiling $bad succeeded"; else status=$?; fi
  [[ $status == 2 ]] || fail "conv_ceiling $bad exited $status, expected 2"
  [[ $(wc -l <"$work/err") == 1 && $(cat "$work/err") == error:* && ! -s $work/out ]] ||
    fail "conv_ceiling $bad: expected one error line, got: $(cat "$work/err")"
done
echo "conv_ceiling smoke: ok"
