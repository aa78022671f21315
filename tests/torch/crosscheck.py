"""Sugar against PyTorch (Debian's python3-torch): run by tests/cli/torch_crosscheck.sh.

usage: crosscheck.py <dump dir> <train run dir>

<dump dir> holds what tests/torch/dump_reference.cpp wrote (resnet18.safetensors, reference.safetensors);
<train run dir> is a finished `sugar train` run of a resnet18. Checks:

  1. the checkpoint loads into the reference CIFAR ResNet-18 below with strict=True, counters are I64
     scalars, and Sugar's eval-mode logits on the fixed batch equal PyTorch's;
  2. one training-mode step of the same weights with every ReLU replaced by SUGAR (forward gradient
     injection with B-SiLU): loss, logits, every parameter's gradient and the BatchNorm running state
     after the forward equal PyTorch's;
  3. a checkpoint written by an actual `sugar train` loads strict=True and carries optim.* entries and
     the training counters in __metadata__.

Both sides compute in float32 (float64 in PyTorch would isolate Sugar's rounding, but Debian's torch has
only a generic BLAS for float64: 20 s instead of 2 s), so a difference is the two libraries' rounding
together: oneDNN convolutions with different blockings and summation orders, BatchNorm statistics.
Debian has no safetensors package for Python, so the format is read here directly.
"""
import json
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- safetensors ------------------------------------------------------------------------------------

DTYPES = {"F32": (torch.float32, 4), "I64": (torch.int64, 8), "BF16": (torch.bfloat16, 2)}


def read_safetensors(path):
    """-> (tensors: name -> torch tensor, dtypes: name -> "F32"/"I64"/"BF16", metadata: dict).

    8 bytes little-endian header length N, N bytes of JSON, then the raw little-endian data; each
    tensor's data_offsets count from the end of the header."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(blob)} bytes)")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors, dtypes = {}, {}
    for name, info in header.items():
        if info["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected one of {sorted(DTYPES)}")
        dtype, size = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = info["shape"]
        count = math.prod(shape)
        if not (0 <= begin <= end <= len(data)) or end - begin != count * size:
            raise ValueError(f"{path}: tensor {name} has offsets [{begin}, {end}] for {info['dtype']} {shape}")
        raw = bytearray(data[begin:end])  # a writable copy: torch.frombuffer warns on read-only bytes
        flat = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(shape).clone()
        dtypes[name] = info["dtype"]
    return tensors, dtypes, metadata


# ---- the reference CIFAR ResNet-18 (kuangliu/pytorch-cifar models/resnet.py) ------------------------
# The activations are nn.ReLU modules (parameter-free, so absent from the state_dict as kuangliu's
# F.relu) so that replace_relu can swap each one for the SUGAR module.


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(self.expansion * planes))
        self.act2 = nn.ReLU()

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, num_blocks=(2, 2, 2, 2), num_classes=10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.act1 = nn.ReLU()
        self.layer1 = self._make_layer(64, num_blocks[0], 1)
        self.layer2 = self._make_layer(128, num_blocks[1], 2)
        self.layer3 = self._make_layer(256, num_blocks[2], 2)
        self.layer4 = self._make_layer(512, num_blocks[3], 2)
        self.linear = nn.Linear(512 * BasicBlock.expansion, num_classes)

    def _make_layer(self, planes, num_blocks, stride):
        layers = []
        for s in [stride] + [1] * (num_blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes * BasicBlock.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        return self.linear(out.view(out.size(0), -1))


# ---- SUGAR by forward gradient injection (the paper's formulation, with sg = detach) ---------------

ALPHA = 1.67


def bsilu(x):
    return (x + ALPHA) * torch.sigmoid(x) - ALPHA / 2


class SugarFGI(nn.Module):
    """m = x * sg(g'(x)); y = m - sg(m) + sg(relu(x)): the value of relu(x), the gradient g'(x).
    g' is taken by autograd from g itself, so no closed form of the derivative is trusted here."""

    def forward(self, x):
        with torch.enable_grad():
            xd = x.detach().requires_grad_(True)
            (g_prime,) = torch.autograd.grad(bsilu(xd).sum(), xd)
        m = x * g_prime.detach()
        return m - m.detach() + torch.relu(x).detach()


def replace_relu(module, factory):
    count = 0
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, factory())
            count += 1
        else:
            count += replace_relu(child, factory)
    return count


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
