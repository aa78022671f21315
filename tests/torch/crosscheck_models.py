"""Sugar's modern models against torchvision's own classes (Debian's python3-torchvision): run by
tests/cli/torch_models.sh.

usage: crosscheck_models.py <dump dir> <model name | attention>...

For each model, <dump dir> holds what tests/torch/dump_model.cpp wrote. torchvision's class is
instantiated with the model's configuration (the independent reference: not a definition written by
the same hand as Sugar's), with the one documented change of Sugar's CIFAR adaptation applied to it
(ConvNeXt: the stem's stride 2 and padding 1, include/sugar/models/convnext.hpp; MobileNetV3: the
stem's stride 1, mobilenetv3.hpp; and no classifier dropout, so that the training steps agree; the
Vision Transformer and Swin need none: torchvision's classes take the patch size; Swin's stochastic depth
is 0 on both sides). Checks:

  1. Sugar's checkpoint loads into it with strict=True, and the parameter counts are equal;
  2. eval-mode logits on the dumped batch are equal;
  3. one training-mode forward and backward gives the same loss and parameter gradients, with the
     model's own activations and with SUGAR (forward ReLU, B-SiLU's gradient: forward gradient
     injection) at the sites model.activation sets (ConvNeXt's GELUs: the paper's substitution;
     MobileNetV3's ReLUs and hardswishes, the SE gates staying hardsigmoid).

Both sides compute in float32; tolerances as in crosscheck.py (measured differences are printed).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import mobilenet_v3_large, mobilenet_v3_small
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

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


MOBILENET = {"mobilenetv3_small": mobilenet_v3_small, "mobilenetv3_large": mobilenet_v3_large}


# Sugar's ViT sizes (src/models/vit.cpp): patch, layers, heads, width, MLP width; 32x32 images.
VIT = {"vit_tiny": (4, 12, 3, 192, 768), "vit_mini": (4, 6, 4, 128, 256)}


# Sugar's Swin sizes (src/models/swin.cpp): embedding width, depths, heads; patch 2, window 4.
SWIN = {"swin_tiny": (96, [2, 2, 6, 2], [3, 6, 12, 24]), "swin_mini": (48, [2, 2, 2, 2], [3, 6, 12, 24])}


def torchvision_model(name):
    if name in SWIN:
        embed, depths, heads = SWIN[name]
        return SwinTransformer([2, 2], embed, depths, heads, [4, 4], stochastic_depth_prob=0.0, num_classes=10)
    if name in VIT:
        patch, layers, heads, width, mlp = VIT[name]
        return VisionTransformer(32, patch, layers, heads, width, mlp, num_classes=10)
    if name in MOBILENET:
        model = MOBILENET[name](num_classes=10, dropout=0.0)  # dump_model.cpp builds Sugar's without dropout
        model.features[0][0].stride = (1, 1)  # Sugar's CIFAR stem (mobilenetv3.hpp)
        return model
    widths, depths = CONVNEXT[name]
    setting = [CNBlockConfig(widths[i], widths[i + 1] if i < 3 else None, depths[i]) for i in range(4)]
    model = ConvNeXt(setting, stochastic_depth_prob=0.0, num_classes=10)
    stem = model.features[0][0]
    stem.stride, stem.padding = (2, 2), (1, 1)  # Sugar's CIFAR stem (convnext.hpp)
    return model


def replace_activations(module, kinds):
    """Replaces every module of `kinds` below `module` by SUGAR; returns how many."""
    count = 0
    for child_name, child in module.named_children():
        if isinstance(child, kinds):
            setattr(module, child_name, SugarFGI())
            count += 1
        else:
            count += replace_activations(child, kinds)
    return count


# The sites model.activation sets: ConvNeXt's, ViT's and Swin's GELUs; every ReLU and hardswish of MobileNetV3 (its SE
# gates, hardsigmoid, stay). Their number: one per ConvNeXt block; for MobileNetV3 counted by
# crosscheck from torchvision's model itself, so only the kinds are stated here.
def sugar_sites(name):
    return (nn.ReLU, nn.Hardswish) if name in MOBILENET else (nn.GELU,)


def kink_margin(model, x, labels):
    """The closest any input of a ReLU (kink at 0) or hardswish/hardsigmoid (kinks at -3 and 3) comes to
    a kink in one training-mode forward, computed in float64 on a copy of `model`. Closer than float32
    rounding, Sugar and PyTorch may put a value on different sides, and their gradients differ there."""
    import copy
    m = copy.deepcopy(model).double()
    closest = [float("inf"), ""]

    def hook(module, inputs, output, name=""):
        v = inputs[0].detach()
        d = v.abs() if isinstance(module, nn.ReLU) else torch.minimum((v - 3).abs(), (v + 3).abs())
        if d.min().item() < closest[0]:
            closest[0], closest[1] = d.min().item(), name

    for name, module in m.named_modules():
        if isinstance(module, (nn.ReLU, nn.Hardswish, nn.Hardsigmoid)):
            module.inplace = False  # torchvision's are in place: the hook must see the input
            module.register_forward_hook(lambda mod, i, o, name=name: hook(mod, i, o, name))
    m.train()
    m(x.double())
    return closest


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
    # A bias whose output feeds a convolution and then a training-mode batch norm gets exactly zero
    # gradient in theory (the norm subtracts any per-channel shift): both sides then hold rounding noise.
    # Such gradients (norm below 1e-5 of the largest) must be that small on Sugar's side too.
    largest = max(p.grad.double().norm().item() for p in params.values() if p.grad is not None)
    vanishing, not_small = 0, []
    for pname, p in params.items():
        key = f"{what}.grad.{pname}"
        if key not in ref or p.grad is None:
            continue
        mine = ref[key].reshape(p.grad.shape)
        if p.grad.double().norm().item() < 1e-5 * largest:
            vanishing += 1
            if mine.double().norm().item() > 1e-4 * largest:
                not_small.append(pname)
            continue
        d = rel_diff(mine, p.grad)
        if d > worst:
            worst_name, worst = pname, d
    check(worst <= 1e-3 and not not_small,
          f"{name} {what}: worst relative-norm gradient difference {worst:.3g} at {worst_name} (tolerance 1e-3); "
          f"{vanishing} gradient(s) zero in theory, " + (f"not small in Sugar: {not_small[:3]}" if not_small else "small in both"))


def crosscheck(dump_dir, name):
    state, _, _ = read_safetensors(f"{dump_dir}/{name}.safetensors")
    ref, _, _ = read_safetensors(f"{dump_dir}/{name}.reference.safetensors")
    state = {k: v for k, v in state.items() if not k.startswith("optim.")}
    model = torchvision_model(name)
    # Buffers that are constants of the architecture (Swin's relative_position_index) would be loaded
    # from Sugar's file and then agree whatever they hold: compare them with torchvision's own first.
    own = model.state_dict()
    constants = [k for k in own if k.endswith("relative_position_index")]
    wrong = [k for k in constants if not torch.equal(state[k].to(own[k].dtype), own[k])]
    if constants:
        check(not wrong, f"{name}: {len(constants)} relative_position_index buffers equal torchvision's"
              + (f"; differ: {wrong[:3]}" if wrong else ""))
    try:
        model.load_state_dict(state, strict=True)
        check(True, f"{name}: Sugar's checkpoint loads into torchvision's {type(model).__name__} with strict=True")
    except RuntimeError as e:
        check(False, f"{name}: does not load with strict=True: {' '.join(str(e).split())[:600]}")
        return
    count = sum(p.numel() for p in model.parameters())
    check(count == ref["parameters"].item(), f"{name}: torchvision {count} parameters, Sugar {ref['parameters'].item()}")
    x, labels = ref["images"], ref["labels"]

    model.eval()
    with torch.no_grad():
        logits = model(x)
    # ConvNeXt's initial classifier is small (trunc_normal 0.02): logits of ~0.1, so the difference is
    # measured relative to their norm.
    diff = rel_diff(ref["eval_logits"], logits)
    check(diff <= 1e-4, f"{name}: eval logits ||sugar - torch|| / ||torch|| = {diff:.3g} (largest |logit| "
          f"{logits.abs().max().item():.3g}; tolerance 1e-4)")

    # float32 rounding moves activations by ~1e-7 between the two libraries; measured with this batch,
    # 1.9e-7 flipped a ReLU of mobilenetv3_large (2% gradient difference) and 9.8e-7 did not.
    margin, where = kink_margin(model, x, labels)
    check(margin >= 5e-7, (f"{name}: no activation input within {margin:.2g} of a kink (closest at {where})" if where
                           else f"{name}: no activation with a kink")
          + ("" if margin >= 5e-7 else "; float32 rounding may put it on either side: change kSeed in dump_model.cpp"))
    compare_step(name, "default", ref, model, training_step(model, x, labels))

    sugar_model = torchvision_model(name)
    sugar_model.load_state_dict(state, strict=True)
    replaced = replace_activations(sugar_model, sugar_sites(name))
    expected = (sum(CONVNEXT[name][1]) if name in CONVNEXT else VIT[name][1] if name in VIT
                else sum(SWIN[name][1]) if name in SWIN else replaced)
    check(replaced == expected and replaced > 0, f"{name}: {replaced} activation sites replaced by SUGAR")
    compare_step(name, "sugar", ref, sugar_model, training_step(sugar_model, x, labels))


def crosscheck_attention(dump_dir):
    """ops::attention against softmax(q k^T / sqrt(d) + bias + mask) v written out in PyTorch 1.13 (which
    has no fused attention), mask included: batch b reads mask b % W, as Swin's windows do."""
    ref, _, _ = read_safetensors(f"{dump_dir}/attention.reference.safetensors")
    q, k, v, bias = (ref[n].clone().requires_grad_(True) for n in ("q", "k", "v", "bias"))
    mask, r = ref["mask"], ref["r"]
    B, H, L, d = q.shape
    scores = q @ k.transpose(-2, -1) / d ** 0.5 + bias.unsqueeze(0)
    scores = (scores.view(B // mask.shape[0], mask.shape[0], H, L, L) + mask.unsqueeze(1).unsqueeze(0)).view(B, H, L, L)
    out = torch.softmax(scores, dim=-1) @ v
    (out * r).sum().backward()
    diff = rel_diff(ref["out"], out.detach())
    check(diff <= 1e-5, f"attention: output ||sugar - torch|| / ||torch|| = {diff:.3g} (tolerance 1e-5)")
    for name, t in (("q", q), ("k", k), ("v", v), ("bias", bias)):
        diff = rel_diff(ref[f"grad.{name}"], t.grad)
        check(diff <= 1e-5, f"attention: gradient of {name} differs by {diff:.3g} (tolerance 1e-5)")
    masked = (mask != 0).sum().item()
    check(masked > 0, f"attention: the mask masks {masked} pairs")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    torch.manual_seed(0)
    for name in sys.argv[2:]:
        if name == "attention":
            crosscheck_attention(sys.argv[1])
        else:
            crosscheck(sys.argv[1], name)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
