#!/usr/bin/env python3
"""Checks docs/ARCHITECTURE.md's layer order: every `#include "sugar/..."` in include/sugar and src
must name a file of the same layer or of a layer below. Prints each import that runs up the layers
(file, line, from which layer to which) and exits 1 if there is one; an include of a folder or file
that is in no layer is an error too, so that a new folder must be placed before it can be used.

    python3 scripts/check_layers.py [REPOSITORY]
"""
import os
import re
import sys

# Bottom first; names in one entry form one layer (docs/ARCHITECTURE.md says why each shares one).
LAYERS = [
    ["error", "text", "name_table", "clock", "printable", "log_format", "random", "profiler", "runtime"],
    ["io", "dist"],
    ["memory_pool", "tensor", "primitive_cache", "tensor_math", "saved_tensor"],
    ["autograd"],
    ["ops"],
    ["optim", "data"],
    ["activations"],
    ["nn"],
    ["models"],
    ["config"],
    ["run_dir", "signals"],
    ["train", "bench"],
    ["sweep", "report"],
]
INCLUDE = re.compile(r'\s*#\s*include\s+"sugar/([^"]+)"')


def unit(relative_path):
    """The folder, or for a file directly under include/sugar or src, its name without extension."""
    first = relative_path.split("/")[0]
    return first if "/" in relative_path else os.path.splitext(first)[0]


def main():
    repository = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    layer_of = {name: index for index, names in enumerate(LAYERS) for name in names}
    problems = []
    for root in ("include/sugar", "src"):
        base = os.path.join(repository, root)
        for directory, _, files in os.walk(base):
            for file in sorted(files):
                path = os.path.join(directory, file)
                owner = unit(os.path.relpath(path, base))
                shown = os.path.relpath(path, repository)
                if owner not in layer_of:
                    problems.append(f"{shown}: '{owner}' is in no layer of scripts/check_layers.py")
                    continue
                with open(path, encoding="utf-8", errors="replace") as text:
                    for number, line in enumerate(text, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        used = unit(match.group(1))
                        if used not in layer_of:
                            problems.append(f"{shown}:{number}: includes sugar/{match.group(1)}, whose '{used}' is in no layer")
                        elif layer_of[used] > layer_of[owner]:
                            problems.append(f"{shown}:{number}: '{owner}' (layer {layer_of[owner] + 1}) includes "
                                            f"sugar/{match.group(1)} of '{used}' (layer {layer_of[used] + 1}), a higher layer")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_layers: {len(problems)} import(s) against docs/ARCHITECTURE.md's layer order")
        return 1
    print(f"check_layers: every include follows the layer order ({len(LAYERS)} layers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
