#!/usr/bin/env bash
# Sugar's modern models against torchvision's own classes (Debian's python3-torchvision): each model's
# checkpoint strict-loads into torchvision's class of the same configuration, and eval logits, one
# training step's loss and gradients with its own activations and with SUGAR at those sites agree
# (ConvNeXt, MobileNetV3, ViT, Swin); and ops::attention alone against the explicit formula in PyTorch. The comparisons
# are in tests/torch/crosscheck_models.py; the Sugar side is written by build/bin/dump_model.
# usage: torch_models.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run
dump=$(realpath "$2")/bin/dump_model
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -x $dump ]] || fail "the test program $dump was not built"
source "$here/lib/torch_python.sh"   # $python
"$python" -c 'import torchvision' 2>/dev/null \
  || fail "torchvision is not installed (Debian package python3-torchvision): run \`bash scripts/setup.sh --tests\`"

models=(attention convnext_atto convnext_femto mobilenetv3_small mobilenetv3_large vit_mini vit_tiny swin_mini swin_tiny)
for model in "${models[@]}"; do
  "$dump" "$work/dump" "$model" >"$work/$model.log" 2>&1 || fail "dump_model $model failed: $(cat "$work/$model.log")"
done
"$python" "$here/../torch/crosscheck_models.py" "$work/dump" "${models[@]}" || fail "Sugar and torchvision disagree (see above)"
echo "torch_models: all checks passed"
