#!/usr/bin/env bash
# scripts/bench_pytorch.py names the BLAS library the process really loaded: the one Debian's
# libblas.so.3 alternative resolves to (checked here independently, with realpath), and OpenBLAS where
# scripts/setup.sh --tests installed it. A tiny VGG-11 step; never a speed assertion.
# usage: bench_pytorch.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run
script="$(dirname "${BASH_SOURCE[0]}")/../../scripts/bench_pytorch.py"
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  fail "PyTorch is not installed (Debian package python3-torch): run \`bash scripts/setup.sh --tests\`"

/usr/bin/python3 "$script" --model vgg11 --batch 2 --threads 1 --warmup 0 --iters 1 --json >"$work/out" 2>"$work/err" ||
  fail "bench_pytorch.py exited $?: $(cat "$work/err")"
blas_alternative=$(realpath /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
openblas_installed=no
[[ $(dpkg-query -W -f='${Status}' libopenblas0-openmp 2>/dev/null || true) == "install ok installed" ]] && openblas_installed=yes
python3 - "$work/out" "$blas_alternative" "$openblas_installed" <<'PY' || fail "see above"
import json, sys
result, alternative, openblas = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3] == "yes"
blas = result["blas"]
def check(ok, what):
    if not ok:
        print(f"bench_pytorch: {what}: {blas}", file=sys.stderr)
        sys.exit(1)
check(result["imgs_per_sec"] > 0 and result["model"] == "vgg11", "no result")
check(set(blas) == {"name", "libraries", "config", "core"}, "the blas entry lacks fields")
if alternative:
    check(alternative in blas["libraries"], f"libblas.so.3 resolves to {alternative}, which is not among the loaded")
if openblas:
    check(blas["name"] == "OpenBLAS" and blas["config"].startswith("OpenBLAS") and blas["core"], "OpenBLAS not reported")
PY
echo "bench_pytorch: ok ($(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["blas"]["name"])' "$work/out"))"
