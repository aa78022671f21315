#!/usr/bin/env bash
# Sugar against PyTorch (Debian's python3-torch): a ResNet-18 checkpoint loads into the reference
# PyTorch model with strict=True and gives the same eval logits, one SUGAR (B-SiLU) training step gives
# the same loss and parameter gradients as PyTorch's forward gradient injection, and a checkpoint of a
# real `sugar train` run loads too. The comparisons are in tests/torch/crosscheck.py; the Sugar side is
# written by build/bin/dump_reference (tests/torch/dump_reference.cpp).
# usage: torch_crosscheck.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run, write_synthetic_cifar10
sugar=$(realpath "$1")
dump=$(realpath "$2")/bin/dump_reference
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $dump ]] || fail "the test program $dump was not built"

source "$here/lib/torch_python.sh"   # $python

"$dump" "$work/dump" >"$work/dump.log" 2>&1 || fail "dump_reference failed: $(cat "$work/dump.log")"

# A real run: 1 epoch of resnet18 on 64 synthetic CIFAR-10 training records (4 steps of 16), 16 test
# records. 1 label byte + 3072 pixel bytes per record; each class has its own brightness.
write_synthetic_cifar10 "$work/cifar" "13 13 13 13 12" 16 11
cat >"$work/tiny.yaml" <<YAML
name: tiny
seed: 5
model: {name: resnet18, activation: "sugar(surrogate=bsilu)"}
data: {name: cifar10, root: $work/cifar}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: 16, eval_batch_size: 16}
YAML
(cd "$work" && "$sugar" train tiny.yaml --out "$work/run") >"$work/train.log" 2>&1 \
  || fail "sugar train failed: $(tail -n 5 "$work/train.log")"

"$python" "$here/../torch/crosscheck.py" "$work/dump" "$work/run" || fail "Sugar and PyTorch disagree (see above)"
echo "torch_crosscheck: all checks passed"
