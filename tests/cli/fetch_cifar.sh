#!/usr/bin/env bash
# End-to-end test of data/fetch-cifar.sh against a local HTTP server serving tiny synthetic archives in
# the official CIFAR layouts. Arguments (the sugar program, the build folder) are not needed here.
set -uo pipefail

script="$(cd "$(dirname "$0")/../.." && pwd)/data/fetch-cifar.sh"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -z $server_pid ]] || kill "$server_pid" 2>/dev/null
  [[ -z $server_pid ]] || wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# Runs the script, capturing stdout+stderr in $out and the status in $status.
run() { out=$("$@" 2>&1); status=$?; }

# ---- synthetic archives: a few records each, label bytes in range, pixels = pseudo-random bytes ----
python3 - "$work/src" <<'PY' || { echo "FAIL: cannot build the archives" >&2; exit 1; }
import os, random, sys, tarfile
root = sys.argv[1]
rng = random.Random(0)
def write(path, label_bytes_list):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        for labels in label_bytes_list:
            f.write(bytes(labels) + bytes(rng.randrange(256) for _ in range(3072)))
for k in range(1, 6):
    write(f"{root}/cifar-10-batches-bin/data_batch_{k}.bin", [[(k + r) % 10] for r in range(3)])
write(f"{root}/cifar-10-batches-bin/test_batch.bin", [[r] for r in range(2)])
with open(f"{root}/cifar-10-batches-bin/batches.meta.txt", "w") as f:
    f.write("airplane\n")
write(f"{root}/cifar-100-binary/train.bin", [[r % 20, r * 11 % 100] for r in range(4)])
write(f"{root}/cifar-100-binary/test.bin", [[19, 99]])
os.makedirs(f"{root}/../srv", exist_ok=True)
for folder, name in [("cifar-10-batches-bin", "cifar-10-binary.tar.gz"), ("cifar-100-binary", "cifar-100-binary.tar.gz")]:
    with tarfile.open(f"{root}/../srv/{name}", "w:gz") as tar:
        tar.add(f"{root}/{folder}", arcname=folder)
PY
sha10=$(sha256sum "$work/srv/cifar-10-binary.tar.gz" | awk '{print $1}')
md5_100=$(md5sum "$work/srv/cifar-100-binary.tar.gz" | awk '{print $1}')

# ---- a local server on a free port -----------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/srv" >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fs -o /dev/null "$base/" 2>/dev/null && break
  sleep 0.1
done
curl -fs -o /dev/null "$base/" || { echo "FAIL: the local HTTP server did not start" >&2; exit 1; }

# ---- cifar10 with the SHA-256 override: downloads, verifies, extracts ------------------------------
run env SUGAR_CIFAR_BASE_URL="$base" SUGAR_CIFAR_SHA256="$sha10" bash "$script" cifar10 "$work/out"
if [[ $status -eq 0 ]]; then pass "cifar10 download succeeded"; else fail "cifar10 download exited $status: $out"; fi
for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin batches.meta.txt; do
  cmp -s "$work/src/cifar-10-batches-bin/$f" "$work/out/cifar-10-batches-bin/$f" || fail "extracted $f differs from the original"
done
[[ $(stat -c %s "$work/out/cifar-10-batches-bin/data_batch_2.bin") -eq $((3 * 3073)) ]] || fail "data_batch_2.bin has the wrong size"
[[ ! -e $work/out/cifar-10-binary.tar.gz && ! -e $work/out/cifar-10-binary.tar.gz.part ]] || fail "the archive was left behind"
[[ -z $(find "$work/out" -name '.fetch-cifar.*') ]] || fail "a temporary extraction folder was left behind"

# ---- idempotent: a second run needs no server (the base URL points nowhere) ------------------------
run env SUGAR_CIFAR_BASE_URL="http://127.0.0.1:1" bash "$script" cifar10 "$work/out"
if [[ $status -eq 0 && $out == *"nothing to do"* ]]; then pass "second run skips"; else fail "second run: status $status: $out"; fi

# ---- cifar100 with the MD5 override and wget, into a folder holding an incomplete copy --------------
mkdir -p "$work/out/cifar-100-binary"
echo stale > "$work/out/cifar-100-binary/test.bin"
if command -v wget >/dev/null; then downloader=wget; else downloader=curl; fi
run env SUGAR_CIFAR_BASE_URL="$base/" SUGAR_CIFAR_MD5="$md5_100" SUGAR_CIFAR_DOWNLOADER=$downloader bash "$script" cifar100 "$work/out"
if [[ $status -eq 0 ]]; then pass "cifar100 download with $downloader succeeded"; else fail "cifar100 ($downloader) exited $status: $out"; fi
for f in train.bin test.bin; do
  cmp -s "$work/src/cifar-100-binary/$f" "$work/out/cifar-100-binary/$f" || fail "extracted cifar-100 $f differs from the original"
done

# ---- wrong checksum: fails, deletes the download, extracts nothing ---------------------------------
run env SUGAR_CIFAR_BASE_URL="$base" SUGAR_CIFAR_SHA256=0000000000000000000000000000000000000000000000000000000000000000 \
  bash "$script" cifar10 "$work/bad"
if [[ $status -eq 1 && $out == *"sha256 mismatch for cifar-10-binary.tar.gz"* && $out == *"$sha10"* ]]; then
  pass "wrong checksum rejected"
else
  fail "wrong checksum: status $status: $out"
fi
[[ -z $(ls -A "$work/bad" 2>/dev/null) ]] || fail "wrong checksum left files behind: $(ls -A "$work/bad")"

# ---- the default is the official MD5, which the synthetic archive cannot match ---------------------
run env SUGAR_CIFAR_BASE_URL="$base" bash "$script" cifar10 "$work/official"
if [[ $status -eq 1 && $out == *"expected c32a1d4ab5d03f1284b67883e8d87530"* ]]; then
  pass "official MD5 checked by default"
else
  fail "official MD5: status $status: $out"
fi
[[ -z $(ls -A "$work/official" 2>/dev/null) ]] || fail "official MD5 mismatch left files behind"

# ---- download failure (404) ------------------------------------------------------------------------
run env SUGAR_CIFAR_BASE_URL="$base/missing" SUGAR_CIFAR_SHA256="$sha10" bash "$script" cifar10 "$work/missing"
if [[ $status -eq 1 && $out == *"download of $base/missing/cifar-10-binary.tar.gz failed"* ]]; then
  pass "download failure reported"
else
  fail "download failure: status $status: $out"
fi
[[ $(echo "$out" | wc -l) -le 2 ]] || fail "download failure printed more than the progress line and one error: $out"
[[ -z $(ls -A "$work/missing" 2>/dev/null) ]] || fail "failed download left files behind"

# ---- bad arguments -----------------------------------------------------------------------------------
run bash "$script"
[[ $status -eq 2 && $out == *"usage"* ]] && pass "no arguments rejected" || fail "no arguments: status $status: $out"
run bash "$script" cifar9
[[ $status -eq 2 && $out == *"unknown dataset 'cifar9'"* ]] && pass "unknown dataset rejected" || fail "cifar9: status $status: $out"
run bash "$script" cifar10 a b
[[ $status -eq 2 ]] && pass "three arguments rejected" || fail "three arguments: status $status: $out"
run env SUGAR_CIFAR_DOWNLOADER=ftp SUGAR_CIFAR_BASE_URL="$base" bash "$script" cifar10 "$work/ftp"
[[ $status -ne 0 && $out == *"ftp"* ]] && pass "unknown downloader rejected" || fail "downloader ftp: status $status: $out"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all fetch-cifar checks passed"
