#!/usr/bin/env python3
"""The Markdown of scripts/bench_table.sh from the JSON lines its runs left: one record per run,
{"kind": "peak" | "ceiling" | "cell" | "scaling", "round": r, ..., "result": <the program's JSON>}.

Every number is summarised over the rounds as median [min-max]; a ratio or a fraction is computed
within each round first (both sides measured minutes apart at most), then summarised. Standard library
only, so that it runs wherever bench_table.sh does.
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

TORCH_CELLS = ("torch_nchw", "torch_channels_last")


def summary(values, digits=1, suffix=""):
    """'12.3 [11.9-12.8]' (just '12.3' for one round); '-' for none."""
    if not values:
        return "-"
    med = f"{statistics.median(values):.{digits}f}{suffix}"
    if len(values) == 1:
        return med
    return f"{med} [{min(values):.{digits}f}-{max(values):.{digits}f}{suffix}]"


def load(path):
    records = [json.loads(line) for line in open(path) if line.strip()]
    peaks = {r["round"]: r["result"]["peak"] for r in records if r["kind"] == "peak"}
    ceilings = defaultdict(dict)  # (model, dtype) -> round -> conv_ceiling
    cells = defaultdict(lambda: defaultdict(dict))  # (model, phase, dtype) -> round -> who -> result
    scaling = defaultdict(dict)  # (threads, batch) -> round -> result
    for r in records:
        if r["kind"] == "ceiling":
            ceilings[(r["model"], r["dtype"])][r["round"]] = r["result"]["conv_ceiling"]
        elif r["kind"] == "cell":
            cells[(r["model"], r["phase"], r["dtype"])][r["round"]][r["who"]] = r["result"]
        elif r["kind"] == "scaling":
            scaling[(r["threads"], r["batch"])][r["round"]] = r["result"]
    return peaks, ceilings, cells, scaling


def peak_gflops(peak, dtype):
    return peak["fp32_gflops"] if dtype == "f32" else peak["bf16_gflops"]


def row(model, phase, dtype, rounds, peaks, ceilings):
    """One Markdown row of the main table from {round: {who: result}}."""
    def values(who):
        return [cells[who]["imgs_per_sec"] for cells in rounds.values() if who in cells]

    ratios, sugar_peak, torch_peak, sugar_ceiling = [], [], [], []
    for r, cells in rounds.items():
        sugar = cells["sugar"]
        torch_best = max(cells[who]["imgs_per_sec"] for who in TORCH_CELLS if who in cells)
        ratios.append(sugar["imgs_per_sec"] / torch_best)
        # The models are the same layers in both frameworks, so Sugar's FLOP count serves PyTorch too.
        peak = peak_gflops(peaks[r], dtype) if r in peaks else None
        if peak:
            sugar_peak.append(100 * sugar["achieved_gflops"] / peak)
            torch_peak.append(100 * sugar["gflop_per_image"] * torch_best / peak)
        ceiling = ceilings.get((model, dtype), {}).get(r)
        if phase == "train" and ceiling:
            sugar_ceiling.append(100 * sugar["imgs_per_sec"] / ceiling["total"]["img_per_s"])
    ceiling_values = [c["total"]["img_per_s"] for c in ceilings.get((model, dtype), {}).values()] if phase == "train" else []
    rss_sugar = statistics.median(c["sugar"]["peak_rss_mib"] for c in rounds.values())
    rss_torch = statistics.median(c["torch_channels_last"]["peak_rss_mib"] for c in rounds.values())
    return (f"| {model} | {phase} | {dtype} | {summary(values('torch_nchw'))} | {summary(values('torch_channels_last'))} "
            f"| {summary(values('sugar'))} | {summary(ratios, 2, 'x')} | {summary(sugar_peak, 0, '%')} "
            f"| {summary(torch_peak, 0, '%')} | {summary(ceiling_values)} | {summary(sugar_ceiling, 0, '%')} "
            f"| {rss_sugar:.0f} / {rss_torch:.0f} MiB |")


def first_result(cells, who):
    for rounds in cells.values():
        for results in rounds.values():
            if who in results:
                return results[who]
    return None


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results")
    for name in ("cpu", "cpu-flags", "date", "sugar-version"):
        p.add_argument(f"--{name}", default="")
    for name in ("cores", "rounds", "iters", "infer-iters", "warmup", "threads", "batch"):
        p.add_argument(f"--{name}", type=int, required=True)
    a = p.parse_args(argv)
    peaks, ceilings, cells, scaling = load(a.results)
    sugar = first_result(cells, "sugar")
    torch = first_result(cells, "torch_channels_last")
    if not sugar or not torch:
        print("bench_table_report: error: no Sugar or PyTorch cell in the results", file=sys.stderr)
        return 1
    blas = torch.get("blas", {})
    blas_text = blas.get("name", "unknown") + (f" ({blas['config']}, core {blas['core']})" if blas.get("config") else "")
    fp32_peaks = [p["fp32_gflops"] for p in peaks.values()]
    bf16_peaks = [p["bf16_gflops"] for p in peaks.values() if p["bf16_gflops"]]
    any_peak = next(iter(peaks.values()))

    print(f"Measured on {a.cpu} ({a.cpu_flags or 'no AVX-512'}), {a.cores} cores, {a.threads} threads, batch {a.batch}, "
          f"{a.date}: {a.rounds} round{'s' if a.rounds != 1 else ''}, each training cell {a.iters} timed "
          f"step{'s' if a.iters != 1 else ''} and each inference cell {a.infer_iters} after {a.warmup} warm-up. {a.sugar_version}, oneDNN {sugar['onednn']['version']} ({sugar['onednn']['isa']}); "
          f"PyTorch {torch['framework'].split()[-1]} on {blas_text}. Sugar's convolution choices were fresh: "
          f"SUGAR_CACHE_DIR pointed at a new empty directory, so the first Sugar cell of each model measured its "
          f"layers (`--conv-algo auto`) in its warm-up steps. Register peak (`sugar bench --peak`, {a.threads} "
          f"threads): fp32 {summary(fp32_peaks)} GFLOPS ({any_peak['fp32_isa']}), bf16 "
          f"{summary(bf16_peaks) + ' GFLOPS' if bf16_peaks else 'not available'}.")
    print()
    print("| model | phase | dtype | PyTorch NCHW | PyTorch channels_last | Sugar | Sugar / PyTorch's best "
          "| Sugar % of peak | PyTorch % of peak | conv-only ceiling | Sugar % of ceiling | peak RSS Sugar / PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (model, phase, dtype), rounds in cells.items():
        print(row(model, phase, dtype, rounds, peaks, ceilings))
    print()
    print("img/s: median [min-max] over the rounds. Ratios and percentages are computed within each round, then "
          "summarised alike. PyTorch bf16 is `torch.autocast(bfloat16)` with channels_last (NCHW is not measured). "
          "% of peak: the model's direct-convolution FLOPs per image (counted from its layers: forward, and for "
          "training backward-data and backward-weights) times img/s, over the register peak of the dtype measured "
          "in the same round; Winograd does fewer multiplies than direct convolution for the same result, so a step "
          "that uses it (Sugar's `auto` picks it for fp32 stride-1 3x3 layers where it is faster) can exceed 100%. "
          "conv-only ceiling (`build/bin/conv_ceiling`, training rows): batch / the summed median time of every "
          "convolution's forward, backward-data and backward-weights oneDNN primitive, each run alone with the "
          "direct algorithm in its preferred layouts; the rest of a step (batch norm, activations, pooling, loss, "
          "optimizer, reorders) comes on top, and Winograd can beat the direct ceiling in fp32. "
          "Peak RSS: median over the rounds, PyTorch's from its channels_last cell.")

    if scaling:
        batches = sorted({b for _, b in scaling})
        print()
        print("Sugar, ResNet-18 fp32 training (`--conv-algo auto`), img/s by threads and batch size "
              "(median [min-max] over the rounds):")
        print()
        print("| threads | " + " | ".join(f"batch {b}" for b in batches) + " |")
        print("|---|" + "---|" * len(batches))
        for t in sorted({t for t, _ in scaling}):
            cells_t = [summary([r["imgs_per_sec"] for r in scaling.get((t, b), {}).values()]) for b in batches]
            print(f"| {t} | " + " | ".join(cells_t) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
