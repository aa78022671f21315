#!/usr/bin/env bash
# Downloads an official CIFAR binary archive, verifies its checksum and extracts it.
#
#   data/fetch-cifar.sh cifar10|cifar100 [DIR]     DIR defaults to data (relative to the current folder)
#
# Result: DIR/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin or DIR/cifar-100-binary/{train,test}.bin,
# the layouts Sugar's readers expect (data.root in a config). Running it again once the files are
# there does nothing. The archive is deleted after a successful extraction.
#
# Environment:
#   SUGAR_CIFAR_BASE_URL   where the archives live (default https://www.cs.toronto.edu/~kriz)
#   SUGAR_CIFAR_SHA256     expected SHA-256 of the archive (checked when set)
#   SUGAR_CIFAR_MD5        expected MD5 (default: the MD5 published on the CIFAR page)
#   SUGAR_CIFAR_DOWNLOADER curl or wget (default: curl if installed, else wget)
#
# Exit status: 0 done or already present, 2 bad arguments, 1 any failure (download, checksum, extraction).
set -euo pipefail

die() { echo "fetch-cifar: $*" >&2; exit 1; }
usage_error() { echo "fetch-cifar: $* (usage: fetch-cifar.sh cifar10|cifar100 [DIR])" >&2; exit 2; }

if [[ $# -eq 1 && ( $1 == -h || $1 == --help ) ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
[[ $# -ge 1 && $# -le 2 ]] || usage_error "expected 1 or 2 arguments, got $#"

case "$1" in
  cifar10)
    archive=cifar-10-binary.tar.gz
    folder=cifar-10-batches-bin
    files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)
    official_md5=c32a1d4ab5d03f1284b67883e8d87530
    ;;
  cifar100)
    archive=cifar-100-binary.tar.gz
    folder=cifar-100-binary
    files=(train.bin test.bin)
    official_md5=03b5dce01913d631647c71ecec9e9cb8
    ;;
  *) usage_error "unknown dataset '$1' (expected cifar10 or cifar100)" ;;
esac
dir=${2:-data}
[[ -n $dir ]] || usage_error "DIR is empty"

have_all_files() {
  local f
  for f in "${files[@]}"; do [[ -f $1/$f ]] || return 1; done
}

if have_all_files "$dir/$folder"; then
  echo "fetch-cifar: $dir/$folder already holds ${files[*]}; nothing to do"
  exit 0
fi

mkdir -p "$dir" 2>/dev/null || die "cannot create folder $dir"
base_url=${SUGAR_CIFAR_BASE_URL:-https://www.cs.toronto.edu/~kriz}
url="${base_url%/}/$archive"
target="$dir/$archive"
partial="$target.part"
extract_dir=""
cleanup() {
  rm -f "$partial"
  [[ -z $extract_dir ]] || rm -rf "$extract_dir"
}
trap cleanup EXIT

# Prints "<algorithm> <expected>" lines: SHA-256 and/or MD5 when set, else the official MD5.
expected_checksums() {
  if [[ -n ${SUGAR_CIFAR_SHA256:-} ]]; then echo "sha256 ${SUGAR_CIFAR_SHA256,,}"; fi
  if [[ -n ${SUGAR_CIFAR_MD5:-} ]]; then echo "md5 ${SUGAR_CIFAR_MD5,,}"; fi
  if [[ -z ${SUGAR_CIFAR_SHA256:-} && -z ${SUGAR_CIFAR_MD5:-} ]]; then echo "md5 $official_md5"; fi
}

digest() {  # digest md5|sha256 FILE
  local tool
  case $1 in
    sha256) if command -v sha256sum >/dev/null; then tool=(sha256sum); else tool=(shasum -a 256); fi ;;
    md5) if command -v md5sum >/dev/null; then tool=(md5sum); else tool=(md5 -r); fi ;;
  esac
  "${tool[@]}" "$2" | awk '{print $1}'
}

# Succeeds when FILE matches every expected checksum; else prints what differed (one line) and fails.
verify() {
  local algorithm expected actual
  while read -r algorithm expected; do
    actual=$(digest "$algorithm" "$1") || { echo "cannot compute the $algorithm of $1"; return 1; }
    if [[ $actual != "$expected" ]]; then
      echo "$algorithm mismatch for $archive: expected $expected, got $actual"
      return 1
    fi
  done < <(expected_checksums)
}

download() {
  local tool=${SUGAR_CIFAR_DOWNLOADER:-}
  if [[ -z $tool ]]; then
    if command -v curl >/dev/null; then tool=curl; elif command -v wget >/dev/null; then tool=wget; fi
  fi
  [[ -n $tool ]] || die "neither curl nor wget is installed; install one of them or download $url into $dir yourself"
  command -v "$tool" >/dev/null || die "SUGAR_CIFAR_DOWNLOADER=$tool is not installed"
  echo "fetch-cifar: downloading $url"
  local log status=0
  log=$(mktemp)
  case $tool in
    curl) curl --fail --location --retry 2 --silent --show-error --output "$partial" "$url" 2>"$log" || status=$? ;;
    wget) wget --quiet --tries=3 --output-document="$partial" "$url" 2>"$log" || status=$? ;;
    *) rm -f "$log"; usage_error "SUGAR_CIFAR_DOWNLOADER must be curl or wget, got '$tool'" ;;
  esac
  if [[ $status -ne 0 ]]; then
    local reason
    reason=$(tail -n 1 "$log" | tr -d '\r')
    rm -f "$log" "$partial"
    die "download of $url failed ($tool exit status $status${reason:+: $reason})"
  fi
  rm -f "$log"
}

if [[ -f $target ]]; then
  # An archive left by an earlier run or put there by hand: use it if it is the right one.
  if message=$(verify "$target"); then
    echo "fetch-cifar: using the existing $target"
  else
    echo "fetch-cifar: discarding $target ($message)"
    rm -f "$target"
  fi
fi
if [[ ! -f $target ]]; then
  download
  if ! message=$(verify "$partial"); then
    rm -f "$partial"
    die "$message; deleted the download (set SUGAR_CIFAR_MD5 or SUGAR_CIFAR_SHA256 if the archive legitimately changed)"
  fi
  mv -f "$partial" "$target"
fi

# Extract beside the destination, check, then move the files into place, so that an interrupted or
# unexpected archive never leaves a half-filled folder that the next run would mistake for complete.
extract_dir=$(mktemp -d "$dir/.fetch-cifar.XXXXXX")
tar -xzf "$target" -C "$extract_dir" 2>/dev/null || { rm -f "$target"; die "cannot extract $target (deleted it; run again to download it anew)"; }
have_all_files "$extract_dir/$folder" || die "$target does not contain $folder/ with ${files[*]}"
mkdir -p "$dir/$folder"
mv -f "$extract_dir/$folder"/* "$dir/$folder"/
rm -f "$target"
echo "fetch-cifar: extracted $dir/$folder (${files[*]})"
