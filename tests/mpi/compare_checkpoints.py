#!/usr/bin/env python3
"""Compares the F32 tensors of two Sugar checkpoints (safetensors files).

usage: compare_checkpoints.py A B TOLERANCE [--expect-different]

For every F32 tensor of A (both files must hold the same names and shapes), the difference is
||a - b|| / max(||a||, 1e-12) (Euclidean norms over the tensor). Prints the largest and exits 1 when it
exceeds TOLERANCE; with --expect-different, exits 1 when it does not (a sanity check that a setting
really changes the result). Plain python3: no numpy needed.
"""
import array
import json
import math
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        values = array.array("f")
        values.frombytes(body[begin:end])
        if sys.byteorder != "little":
            values.byteswap()
        tensors[name] = (info["shape"], values)
    return tensors


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    a, b, tolerance = read(sys.argv[1]), read(sys.argv[2]), float(sys.argv[3])
    expect_different = len(sys.argv) == 5 and sys.argv[4] == "--expect-different"
    if sorted(a) != sorted(b):
        sys.exit(f"the checkpoints hold different tensors: {sorted(set(a) ^ set(b))}")
    worst, worst_name = 0.0, ""
    for name, (shape, values) in a.items():
        other_shape, other = b[name]
        if shape != other_shape:
            sys.exit(f"{name}: shape {shape} vs {other_shape}")
        difference = math.sqrt(sum((x - y) ** 2 for x, y in zip(values, other)))
        norm = math.sqrt(sum(x * x for x in values))
        relative = difference / max(norm, 1e-12)
        if relative > worst:
            worst, worst_name = relative, name
    print(f"{len(a)} tensors; largest relative difference {worst:.3g} ({worst_name})")
    if expect_different:
        sys.exit(0 if worst > tolerance else 1)
    sys.exit(0 if worst <= tolerance else 1)


if __name__ == "__main__":
    main()
