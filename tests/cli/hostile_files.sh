#!/usr/bin/env bash
# Hostile files (issue 16, classes 1 and 7): each case runs `sugar` on one file built to hurt it and
# checks the contract of tests/cli/bad_input.sh (one stderr line starting with 'error:' holding the words
# that say what and where; exit 2 for configs, 1 for data and checkpoints; no run directory left by a
# failed `sugar train`, an existing run directory byte-for-byte unchanged), plus: it ends within 30 s (a
# FIFO or /dev/zero must not hang it), its peak RSS stays under a bound (a decompression bomb or a huge
# declared size must cost what the file honestly holds), and the deep-nesting cases run under a 256 KB
# stack (ulimit -s 256), where a parser that recurses once per level would die with SIGSEGV.
# Class 1: unbounded recursion and allocation. Class 7: silent acceptance and late detection.
# usage: hostile_files.sh <sugar binary> <build dir>
set -euo pipefail
test_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)  # python helpers (synthetic_images.py)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, write_synthetic_cifar10
cd "$work"
[[ -x /usr/bin/time ]] || fail "GNU time (/usr/bin/time, Debian package 'time') is needed to measure peak RSS"

# A failed command that starts and exits costs ~40 MB (oneDNN and the C++ runtime). 200 MB is far below
# what the old readers took on these files (the 256 MiB bomb below: over 512 MB; /dev/zero: unbounded).
max_rss_mb=200


# expect CLASS NAME EXIT 'word|word|...' [STACK_KB] -- ARGS...: runs sugar ARGS (under a stack of
# STACK_KB when given) and checks everything above; UNTOUCHED=DIR also checks that DIR is unchanged.
declare -A checked=([1]=0 [7]=0)
expect() {
  local class=$1 name=$2 code=$3 words=$4 stack=unlimited
  shift 4
  if [[ $1 != -- ]]; then stack=$1; shift; fi
  shift
  local before=""
  [[ -z ${UNTOUCHED:-} ]] || before=$(fingerprint "$UNTOUCHED")
  set +e
  (ulimit -s "$stack" && exec /usr/bin/time -f '%M' -o "$work/rss" timeout 30 "$sugar" "$@") >"$work/out" 2>"$work/err"
  status=$?
  set -e
  err=$(cat "$work/err")
  [[ $status != 124 ]] || fail "$name: still running after 30 s"
  [[ $status == "$code" ]] || fail "$name: exit $status, expected $code; stderr: $(head -c 2000 "$work/err")"
  [[ $(wc -l <"$work/err") == 1 && $err == error:* ]] || fail "$name: stderr is not one 'error:' line: $(head -c 2000 "$work/err")"
  local word
  IFS='|' read -ra word_list <<<"$words"
  for word in "${word_list[@]}"; do
    [[ $err == *"$word"* ]] || fail "$name: '$word' is missing from: $err"
  done
  local rss_kb
  rss_kb=$(tail -n 1 "$work/rss")
  ((rss_kb < max_rss_mb * 1024)) || fail "$name: peak RSS $((rss_kb / 1024)) MB, expected under $max_rss_mb MB"
  [[ ! -e runs/new ]] || fail "$name: a failed 'sugar train' left runs/new behind"
  [[ -z ${UNTOUCHED:-} || $(fingerprint "$UNTOUCHED") == "$before" ]] || fail "$name: the failed command changed $UNTOUCHED"
  checked[$class]=$((checked[$class] + 1))
}

write_synthetic_cifar10 cifar "4 4 4 4 4" 8
config() {  # config DATA_YAML [MODEL_YAML] > file
  cat <<YAML
name: hostile
seed: 1
model: ${2:-{name: vgg11\}}
data: $1
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: 8, eval_batch_size: 8, threads: 1, neuron_stats: false}
YAML
}
config "{name: cifar10, root: $work/cifar}" >good.yaml

# Data sets and files built by python: nesting 20,000 levels deep, a gzip bomb, image folders.
PYTHONPATH="$test_lib" python3 - <<'PY'
import gzip, os, struct, zlib
deep = 20000
spec = "sugar(surrogate=" * deep + "relu" + ")" * deep
open("deep-spec-long.yaml", "w").write('model: {name: vgg11, activation: "%s"}\n' % spec)
spec = "sugar(surrogate=" * 50 + "relu" + ")" * 50  # within the 1024 bytes a spec may have
open("deep-spec.yaml", "w").write('model: {name: vgg11, activation: "%s"}\n' % spec)
open("deep-yaml.yaml", "w").write("train: " + "[" * deep + "]" * deep + "\n")

def idx(dims, payload=b""):
    return struct.pack(">I", 0x800 | len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload
def mnist(folder, images_gz):
    os.makedirs(folder)
    for prefix in ("train", "t10k"):
        open(f"{folder}/{prefix}-images-idx3-ubyte.gz", "wb").write(images_gz)
        open(f"{folder}/{prefix}-labels-idx1-ubyte", "wb").write(idx([16], bytes(i % 10 for i in range(16))))
# A bomb: the header declares 16 images of 28x28 (12,544 bytes), the stream inflates to 256 MiB.
bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
parts = [bomb.compress(idx([16, 28, 28]))]
zeros = bytes(1 << 20)
for _ in range(256):
    parts.append(bomb.compress(zeros))
parts.append(bomb.flush())
mnist("m-bomb", b"".join(parts))
# A header declaring 3,000,000 images (2.35 GB, more than a dataset file may hold) on 100 bytes.
mnist("m-huge", gzip.compress(idx([3000000, 28, 28], bytes(100))))
# A header declaring 1,000,000 images (784 MB, allowed) on 100 bytes: truncated, found without 784 MB.
mnist("m-liar", gzip.compress(idx([1000000, 28, 28], bytes(100))))

from synthetic_images import bmp, cat_dog_folder
cat_dog_folder("images")
PY

# ---- class 1: unbounded recursion and allocation ----------------------------------------------------
expect 1 deep-activation-spec 2 'deep-spec.yaml:1:|model.activation|nests deeper than 16 levels' 256 -- \
  train deep-spec.yaml --set "data.root=$work/cifar" --out runs/new
expect 1 deep-activation-spec-long 2 'deep-spec-long.yaml:1:|model.activation|expected at most 1024 bytes' 256 -- \
  train deep-spec-long.yaml --set "data.root=$work/cifar" --out runs/new
expect 1 deep-activation-spec-set 2 'model.activation|nests deeper than 16 levels' 256 -- \
  train good.yaml --set "model.activation=$(printf 'sugar(surrogate=%.0s' {1..50})relu$(printf ')%.0s' {1..50})" --out runs/new
expect 1 deep-yaml 2 'deep-yaml.yaml:1:|malformed YAML: nested deeper than 32 levels' 256 -- train deep-yaml.yaml --out runs/new
expect 1 deep-yaml-set 2 'train.epochs|malformed value: nested deeper than 32 levels' 256 -- \
  train good.yaml --set "train.epochs=$(printf '[%.0s' {1..20000})$(printf ']%.0s' {1..20000})" --out runs/new
mnist() { echo "--set data.name=mnist --set data.root=$work/$1 --set data.mean=[0.5] --set data.std=[0.25]"; }
# shellcheck disable=SC2046  # the options are words without spaces
expect 1 gzip-bomb 1 'm-bomb/train-images-idx3-ubyte.gz|more than 65536 unexpected bytes after the 12544 bytes|[16, 28, 28]' -- \
  train good.yaml $(mnist m-bomb) --out runs/new
# shellcheck disable=SC2046
expect 1 idx-huge-dims 1 'm-huge/train-images-idx3-ubyte.gz|[3000000, 28, 28] = 2352000000 bytes|more than a dataset file may hold' -- \
  train good.yaml $(mnist m-huge) --out runs/new
# shellcheck disable=SC2046
expect 1 idx-lying-dims 1 'm-liar/train-images-idx3-ubyte.gz|truncated|[1000000, 28, 28] = 784000000 bytes of data but only 100 follow' -- \
  train good.yaml $(mnist m-liar) --out runs/new

# A real run to break: its checkpoints, status.json and run.json.
timeout 120 "$sugar" train good.yaml --out runs/ok >/dev/null 2>"$work/err" || fail "the reference run failed: $(cat "$work/err")"
broken_run() {  # broken_run NAME: a copy of runs/ok to break
  rm -rf "runs/$1"
  cp -r runs/ok "runs/$1"
}
broken_run zero
ln -sf /dev/zero runs/zero/best.safetensors
UNTOUCHED=runs/zero expect 1 checkpoint-dev-zero 1 'runs/zero/best.safetensors is a character device|expected a regular file' -- \
  eval --run runs/zero
broken_run huge-header
python3 -c 'import struct, sys; b = bytearray(open(sys.argv[1], "rb").read()); b[0:8] = struct.pack("<Q", 1 << 62); open(sys.argv[1], "wb").write(b)' \
  runs/huge-header/last.safetensors
UNTOUCHED=runs/huge-header expect 1 checkpoint-huge-header-length 1 'runs/huge-header/last.safetensors|header length 4611686018427387904 is beyond the file size' -- \
  train --resume runs/huge-header --set train.epochs=2
broken_run huge-offsets
python3 - runs/huge-offsets/last.safetensors <<'PY'
import json, struct, sys
path = sys.argv[1]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
header = json.loads(b[8:8 + n])
name = next(k for k in header if k != "__metadata__")
header[name]["data_offsets"] = [0, 1 << 60]
text = json.dumps(header).encode()
open(path, "wb").write(struct.pack("<Q", len(text)) + text + b[8 + n:])
PY
UNTOUCHED=runs/huge-offsets expect 1 checkpoint-huge-offsets 1 'runs/huge-offsets/last.safetensors|1152921504606846976|outside the data section' -- \
  train --resume runs/huge-offsets --set train.epochs=2
broken_run deep-header
python3 -c 'import struct, sys; t = b"[" * 100000 + b"]" * 100000; open(sys.argv[1], "wb").write(struct.pack("<Q", len(t)) + t)' \
  runs/deep-header/best.safetensors
UNTOUCHED=runs/deep-header expect 1 checkpoint-deep-json 1 'runs/deep-header/best.safetensors|header is not valid JSON|nested deeper than 64 levels' 256 -- \
  eval --run runs/deep-header
# model.init_from: the weights file of a new run is an input like any other (runs/ok's checkpoint
# itself would be a good one: a VGG-11's weights under their PyTorch names).
ln -sf /dev/zero init-zero.safetensors
expect 1 init-from-dev-zero 1 'model.init_from: |init-zero.safetensors is a character device|expected a regular file' -- \
  train good.yaml --set model.init_from=init-zero.safetensors --out runs/new
expect 1 init-from-huge-header-length 1 'model.init_from: runs/huge-header/last.safetensors|header length 4611686018427387904 is beyond the file size' -- \
  train good.yaml --set model.init_from=runs/huge-header/last.safetensors --out runs/new
head -c -1000 runs/ok/last.safetensors >init-truncated.safetensors
expect 1 init-from-truncated 1 'model.init_from: init-truncated.safetensors: not a valid safetensors file|outside the data section' -- \
  train good.yaml --set model.init_from=init-truncated.safetensors --out runs/new
python3 - runs/ok/last.safetensors init-nan.safetensors <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
begin = json.loads(b[8:8 + n])["features.4.weight"]["data_offsets"][0]
b[8 + n + begin + 4 * 7:8 + n + begin + 4 * 8] = struct.pack("<f", float("nan"))  # element 7
open(sys.argv[2], "wb").write(b)
PY
expect 1 init-from-nan 1 "init-nan.safetensors: tensor 'features.4.weight' holds 1 non-finite value (the first, element 7 of 73728, is NaN)" -- \
  train good.yaml --set model.init_from=init-nan.safetensors --out runs/new
expect 1 init-from-other-model 1 'runs/ok/last.safetensors does not fit this model (VGG)|missing 49 tensors (features.10.bias|unexpected 35 tensors' -- \
  train good.yaml --set model.name=vgg13 --set model.init_from=runs/ok/last.safetensors --out runs/new
expect 1 init-from-other-digest 1 "model.init_from_sha256: runs/ok/last.safetensors has SHA-256 $(sha256sum runs/ok/last.safetensors | cut -d' ' -f1), but the config expects $(printf '0%.0s' {1..64})" -- \
  train good.yaml --set model.init_from=runs/ok/last.safetensors --set "model.init_from_sha256=$(printf '0%.0s' {1..64})" --out runs/new

mkdir -p report-runs
broken_run deep-status
printf '{"state": %s"x"%s}\n' "$(printf '[%.0s' {1..100000})" "$(printf ']%.0s' {1..100000})" >runs/deep-status/status.json
mv runs/deep-status report-runs/
UNTOUCHED=report-runs expect 1 report-deep-status-json 1 'report-runs/deep-status/status.json|not a status file (invalid JSON|nested deeper than 64 levels' 256 -- \
  report report-runs --out report-out
[[ ! -e report-out ]] || fail "report-deep-status-json: the failed report wrote report-out"

# A config file that is not a small regular file: read no further than its size says.
ln -s /dev/zero zero.yaml
expect 1 config-dev-zero 2 'zero.yaml: cannot read the config file|character device' -- train zero.yaml --out runs/new
head -c $((17 << 20)) /dev/zero | tr '\0' '#' >huge.yaml
expect 1 config-huge 2 'huge.yaml: cannot read the config file|holds 17825792 bytes, more than a config file may (16 MiB)' -- train huge.yaml --out runs/new
rm -f huge.yaml

# ---- class 7: silent acceptance and late detection --------------------------------------------------
folder() { echo "--set data.name=image_folder --set data.root=$work/$1 --set data.image_size=32"; }
variant() {  # variant NEW_DIR: a copy of the image folder to break
  rm -rf "$1"
  cp -r images "$1"
}
variant i-dangling
ln -s "$work/nowhere.png" i-dangling/train/cat/2.png
# shellcheck disable=SC2046
expect 7 image-dangling-symlink 1 'i-dangling/train/cat/2.png is a dangling symlink|nowhere.png|expected an image file' -- \
  train good.yaml $(folder i-dangling) --out runs/new
variant i-dir
mkdir i-dir/test/dog/x.png
# shellcheck disable=SC2046
expect 7 image-directory-named-png 1 'i-dir/test/dog/x.png is a directory|expected an image file' -- \
  train good.yaml $(folder i-dir) --out runs/new
variant i-classes
mv i-classes/test/dog i-classes/test/cow
# shellcheck disable=SC2046
expect 7 image-different-classes 1 'i-classes/test has classes [cat, cow]|[cat, dog]|missing in test: dog|not in train: cow' -- \
  train good.yaml $(folder i-classes) --out runs/new

cifar_variant() {  # cifar_variant NEW_DIR: a copy of the CIFAR-10 files to break
  rm -rf "$1"
  cp -r cifar "$1"
}
cifar_variant c-empty-train
for k in 1 2 3 4 5; do : >"c-empty-train/data_batch_$k.bin"; done
expect 7 cifar-empty-train 1 'cifar10 train|every file in|c-empty-train is empty|data_batch_5.bin|expected at least one 3073-byte record' -- \
  train good.yaml --set "data.root=$work/c-empty-train" --out runs/new
cifar_variant c-empty-test
: >c-empty-test/test_batch.bin
expect 7 cifar-empty-test 1 'cifar10 test|c-empty-test/test_batch.bin is empty|expected at least one 3073-byte record' -- \
  train good.yaml --set "data.root=$work/c-empty-test" --out runs/new
cifar_variant c-dir
rm c-dir/data_batch_2.bin && mkdir c-dir/data_batch_2.bin
expect 7 cifar-file-is-directory 1 'c-dir/data_batch_2.bin is a directory|expected a regular file' -- \
  train good.yaml --set "data.root=$work/c-dir" --out runs/new
cifar_variant c-fifo
rm c-fifo/test_batch.bin && mkfifo c-fifo/test_batch.bin
expect 7 cifar-file-is-fifo 1 'c-fifo/test_batch.bin is a FIFO|expected a regular file' -- \
  train good.yaml --set "data.root=$work/c-fifo" --out runs/new

# A config with a grid: `sugar train` trains the config's own values and says so in one warning line.
config "{name: cifar10, root: $work/cifar}" >grid.yaml
printf 'sweep:\n  optim.lr: [0.1, 0.05, 0.01]\n  seed: [3, 4]\n' >>grid.yaml
set +e
timeout 120 "$sugar" train grid.yaml --out runs/grid >"$work/out" 2>"$work/err"
status=$?
set -e
[[ $status == 0 ]] || fail "train on a grid config: exit $status: $(cat "$work/err")"
warning=$(grep 'sweep' "$work/err" || true)
[[ $(grep -c . <<<"$warning") == 1 ]] || fail "train on a grid config: expected one warning line about the grid: $(cat "$work/err")"
for word in 'warning' 'grid.yaml has a sweep grid of 6 cells' 'optim.lr (3) x seed (2)' 'ignores it' \
    'optim.lr=0.02, seed=1' 'sugar sweep grid.yaml' '--dry-run'; do
  [[ $warning == *"$word"* ]] || fail "train on a grid config: '$word' is missing from: $warning"
done
grep -q '^  lr: 0.02$' runs/grid/config.yaml && grep -q '^seed: 1$' runs/grid/config.yaml \
  || fail "train on a grid config did not train the base values: $(cat runs/grid/config.yaml)"
checked[7]=$((checked[7] + 1))

((checked[1] >= 3 && checked[7] >= 3)) || fail "too few cases: ${checked[1]} of class 1, ${checked[7]} of class 7"
echo "hostile_files: ${checked[1]} class-1 and ${checked[7]} class-7 cases hold the contract"
