// The Gram-matrix kernel of the order parameters (order_parameters.cuh).
// Included by order_parameters.cu, which launches it, and by the tests' SIMT
// emulator (tests/simt_emulator.h), which runs it on the host: it uses
// nothing of CUDA beyond threadIdx, blockIdx, TSGD_BLOCK_SHARED, __syncthreads and
// __shfl_xor_sync with a full mask.
#pragma once

#include <cstddef>

#include "cuda/batch_layout.h"
#include "cuda/kernel_macros.cuh"

namespace tsgd {
// Internal linkage: the emulator's host instantiations must never be mistaken
// for the CUDA library's kernels of the same name by the linker.
namespace {

constexpr int kGramThreads = 128;

struct GramScratch {
  double warp_sums[kGramThreads / 32];
};

// Block r: every pair a <= b of run r's K + M rows.
template <typename Real>
__global__ void __launch_bounds__(kGramThreads) gram_kernel(BatchLayout<Real> batch, double* gram) {
  TSGD_BLOCK_SHARED(scratch, GramScratch);
  double* const warp_sums = scratch.warp_sums;
  const int run = blockIdx.x;
  const RunParams<Real>& params = batch.runs[run];
  const int K = params.c.K, rows = params.c.K + params.c.M;
  const int n = batch.n, units = batch.units;
  const Real* const weights = batch.weights + static_cast<std::size_t>(run) * units * n;
  double* const out = gram + static_cast<std::size_t>(run) * units * units;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  // Row q of the run: student q < K, else teacher q - K.
  auto unit = [&](int q) { return q < K ? q : batch.teacher_offset + (q - K); };
  for (int a = 0; a < rows; ++a) {
    const Real* const wa = weights + static_cast<std::size_t>(unit(a)) * n;
    for (int b = a; b < rows; ++b) {
      const Real* const wb = weights + static_cast<std::size_t>(unit(b)) * n;
      double sum = 0.0;
      for (int i = threadIdx.x; i < n; i += kGramThreads)
        sum += static_cast<double>(wa[i]) * static_cast<double>(wb[i]);
      for (int offset = 16; offset >= 1; offset /= 2)
        sum += __shfl_xor_sync(0xffffffffu, sum, offset);
      if (lane == 0) warp_sums[warp] = sum;
      __syncthreads();
      if (threadIdx.x == 0) {
        double total = 0.0;
        for (int k = 0; k < kGramThreads / 32; ++k) total += warp_sums[k];
        total /= static_cast<double>(n);
        out[unit(a) * units + unit(b)] = total;
        out[unit(b) * units + unit(a)] = total;
      }
      __syncthreads();  // warp_sums is reused by the next pair
    }
  }
}

}  // namespace
}  // namespace tsgd
