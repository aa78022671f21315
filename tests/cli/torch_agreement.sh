#!/usr/bin/env bash
# Sugar against PyTorch over whole training runs (issue 18): tests/torch/agreement.py's experiment (a
# VGG-11 on 2,048 Fashion-MNIST images for 3 epochs, SGD lr 1e-3 without momentum) trained by both
# from the same PyTorch-drawn weights (model.init_from) in the same batch order (build/bin/batch_order
# writes the trainer's), for ReLU and for SUGAR with B-SiLU: the per-epoch train loss and test top-1 must
# agree within the tolerances calibrated offline (tests/torch/agreement_calibration.md). The negative
# control: Sugar's own torchvision initialisation instead of the file must fail the same comparison.
# Also: config.yaml records the SHA-256 of the weights file as coreutils' sha256sum computes it.
# usage: torch_agreement.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail
sugar=$(realpath "$1")
batch_order=$(realpath "$2")/bin/batch_order
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
agreement="$here/../torch/agreement.py"
[[ -x $batch_order ]] || fail "the test program $batch_order was not built"
source "$here/lib/torch_python.sh"   # $python
fashion=$("$python" -B -c "import sys; sys.path.insert(0, '$here/../torch'); import agreement; print(agreement.FASHION_ROOT)")
[[ -f $fashion/train-images-idx3-ubyte.gz ]] || fail "Fashion-MNIST is not in $fashion (Debian package dataset-fashion-mnist)"

# PyTorch's initial weights and the Sugar configs that start from them.
"$python" "$agreement" init "$work/weights.safetensors" 0
for activation in relu sugar; do
  "$python" "$agreement" config "$work/$activation.yaml" "$activation" --init-from "$work/weights.safetensors"
done
# The negative control: the same experiment from Sugar's torchvision initialisation.
"$python" "$agreement" config "$work/torchvision.yaml" relu

# The trainer's order: it depends on the seed and the data, which both configs share; checked anyway.
"$batch_order" "$work/relu.yaml" 3 "$work/order.txt" || fail "batch_order failed"
"$batch_order" "$work/sugar.yaml" 3 "$work/order-sugar.txt" || fail "batch_order failed"
cmp -s "$work/order.txt" "$work/order-sugar.txt" || fail "the ReLU and SUGAR configs train in different orders"

train() {  # NAME CONFIG [--set ...]: a Sugar run into $work/NAME
  local name=$1 config=$2
  shift 2
  "$sugar" train "$config" --out "$work/$name" --no-progress "$@" >"$work/$name.log" 2>&1 \
    || fail "sugar train $name failed: $(tail -n 5 "$work/$name.log")"
}
train relu "$work/relu.yaml"
train sugar "$work/sugar.yaml"
train torchvision "$work/torchvision.yaml" --set model.init=torchvision
for activation in relu sugar; do
  "$python" "$agreement" train "$work/weights.safetensors" "$work/order.txt" "$activation" 2 "$work/torch-$activation.csv" \
    || fail "the PyTorch $activation run failed"
done

# The digest the run recorded is the file's (an independent SHA-256: coreutils).
digest=$(sha256sum "$work/weights.safetensors" | cut -d' ' -f1)
grep -q "init_from_sha256: \"\?$digest\"\?\$" "$work/relu/config.yaml" \
  || fail "config.yaml does not record the weights' SHA-256 $digest: $(grep init_from "$work/relu/config.yaml")"

status=0
"$python" "$agreement" compare "ReLU" "$work/relu/metrics.csv" "$work/torch-relu.csv" || status=1
"$python" "$agreement" compare "SUGAR (B-SiLU)" "$work/sugar/metrics.csv" "$work/torch-sugar.csv" || status=1
"$python" "$agreement" compare "negative control: Sugar's torchvision init against PyTorch's" \
  "$work/torchvision/metrics.csv" "$work/torch-relu.csv" --expect-disagreement || status=1
[[ $status == 0 ]] || fail "Sugar and PyTorch do not agree as calibrated (see above)"
echo "torch_agreement: all checks passed"
