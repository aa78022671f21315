# Shared by the end-to-end tests in tests/cli/*.sh (this folder is not itself a test). Source it right
# after `set -euo pipefail` with the test's arguments:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"
#
# It sets $sugar (the program under test, the first argument) and $work (a temporary folder removed on
# exit), and defines fail, run, expect_usage_error, fingerprint and write_synthetic_cifar10.
sugar=$1
work=$(mktemp -d "/tmp/sugar-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# A fingerprint of every file in a directory: name, size, modification time (ns) and inode, so an
# in-place write and an atomic replacement both show (cheaper than hashing 70 MB checkpoints).
fingerprint() { (cd "$1" && find . -printf '%p %s %T@ %i\n' | sort); }

# expect_usage_error WORDS ARGS...: the program exits 2 with exactly one line on stderr that starts with
# 'error:' and contains WORDS, and prints nothing on stdout.
expect_usage_error() {
  local words=$1
  shift
  run "$@"
  [[ $status == 2 ]] || fail "sugar $* exited $status, expected 2 (stderr: $err)"
  [[ $(wc -l <"$work/err") == 1 ]] || fail "sugar $* printed more than one line: $err"
  [[ $err == error:* && $err == *"$words"* ]] || fail "sugar $*: expected an error about '$words', got: $err"
  [[ -z $out ]] || fail "sugar $* printed on stdout: $out"
}

# Runs the program, keeping stdout ($out), stderr ($err) and the exit code ($status) apart.
run() {
  set +e
  "$sugar" "$@" >"$work/out" 2>"$work/err"
  status=$?
  set -e
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# write_synthetic_cifar10 DIR "N1 N2 N3 N4 N5" TEST_RECORDS [SEED]
# CIFAR-10 binary files: data_batch_k.bin with Nk records, test_batch.bin with TEST_RECORDS; a record
# is 1 label byte + 3072 pixel bytes, and each class has its own brightness, so there is something to
# learn. python3 is there on every test machine (scripts/setup.sh --tests installs it).
write_synthetic_cifar10() {
  python3 - "$1" "$2" "$3" "${4:-7}" <<'PY'
import os, random, sys
root, per_file, test_records, seed = sys.argv[1], [int(n) for n in sys.argv[2].split()], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(root, exist_ok=True)
rng = random.Random(seed)
def records(n, first):
    out = bytearray()
    for i in range(n):
        label = (first + i) % 10
        out.append(label)
        out += bytes(min(255, max(0, 30 + 20 * label + rng.randint(-25, 25))) for _ in range(3072))
    return out
for k, n in enumerate(per_file, start=1):
    with open(os.path.join(root, f"data_batch_{k}.bin"), "wb") as f:
        f.write(records(n, 10 * k))
with open(os.path.join(root, "test_batch.bin"), "wb") as f:
    f.write(records(test_records, 500))
PY
}
