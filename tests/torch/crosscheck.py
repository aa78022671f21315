"""Sugar against PyTorch (Debian's python3-torch): run by tests/cli/torch_crosscheck.sh.

usage: crosscheck.py <dump dir> <train run dir>

<dump dir> holds what tests/torch/dump_reference.cpp wrote (resnet18.safetensors, reference.safetensors);
<train run dir> is a finished `sugar train` run of a resnet18. Checks:

  1. the checkpoint loads into the reference CIFAR ResNet-18 (reference_models.py) with strict=True, counters are I64
     scalars, and Sugar's eval-mode logits on the fixed batch equal PyTorch's;
  2. one training-mode step of the same weights with every ReLU replaced by SUGAR (forward gradient
     injection with B-SiLU): loss, logits, every parameter's gradient and the BatchNorm running state
     after the forward equal PyTorch's;
  3. a checkpoint written by an actual `sugar train` loads strict=True and carries optim.* entries and
     the training counters in __metadata__.

Both sides compute in float32 (float64 in PyTorch would isolate Sugar's rounding, but Debian's torch has
only a generic BLAS for float64: 20 s instead of 2 s), so a difference is the two libraries' rounding
together: oneDNN convolutions with different blockings and summation orders, BatchNorm statistics.
The reference models are in reference_models.py; Debian has no safetensors package for Python, so
safetensors_io.py reads the format directly.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_models import ResNet, SugarFGI, replace_relu  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402

# ---- checks -----------------------------------------------------------------------------------------

failures = []


def check(ok, message):
    print(("ok:   " if ok else "FAIL: ") + message)
    if not ok:
        failures.append(message)


def model_tensors(tensors):
    return {k: v for k, v in tensors.items() if not k.startswith("optim.")}


def load_strict(path, tensors, dtypes, what):
    """Loads into a fresh reference ResNet-18 with strict=True; checks every counter is an I64 scalar
    (load_state_dict would silently cast an F32 num_batches_tracked)."""
    model = ResNet()
    try:
        model.load_state_dict(model_tensors(tensors), strict=True)
        check(True, f"{what}: {path} loads into the PyTorch ResNet-18 with strict=True")
    except RuntimeError as e:
        check(False, f"{what}: {path} does not load with strict=True: {' '.join(str(e).split())[:400]}")
        return None
    counters = [k for k in tensors if k.endswith("num_batches_tracked")]
    bad = [f"{k} ({dtypes[k]} {list(tensors[k].shape)})" for k in counters if dtypes[k] != "I64" or tensors[k].dim() != 0]
    check(len(counters) == 20 and not bad,
          f"{what}: {len(counters)} num_batches_tracked entries, all I64 scalars" + (f"; not: {bad[:3]}" if bad else ""))
    return model


def rel_diff(a, b):
    """||a - b|| / ||b||, in float64."""
    a, b = a.double(), b.double()
    return (torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b).clamp_min(1e-30)).item()


def crosscheck_dump(dump_dir):
    ckpt_path = f"{dump_dir}/resnet18.safetensors"
    ckpt, ckpt_dtypes, ckpt_meta = read_safetensors(ckpt_path)
    ref, _, _ = read_safetensors(f"{dump_dir}/reference.safetensors")
    model = load_strict(ckpt_path, ckpt, ckpt_dtypes, "dump checkpoint")
    if model is None:
        return
    check(any(k.endswith(".momentum_buffer") and k.startswith("optim.") for k in ckpt)
          and ckpt_meta.get("optimizer") == "SGD", "dump checkpoint: optim.*.momentum_buffer entries and metadata optimizer=SGD")
    counts = {ckpt[k].item() for k in ckpt if k.endswith("num_batches_tracked")}
    check(counts == {2}, f"dump checkpoint: num_batches_tracked {sorted(counts)} after two training-mode passes (2 expected)")
    x = ref["images"]
    labels = ref["labels"]

    # Eval mode. Each library runs float32 through 20 conv/BN layers, convolutions summing 576..4608
    # products in their own orders: measured max |diff| ~6e-7 with |logits| up to ~2. 1e-4 of the largest
    # |logit| (at least 1) leaves a wide margin for other CPUs' kernels, while real errors are far
    # larger: BatchNorm eps 1e-3 instead of 1e-5 moves the logits by 1.3e-2, batch instead of running
    # statistics by 1.4, a wrong name or layout by as much as the logits themselves.
    model.eval()
    with torch.no_grad():
        logits = model(x)
    scale = max(1.0, logits.abs().max().item())
    diff = (ref["eval_logits"].double() - logits).abs().max().item()
    check(diff <= 1e-4 * scale,
          f"eval logits: max |sugar - torch| = {diff:.3g} (largest |logit| {scale:.3g}, tolerance {1e-4 * scale:.3g})")

    # One SUGAR training step from the same checkpoint (BatchNorm in training mode: batch statistics).
    model = ResNet()
    model.load_state_dict(model_tensors(ckpt), strict=True)
    replaced = replace_relu(model, SugarFGI)
    check(replaced == 17, f"SUGAR model: {replaced} ReLU modules replaced by FGI (17 expected)")
    model = model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()

    # The loss is a mean of 8 log-softmax terms of logits that agree to ~2e-6: measured |diff| <= 1e-6.
    loss_diff = abs(ref["sugar.loss"].item() - loss.item())
    check(loss_diff <= 1e-4 * max(1.0, abs(loss.item())),
          f"SUGAR train-mode loss: sugar {ref['sugar.loss'].item():.7f}, torch {loss.item():.7f}, |diff| {loss_diff:.3g}")
    diff = (ref["sugar.logits"].double() - logits.detach()).abs().max().item()
    scale = max(1.0, logits.abs().max().item())
    check(diff <= 1e-4 * scale, f"SUGAR train-mode logits: max |diff| = {diff:.3g} (largest |logit| {scale:.3g})")

    # Gradients: ||sugar - torch|| / ||torch|| per parameter. Backward doubles the depth the rounding passes
    # through and training-mode BatchNorm divides by batch standard deviations (of 8x4x4 values in
    # layer4); measured worst ~7e-6. 1e-3 leaves room for other CPUs' kernels and still catches any real
    # error: ReLU's derivative instead of B-SiLU's gives 42, B-SiLU's only for x <= 0 (region=negative) 8.
    worst_name, worst = None, -1.0
    grads = dict(model.named_parameters())
    missing = [n for n in grads if f"sugar.grad.{n}" not in ref]
    extra = [k for k in ref if k.startswith("sugar.grad.") and k[len("sugar.grad."):] not in grads]
    check(not missing and not extra,
          f"SUGAR gradients: {len(grads)} parameters in both" + (f"; missing {missing[:3]}, unexpected {extra[:3]}" if missing or extra else ""))
    for name, p in grads.items():
        if f"sugar.grad.{name}" not in ref:
            continue
        d = rel_diff(ref[f"sugar.grad.{name}"], p.grad)
        if d > worst:
            worst_name, worst = name, d
    check(worst <= 1e-3, f"SUGAR gradients: worst relative-norm difference {worst:.3g} at {worst_name} (tolerance 1e-3)")

    # BatchNorm state after the training-mode forward: running = 0.9 * running + 0.1 * batch statistic,
    # with the unbiased batch variance. The updates (after - before) are compared, not the values after,
    # which are 90% the common old value: a biased variance moves layer4's update by 1/(8*4*4 - 1),
    # ~1.4e-2 relative, but the values after by only ~5e-4. Measured: ~5e-6.
    worst_name, worst, counters_ok = None, -1.0, True
    for name, b in model.named_buffers():
        key = f"sugar.after.{name}"
        if key not in ref:
            check(False, f"BatchNorm state after the step: {key} missing")
            continue
        if name.endswith("num_batches_tracked"):
            counters_ok &= ref[key].item() == b.item() == ckpt[name].item() + 1
        else:
            d = rel_diff(ref[key] - ckpt[name], b - ckpt[name])
            if d > worst:
                worst_name, worst = name, d
    check(worst <= 1e-4 and counters_ok,
          f"BatchNorm running statistics: worst relative difference of the update {worst:.3g} at {worst_name} "
          f"(tolerance 1e-4); num_batches_tracked {'incremented in both' if counters_ok else 'DIFFER'}")


def crosscheck_run(run_dir):
    path = f"{run_dir}/last.safetensors"
    tensors, dtypes, meta = read_safetensors(path)
    model = load_strict(path, tensors, dtypes, "sugar train checkpoint")
    if model is None:
        return
    params = dict(model.named_parameters())
    buffers = [k for k in tensors if k.startswith("optim.") and k.endswith(".momentum_buffer")]
    bad = [k for k in buffers if k[len("optim."):-len(".momentum_buffer")] not in params
           or tensors[k].shape != params[k[len("optim."):-len(".momentum_buffer")]].shape]
    check(len(buffers) == len(params) and not bad,
          f"sugar train checkpoint: {len(buffers)} optim.*.momentum_buffer entries for {len(params)} parameters"
          + (f"; wrong: {bad[:3]}" if bad else ""))
    steps = tensors["bn1.num_batches_tracked"].item()
    check(meta.get("optimizer") == "SGD" and meta.get("epoch") == "1" and meta.get("step") == str(steps) == "4"
          and "rng_calls" in meta,
          f"sugar train checkpoint: __metadata__ optimizer={meta.get('optimizer')} epoch={meta.get('epoch')} "
          f"step={meta.get('step')} (bn1.num_batches_tracked {steps}, 4 expected), rng_calls present")


def main():
    if len(sys.argv) != 3:
        print("usage: crosscheck.py <dump dir> <train run dir>", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__}")
    crosscheck_dump(sys.argv[1])
    crosscheck_run(sys.argv[2])
    if failures:
        print(f"crosscheck: {len(failures)} check(s) failed")
        return 1
    print("crosscheck: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
