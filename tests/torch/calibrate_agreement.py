"""Calibrates the tolerances of the Sugar-vs-PyTorch agreement test (agreement.py, cli.torch_agreement) offline.

How far can two correct float32 trainings of the same experiment drift apart? This measures it with
PyTorch against itself, from the same weights in the same batch order, changing only the order in
which float sums are taken (float non-associativity):

  threads   1 thread against 2 (torch.set_num_threads): the kernels split their sums by threads;
  kernels   oneDNN's convolutions against im2col + OpenBLAS (torch.backends.mkldnn off), both with
            2 threads: every convolution sums in another order, as a second library does.

For every weight draw (--seeds) and activation (ReLU, SUGAR with B-SiLU) it trains agreement.py's
experiment in each variant and records, per epoch, the train loss and the test top-1 of each; the
largest differences of each comparison go into the block the test reads (agreement.tolerances()).

usage: calibrate_agreement.py <build dir> [--seeds 0 1 2] [--out tests/torch/agreement_calibration.md]

Takes 18 PyTorch runs of the experiment (20-60 minutes, depending on the machine's load); run it again
whenever agreement.py's experiment changes.
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile

import torch

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agreement  # noqa: E402

# name -> (threads, oneDNN convolutions)
VARIANTS = {"1 thread": (1, True), "2 threads": (2, True), "2 threads, no oneDNN": (2, False)}
COMPARISONS = {"threads": ("1 thread", "2 threads"), "kernels": ("2 threads", "2 threads, no oneDNN")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", help="the build directory holding bin/batch_order")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="PyTorch seeds of the weight draws")
    parser.add_argument("--out", default=agreement.CALIBRATION)
    args = parser.parse_args()

    train_set = agreement.fashion_split(agreement.FASHION_ROOT, "train", agreement.TRAIN_IMAGES)
    test_set = agreement.fashion_split(agreement.FASHION_ROOT, "t10k", agreement.TEST_IMAGES)
    rows = []  # (seed, activation, epoch, {variant: (train loss, test top-1)})
    with tempfile.TemporaryDirectory() as work:
        # The order Sugar's trainer uses for the experiment (the test's order: it depends on the config's
        # seed and data, not on the weights).
        config, order = os.path.join(work, "relu.yaml"), os.path.join(work, "order.txt")
        with open(config, "w") as f:
            f.write(agreement.sugar_config("relu"))
        subprocess.run([os.path.join(args.build_dir, "bin", "batch_order"), config, str(agreement.EPOCHS), order],
                       check=True)
        orders = agreement.read_order(order)
        for seed in args.seeds:
            weights = os.path.join(work, f"weights-{seed}.safetensors")
            agreement.draw_initial_weights(weights, seed)
            for activation in ("relu", "sugar"):
                runs = {name: agreement.train_torch(weights, orders, activation, threads, train_set, test_set, mkldnn)
                        for name, (threads, mkldnn) in VARIANTS.items()}
                for epoch in range(agreement.EPOCHS):
                    row = (seed, activation, epoch + 1, {name: run[epoch][1:] for name, run in runs.items()})
                    rows.append(row)
                    print(f"seed {seed} {activation} epoch {epoch + 1}: " +
                          ", ".join(f"{name} loss {v[0]:.6f} top-1 {v[1]:.2f}" for name, v in row[3].items()),
                          flush=True)

    maxima = {}
    for comparison, (a, b) in COMPARISONS.items():
        maxima[f"{comparison}.train_loss"] = max(abs(r[3][a][0] - r[3][b][0]) for r in rows)
        maxima[f"{comparison}.eval_top1"] = max(abs(r[3][a][1] - r[3][b][1]) for r in rows)
    with open(args.out, "w") as f:
        f.write("# Calibration of the Sugar-vs-PyTorch agreement test\n\n")
        f.write("Written by `tests/torch/calibrate_agreement.py` (read it for the method); read by "
                "`tests/torch/agreement.py`, whose experiment it measures: VGG-11 with batch norm, "
                f"{agreement.TRAIN_IMAGES} Fashion-MNIST training images padded to 32x32, {agreement.TEST_IMAGES} "
                f"test images, batch {agreement.BATCH}, SGD lr {agreement.LR} without momentum, "
                f"{agreement.EPOCHS} epochs, f32, the batch order of Sugar's trainer.\n\n")
        f.write(f"PyTorch {torch.__version__} ({platform.machine()}, {os.cpu_count()} processors), "
                f"{datetime.date.today().isoformat()}; weight draws torch.manual_seed {args.seeds}.\n\n")
        f.write("PyTorch against itself, per epoch: train loss and test top-1 (%) of each variant.\n\n")
        names = list(VARIANTS)
        f.write("| seed | activation | epoch | " + " | ".join(f"loss, {n}" for n in names) + " | " +
                " | ".join(f"top-1, {n}" for n in names) + " |\n")
        f.write("|---" * (3 + 2 * len(names)) + "|\n")
        for seed, activation, epoch, values in rows:
            f.write(f"| {seed} | {agreement.ACTIVATIONS[activation]} | {epoch} | " +
                    " | ".join(f"{values[n][0]:.6f}" for n in names) + " | " +
                    " | ".join(f"{values[n][1]:.2f}" for n in names) + " |\n")
        f.write("\nThe largest absolute differences of each comparison (" +
                "; ".join(f"{c}: {a} against {b}" for c, (a, b) in COMPARISONS.items()) +
                "), which the test reads:\n\n```calibrated-max-abs-diff\n")
        for key, value in maxima.items():
            f.write(f"{key} {value:.6g}\n")
        f.write("```\n\n")
        f.write("agreement.py's tolerances() derives the test's tolerances from these (its MARGIN says why as "
                "much), and the test prints them when it runs.\n")
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v:.3g}" for k, v in maxima.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
