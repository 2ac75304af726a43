#!/usr/bin/env bash
# The GPU check: the one script a session with an H200 runs (docs/gpu.md).
# It configures and builds for sm_90 into build-gpu, runs the GPU tests with
# TSGD_REQUIRE_GPU=1 (a missing GPU fails them instead of skipping), the
# benchmark, compute-sanitizer memcheck and racecheck on the small
# CudaSanitize suite (where the machine allows it), ncu on one fused launch
# (where counters can be read), and, with the time left, the other tests.
# Logs go to $OUT (default ./gpu-out), at most 8 files: summary.txt (what
# passed), device.txt, build.log, ctest-gpu.log, bench.txt, sanitizer.log,
# ncu.txt, ctest-all.log. Budget: well under 8 minutes on 16 cores.
#
#   scripts/gpu_check.sh            run the check (on the GPU machine)
#   scripts/gpu_check.sh --prepare  on the development machine: copy the
#       header-only dependencies (nlohmann_json, CLI11) and the GoogleTest
#       sources into build-gpu-deps/ (ignored by git), for a GPU machine that
#       lacks them (GoogleTest is then built there, by that machine's
#       compiler); the device call then names build-gpu-deps in `carry`.
set -uo pipefail
cd "$(dirname "$0")/.."

DEPS=build-gpu-deps
if [[ "${1:-}" == "--prepare" ]]; then
  rm -rf "$DEPS"
  for path in include/nlohmann include/CLI share/cmake/nlohmann_json share/cmake/CLI11 src/googletest; do
    if [[ -e "/usr/$path" ]]; then
      mkdir -p "$DEPS/usr/$(dirname "$path")"
      cp -r "/usr/$path" "$DEPS/usr/$path"
    fi
  done
  du -sh "$DEPS"
  echo "carry [\"$DEPS\"] in the device call"
  exit 0
fi

OUT=${OUT:-./gpu-out}
BUILD=${BUILD:-build-gpu}
BUDGET=${BUDGET:-420}  # seconds after which optional steps are skipped
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
START=$SECONDS
FAILED=0

# step NAME LOG COMMAND...: runs COMMAND with its output in LOG, records the outcome.
step() {
  local name=$1 log=$2
  shift 2
  local t0=$SECONDS
  "$@" >>"$log" 2>&1
  local rc=$?
  printf '%-22s %-6s rc=%-3d %4d s  (%s)\n' "$name" "$([[ $rc == 0 ]] && echo ok || echo FAILED)" \
    "$rc" $((SECONDS - t0)) "$(basename "$log")" | tee -a "$SUMMARY"
  [[ $rc == 0 ]] || FAILED=1
  return $rc
}

{
  date -u
  nvidia-smi || true
  nvcc --version || /usr/local/cuda/bin/nvcc --version || true
  cmake --version | head -1
} >"$OUT/device.txt" 2>&1

GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
configure() {
  cmake -S . -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release -DTSGD_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 "$@"
}
# Dependencies from the machine if it has them, else the carried copies.
if ! step configure "$OUT/build.log" configure; then
  if [[ -d "$DEPS/usr" ]]; then
    FAILED=0
    step configure-deps "$OUT/build.log" configure -DCMAKE_PREFIX_PATH="$PWD/$DEPS/usr" \
      -DTSGD_GTEST_SOURCE="$PWD/$DEPS/usr/src/googletest" || exit 1
  else
    echo "configure failed and $DEPS is missing: run scripts/gpu_check.sh --prepare here" \
         "and carry $DEPS" | tee -a "$SUMMARY"
    exit 1
  fi
fi
step build "$OUT/build.log" cmake --build "$BUILD" -j"${JOBS:-16}" || exit 1
# What the compiler made of the kernels (registers, shared memory, spills).
CUOBJDUMP=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
"$CUOBJDUMP" --dump-resource-usage "$BUILD/libtsgd_cuda.a" >>"$OUT/device.txt" 2>&1 || true

export TSGD_REQUIRE_GPU=1
step gpu-tests "$OUT/ctest-gpu.log" \
  ctest --test-dir "$BUILD" -R '[Cc]uda' --output-on-failure --timeout 300 -j4

# The benchmark before the sanitizers, so that a slow sanitizer cannot cost its figures.
step bench "$OUT/bench.txt" timeout 150 "$BUILD/bench_gpu" 1

# compute-sanitizer works on some device machines (Firecracker) and refuses
# the device on others (gVisor: "Device not supported"); probe first, so that
# an unsupported tool is reported as such, not as a failure of the code.
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
SANLOG="$OUT/sanitizer.log"
if timeout 60 "$SANITIZER" --tool memcheck --error-exitcode 1 "$BUILD/tsgd_tests" \
     --gtest_filter='CudaEngine.ListsGpusWithoutThrowing' >"$SANLOG" 2>&1; then
  for tool in memcheck racecheck; do
    echo "==== $tool" >>"$SANLOG"
    step "$tool" "$SANLOG" timeout 100 "$SANITIZER" --tool "$tool" --error-exitcode 1 \
      "$BUILD/tsgd_tests" --gtest_filter='CudaSanitize.*'
  done
else
  echo "compute-sanitizer unusable on this machine (probe: $(grep -m1 -iE 'not supported|error' "$SANLOG" || echo 'see sanitizer.log')); memcheck and racecheck NOT run" |
    tee -a "$SUMMARY"
fi

# ncu on one launch of the fused kernel of case (a) at 16896 runs, where the
# hardware counters can be read (Firecracker); clocks left alone.
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
if (( BUDGET - (SECONDS - START) > 150 )); then
  t0=$SECONDS
  if timeout 120 "$NCU" --clock-control none --kernel-name regex:fused_sgd_kernel \
       --launch-skip 3 --launch-count 1 --section SpeedOfLight --section Occupancy --section LaunchStats \
       --section ComputeWorkloadAnalysis --section WarpStateStats \
       "$BUILD/bench_gpu" 0.2 "K=M=4 16896 auto" >"$OUT/ncu.txt" 2>&1; then
    printf '%-22s %-6s %4d s  (ncu.txt)\n' ncu ok $((SECONDS - t0)) | tee -a "$SUMMARY"
  else
    echo "ncu: no profile (counters unreadable on this machine, or it failed; not a test failure): see ncu.txt" |
      tee -a "$SUMMARY"
  fi
fi

# The rest of the suite (the CUDA tests ran above; the Slurm test needs a cluster).
LEFT=$((BUDGET - (SECONDS - START)))
if ((LEFT > 60)); then
  step other-tests "$OUT/ctest-all.log" \
    timeout "$LEFT" ctest --test-dir "$BUILD" -E '[Cc]uda' -LE slurm --output-on-failure --timeout 300 -j8
else
  echo "other-tests skipped: ${LEFT}s left of the ${BUDGET}s budget" | tee -a "$SUMMARY"
fi

echo "total $((SECONDS - START)) s; $([[ $FAILED == 0 ]] && echo 'all steps passed' || echo 'SOME STEPS FAILED')" |
  tee -a "$SUMMARY"
exit $FAILED
