#!/usr/bin/env bash
# Installs the build into a temporary prefix, then configures, builds and runs tests/install/ (a small
# project of its own) against it with find_package(sugar), as a user's project would.
# usage: find_package.sh <sugar binary> <build dir>
set -euo pipefail
build_dir=$2
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/sugar-find-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build_dir" --prefix "$work/prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "cmake --install failed"; }
config=$(find "$work/prefix" -name sugarConfig.cmake | head -n1)
[[ -n $config ]] || fail "no sugarConfig.cmake under the install prefix"
[[ -f $work/prefix/include/sugar/tensor.hpp ]] || fail "headers were not installed"
[[ -x $work/prefix/bin/sugar ]] || fail "the sugar program was not installed"

cmake -S "$repo_root/tests/install" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log" >&2; fail "configuring the consumer project failed"; }
cmake --build "$work/consumer" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; fail "building the consumer project failed"; }
# The consumer must compile against the installed headers, not against this source tree.
if grep -rqF -- "$repo_root/include" "$work/consumer/CMakeFiles"; then
  fail "the consumer project was compiled against $repo_root/include instead of the installed headers"
fi
grep -rqF -- "$work/prefix/include" "$work/consumer/CMakeFiles" || fail "the consumer does not use the installed headers"

output=$("$work/consumer/consumer")
expected=$'sum: 1.5 2.5 3.5 4.5\ngrad: 1 1 1 1'
[[ $output == "$expected" ]] || fail "consumer printed '$output', expected '$expected'"
echo "ok: installed Sugar found with find_package(sugar) and linked; consumer printed the expected values"
