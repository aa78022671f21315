#!/usr/bin/env python3
"""Two outputs of scripts/bench_table.sh side by side: does the second run reproduce the first?

    python3 scripts/compare_bench_tables.py FIRST.md SECOND.md

For every row of the main table (model, phase, dtype) and every cell that is a ratio or a percentage
(Sugar / PyTorch's best, the % of peak columns, Sugar % of ceiling), prints both runs' medians and the
relative difference |second - first| / first; then the largest difference and whether every cell is
within 10% (issue 17's bar for a second run). img/s cells are listed too, for reference only: a VM's
absolute speed drifts by more than that between runs. Exit status 1 when a ratio or percentage cell
differs by more than 10%.
"""
import os
import re
import sys

COMPARED = ("Sugar / PyTorch's best", "Sugar % of peak", "PyTorch % of peak", "Sugar % of ceiling")
FOR_REFERENCE = ("Sugar", "PyTorch channels_last", "conv-only ceiling")
# A bench_table output is a few KiB; a file far larger is not one (read no further than this).
MAX_BYTES = 1 << 20
MEDIAN = re.compile(r"^\s*([0-9.]+)")


def main_table(path):
    """{(model, phase, dtype): {column: median}} from the first Markdown table with a 'model' column."""
    rows, header = {}, None
    if not os.path.isfile(path):  # a FIFO or device would block or never end
        sys.exit(f"compare_bench_tables: error: {path} is not a regular file (expected a bench_table.sh output)")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines(MAX_BYTES)
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"compare_bench_tables: error: cannot read {path}: {e}")
    for line in lines:
        if not line.startswith("|"):
            if header and rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "model":
            header = cells
            continue
        if header is None or set(cells[0]) <= {"-"}:
            continue
        values = {}
        for name, cell in zip(header, cells):
            match = MEDIAN.match(cell)
            if match:
                try:
                    values[name] = float(match.group(1))
                except ValueError:  # "1.2.3": not a number, not a cell to compare
                    pass
        rows[tuple(cells[:3])] = values
    if not rows:
        sys.exit(f"compare_bench_tables: error: {path} has no bench_table main table (a row starting '| model |')")
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_bench_tables.py FIRST.md SECOND.md")
    first, second = main_table(sys.argv[1]), main_table(sys.argv[2])
    worst, worst_cell = 0.0, None
    print("| model | phase | dtype | column | first | second | difference |")
    print("|---|---|---|---|---|---|---|")
    for key in first:
        if key not in second:
            print(f"compare_bench_tables: {' '.join(key)} is missing from {sys.argv[2]}", file=sys.stderr)
            continue
        for column in COMPARED + FOR_REFERENCE:
            a, b = first[key].get(column), second[key].get(column)
            if a is None or b is None or a == 0:
                continue
            difference = abs(b - a) / a
            note = "" if column in COMPARED else " (img/s, for reference)"
            print(f"| {' | '.join(key)} | {column}{note} | {a:g} | {b:g} | {100 * difference:.1f}% |")
            if column in COMPARED and difference > worst:
                worst, worst_cell = difference, f"{' '.join(key)} {column}"
    verdict = "within" if worst <= 0.10 else "NOT within"
    print(f"\nLargest difference of a ratio or percentage cell: {100 * worst:.1f}% ({worst_cell}); every such cell is "
          f"{verdict} 10%.")
    return 0 if worst <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
