#!/usr/bin/env bash
# Builds tsgd and runs the whole test suite with ctest; the exit status is
# ctest's. Arguments other than --sanitize go to ctest (e.g. -R Statistics).
#
#   scripts/test.sh               Release build in build/ (CUDA engine when nvcc is found;
#                                 GPU tests skip without a GPU, fail with TSGD_REQUIRE_GPU=1)
#   scripts/test.sh --sanitize    AddressSanitizer + UndefinedBehaviorSanitizer, CPU only,
#                                 RelWithDebInfo in build-sanitize/; the first error aborts
#
# Without ctest arguments every test runs. Labels select subsets (CMakeLists.txt,
# "Labels"): -L LABEL runs a label's tests, -LE LABEL (a regular expression)
# leaves them out. A test has at most one label; the quick CPU tests have none.
#   gpu       the CUDA engine on a GPU (skip without one)
#   emulated  the CUDA engine's kernels on the SIMT emulator
#   slow      the long statistical tests
#   script    the scripts' tests (plot)
#   slurm     the Slurm integration test (a single-node cluster on localhost)
# e.g. scripts/test.sh -LE 'slow|slurm|script'    (what CI runs under the sanitizers)
#      scripts/test.sh -L gpu                     (on a GPU machine)
#
# TSGD_BUILD_DIR, TSGD_CMAKE_ARGS and TSGD_NO_SETUP as for scripts/build.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sanitize=0
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    *) ctest_args+=("$arg") ;;
  esac
done

TSGD_SETUP_QUIET=1 bash scripts/setup.sh
export TSGD_NO_SETUP=1  # done; build.sh need not check again

if ((sanitize)); then
  export TSGD_BUILD_DIR=${TSGD_BUILD_DIR:-build-sanitize}
  export TSGD_BUILD_TYPE=RelWithDebInfo
  export TSGD_CMAKE_ARGS="-DTSGD_SANITIZE=ON -DTSGD_CUDA=OFF ${TSGD_CMAKE_ARGS:-}"
  # Stop at the first error with exit status 1; options already set by the
  # caller come last and win.
  export ASAN_OPTIONS="halt_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
fi
build_dir=${TSGD_BUILD_DIR:-build}

bash scripts/build.sh
exec ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "${ctest_args[@]}"
