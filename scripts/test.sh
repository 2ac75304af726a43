#!/usr/bin/env bash
# Builds tsgd and runs the whole test suite with ctest; the exit status is
# ctest's. Arguments other than --sanitize go to ctest (e.g. -R Statistics).
#
#   scripts/test.sh               Release build in build/ (CUDA engine when nvcc is found;
#                                 GPU tests skip without a GPU, fail with TSGD_REQUIRE_GPU=1)
#   scripts/test.sh --sanitize    AddressSanitizer + UndefinedBehaviorSanitizer, CPU only,
#                                 RelWithDebInfo in build-sanitize/; the first error aborts
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
