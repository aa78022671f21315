#!/usr/bin/env python3
"""PyTorch reference for `sugar bench`: the same models, batch, threads, phases, step, warm-up and
median, printing the same JSON keys, so both can be measured side by side on one machine.

    scripts/bench_pytorch.py --model resnet18 --batch 128 --threads 2 --json                 # fp32, NCHW
    scripts/bench_pytorch.py --model resnet18 --batch 128 --threads 2 --channels-last --json
    scripts/bench_pytorch.py --model resnet18 --batch 128 --threads 2 --dtype bf16 --channels-last --json
    build/bin/sugar bench --model resnet18 --batch 128 --threads 2 --json                    # Sugar

Needs PyTorch (Debian: apt-get install python3-torch, which installs it for /usr/bin/python3). When the
python3 found on PATH has no torch (a pyenv or venv interpreter), the script re-runs itself with
/usr/bin/python3 if that one has it.

Models (the de-facto standard CIFAR ones of kuangliu/pytorch-cifar, as Sugar builds them): CIFAR ResNet-18/34 (3x3 stem, no max-pool,
BasicBlocks, 4x4 average pool) and VGG-11/13/16/19 with batch norm (3x3 conv with bias + BN + ReLU,
2x2 max-pools, Linear(512, classes)). Inputs are N(0, 1) images [N, 3, 32, 32] and uniform labels.

A training step: zero_grad(set_to_none), forward, cross-entropy, loss.item(), backward, SGD (momentum
0.9, weight decay 5e-4) step. An inference step: the forward in eval mode under torch.no_grad(). With
--dtype bf16 both run under torch.autocast(cpu, bfloat16) with fp32 master weights. Each step is timed
alone; imgs_per_sec is the median over the timed steps of batch / step time, after --warmup steps.

--breakdown adds the time per op kind, from torch's profiler over --iters extra steps (self CPU time of
each op, mapped by name to Sugar's kinds; PyTorch computes convolution backward-data and
backward-weights in one op, reported as conv_backward). The profiler's own overhead lands in "other";
calls per step are approximate (the profiler now and then loses an event's parent).

The JSON's "blas" says which BLAS library the process really loaded (Debian's python3-torch links the
generic libblas.so.3, which update-alternatives points at the reference BLAS unless OpenBLAS or another
is installed: scripts/setup.sh --tests installs libopenblas0-openmp), read from /proc/self/maps after a
matrix multiply, with OpenBLAS's build configuration and the kernel core it runs (OPENBLAS_CORETYPE
can force one).
"""
import os
import sys

if os.environ.get("SUGAR_BENCH_REEXEC") != "1":
    try:
        import torch  # noqa: F401
    except ImportError:
        if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath(
                "/usr/bin/python3"):
            os.environ["SUGAR_BENCH_REEXEC"] = "1"
            os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])

import argparse
import ctypes
import json
import re
import resource
import statistics
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("error: bench_pytorch.py needs PyTorch (Debian: apt-get install python3-torch, then run it with "
          "/usr/bin/python3)", file=sys.stderr)
    sys.exit(2)


# ---- models --------------------------------------------------------------------------------------

class Sugar(torch.autograd.Function):
    """SUGAR with the B-SiLU surrogate (alpha 1.67): relu(x) forward, dy * bsilu'(x) backward."""
    ALPHA = 1.67

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.relu(x)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return dy * (s + (x + Sugar.ALPHA) * s * (1 - s))


class Activation(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec

    def forward(self, x):
        if self.spec == "relu":
            return torch.relu(x)
        if self.spec == "gelu":
            return F.gelu(x)
        return Sugar.apply(x)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, act):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(planes))
        self.act1 = Activation(act)
        self.act2 = Activation(act)

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, blocks, classes, act):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.act1 = Activation(act)
        layers, in_planes = [], 64
        for planes, count, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2)):
            stage = []
            for s in [stride] + [1] * (count - 1):
                stage.append(BasicBlock(in_planes, planes, s, act))
                in_planes = planes
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        return self.linear(out.flatten(1))


VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512,
              "M"],
}


class VGG(nn.Module):
    def __init__(self, cfg, classes, act):
        super().__init__()
        layers, in_channels = [], 3
        for entry in cfg:
            if entry == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_channels, entry, 3, padding=1), nn.BatchNorm2d(entry), Activation(act)]
                in_channels = entry
        layers.append(nn.AvgPool2d(1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


# Sugar's modern models are torchvision's classes with its CIFAR stems (include/sugar/models/convnext.hpp,
# mobilenetv3.hpp; tests/cli/torch_models.sh checks that they compute the same).
CONVNEXT_SIZES = {"convnext_atto": ([40, 80, 160, 320], [2, 2, 6, 2], 0.0),
                  "convnext_femto": ([48, 96, 192, 384], [2, 2, 6, 2], 0.0),
                  "convnext_tiny": ([96, 192, 384, 768], [3, 3, 9, 3], 0.1)}
MOBILENETS = ["mobilenetv3_small", "mobilenetv3_large"]
# ViT and Swin as torchvision's classes with Sugar's sizes (include/sugar/models/vit.hpp, swin.hpp):
# ViT (patch, layers, heads, width, MLP), Swin (embedding width, depths, heads, stochastic depth).
VIT_SIZES = {"vit_tiny": (4, 12, 3, 192, 768), "vit_mini": (4, 6, 4, 128, 256)}
SWIN_SIZES = {"swin_tiny": (96, [2, 2, 6, 2], [3, 6, 12, 24], 0.2), "swin_mini": (48, [2, 2, 2, 2], [3, 6, 12, 24], 0.1)}


def replace_modules(module, kinds, make):
    for child_name, child in module.named_children():
        if isinstance(child, kinds):
            setattr(module, child_name, make())
        else:
            replace_modules(child, kinds, make)


def torchvision_model(name, classes, act):
    import torchvision.models as tv
    from torchvision.models.convnext import CNBlockConfig
    if name in VIT_SIZES:
        patch, layers, heads, width, mlp = VIT_SIZES[name]
        model = tv.VisionTransformer(32, patch, layers, heads, width, mlp, num_classes=classes)
        sites = (nn.GELU,)
    elif name in SWIN_SIZES:
        embed, depths, heads, drop = SWIN_SIZES[name]
        model = tv.SwinTransformer([2, 2], embed, depths, heads, [4, 4], stochastic_depth_prob=drop, num_classes=classes)
        sites = (nn.GELU,)
    elif name in CONVNEXT_SIZES:
        widths, depths, drop = CONVNEXT_SIZES[name]
        setting = [CNBlockConfig(widths[i], widths[i + 1] if i < 3 else None, depths[i]) for i in range(4)]
        model = tv.ConvNeXt(setting, stochastic_depth_prob=drop, num_classes=classes)
        model.features[0][0].stride, model.features[0][0].padding = (2, 2), (1, 1)
        sites = (nn.GELU,)
    else:
        model = getattr(tv, name.replace("mobilenetv3", "mobilenet_v3"))(num_classes=classes)
        model.features[0][0].stride = (1, 1)
        sites = (nn.ReLU, nn.Hardswish)
    if act != "design":
        replace_modules(model, sites, lambda: Activation(act))
    return model


def build_model(name, classes, act):
    if name in CONVNEXT_SIZES or name in MOBILENETS or name in VIT_SIZES or name in SWIN_SIZES:
        return torchvision_model(name, classes, act)
    act = "relu" if act == "design" else act
    if name == "resnet18":
        return ResNet((2, 2, 2, 2), classes, act)
    if name == "resnet34":
        return ResNet((3, 4, 6, 3), classes, act)
    return VGG(VGG_CFG[name], classes, act)


# ---- the breakdown (--breakdown) -------------------------------------------------------------------

def op_kind(name):
    """Sugar's op kind for a PyTorch op name; None for what Sugar counts as 'other'."""
    n = name.lower()
    if "convolution" in n:
        return "conv_backward" if "backward" in n else "conv_forward"
    if "batch_norm" in n:
        return "batch_norm_backward" if "backward" in n else "batch_norm_forward"
    if n in ("aten::relu", "aten::relu_", "aten::clamp_min", "aten::clamp_min_"):
        return "activation_forward"
    if n == "aten::threshold_backward":
        return "activation_backward"
    if "pool" in n:
        return "pooling_backward" if "backward" in n else "pooling_forward"
    if n in ("aten::add", "aten::add_"):
        return "add"
    if n in ("aten::addmm", "aten::mm", "aten::linear", "aten::matmul"):
        return "linear"
    if "softmax" in n or "nll_loss" in n or "cross_entropy" in n:
        return "loss"
    if n in ("aten::copy_", "aten::to", "aten::_to_copy", "aten::contiguous", "aten::clone", "aten::to_dense",
             "aten::to_mkldnn"):
        return "reorder"
    return None


def breakdown(step, steps):
    """Self CPU time per kind over `steps` profiled steps, per step, with fractions of the wall time."""
    from torch.autograd import profiler
    with profiler.profile() as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall_us = (time.perf_counter() - start) * 1e6
    def effective_kind(event):
        # Everything inside the optimizer step is the optimizer's (its adds are not residual adds), and
        # everything inside the SUGAR function's forward or backward is the activation's.
        e = event
        while e is not None:
            if e.name.startswith("Optimizer.step"):
                return "optimizer"
            if e.name in ("Sugar", "SugarBackward"):
                return "activation_backward" if e.name == "SugarBackward" else "activation_forward"
            e = e.cpu_parent
        return op_kind(event.name)

    totals = {}
    for event in prof.function_events:
        kind = effective_kind(event)
        if kind is None:
            continue
        # One call per outermost event of a kind (aten::conv2d holds aten::convolution holds ...).
        outermost = event.cpu_parent is None or effective_kind(event.cpu_parent) != kind
        t, c = totals.get(kind, (0.0, 0))
        totals[kind] = (t + event.self_cpu_time_total, c + int(outermost))
    out = {kind: {"ms": us / 1e3 / steps, "fraction": us / wall_us, "calls": calls / steps}
           for kind, (us, calls) in sorted(totals.items())}
    other_us = wall_us - sum(us for us, _ in totals.values())
    out["other"] = {"ms": other_us / 1e3 / steps, "fraction": other_us / wall_us, "calls": 0.0}
    return out


# ---- which BLAS -------------------------------------------------------------------------------------

BLAS_PATH = re.compile(r"/lib(open)?blas[^/]*\.so|/libmkl_[^/]*\.so|/libblis[^/]*\.so")


def loaded_blas():
    """{"name", "libraries", "config", "core"} of the BLAS mapped into this process after a matmul."""
    a = torch.ones(64, 64)
    (a @ a).sum().item()
    with open("/proc/self/maps") as maps:
        libraries = sorted({line.split()[5] for line in maps if len(line.split()) >= 6 and BLAS_PATH.search(line.split()[5])})
    blas = {"name": "none found", "libraries": libraries, "config": None, "core": None}
    if any("openblas" in path for path in libraries):
        blas["name"] = "OpenBLAS"
        try:
            lib = ctypes.CDLL(next(path for path in libraries if "openblas" in path))
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            blas["config"] = lib.openblas_get_config().decode()
            blas["core"] = lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            pass
    elif any("mkl" in path for path in libraries):
        blas["name"] = "MKL"
    elif any("blis" in path for path in libraries):
        blas["name"] = "BLIS"
    elif any(path.endswith("/blas/libblas.so.3") for path in libraries):
        blas["name"] = "reference BLAS (netlib)"
    elif libraries:
        blas["name"] = "unknown"
    return blas


# ---- the benchmark ---------------------------------------------------------------------------------

class OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: bench_pytorch.py: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def parse_args(argv):
    p = OneLineArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="resnet18",
                   choices=["resnet18", "resnet34", *VGG_CFG, *CONVNEXT_SIZES, *MOBILENETS, *VIT_SIZES, *SWIN_SIZES])
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="0: OMP_NUM_THREADS if set, else all cores")
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16"], help="bf16: torch.autocast(cpu, bfloat16)")
    p.add_argument("--phase", default="train", choices=["train", "infer"])
    p.add_argument("--channels-last", action="store_true", help="model and input in torch.channels_last")
    p.add_argument("--activation", default="design", choices=["design", "relu", "gelu", "sugar(surrogate=bsilu)"],
                   help="design: the model's own (ReLU for VGG and ResNet, GELU for ConvNeXt, MobileNetV3's mix)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--breakdown", action="store_true", help="also profile --iters steps for the time per op kind")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    a = p.parse_args(argv)
    for name, low in (("classes", 2), ("batch", 1), ("threads", 0), ("warmup", 0), ("iters", 1)):
        if getattr(a, name) < low:
            p.error(f"--{name} must be at least {low}, got {getattr(a, name)}")
    if a.phase == "train" and a.batch < 2:
        p.error("--batch must be at least 2 for --phase train (batch normalisation needs two samples)")
    return a


def main(argv):
    a = parse_args(argv)
    threads = a.threads or int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())
    torch.set_num_threads(threads)
    torch.manual_seed(a.seed)
    memory_format = torch.channels_last if a.channels_last else torch.contiguous_format

    model = build_model(a.model, a.classes, a.activation).to(memory_format=memory_format)
    model.train(a.phase == "train")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    generator = torch.Generator().manual_seed(a.seed)
    images = torch.randn(a.batch, 3, 32, 32, generator=generator).contiguous(memory_format=memory_format)
    labels = torch.randint(0, a.classes, (a.batch,), generator=generator)

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16")

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(model(images), labels)
        loss.item()
        loss.backward()
        optimizer.step()

    # PyTorch 1.13's fused MultiheadAttention (taken under no_grad in eval) fails under bf16 autocast
    # ("expected scalar type BFloat16 but found Float"): such a model's bf16 inference runs with grad
    # enabled, which takes the unfused path (and records the graph: a handicap the JSON's note states).
    unfused_attention = a.dtype == "bf16" and any(isinstance(m, nn.MultiheadAttention) for m in model.modules())

    def infer_step():
        with (torch.enable_grad() if unfused_attention else torch.no_grad()), autocast():
            model(images)

    step = train_step if a.phase == "train" else infer_step
    seconds = []
    for i in range(a.warmup + a.iters):
        print(f"{'warm-up' if i < a.warmup else 'timed'} step {i + 1}/{a.warmup + a.iters}", file=sys.stderr)
        start = time.perf_counter()
        step()
        if i >= a.warmup:
            seconds.append(time.perf_counter() - start)

    steps_ms = [s * 1e3 for s in seconds]
    result = {
        "framework": f"pytorch {torch.__version__}",
        "model": a.model,
        "activation": a.activation,
        "dtype": a.dtype,
        "phase": a.phase,
        "memory_format": "channels_last" if a.channels_last else "contiguous",
        "note": ("bf16 inference with grad enabled: torch 1.13's fused attention fails under autocast"
                 if a.phase == "infer" and unfused_attention else ""),
        "batch": a.batch,
        "classes": a.classes,
        "threads": torch.get_num_threads(),
        "warmup": a.warmup,
        "iters": a.iters,
        "parameters": sum(p.numel() for p in model.parameters()),
        "imgs_per_sec": statistics.median(a.batch / s for s in seconds),
        "step_ms": {"median": statistics.median(steps_ms), "mean": statistics.fmean(steps_ms), "min": min(steps_ms),
                    "max": max(steps_ms)},
        "steps_ms": steps_ms,
    }
    if a.breakdown:
        print(f"profiling {a.iters} more steps", file=sys.stderr)
        result["breakdown"] = breakdown(step, a.iters)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result["mkldnn"] = torch.backends.mkldnn.is_available()
    result["blas"] = loaded_blas()

    if a.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    print(f"pytorch bench: {a.model} ({result['parameters']:,} parameters), activation {a.activation}, "
          f"{a.dtype}{' autocast' if a.dtype == 'bf16' else ''}, {result['memory_format']}, {a.phase}, batch {a.batch}, "
          f"{result['threads']} thread{'s' if result['threads'] != 1 else ''}")
    print(f"{result['imgs_per_sec']:.1f} img/s (median of {a.iters} timed steps after {a.warmup} warm-up); "
          f"step {result['step_ms']['median']:.1f} ms median, {result['step_ms']['mean']:.1f} ms mean")
    if a.breakdown:
        print(f"\n{'op kind':<24} {'ms/step':>10} {'share':>7} {'calls/step':>10}")
        for kind, s in result["breakdown"].items():
            calls = "" if kind == "other" else f"{s['calls']:.0f}"
            print(f"{kind:<24} {s['ms']:>10.1f} {100 * s['fraction']:>6.1f}% {calls:>10}")
    print(f"\npeak RSS {result['peak_rss_mib']:.0f} MiB")
    blas = result["blas"]
    print(f"BLAS: {blas['name']}" + (f" ({blas['config']}; core {blas['core']})" if blas["config"] else "") +
          (f", {', '.join(blas['libraries'])}" if blas["libraries"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
