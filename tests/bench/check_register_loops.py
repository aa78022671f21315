#!/usr/bin/env python3
"""Checks what the compiler made of `sugar bench --peak`'s loops (src/bench/peak_kernels.cpp): in every
kernel compiled for N accumulators, the timed loop must be exactly N multiply-add instructions
(vfmadd231ps / vdpbf16ps) into N different registers, no memory operand, plus the loop counter's
increment, compare and branch. A compiler that merged identical chains, spilled an accumulator or
turned x * 1 + acc into an add would make the peak measure something else.

    check_register_loops.py <object files...>   (the sugar library's; the one of peak_kernels.cpp is used)
"""
import re
import subprocess
import sys

MULTIPLY_ADDS = ("vfmadd231ps", "vdpbf16ps")
LOOP_CONTROL = ("inc", "add", "sub", "dec", "cmp", "jne", "jb", "jl", "jnz")


def fail(message):
    print(f"check_register_loops: FAIL: {message}")
    sys.exit(1)


def functions(disassembly):
    """{function name: [(address, mnemonic, operands)]} for every kernel's run()."""
    out, current = {}, None
    for line in disassembly.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if header:
            current = header.group(1) if "::run(long, float)" in header.group(1) else None
            if current:
                out[current] = []
            continue
        instruction = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if current and instruction:
            operands = instruction.group(3).split("<")[0].strip()
            out[current].append((int(instruction.group(1), 16), instruction.group(2), operands))
    return out


def loops(instructions):
    """The bodies of the backward jumps: [(address, mnemonic, operands)] each."""
    bodies = []
    for address, mnemonic, operands in instructions:
        if mnemonic.startswith("j") and re.match(r"^[0-9a-f]+$", operands):
            target = int(operands, 16)
            if target < address:
                bodies.append([i for i in instructions if target <= i[0] <= address])
    return bodies


def main(objects):
    kernels_object = [o for o in objects if o.endswith("peak_kernels.cpp.o")]
    if len(kernels_object) != 1:
        fail(f"expected one peak_kernels.cpp.o among the objects, got {kernels_object}")
    disassembly = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", kernels_object[0]], check=True,
                                 capture_output=True, text=True).stdout
    kernels = functions(disassembly)
    if len(kernels) < 10:
        fail(f"found only {len(kernels)} kernel functions in {kernels_object[0]}")
    for name, instructions in sorted(kernels.items()):
        accumulators = int(re.search(r"<(\d+)>::run", name).group(1))
        hot = [body for body in loops(instructions) if any(m in MULTIPLY_ADDS for _, m, _ in body)]
        if len(hot) != 1:
            fail(f"{name}: expected one loop of multiply-adds, found {len(hot)}")
        body = hot[0]
        multiply_adds = [(m, ops) for _, m, ops in body if m in MULTIPLY_ADDS]
        others = [f"{m} {ops}" for _, m, ops in body if m not in MULTIPLY_ADDS and m not in LOOP_CONTROL]
        destinations = {ops.split(",")[-1] for _, ops in multiply_adds}
        if len(multiply_adds) != accumulators:
            fail(f"{name}: {len(multiply_adds)} multiply-adds per iteration, expected {accumulators}")
        if len(destinations) != accumulators:
            fail(f"{name}: the multiply-adds write {len(destinations)} registers, expected {accumulators}")
        if others:
            fail(f"{name}: the loop holds more than multiply-adds and its counter: {others}")
        if any("(" in ops for _, _, ops in body):
            fail(f"{name}: the loop touches memory: {[ops for _, _, ops in body if '(' in ops]}")
        if len(body) > accumulators + 4:
            fail(f"{name}: {len(body)} instructions for {accumulators} multiply-adds")
    print(f"check_register_loops: {len(kernels)} kernels, every loop register-only: ok")


if __name__ == "__main__":
    main(sys.argv[1:])
