#!/usr/bin/env bash
# Instruction counts of one input draw (a Philox4x32-10 block and its four
# Gaussians, math/gaussian.h) as nvcc compiles it for sm_90, and the fused
# kernels' registers and spills (ptxas -v): what docs/benchmarks.md's
# "Draw cost" table reports. Counts from the compiled code, no GPU needed;
# they are not timings.
#
#   scripts/draw_counts.sh [nvcc]      (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc)
#
# Each probe kernel draws one block per thread and stores it; the count is of
# the kernel's instructions (PTX: instruction lines of the .entry; SASS:
# cuobjdump -sass lines, NOPs left out), so the few instructions of the
# thread index, the store and the exit are included in every row alike.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
nvcc=${1:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cuobjdump=$(dirname "$nvcc")/cuobjdump
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/probe.cu" <<'CU'
#include "math/gaussian.h"
using namespace tsgd;
// The key from a kernel parameter (uniform across the block: the compiler may
// keep the round keys in uniform registers) or from memory (as a thread-local
// value, as a kernel that reads its seed from shared memory holds it).
__global__ void philox_only(std::uint64_t seed, std::uint64_t mu, std::uint32_t* out) {
  const Philox4x32 b = random_block(seed, Stream::input, mu, threadIdx.x);
  for (int j = 0; j < 4; ++j) out[4 * threadIdx.x + j] = b.v[j];
}
__global__ void draw_exact_uniform_key(std::uint64_t seed, std::uint64_t mu, float* out) {
  float z[4];
  gaussian4(random_block(seed, Stream::input, mu, threadIdx.x), z);
  for (int j = 0; j < 4; ++j) out[4 * threadIdx.x + j] = z[j];
}
__global__ void draw_exact_loaded_key(const std::uint64_t* seed, std::uint64_t mu, float* out) {
  float z[4];
  gaussian4(random_block(seed[threadIdx.x & 0], Stream::input, mu, threadIdx.x), z);
  for (int j = 0; j < 4; ++j) out[4 * threadIdx.x + j] = z[j];
}
#ifdef TSGD_PROBE_FAST
__global__ void draw_fast_uniform_key(std::uint64_t seed, std::uint64_t mu, float* out) {
  float z[4];
  gaussian4(random_block(seed, Stream::input, mu, threadIdx.x), z, RngTransform::fast);
  for (int j = 0; j < 4; ++j) out[4 * threadIdx.x + j] = z[j];
}
#endif
CU
fast_flag=""
if grep -q "RngTransform::fast" host/math/gaussian.h; then fast_flag=-DTSGD_PROBE_FAST; fi
flags=(-std=c++17 -arch=sm_90 -O3 --expt-relaxed-constexpr -Ihost -I. $fast_flag)
"$nvcc" "${flags[@]}" -ptx "$work/probe.cu" -o "$work/probe.ptx"
"$nvcc" "${flags[@]}" -cubin "$work/probe.cu" -o "$work/probe.cubin"
# SASS where cuobjdump is installed (it is not part of every CUDA install).
if [ -x "$cuobjdump" ]; then "$cuobjdump" -sass "$work/probe.cubin" >"$work/probe.sass"; else : >"$work/probe.sass"; fi

ptx_count() {  # instruction lines of entry $1
  awk -v k="$1" '
    /^\.visible \.entry/ { inside = index($0, k) > 0 }
    inside && /^\t[a-z@]/ && /;$/ && !/^\t\.(reg|local|shared)/ { n++ }
    inside && /^}/ { inside = 0 }
    END { print n + 0 }' "$work/probe.ptx"
}
sass_count() {  # instructions of function $1, NOPs left out
  awk -v k="$1" '
    /Function :/ { inside = index($0, k) > 0 }
    inside && /\/\*[0-9a-f]+\*\// && !/ NOP/ && /;/ { n++ }
    END { print (n > 0 ? n : "-") }' "$work/probe.sass"
}
printf '%-26s %6s %6s\n' kernel PTX SASS
for k in philox_only draw_exact_uniform_key draw_exact_loaded_key draw_fast_uniform_key; do
  grep -q "$k" "$work/probe.ptx" || continue
  printf '%-26s %6s %6s\n' "$k" "$(ptx_count "$k")" "$(sass_count "$k")"
done

echo
echo "fused kernels (ptxas -v, sm_90): registers, spill stores/loads"
"$nvcc" -std=c++17 -arch=sm_90 -O3 --expt-relaxed-constexpr -Ihost -I. -Xptxas -v -c \
  cuda/fused_sgd.cu -o "$work/fused.o" 2>&1 |
  awk '/Compiling entry function/ { name = $0; sub(/.*fused_sgd_kernel/, "", name) }
       /Used [0-9]+ registers/ && name != "" { match($0, /Used [0-9]+ registers/); regs = substr($0, RSTART + 5, RLENGTH - 15) }
       /spill stores/ && name != "" { line = $0 }
       /Used [0-9]+ registers/ && name != "" { printf "  %s: %s registers; %s\n", name, regs, line; name = "" }' |
  sed 's/ptxas info *: *//'
