#!/usr/bin/env bash
# The git commit that --version and every run.json name is taken at build time by
# cmake/write_commit.cmake: checked here on a throw-away git repository (the commit, "-dirty" once a
# tracked file changes, "unknown" outside git, the header rewritten only when its text changes, so that
# runtime.cpp is not recompiled by every build), and on this build (--version names the commit of the
# source tree the binary was built from, when that is a git checkout).
# usage: commit_stamp.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script=$here/../../cmake/write_commit.cmake
command -v git >/dev/null || { echo "commit_stamp: git is missing; nothing to check"; exit 0; }

stamp() { cmake -DSOURCE_DIR="$1" -DOUT="$work/stamp.hpp" -P "$script" && sed -n 's/^#define SUGAR_GIT_COMMIT "\(.*\)"$/\1/p' "$work/stamp.hpp"; }

repo=$work/repo
mkdir -p "$repo"
git -C "$repo" init -q
echo one >"$repo/file"
git -C "$repo" add file
git -C "$repo" -c user.name=t -c user.email=t@t commit -q -m one
head=$(git -C "$repo" rev-parse --short=12 HEAD)
[[ $(stamp "$repo") == "$head" ]] || fail "a clean checkout stamped '$(stamp "$repo")', expected $head"
touch -d '2000-01-01' "$work/stamp.hpp"
before=$(stat -c %Y "$work/stamp.hpp")
stamp "$repo" >/dev/null
[[ $(stat -c %Y "$work/stamp.hpp") == "$before" ]] || fail "an unchanged commit rewrote the header (runtime.cpp would recompile)"
echo two >"$repo/file"
[[ $(stamp "$repo") == "$head-dirty" ]] || fail "a modified tracked file stamped '$(stamp "$repo")', expected $head-dirty"
git -C "$repo" -c user.name=t -c user.email=t@t commit -q -am two
second=$(git -C "$repo" rev-parse --short=12 HEAD)
[[ $(stamp "$repo") == "$second" && $second != "$head" ]] || fail "after a new commit: '$(stamp "$repo")', expected $second"
echo untracked >"$repo/new-file"
[[ $(stamp "$repo") == "$second" ]] || fail "an untracked file made the tree dirty: '$(stamp "$repo")'"
mkdir -p "$work/plain"
[[ $(stamp "$work/plain") == unknown ]] || fail "outside git: '$(stamp "$work/plain")', expected unknown"

# This build: when the sources are a git checkout, --version names their commit (dirty or not).
source_dir=$here/../..
if git -C "$source_dir" rev-parse HEAD >/dev/null 2>&1; then
  expected=$(git -C "$source_dir" rev-parse --short=12 HEAD)
  run --version
  [[ $out == *"(commit $expected"* ]] || fail "--version does not name HEAD $expected: $out"
fi
echo "commit_stamp: ok"
