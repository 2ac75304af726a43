#!/usr/bin/env bash
# The GPU benchmark (issue "CUDA engine", docs/benchmarks.md): builds tsgd with
# the CUDA engine for sm_90 into build-gpu (or $BUILD) and runs bench_gpu,
# which prints run-steps per second for the cases (a)-(d), each as a fraction
# of its target and of its RNG bound, and the kernels' registers and spills.
#
#   scripts/bench_gpu.sh [SECONDS_PER_CASE]      (default 1)
#
# Needs a GPU; without one bench_gpu says why and exits 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${BUILD:-build-gpu}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTSGD_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${TSGD_CUDA_ARCH:-90}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target bench_gpu >/dev/null
exec "$build/bench_gpu" "${1:-1}"
