#!/usr/bin/env bash
# The GPU check: the one script a session with a lent H100/H200 runs
# (docs/gpu.md, "Running the GPU check"). Within BUDGET (330 s, so that two
# tries fit in 15 minutes of device time) it runs the GPU tests with
# TSGD_REQUIRE_GPU=1 (a missing GPU fails them instead of skipping), the
# benchmark (measured figures beside the static model's), compute-sanitizer
# memcheck, racecheck, synccheck and initcheck on the small CudaSanitize suite
# (launches checked one by one: TSGD_CUDA_SYNC_CHECK=1), and ncu on one full
# launch of the fused kernel of case (a). The other tests are CI's.
# Logs go to $OUT (default ./gpu-out), at most 8 files: summary.txt, device.txt,
# build.log, ctest-gpu.log, bench.txt, sanitizer.log, ncu.txt, static.txt.
#
#   scripts/gpu_check.sh --prepare  on the development machine: builds
#       tsgd_tests and bench_gpu for sm_90 and x86-64-v3 (AVX2 + FMA; never
#       -march=native) into build-gpu, and copies the binaries, with the
#       header-only dependencies and GoogleTest's sources for a from-source
#       fallback, into build-gpu-carry/ (git-ignored), the device call's carry
#   scripts/gpu_check.sh            on the GPU machine: the carried binaries
#       when they run there, else a build from source (then the later steps
#       may not fit the budget: the summary says which were skipped)
#   scripts/gpu_check.sh --dry-run  anywhere (CI): every step but those that
#       need a GPU, against BIN (default build/): the step budgets, the test
#       filters (each selects tests), bench_gpu --static, the ncu case
set -uo pipefail
cd "$(dirname "$0")/.."

CARRY=build-gpu-carry
GPU_BUILD=build-gpu
BUDGET=${BUDGET:-330}
# Step limits (seconds); their sum stays within BUDGET (--dry-run checks it).
declare -A LIMIT=([info]=10 [gpu-tests]=80 [bench]=55 [probe]=20 [memcheck]=45 [racecheck]=45
  [synccheck]=20 [initcheck]=20 [ncu]=30)
# The GPU tests: the CUDA engine's own suites and the shared engine tests of
# the CUDA engines (not the emulated ones, which run anywhere).
GPU_FILTER='CudaEngine*.*:CudaInputs.*:CudaSanitize.*:*/cuda_float*:*/split_cuda_float*'
SANITIZE_FILTER='CudaSanitize.*'
NCU_CASE='K=M=4 16896 auto'

mode=${1:-check}
if [[ $mode == --prepare ]]; then
  set -e
  TSGD_NO_SETUP=1 TSGD_BUILD_DIR=$GPU_BUILD \
    TSGD_CMAKE_ARGS="-DTSGD_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DTSGD_MARCH=x86-64-v3 -DTSGD_TEST_TIMEOUT=240" \
    bash scripts/build.sh --target tsgd_tests bench_gpu
  rm -rf "$CARRY"
  mkdir -p "$CARRY/bin"
  cp "$GPU_BUILD/tsgd_tests" "$GPU_BUILD/bench_gpu" "$CARRY/bin/"
  strip "$CARRY/bin/"*
  # The shared libraries the binaries load beyond the C/C++ runtime and CUDA's
  # (HDF5 and what Debian's build of it pulls in: curl, krb5, ...), which a GPU
  # machine need not have: the check runs bin/ with LD_LIBRARY_PATH=lib.
  mkdir -p "$CARRY/lib"
  ldd "$CARRY/bin/"* | awk '$3 ~ /^\// { print $3 }' | sort -u |
    grep -v -E '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|libresolv|libcuda[^/]*|libcublas[^/]*)\.so' |
    xargs -r cp -L -t "$CARRY/lib/"
  for path in include/nlohmann include/CLI share/cmake/nlohmann_json share/cmake/CLI11 src/googletest include/eigen3 share/eigen3/cmake \
      include/zlib.h include/zconf.h lib/x86_64-linux-gnu/libz.a; do
    if [[ -e "/usr/$path" ]]; then
      mkdir -p "$CARRY/deps/usr/$(dirname "$path")"
      cp -r "/usr/$path" "$CARRY/deps/usr/$path"
    fi
  done
  du -sh "$CARRY"
  echo "device call: command 'bash scripts/gpu_check.sh', carry [\"$CARRY\"], timeout_s 360"
  exit 0
fi
DRY=0
[[ $mode == --dry-run ]] && DRY=1

OUT=${OUT:-./gpu-out}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
START=$SECONDS
DEADLINE=$((START + BUDGET))
FAILED=0

# cap SECONDS: that many seconds, or what is left before the deadline, whichever is less.
cap() {
  local left=$((DEADLINE - SECONDS - 5))
  echo $(($1 < left ? $1 : left))
}

# step NAME LOG COMMAND...: runs COMMAND for at most LIMIT[NAME] seconds (see cap)
# with its output in LOG and records the outcome; skipped when under 10 s
# are left. A step killed at its limit is "TIMEOUT". In a dry run, only
# prints the command.
step() {
  local name=$1 log=$2 limit
  limit=$(cap "${LIMIT[$name]}")
  shift 2
  if ((DRY)); then
    printf '%-10s at most %3d s: %s\n' "$name" "${LIMIT[$name]}" "$*" | tee -a "$SUMMARY"
    return 0
  fi
  if ((limit < 10)); then
    printf '%-22s SKIPPED (%d s left)\n' "$name" $((DEADLINE - SECONDS)) | tee -a "$SUMMARY"
    FAILED=1
    return 75
  fi
  echo "starting $name (at most ${limit} s) at $((SECONDS - START)) s" >>"$SUMMARY"
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  local outcome=ok
  ((rc == 124 || rc == 137)) && outcome=TIMEOUT
  ((rc != 0 && rc != 124 && rc != 137)) && outcome=FAILED
  printf '%-22s %-7s rc=%-3d %4d s  (%s)\n' "$name" "$outcome" "$rc" $((SECONDS - t0)) \
    "$(basename "$log")" | tee -a "$SUMMARY"
  [[ $rc == 0 ]] || FAILED=1
  return $rc
}

# Four shards of a gtest filter side by side (the GPU machine has 16 cores:
# 4 OpenMP threads each), like ctest -j4 without ctest's absolute paths.
sharded_tests() {
  local bin=$1 filter=$2 pids=() rc=0
  for i in 0 1 2 3; do
    GTEST_TOTAL_SHARDS=4 GTEST_SHARD_INDEX=$i OMP_NUM_THREADS=4 OMP_WAIT_POLICY=PASSIVE \
      "$bin" --gtest_filter="$filter" --gtest_brief=1 >"$OUT/shard$i.tmp" 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2 3; do
    wait "${pids[$i]}" || rc=1
    echo "== shard $i" && cat "$OUT/shard$i.tmp" && rm -f "$OUT/shard$i.tmp"
  done
  return $rc
}
export -f sharded_tests
export OUT

# ---- the binaries -------------------------------------------------------------
if ((DRY)); then
  BIN=${BIN:-build}
  total=0
  for name in "${!LIMIT[@]}"; do total=$((total + LIMIT[$name])); done
  echo "dry run against $BIN: step limits sum to $total s, budget $BUDGET s" | tee -a "$SUMMARY"
  ((total <= BUDGET)) || { echo "the step limits exceed the budget" | tee -a "$SUMMARY"; FAILED=1; }
elif LD_LIBRARY_PATH="$PWD/$CARRY/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$CARRY/bin/tsgd_tests" --gtest_list_tests --gtest_filter=NONE >/dev/null 2>&1; then
  export LD_LIBRARY_PATH="$PWD/$CARRY/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  BIN=$CARRY/bin
  echo "using the carried x86-64-v3 binaries ($BIN)" | tee -a "$SUMMARY"
else
  # From source: the machine's packages where configure finds them, else the carried copies.
  BIN=$GPU_BUILD
  echo "the carried binaries do not run here (or were not carried): building from source" | tee -a "$SUMMARY"
  LIMIT[build]=200
  CONFIGURE=(cmake -S . -B "$GPU_BUILD" -DCMAKE_BUILD_TYPE=Release -DTSGD_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
    -DTSGD_MARCH=x86-64-v3 -DTSGD_TEST_TIMEOUT=240)
  [[ -d "$CARRY/deps/usr" ]] && CONFIGURE+=(-DCMAKE_PREFIX_PATH="$PWD/$CARRY/deps/usr"
    -DTSGD_GTEST_SOURCE="$PWD/$CARRY/deps/usr/src/googletest")
  step build "$OUT/build.log" bash -c "$(printf '%q ' "${CONFIGURE[@]}") &&
    cmake --build $GPU_BUILD -j16 --target tsgd_tests bench_gpu"
fi

if ((!DRY)); then
  {
    date -u
    timeout 10 nvidia-smi || true
    nvcc --version || /usr/local/cuda/bin/nvcc --version || true
    grep -m1 'model name' /proc/cpuinfo
  } >"$OUT/device.txt" 2>&1
else
  # What the GPU steps would select must exist: the filters select tests, the
  # benchmark knows the ncu case, the static model runs.
  for filter in "$GPU_FILTER" "$SANITIZE_FILTER"; do
    count=$("$BIN/tsgd_tests" --gtest_list_tests --gtest_filter="$filter" | grep -c '^  ')
    echo "filter $filter selects $count tests" | tee -a "$SUMMARY"
    ((count > 0)) || FAILED=1
  done
  "$BIN/bench_gpu" --list "$NCU_CASE" | grep -q . || { echo "no bench case '$NCU_CASE'" | tee -a "$SUMMARY"; FAILED=1; }
fi
if ! "$BIN/bench_gpu" --static >"$OUT/static.txt" 2>&1; then
  if ((DRY)) && grep -q 'built without nvcc' "$OUT/static.txt"; then
    echo "bench_gpu --static: this build has no CUDA (nothing to model)" | tee -a "$SUMMARY"
  else
    echo "bench_gpu --static FAILED (static.txt)" | tee -a "$SUMMARY"
    FAILED=1
  fi
fi

# ---- the GPU steps ------------------------------------------------------------
export TSGD_REQUIRE_GPU=1
step gpu-tests "$OUT/ctest-gpu.log" bash -c 'sharded_tests "$@"' _ "$BIN/tsgd_tests" "$GPU_FILTER"
step bench "$OUT/bench.txt" "$BIN/bench_gpu" 0.3

# compute-sanitizer refuses the device on some machines (gVisor: "Device not
# supported"): a probe with a test that allocates and launches tells an
# unusable tool from a failure of the code. Launches are checked one by one.
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
SANLOG="$OUT/sanitizer.log"
export TSGD_CUDA_SYNC_CHECK=1
SAVED=$FAILED
step probe "$SANLOG" "$SANITIZER" --tool memcheck --error-exitcode 1 "$BIN/tsgd_tests" \
  --gtest_filter='CudaSanitize.InitialWeightsArriveUnchanged'
probe=$?
if ((probe == 126 || probe == 127)) || grep -qi 'not supported' "$SANLOG" 2>/dev/null; then
  FAILED=$SAVED
  echo "compute-sanitizer unusable on this machine (sanitizer.log): the four tools NOT run" | tee -a "$SUMMARY"
else
  for tool in memcheck racecheck synccheck initcheck; do
    ((DRY)) || echo "==== $tool" >>"$SANLOG"
    step "$tool" "$SANLOG" "$SANITIZER" --tool "$tool" --error-exitcode 1 \
      "$BIN/tsgd_tests" --gtest_filter="$SANITIZE_FILTER"
  done
fi
unset TSGD_CUDA_SYNC_CHECK

# ncu on one full launch of the fused kernel of case (a) (bench_gpu
# --profile-launch advances it by one planned launch twice; the second is
# profiled), where the counters can be read. Not a test: a machine without
# counters is reported, not failed.
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
SAVED=$FAILED
step ncu "$OUT/ncu.txt" "$NCU" --clock-control none --kernel-name regex:fused_sgd_kernel \
  --launch-skip 1 --launch-count 1 --section SpeedOfLight --section Occupancy --section LaunchStats \
  --section ComputeWorkloadAnalysis --section WarpStateStats --section InstructionStats \
  "$BIN/bench_gpu" --profile-launch "$NCU_CASE"
if ((!DRY)) && ! grep -q 'Speed Of Light' "$OUT/ncu.txt"; then
  FAILED=$SAVED
  echo "ncu: no profile (counters unreadable here, or it failed; not a test failure): ncu.txt" | tee -a "$SUMMARY"
fi

echo "total $((SECONDS - START)) s; $([[ $FAILED == 0 ]] && echo 'all steps passed' || echo 'SOME STEPS FAILED')" |
  tee -a "$SUMMARY"
exit $FAILED
