#!/usr/bin/env bash
# The checks of scripts/: they pass on the repository, and each catches what
# it is for on a small tree made here (an include from an earlier layer to a
# later one, between the sibling engine layers, an include cycle, a name that
# is no file; a function over 80 lines, a file over 500).
#   tests/scripts/test_checks.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tsgd-checks.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

python3 "$source_dir/scripts/check_layers.py" "$source_dir" >/dev/null || fail "check_layers on the repository"
python3 "$source_dir/scripts/check_sizes.py" "$source_dir" >/dev/null || fail "check_sizes on the repository"

# expect_layers CASE PATTERN: check_layers fails on $work/CASE, printing PATTERN.
expect_layers() {
  local out
  if out=$(python3 "$source_dir/scripts/check_layers.py" "$work/$1"); then fail "$1: check_layers passed"; fi
  grep -q "$2" <<<"$out" || fail "$1: no '$2' in: $out"
}
mkdir -p "$work/up/host/core" "$work/up/host/experiment"
echo '#include "experiment/b.h"' > "$work/up/host/core/a.h"
echo '// b' > "$work/up/host/experiment/b.h"
expect_layers up "includes host/experiment/b.h of the later layer experiment"
mkdir -p "$work/sib/host/engines" "$work/sib/cuda"
echo '#include "cuda/k.h"' > "$work/sib/host/engines/e.cpp"
echo '// k' > "$work/sib/cuda/k.h"
expect_layers sib "of its sibling layer cuda"
mkdir -p "$work/cycle/host/core"
echo '#include "core/y.h"' > "$work/cycle/host/core/x.h"
echo '#include "core/x.h"' > "$work/cycle/host/core/y.h"
expect_layers cycle "include cycle"
mkdir -p "$work/missing/host/core"
echo '#include "core/nowhere.h"' > "$work/missing/host/core/x.h"
expect_layers missing "names no file"
mkdir -p "$work/down/host/core" "$work/down/host/experiment"
echo '#include "core/a.h"' > "$work/down/host/experiment/b.h"
echo '// a' > "$work/down/host/core/a.h"
python3 "$source_dir/scripts/check_layers.py" "$work/down" >/dev/null || fail "down: an include to an earlier layer refused"

mkdir -p "$work/long/host/core"
{ echo 'int long_function(int x) {'; for i in $(seq 1 85); do echo "  x += $i;"; done; echo '  return x;'; echo '}'; } \
  > "$work/long/host/core/long.cpp"
out=$(python3 "$source_dir/scripts/check_sizes.py" "$work/long") && fail "check_sizes passed a long function"
grep -q "long_function is 88 lines" <<<"$out" || fail "check_sizes: $out"
mkdir -p "$work/big/host/core"
for i in $(seq 1 510); do echo "int v$i = $i;"; done > "$work/big/host/core/big.cpp"
out=$(python3 "$source_dir/scripts/check_sizes.py" "$work/big") && fail "check_sizes passed a long file"
grep -q "big.cpp: 511 lines" <<<"$out" || fail "check_sizes: $out"
echo "checks: PASS"
