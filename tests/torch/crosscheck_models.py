"""Sugar's modern models against torchvision's own classes (Debian's python3-torchvision): run by
tests/cli/torch_models.sh.

usage: crosscheck_models.py <dump dir> <model name>...

For each model, <dump dir> holds what tests/torch/dump_model.cpp wrote. torchvision's class is
instantiated with the model's configuration (the independent reference: not a definition written by
the same hand as Sugar's), with the one documented change of Sugar's CIFAR adaptation applied to it
(ConvNeXt: the stem's stride 2 and padding 1, include/sugar/models/convnext.hpp). Checks:

  1. Sugar's checkpoint loads into it with strict=True, and the parameter counts are equal;
  2. eval-mode logits on the dumped batch are equal;
  3. one training-mode forward and backward gives the same loss and parameter gradients, with the
     model's GELU and with SUGAR (forward ReLU, B-SiLU's gradient: forward gradient injection) at the
     GELU sites, the paper's substitution.

Both sides compute in float32; tolerances as in crosscheck.py (measured differences are printed).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.convnext import CNBlockConfig, ConvNeXt

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_models import SugarFGI  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402

failures = []

# (widths, depths) of Sugar's ConvNeXt sizes (src/models/convnext.cpp); stochastic depth is 0 in these.
CONVNEXT = {
    "convnext_atto": ([40, 80, 160, 320], [2, 2, 6, 2]),
    "convnext_femto": ([48, 96, 192, 384], [2, 2, 6, 2]),
}


def check(ok, message):
    print(("ok:   " if ok else "FAIL: ") + message)
    if not ok:
        failures.append(message)


def rel_diff(a, b):
    a, b = a.double(), b.double()
    return (torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b).clamp_min(1e-30)).item()


def torchvision_model(name):
    widths, depths = CONVNEXT[name]
    setting = [CNBlockConfig(widths[i], widths[i + 1] if i < 3 else None, depths[i]) for i in range(4)]
    model = ConvNeXt(setting, stochastic_depth_prob=0.0, num_classes=10)
    stem = model.features[0][0]
    stem.stride, stem.padding = (2, 2), (1, 1)  # Sugar's CIFAR stem (convnext.hpp)
    return model


def replace_gelu(module):
    count = 0
    for child_name, child in module.named_children():
        if isinstance(child, nn.GELU):
            setattr(module, child_name, SugarFGI())
            count += 1
        else:
            count += replace_gelu(child)
    return count


def training_step(model, x, labels):
    model.train()
    model.zero_grad()
    loss = F.cross_entropy(model(x), labels)
    loss.backward()
    return loss


def compare_step(name, what, ref, model, loss):
    loss_diff = abs(ref[f"{what}.loss"].item() - loss.item())
    check(loss_diff <= 1e-4 * max(1.0, abs(loss.item())),
          f"{name} {what}: train-mode loss sugar {ref[f'{what}.loss'].item():.7f}, torch {loss.item():.7f}")
    worst_name, worst = None, -1.0
    params = dict(model.named_parameters())
    missing = [n for n in params if f"{what}.grad.{n}" not in ref]
    check(not missing, f"{name} {what}: a gradient for each of {len(params)} parameters" + (f"; missing {missing[:3]}" if missing else ""))
    for pname, p in params.items():
        key = f"{what}.grad.{pname}"
        if key in ref and p.grad is not None:
            d = rel_diff(ref[key].reshape(p.grad.shape), p.grad)
            if d > worst:
                worst_name, worst = pname, d
    check(worst <= 1e-3, f"{name} {what}: worst relative-norm gradient difference {worst:.3g} at {worst_name} (tolerance 1e-3)")


def crosscheck(dump_dir, name):
    state, _, _ = read_safetensors(f"{dump_dir}/{name}.safetensors")
    ref, _, _ = read_safetensors(f"{dump_dir}/{name}.reference.safetensors")
    state = {k: v for k, v in state.items() if not k.startswith("optim.")}
    model = torchvision_model(name)
    try:
        model.load_state_dict(state, strict=True)
        check(True, f"{name}: Sugar's checkpoint loads into torchvision's ConvNeXt with strict=True")
    except RuntimeError as e:
        check(False, f"{name}: does not load with strict=True: {' '.join(str(e).split())[:600]}")
        return
    count = sum(p.numel() for p in model.parameters())
    check(count == sum(v.numel() for v in state.values()), f"{name}: {count} parameters in both")
    x, labels = ref["images"], ref["labels"]

    model.eval()
    with torch.no_grad():
        logits = model(x)
    # ConvNeXt's initial classifier is small (trunc_normal 0.02): logits of ~0.1, so the difference is
    # measured relative to their norm.
    diff = rel_diff(ref["eval_logits"], logits)
    check(diff <= 1e-4, f"{name}: eval logits ||sugar - torch|| / ||torch|| = {diff:.3g} (largest |logit| "
          f"{logits.abs().max().item():.3g}; tolerance 1e-4)")

    compare_step(name, "gelu", ref, model, training_step(model, x, labels))

    sugar_model = torchvision_model(name)
    sugar_model.load_state_dict(state, strict=True)
    replaced = replace_gelu(sugar_model)
    check(replaced == sum(CONVNEXT[name][1]), f"{name}: {replaced} GELU sites replaced by SUGAR (one per block)")
    compare_step(name, "sugar", ref, sugar_model, training_step(sugar_model, x, labels))


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    torch.manual_seed(0)
    for name in sys.argv[2:]:
        crosscheck(sys.argv[1], name)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
