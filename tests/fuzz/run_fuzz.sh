#!/usr/bin/env bash
# Fuzzes the configuration reader with libFuzzer (clang from Debian, with
# AddressSanitizer and UndefinedBehaviorSanitizer) for SECONDS (default 120),
# seeded with configs/*.json and the bad-configuration corpus. Crashing inputs
# are written to build-fuzz/crashes/; add them to tests/experiment/bad_configs/ once fixed.
#
#   tests/fuzz/run_fuzz.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds=${1:-120}
build=${2:-build-fuzz}

if ! command -v clang++-14 >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
  if ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev; } \
      > /tmp/tsgd-fuzz-apt.log 2>&1 || { cat /tmp/tsgd-fuzz-apt.log >&2; echo "fuzz: cannot install clang" >&2; exit 1; }
  else
    echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 77
  fi
fi
clang=$(command -v clang++-14 || command -v clang++)

mkdir -p "$build/corpus" "$build/crashes"
# Every layer below the command line, with the CUDA engine's stand-in (no GPU here);
# the experiment layer links HDF5 (results.h5) and zlib (gzip'd IDX files), as in CMakeLists.txt.
sources=(host/core/*.cpp host/engines/*.cpp host/theory/*.cpp host/experiment/*.cpp cuda/no_cuda.cpp)
cat > "$build/tsgd_version.cpp" <<'H'
#include "experiment/version.h"
namespace tsgd {
const char* version() { return "fuzz"; }
const char* git_commit() { return "fuzz"; }
}  // namespace tsgd
H
binary="$build/fuzz_config"
if [[ ! -x "$binary" || -n "$(find host cuda tests/fuzz -newer "$binary" -name '*.[ch]*' -print -quit)" ]]; then
  echo "fuzz: building $binary"
  "$clang" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fopenmp -Wno-pass-failed \
    -DTSGD_SOURCE_DIR="\"$PWD\"" -Ihost -I. $(pkg-config --cflags eigen3 hdf5 zlib) tests/fuzz/fuzz_config.cpp "${sources[@]}" "$build/tsgd_version.cpp" \
    $(pkg-config --libs hdf5 zlib) -o "$binary"
fi
cp -f configs/*.json tests/experiment/bad_configs/*.json "$build/corpus/" 2>/dev/null || true
echo "fuzz: ${seconds}s over the configuration reader"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$binary" "$build/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -artifact_prefix="$build/crashes/" -print_final_stats=1 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if ((status != 0)); then
  echo "fuzz: FAILED (status $status); inputs in $build/crashes/" >&2
  exit 1
fi
echo "fuzz: PASS (no crash, hang or sanitizer report in ${seconds}s)"
