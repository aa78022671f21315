#!/usr/bin/env bash
# Bad input gets one clear line: every case below runs `sugar` on one broken config, data set or
# checkpoint and checks that stderr is exactly one line starting with 'error:', that it holds the key
# words that say what and where (file, line:column, key path, record), that the exit code is 2 for usage
# and config errors and 1 for runtime errors (data, checkpoints), and that nothing was left behind: no
# run directory for a failed `sugar train`, and a run directory untouched (no file written, replaced or
# added) by a failed `--resume` or `sugar eval`. (Unreadable files are not covered: tests run as root.)
# usage: bad_input.sh <sugar binary> <build dir>
set -euo pipefail
test_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)  # python helpers (synthetic_images.py)
sugar=$1
work=$(mktemp -d /tmp/sugar-bad-input.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"

run() {  # with a time limit: a hang is one of the failures looked for
  set +e
  timeout 120 "$sugar" "$@" >"$work/out" 2>"$work/err"
  status=$?
  set -e
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# expect NAME EXIT 'word|word|...' -- ARGS...: runs sugar ARGS and checks the contract above.
checked=0
expect() {
  local name=$1 code=$2 words=$3
  shift 4
  run "$@"
  [[ $status == "$code" ]] || fail "$name: exit $status, expected $code; stderr: $err"
  [[ $(wc -l <"$work/err") == 1 && $err == error:* ]] || fail "$name: stderr is not one 'error:' line: $err"
  local word
  IFS='|' read -ra word_list <<<"$words"
  for word in "${word_list[@]}"; do
    [[ $err == *"$word"* ]] || fail "$name: '$word' is missing from: $err"
  done
  [[ ! -e runs/new ]] || fail "$name: a failed 'sugar train' left runs/new behind"
  checked=$((checked + 1))
}

# A fingerprint of every file in a directory: name, size, modification time (ns) and inode, so an
# in-place write and an atomic replacement both show (cheaper than hashing 70 MB checkpoints).
fingerprint() { (cd "$1" && find . -printf '%p %s %T@ %i\n' | sort); }

# ---- data: CIFAR-10, CIFAR-100, MNIST (IDX, gzipped), image folders -------------------------------
PYTHONPATH="$test_lib" python3 - <<'PY'
import gzip, os, random, struct
rng = random.Random(3)
def cifar_records(n, label_bytes):
    out = bytearray()
    for i in range(n):
        out += bytes(label_bytes(i))
        out += bytes(rng.randrange(256) for _ in range(3072))
    return out
os.makedirs("cifar10")
for k in range(1, 6):
    open(f"cifar10/data_batch_{k}.bin", "wb").write(cifar_records(8 if k < 5 else 0, lambda i: [i % 10]))
open("cifar10/test_batch.bin", "wb").write(cifar_records(16, lambda i: [i % 10]))
os.makedirs("cifar100")
open("cifar100/train.bin", "wb").write(cifar_records(32, lambda i: [i % 20, i % 100]))
open("cifar100/test.bin", "wb").write(cifar_records(16, lambda i: [i % 20, i % 100]))

def idx(dims, payload):
    return struct.pack(">I", 0x800 | len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload
os.makedirs("mnist")
for prefix, n in (("train", 32), ("t10k", 16)):
    images = idx([n, 28, 28], bytes(rng.randrange(256) for _ in range(n * 784)))
    labels = idx([n], bytes(i % 10 for i in range(n)))
    open(f"mnist/{prefix}-images-idx3-ubyte.gz", "wb").write(gzip.compress(images))
    open(f"mnist/{prefix}-labels-idx1-ubyte.gz", "wb").write(gzip.compress(labels))

from synthetic_images import bmp, cat_dog_folder
cat_dog_folder("images")
PY

base_config() {  # base_config DATA_YAML > file
  cat <<YAML
name: bad
seed: 1
model: {name: vgg11}
data: $1
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: 8, eval_batch_size: 16, threads: 1, neuron_stats: false}
YAML
}
base_config "{name: cifar10, root: $work/cifar10}" >good.yaml

# A variant of a data folder: copy it, then let python change one file.
variant() {  # variant SOURCE_DIR NEW_DIR PYTHON_CODE (cwd = NEW_DIR)
  cp -r "$1" "$2"
  (cd "$2" && python3 -c "$3")
}

# ---- configs: exit 2 --------------------------------------------------------------------------------
printf 'name: bad\noptim: {lr: 0.1\ntrain: {}\n' >malformed.yaml
expect malformed-yaml 2 'malformed.yaml:3:6|malformed YAML' -- train malformed.yaml --out runs/new
printf ',\n' >comma.yaml  # hung in yaml-cpp 0.7's LoadAll, eating memory (tests/fuzz/README.md)
expect stray-comma 2 "comma.yaml:1:1|malformed YAML: unexpected ','" -- train comma.yaml --out runs/new
printf 'optim:\n  name: sgd\n  lrr: 0.1\n' >unknown-key.yaml
expect unknown-key 2 'unknown-key.yaml:3:3|optim.lrr|did you mean lr' -- train unknown-key.yaml --out runs/new
printf 'train: {batch_size: many}\n' >wrong-type.yaml
expect wrong-type 2 'wrong-type.yaml:1:21|train.batch_size|expected a whole number in [1, 65536]' -- train wrong-type.yaml --out runs/new
printf 'optim: {lr: 0}\n' >lr.yaml
expect lr-zero 2 'lr.yaml:1:13|optim.lr|must be in (0, 1000]' -- train lr.yaml --out runs/new
printf 'optim: {lr: -0.1}\n' >lr-negative.yaml
expect lr-negative 2 'lr-negative.yaml:1:13|optim.lr|must be in (0, 1000]' -- train lr-negative.yaml --out runs/new
printf 'train: {batch_size: 0}\n' >batch.yaml
expect batch-zero 2 'batch.yaml:1:21|train.batch_size|must be in [1, 65536]' -- train batch.yaml --out runs/new
printf 'train:\n  epochs: 0\n' >epochs.yaml
expect epochs-zero 2 'epochs.yaml:2:11|train.epochs|must be in [1, 1000000]' -- train epochs.yaml --out runs/new
base_config "{name: cifar10, root: $work/cifar10, augment: {crop_padding: 32}}" >crop.yaml
expect crop-padding 2 'crop.yaml:4:|data.augment.crop_padding|32x32' -- train crop.yaml --out runs/new
printf 'model: {name: resnet81}\n' >model.yaml
expect unknown-model 2 'model.yaml:1:15|model.name|resnet18' -- train model.yaml --out runs/new
printf 'data: {name: cifar}\n' >dataset.yaml
expect unknown-dataset 2 'dataset.yaml:1:14|data.name|cifar10' -- train dataset.yaml --out runs/new
printf 'model: {activation: rellu}\n' >activation.yaml
expect unknown-activation 2 'activation.yaml:1:21|model.activation|rellu|relu' -- train activation.yaml --out runs/new
printf 'optim: {name: sgdd}\n' >optimizer.yaml
expect unknown-optimizer 2 'optimizer.yaml:1:15|optim.name|did you mean sgd' -- train optimizer.yaml --out runs/new
printf 'model: {activation: "leaky_relu(negative_slope=)"}\n' >spec.yaml
expect bad-activation-spec 2 'spec.yaml:1:21|model.activation|negative_slope' -- train spec.yaml --out runs/new
expect conflicting-set 2 'optim.lr=0.2|conflicts with --set optim.lr=0.1' -- \
  train good.yaml --set optim.lr=0.1 --set optim.lr=0.2 --out runs/new
expect unknown-set-key 2 'optim.lrr|did you mean optim.lr' -- train good.yaml --set optim.lrr=0.1 --out runs/new
expect missing-config 2 'absent.yaml' -- train absent.yaml --out runs/new
expect unknown-option 2 '--bogus|sugar train --help' -- train good.yaml --bogus

# ---- data: exit 1 -----------------------------------------------------------------------------------
expect missing-data-folder 1 "$work/nowhere|does not exist|data_batch_1.bin" -- \
  train good.yaml --set "data.root=$work/nowhere" --out runs/new
variant cifar10 c-missing 'import os; os.remove("data_batch_4.bin")'
expect missing-data-file 1 "c-missing|is missing data_batch_4.bin" -- train good.yaml --set "data.root=$work/c-missing" --out runs/new
variant cifar10 c-size 'open("data_batch_3.bin", "ab").write(bytes(5))'
expect cifar-partial-record 1 "data_batch_3.bin|8 records and 5 bytes left over|3073-byte records" -- \
  train good.yaml --set "data.root=$work/c-size" --out runs/new
variant cifar10 c-label 'f = open("test_batch.bin", "r+b"); f.seek(2 * 3073); f.write(bytes([10]))'
expect cifar-label-range 1 "test_batch.bin|record 2|label 10|[0, 10)" -- \
  train good.yaml --set "data.root=$work/c-label" --out runs/new
variant cifar100 c100-label 'f = open("train.bin", "r+b"); f.seek(5 * 3074 + 1); f.write(bytes([100]))'
expect cifar100-label-range 1 "train.bin|record 5|fine label 100|[0, 100)" -- \
  train good.yaml --set data.name=cifar100 --set "data.root=$work/c100-label" --out runs/new
mnist() { printf -- '--set\ndata.name=mnist\n--set\ndata.root=%s\n--set\ndata.mean=[0.5]\n--set\ndata.std=[0.25]\n' "$work/$1"; }
# Rewrites one IDX file: gunzipped into the bytearray b, changed by the python statements given, then
# gzipped again, or written plain (without .gz) when told.
idx_variant() {  # idx_variant NEW_DIR FILE PYTHON_STATEMENTS [plain]
  variant mnist "$1" "import gzip, os
b = bytearray(gzip.decompress(open('$2.gz', 'rb').read()))
$3
if '${4:-}' == 'plain':
    os.remove('$2.gz'); open('$2', 'wb').write(b)
else:
    open('$2.gz', 'wb').write(gzip.compress(bytes(b)))"
}
idx_variant m-magic train-images-idx3-ubyte 'b[2] = 0x0d'
readarray -t args < <(mnist m-magic)
expect idx-wrong-magic 1 "train-images-idx3-ubyte.gz|not an unsigned-byte IDX file|magic 0x00000d03|expected 0x00000803" -- \
  train good.yaml "${args[@]}" --out runs/new
idx_variant m-dims t10k-labels-idx1-ubyte 'b[3] = 2' plain
readarray -t args < <(mnist m-dims)
expect idx-wrong-dims 1 "t10k-labels-idx1-ubyte|2 dimensions|expected 1" -- train good.yaml "${args[@]}" --out runs/new
idx_variant m-short train-images-idx3-ubyte 'b = b[:-100]'
readarray -t args < <(mnist m-short)
expect idx-truncated 1 "train-images-idx3-ubyte.gz|truncated|[32, 28, 28]" -- train good.yaml "${args[@]}" --out runs/new
idx_variant m-count t10k-labels-idx1-ubyte 'b[7] = 15; b = b[:-1]'
readarray -t args < <(mnist m-count)
expect idx-count-mismatch 1 "16 images|15 labels" -- train good.yaml "${args[@]}" --out runs/new
variant mnist m-gzip 'b = bytearray(open("train-labels-idx1-ubyte.gz", "rb").read()); b[12:20] = b"\xff" * 8; open("train-labels-idx1-ubyte.gz", "wb").write(b)'
readarray -t args < <(mnist m-gzip)
expect corrupt-gzip 1 "train-labels-idx1-ubyte.gz|corrupt gzip data" -- train good.yaml "${args[@]}" --out runs/new
variant mnist m-gzip-cut 'b = open("t10k-images-idx3-ubyte.gz", "rb").read(); open("t10k-images-idx3-ubyte.gz", "wb").write(b[:len(b) // 2])'
readarray -t args < <(mnist m-gzip-cut)
expect truncated-gzip 1 "t10k-images-idx3-ubyte.gz|truncated gzip stream" -- train good.yaml "${args[@]}" --out runs/new
folder() { printf -- '--set\ndata.name=image_folder\n--set\ndata.root=%s\n--set\ndata.image_size=32\n' "$work/$1"; }
readarray -t args < <(folder images)
run train good.yaml "${args[@]}" --out runs/folder-ok  # the valid folder trains: the cases below are the only faults
[[ $status == 0 ]] || fail "the valid image folder did not train: $err"
variant images i-corrupt 'open("train/dog/1.bmp", "wb").write(b"BM" + bytes(range(40)))'
readarray -t args < <(folder i-corrupt)
expect corrupt-image 1 "train/dog/1.bmp|cannot decode image" -- train good.yaml "${args[@]}" --out runs/new
variant images i-empty 'import os, shutil; shutil.rmtree("test/cat"); os.makedirs("test/cat")'
readarray -t args < <(folder i-empty)
expect empty-class-folder 1 "test/cat|holds no .png/.jpg/.jpeg/.bmp images" -- train good.yaml "${args[@]}" --out runs/new
variant images i-none 'import shutil; shutil.rmtree("train")'
readarray -t args < <(folder i-none)
expect missing-split-folder 1 "i-none/train|is not a folder" -- train good.yaml "${args[@]}" --out runs/new

# ---- checkpoints: exit 1, and the run directory is left exactly as it was ---------------------------
run train good.yaml --out runs/ok
[[ $status == 0 ]] || fail "the reference run failed: $err"
# expect_untouched NAME EXIT WORDS RUN_DIR -- ARGS: like expect, and RUN_DIR is unchanged afterwards.
expect_untouched() {
  local name=$1 code=$2 words=$3 dir=$4
  shift 5
  local before
  before=$(fingerprint "$dir")
  expect "$name" "$code" "$words" -- "$@"
  [[ $(fingerprint "$dir") == "$before" ]] || fail "$name: the failed command changed $dir"
}
broken_run() {  # broken_run NAME PYTHON_CODE (cwd = the copy of runs/ok)
  rm -rf "runs/$1"
  variant runs/ok "runs/$1" "$2"
}
broken_run truncated 'import os; os.truncate("last.safetensors", os.path.getsize("last.safetensors") // 2)'
expect_untouched resume-truncated 1 "runs/truncated/last.safetensors|outside the data section" runs/truncated -- \
  train --resume runs/truncated --set train.epochs=2
broken_run truncated-header 'b = open("last.safetensors", "rb").read(); open("last.safetensors", "wb").write(b[:5])'
expect_untouched resume-truncated-header 1 "runs/truncated-header/last.safetensors|truncated" runs/truncated-header -- \
  train --resume runs/truncated-header --set train.epochs=2
broken_run tampered '
b = bytearray(open("last.safetensors", "rb").read())
i = b.index(b"\"shape\":[64,3,3,3]")
b[i:i + 18] = b"\"shape\":[64,3,3,2]"
open("last.safetensors", "wb").write(b)'
expect_untouched resume-tampered-shape 1 "runs/tampered/last.safetensors|features.0.weight" runs/tampered -- \
  train --resume runs/tampered --set train.epochs=2
broken_run tampered-json '
b = bytearray(open("last.safetensors", "rb").read())
b[8] = ord("x")  # the opening brace of the JSON header
open("last.safetensors", "wb").write(b)'
expect_untouched resume-tampered-json 1 "runs/tampered-json/last.safetensors|header is not valid JSON" runs/tampered-json -- \
  train --resume runs/tampered-json --set train.epochs=2
broken_run tampered-best 'import os; os.truncate("best.safetensors", 1000)'
expect_untouched eval-truncated 1 "runs/tampered-best/best.safetensors" runs/tampered-best -- eval --run runs/tampered-best
broken_run other-model 'c = open("config.yaml").read(); open("config.yaml", "w").write(c.replace("name: vgg11", "name: vgg13"))'
expect_untouched resume-other-model 1 "runs/other-model/config.yaml has model.name: vgg13|runs/other-model/last.safetensors was trained with model.name: vgg11" runs/other-model -- \
  train --resume runs/other-model --set train.epochs=2
expect_untouched eval-other-model 1 "runs/other-model/best.safetensors" runs/other-model -- eval --run runs/other-model
broken_run other-shapes "
c = open('config.yaml').read()
open('config.yaml', 'w').write(c.replace('name: cifar10', 'name: cifar100').replace('$work/cifar10', '$work/cifar100'))"
expect_untouched resume-other-shapes 1 "runs/other-shapes/config.yaml has data.name: cifar100|trained with data.name: cifar10" runs/other-shapes -- \
  train --resume runs/other-shapes --set train.epochs=2
expect_untouched eval-other-shapes 1 "runs/other-shapes/config.yaml has data.name: cifar100|runs/other-shapes/best.safetensors was trained with data.name: cifar10" runs/other-shapes -- eval --run runs/other-shapes

echo "bad_input: all $checked cases give one clear line"
