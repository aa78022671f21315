#!/usr/bin/env bash
# Installs what Sugar needs from Debian 12 packages and builds a Release `build/bin/sugar`.
#
#   bash scripts/setup.sh            build dependencies, then the library and the sugar program
#   bash scripts/setup.sh --tests    also the test dependencies, and the test suite
#
# Idempotent: apt is only touched when a package is missing, and the build is incremental, so a
# second run takes seconds. Installing needs root; the script uses sudo when run as a normal user.
# SUGAR_BUILD_DIR=<dir> builds somewhere other than build/ (relative to the repository root).
set -euo pipefail

# Everything the library and the sugar program need to build and run.
BUILD_PACKAGES=(
  build-essential g++ cmake git
  libdnnl-dev              # oneDNN 2.6: convolution, batch-norm, pooling, reorders (OpenMP runtime: GCC's libgomp)
  ocl-icd-opencl-dev       # only recommended by libdnnl-dev, but its CMake config requires OpenCL
  libcli11-dev             # the command line
  libspdlog-dev libfmt-dev # logging
  libstb-dev               # image decoding
  libyaml-cpp-dev          # experiment configs
  zlib1g-dev               # gzip-compressed IDX datasets
  nlohmann-json3-dev       # safetensors headers, --json output
  libcairo2-dev            # plots
  dataset-fashion-mnist    # a small real dataset that needs no download
  curl ca-certificates     # data/fetch-cifar.sh downloads CIFAR over https
  libopenmpi-dev openmpi-bin # mpirun sugar train: data-parallel training
)

# What the test suite needs on top. Extend this list when a test needs a new package.
TEST_PACKAGES=(
  libgtest-dev libgmock-dev
  libbenchmark-dev
  python3                  # tests/cli/fetch_cifar.sh serves archives from a local python3 -m http.server
  python3-torch            # tests/cli/torch_crosscheck.sh: checkpoints, logits and SUGAR gradients against PyTorch
  python3-torchvision      # the reference classes of the modern models (ConvNeXt, MobileNetV3): strict loads
  # Debian's python3-torch links the generic libblas.so.3, which is the slow reference BLAS until a real one
  # is installed: OpenBLAS (OpenMP build, PyTorch's runtime) takes over the alternative, so that
  # scripts/bench_pytorch.py and scripts/bench_table.sh measure PyTorch on a real BLAS.
  libopenblas0-openmp
  time                     # tests/cli/hostile_files.sh: GNU /usr/bin/time measures the peak RSS of hostile inputs
)

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

with_tests=OFF
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=ON ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "setup: error: unknown option '$arg' (expected --tests or --help)" >&2; exit 2 ;;
  esac
done

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

packages=("${BUILD_PACKAGES[@]}")
[[ $with_tests == ON ]] && packages+=("${TEST_PACKAGES[@]}")

# dpkg-query answers from the local database in milliseconds, so the common case (all present) never
# waits for apt or asks for a password.
missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  say "all ${#packages[@]} packages already installed"
else
  if ((EUID == 0)); then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    die "installing ${missing[*]} needs root: run this script as root or install sudo"
  fi
  apt_log=$(mktemp /tmp/sugar-setup-apt.XXXXXX.log)
  apt_get() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >>"$apt_log" 2>&1 \
      || { tail -n 20 "$apt_log" >&2; die "apt-get $1 failed (full log: $apt_log)"; }
  }
  say "installing ${#missing[@]} missing packages: ${missing[*]}"
  say "apt-get update"
  apt_get update
  say "apt-get install (this takes a few minutes on a fresh machine)"
  apt_get install --no-install-recommends "${missing[@]}"
  rm -f "$apt_log"
fi

build_name=${SUGAR_BUILD_DIR:-build}
build_dir="$repo_root/$build_name"
[[ $build_name == /* ]] && build_dir=$build_name
say "configuring a Release build in $build_name/ (tests: $with_tests)"
mkdir -p "$build_dir"
cmake -S "$repo_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSUGAR_BUILD_TESTS="$with_tests" \
  >"$build_dir/setup-configure.log" 2>&1 \
  || { tail -n 30 "$build_dir/setup-configure.log" >&2; die "cmake configure failed (full log: $build_dir/setup-configure.log)"; }

jobs=$(nproc)
say "building with $jobs parallel jobs"
cmake --build "$build_dir" -j"$jobs"
say "done: $build_name/bin/sugar is ready (try: $build_name/bin/sugar --help)"
[[ $with_tests == ON ]] && say "run the tests with: ctest --test-dir $build_name --output-on-failure -j$jobs"
exit 0
