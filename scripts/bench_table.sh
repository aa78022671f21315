#!/usr/bin/env bash
# The README's performance tables: Sugar (`sugar bench`) against PyTorch (scripts/bench_pytorch.py,
# Debian's python3-torch) on this machine, and Sugar's images/s against threads and batch size.
#
#   bash scripts/bench_table.sh [ITERS]        default 5 timed steps after 2 warm-up steps per cell
#
# Needs build/bin/sugar (scripts/setup.sh) and python3-torch (scripts/setup.sh --tests). Run it on an
# otherwise idle machine: every number is a speed. Prints Markdown on stdout, progress on stderr.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sugar=${SUGAR:-$repo_root/build/bin/sugar}
iters=${1:-5}
threads=${THREADS:-2}
# Debian's torch is installed for /usr/bin/python3 (a python3 earlier on PATH may not have it).
python=/usr/bin/python3
[[ -x $sugar ]] || { echo "bench_table: $sugar is missing; run scripts/setup.sh first" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null || { echo "bench_table: python3-torch is missing (scripts/setup.sh --tests)" >&2; exit 2; }

field() { "$python" -c "import json, sys; d = json.load(sys.stdin); print(round(d['$1'], 1))"; }
sugar_bench() { echo "bench_table: sugar bench $*" >&2; "$sugar" bench --threads "$threads" --iters "$iters" --warmup 2 --json "$@" 2>/dev/null; }
torch_bench() { echo "bench_table: bench_pytorch $*" >&2; "$python" "$repo_root/scripts/bench_pytorch.py" --threads "$threads" --iters "$iters" --warmup 2 --json "$@" 2>/dev/null; }
ratio() { "$python" -c "print(f'{$1 / $2:.2f}x')"; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "Measured on $cpu, $(nproc) cores, $threads threads, batch 128, $(date -u +%Y-%m-%d)."
echo
echo "| model | phase | dtype | PyTorch NCHW | PyTorch channels_last | Sugar | Sugar / PyTorch's best | peak RSS Sugar / PyTorch |"
echo "|---|---|---|---|---|---|---|---|"
for model in resnet18 vgg16; do
  for phase in train infer; do
    for dtype in f32 bf16; do
      # PyTorch's bf16 is autocast, which is only fast with channels_last: NCHW is not measured.
      if [[ $dtype == f32 ]]; then
        nchw_json=$(torch_bench --model $model --batch 128 --phase $phase)
        nchw=$(field imgs_per_sec <<<"$nchw_json")
      else
        nchw="-"
      fi
      cl_json=$(torch_bench --model $model --batch 128 --phase $phase --dtype $dtype --channels-last)
      cl=$(field imgs_per_sec <<<"$cl_json")
      s_json=$(sugar_bench --model $model --batch 128 --phase $phase --dtype $dtype --conv-algo auto)
      s=$(field imgs_per_sec <<<"$s_json")
      best=$cl
      [[ $nchw != "-" ]] && best=$("$python" -c "print(max($nchw, $cl))")
      torch_rss=$(field peak_rss_mib <<<"$cl_json")
      sugar_rss=$(field peak_rss_mib <<<"$s_json")
      echo "| $model | $phase | $dtype | $nchw | $cl | $s | $(ratio "$s" "$best") | $sugar_rss / $torch_rss MiB |"
    done
  done
done

echo
echo "Sugar, ResNet-18 fp32 training (conv_algo auto), images/s by threads and batch size:"
echo
echo "| threads | batch 32 | batch 64 | batch 128 | batch 256 |"
echo "|---|---|---|---|---|"
for t in 1 2; do
  row="| $t |"
  for batch in 32 64 128 256; do
    row+=" $(threads=$t sugar_bench --model resnet18 --batch $batch --conv-algo auto | field imgs_per_sec) |"
  done
  echo "$row"
done
