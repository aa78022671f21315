#!/usr/bin/env bash
# `sugar bench` as a user runs it: a tiny training benchmark prints the table (or, with --json, one
# JSON object on one line) on stdout and progress on stderr; bad arguments are one line on stderr with
# exit code 2. Never a speed assertion.
# usage: bench.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run, write_synthetic_cifar10


expect_usage_error "--iters: expected a whole number in [1, 10000], got '0'" bench --iters 0
expect_usage_error "--batch: expected a whole number in [1, 4096], got '0'" bench --batch 0
expect_usage_error "--dtype" bench --dtype f16
expect_usage_error "--phase" bench --phase backward
expect_usage_error "--batch" bench --batch many
expect_usage_error "resnet99" bench --model resnet99 --iters 1
expect_usage_error "nope" bench --model vgg11 --activation nope --iters 1
expect_usage_error "--frobnicate" bench --frobnicate

# JSON: one line on stdout, the keys scripts/bench_pytorch.py also prints, progress on stderr.
run bench --model vgg11 --batch 2 --threads 1 --warmup 1 --iters 1 --json
[[ $status == 0 ]] || fail "bench --json exited $status: $err"
[[ $(wc -l <"$work/out") == 1 ]] || fail "bench --json printed more than one line: $out"
[[ $err == *"timed step 2/2"* ]] || fail "no progress on stderr: $err"
for key in '"model":"vgg11"' '"dtype":"f32"' '"phase":"train"' '"batch":2' '"threads":1' '"imgs_per_sec":' \
  '"peak_rss_mib":' '"peak_tensor_mib":' '"breakdown":' '"conv_backward_weights":' '"other":' '"recompute":true' \
  '"gflop_per_image":' '"achieved_gflops":'; do
  [[ $out == *"$key"* ]] || fail "the JSON lacks $key: $out"
done

# The table, for inference with an activation spec (the global --threads reaches bench too).
run --threads 1 bench --model vgg11 --batch 2 --warmup 0 --iters 1 --phase infer --activation 'sugar(surrogate=bsilu)'
[[ $status == 0 ]] || fail "bench --phase infer exited $status: $err"
[[ $out == "sugar bench: vgg11 (9,231,114 parameters), activation sugar(forward=relu, surrogate=bsilu(alpha=1.67), region=all), f32, infer, batch 2 of 3x32x32 images, 10 classes, sgd, 1 thread"* ]] ||
  fail "unexpected table header: $out"
for word in img/s conv_forward other "peak RSS" "oneDNN" "batch norms folded into convolutions"; do
  [[ $out == *"$word"* ]] || fail "the table lacks '$word': $out"
done
[[ $out != *conv_backward* ]] || fail "inference shows backward kinds: $out"
# Fused: SUGAR's forward is ReLU, so every activation runs inside its convolution.
[[ $out != *activation_forward* && $out != *batch_norm_forward* ]] || fail "fused inference ran layers by themselves: $out"

run --threads 1 bench --model vgg11 --batch 2 --warmup 0 --iters 1 --phase infer --no-fusion
[[ $status == 0 ]] || fail "bench --no-fusion exited $status: $err"
for word in "no fusion" batch_norm_forward activation_forward; do
  [[ $out == *"$word"* ]] || fail "the --no-fusion table lacks '$word': $out"
done
run --threads 1 bench --model vgg11 --batch 2 --warmup 0 --iters 1 --no-recompute --json
[[ $status == 0 ]] || fail "bench --no-recompute exited $status: $err"
[[ $out == *'"recompute":false'* ]] || fail "the --no-recompute JSON lacks \"recompute\":false: $out"

# A config file is built as sugar train builds it: its dataset's image shape and classes, its optimizer.
# VGG-11 on one-channel images has 64 x 2 x 9 fewer first-layer weights than on three (9,231,114 -
# 1,152); CIFAR-100's classifier has 90 x (512 + 1) more.
cat >"$work/fashion.yaml" <<YAML
model: {name: vgg11}
data: {name: fashion_mnist}
optim: {name: adam, lr: 0.001}
train: {batch_size: 2, threads: 1}
YAML
run bench "$work/fashion.yaml" --warmup 0 --iters 1 --json
[[ $status == 0 ]] || fail "bench CONFIG exited $status: $err"
for key in '"image":[1,32,32]' '"classes":10' '"optimizer":"adam"' '"parameters":9229962' '"batch":2' '"threads":1'; do
  [[ $out == *"$key"* ]] || fail "bench CONFIG: the JSON lacks $key: $out"
done
run bench "$work/fashion.yaml" --set data.name=cifar100 --batch 3 --warmup 0 --iters 1 --json
[[ $status == 0 && $out == *'"image":[3,32,32]'* && $out == *'"classes":100'* && $out == *'"parameters":9277284'* &&
   $out == *'"batch":3'* ]] || fail "bench CONFIG --set data.name=cifar100 --batch 3: exit $status, $out $err"
# A shorthand and a --set of the same key with two values: one error naming both.
expect_usage_error "--batch 3: train.batch_size: conflicts with --set train.batch_size=8" \
  bench --set train.batch_size=8 --batch 3
expect_usage_error "--model resnet99: model.name" bench --model resnet99
# Image folders say their class count only in their files: the bench needs --classes.
expect_usage_error "image_folder says its class count only in its files; give it (--classes K)" \
  bench --set data.name=image_folder --iters 1
expect_usage_error "is 12884901888 values; expected at most 268435456" \
  bench --set data.name=image_folder --set data.image_size=1024 --batch 4096 --classes 3

# --peak: one JSON object with the fp32 peak (and bf16 exactly where the CPU has it); a model option
# with --peak is a usage error, not silently ignored.
run bench --peak --threads 1 --json
[[ $status == 0 ]] || fail "bench --peak --json exited $status: $err"
[[ $(wc -l <"$work/out") == 1 ]] || fail "bench --peak --json printed more than one line: $out"
for key in '{"peak":{' '"threads":1' '"fp32_gflops":' '"fp32_isa":"avx' '"fp32_accumulators":' '"by_accumulators":'; do
  [[ $out == *"$key"* ]] || fail "the --peak JSON lacks $key: $out"
done
if grep -qw avx512_bf16 /proc/cpuinfo; then
  [[ $out == *'"bf16_isa":"avx512_bf16"'* ]] || fail "the CPU has avx512_bf16 but --peak did not measure it: $out"
else
  [[ $out == *'"bf16_gflops":null'* ]] || fail "the CPU has no avx512_bf16 but --peak reports bf16: $out"
fi
expect_usage_error "--model excludes --peak" bench --peak --model vgg11
expect_usage_error "--dtype excludes --peak" bench --peak --dtype bf16
echo "bench CLI: ok"
