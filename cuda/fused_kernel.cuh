// The fused SGD kernel (fused_plan.h: the shape of the work). Included by
// fused_sgd.cu, which launches it, and by the tests' SIMT emulator
// (tests/engines/simt_emulator.h), which runs it on the host thread by thread; so
// it uses nothing of CUDA beyond what that emulator provides (threadIdx,
// blockIdx, blockDim, TSGD_BLOCK_SHARED, TSGD_DYNAMIC_SHARED, __syncthreads,
// __syncwarp, __shfl_xor_sync with a full mask, __fmaf_rn, __fma_rn).
//
// Per step, for a task with `rows` rows (the students of its runs and their
// teachers, each teacher once) and B samples:
//   A. the last B threads read the step's labels from files (real inputs
//      with labels); for b < B: every thread draws its 4 coordinates of x^b
//      (Philox block `thread` of sample mu = t B + b; with real inputs it
//      reads them from the training row, in device memory) and, when a run
//      has sigma != 0, the block's last thread, past N, draws the label noise
//      zeta^b in the same pass (or, where the last thread owns coordinates or
//      the inputs are read, the last B threads draw it apart first); every
//      thread forms the P partial dot products
//      w_p . x over them, and the warp reduces them; lane 0.. of each warp
//      writes the warp's sums to shared memory.                 __syncthreads
//   B. warp 0, the stages of math/fused_step.h: fields = sum over warps /
//      sqrt(N) and activations one lane per (sample, row); Delta one lane per
//      (run, sample); coefficients one lane per (sample, row); trained v rows.
//      Where the kernel overlaps (fused_overlaps_draws, B = 1), warps 1..
//      draw their next sample's inputs meanwhile, and the last warp warp 0's
//      too (into shared memory; warp 0 takes them after the barrier); phase
//      A then keeps x^mu in shared memory and draws nothing.
//                                                               __syncthreads
//   C. every thread: w_k <- w_keep w_k + sum_b coef_b[k] x^b on its coordinates
//      (x^0 still in registers when B = 1; for B > 1 read back from shared
//      memory where phase A left them, or drawn again where they do not fit).
// Two barriers per step; nothing leaves the chip until the last step.
//
// Bitwise invariance (docs/architecture.md contract 1): a run's arithmetic does not
// depend on its task's other runs, on its rows' slots, or on P. Each partial
// dot product is the same fma chain; the warp reduction is the xor butterfly
// with offsets 16..1 whatever P is (and float addition commutes, so every lane
// of a butterfly holds the same bits); warps are summed in order.
#pragma once

#include <cstdint>

#include "cuda/fused_block.cuh"
#include "cuda/fused_plan.h"
#include "cuda/kernel_macros.cuh"
#include "math/fused_step.h"
#include "math/gaussian.h"
#include "math/sgd_update.h"

namespace tsgd {
// Internal linkage: the emulator's host instantiations must never be mistaken
// for the CUDA library's kernels of the same name by the linker.
namespace {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float fused_fma(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fused_fma(double a, double b, double c) {
  return __fma_rn(a, b, c);
}

// The four input coordinates 4 group .. 4 group + 3 of the sample of counter mu
// (0 past N): training sample sample_index(seed, train_size, mu), which is mu
// online (train_size 0; math/permutation.h), with the launch's transform (a
// kernel parameter: the branch is uniform, as is train_size's over a task).
// With real inputs (ROWS, RunParams::inputs) the coordinates are read from
// row `sample` instead, float to Real as the CPU engine converts them.
// NOISE (a thread past N, draws_inputs: its x stays 0): the same
// instructions on another counter, the label-noise stream's block 0 of the
// sample, whose first Gaussian is zeta^mu as fused_label_noise draws it,
// returned; so the warp issues one draw for the inputs and the noise, where
// a noise drawn apart is a second pass of the whole warp. Returns 0 elsewhere.
template <typename Real>
__device__ __forceinline__ Real draw_inputs(const float* rows, std::uint64_t seed,
                                            std::uint64_t train_size, std::uint64_t mu, int group,
                                            int n, RngTransform transform, bool noise,
                                            Real (&x)[4]) {
  float z[4];
  const std::uint64_t sample = sample_index(seed, train_size, mu);
  if (rows != nullptr) {
    const float* const row = rows + sample * static_cast<std::uint64_t>(n);
#pragma unroll
    for (int j = 0; j < 4; ++j)
      x[j] = 4 * group + j < n ? static_cast<Real>(row[4 * group + j]) : Real(0);
    return Real(0);
  }
  gaussian4(random_block(seed, noise ? Stream::label_noise : Stream::input, sample,
                         noise ? 0u : static_cast<std::uint32_t>(group)),
            z, transform);
#pragma unroll
  for (int j = 0; j < 4; ++j) x[j] = 4 * group + j < n ? static_cast<Real>(z[j]) : Real(0);
  return static_cast<Real>(z[0]);
}

// Warp sums of P values at once ("transposed" butterfly): at offset 16 a lane
// keeps half of its values and sends the other half to its partner, at 8 a
// quarter, ... so P values cost P/2 + P/4 + ... + 1 shuffles instead of 5 P.
// Afterwards every lane holds in v[0] the warp sum of value lane / (32 / P),
// computed by the same tree as a plain xor butterfly of that value.
template <int Count, int Offset, typename Real, int P>
__device__ __forceinline__ void transposed_warp_sum(Real (&v)[P], int lane) {
  if constexpr (Offset >= 1) {
    if constexpr (Count > 1) {
      constexpr int half = Count / 2;
      const bool upper = (lane & Offset) != 0;
#pragma unroll
      for (int i = 0; i < half; ++i) {
        const Real send = upper ? v[i] : v[i + half];
        const Real keep = upper ? v[i + half] : v[i];
        v[i] = keep + __shfl_xor_sync(kFullMask, send, Offset);
      }
      transposed_warp_sum<half, Offset / 2>(v, lane);
    } else {
      v[0] += __shfl_xor_sync(kFullMask, v[0], Offset);
      transposed_warp_sum<1, Offset / 2>(v, lane);
    }
  }
}

// Whether the label noise rides on the inputs' draw (uniform over the block),
// whether this thread draws in a step's draw pass (its coordinates, or, past N
// where the noise rides, the noise: every such thread of the last warp, which
// issues the draw anyway for its owners, so no extra instruction), and
// whether it is the one that keeps the noise.
template <typename Real>
__device__ __forceinline__ bool noise_rides(const FusedThread<Real>& th) {
  return th.noise && !th.noise_apart;
}
template <typename Real>
__device__ __forceinline__ bool draws_inputs(const FusedThread<Real>& th) {
  return th.owner || noise_rides(th);
}
template <typename Real>
__device__ __forceinline__ bool keeps_noise(const FusedThread<Real>& th) {
  return noise_rides(th) && static_cast<int>(threadIdx.x) == th.nthreads - 1;
}

// This thread's draw of the sample of counter mu (draws_inputs): the noise
// past N where it rides (returned; 0 elsewhere), else its coordinates.
template <typename Real, int P>
__device__ __forceinline__ Real draw_sample(const FusedTaskState<Real, P>& task,
                                            const FusedThread<Real>& th, std::uint64_t mu,
                                            Real (&x)[4]) {
  return draw_inputs(task.inputs, th.seed, task.train_size, mu, th.group, th.n, th.transform,
                     !th.owner, x);
}

// A. The label noise of the step's samples, drawn apart by the block's last
// threads where it cannot ride on the inputs' draw (th.noise_apart), or, where
// it rides and the next sample was drawn in phase B (th.overlap), stored from
// there; for each sample: the inputs (with the noise where it rides:
// draw_sample; kept in shared memory where phase C reads them back),
// the partial dot products of the task's rows over this thread's coordinates
// (the same fma chain for every row; all P rows: those past the task's have
// zero weights and their sums are never read, docs/gpu.md), their warp sums to shared
// memory. x keeps the last sample's inputs (phase C uses x^0 when B = 1).
template <typename Real, int P>
__device__ __forceinline__ void fused_partial_fields(const Real (&w)[P][4], Real (&x)[4],
                                                     const FusedTaskState<Real, P>& task,
                                                     const FusedThread<Real> th,
                                                     std::uint64_t first_sample, Real zeta_next) {
  constexpr int kLanesPerValue = 32 / P;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int noise_sample = th.nthreads - 1 - static_cast<int>(threadIdx.x);
  if (th.noise_apart && noise_sample < th.B)
    fused_label_noise(task, th.scratch, first_sample, noise_sample, th.transform);
  if (th.overlap && keeps_noise(th))
    th.scratch.zeta[0] = zeta_next;  // drawn with x^mu in phase B of the step before
  if (task.labels != nullptr && noise_sample < th.B)
    fused_sample_label(task, th.scratch, first_sample, noise_sample);
  for (int b = 0; b < th.B; ++b) {
    if (!th.overlap && draws_inputs(th)) {  // else x^mu came from phase B of the step before
      const Real zeta = draw_sample(task, th, first_sample + b, x);
      if (keeps_noise(th)) th.scratch.zeta[b] = zeta;
    }
    if (th.keep_inputs) {
#pragma unroll
      for (int j = 0; j < 4; ++j) th.s_inputs[(b * 4 + j) * th.nthreads + th.group] = x[j];
    }
    Real partial[P];
#pragma unroll
    for (int p = 0; p < P; ++p) partial[p] = Real(0);
#pragma unroll
    for (int p = 0; p < P; ++p) {  // all P: rows past the task's have zero weights
      Real dot = w[p][0] * x[0];
      dot = fused_fma(w[p][1], x[1], dot);
      dot = fused_fma(w[p][2], x[2], dot);
      partial[p] = fused_fma(w[p][3], x[3], dot);
    }
    transposed_warp_sum<P, 16>(partial, lane);
    if (lane % kLanesPerValue == 0)
      th.s_partial[(b * th.nwarps + warp) * P + lane / kLanesPerValue] = partial[0];
  }
}

// B. Warp 0 only (the block waits at the barrier after it): the stages of
// math/fused_step.h, the rows' activations in parallel, one Delta per (run,
// sample), the coefficients in parallel, then the second layer (after every
// sample has read v).
template <typename Real, int P>
__device__ __forceinline__ void fused_coefficients(FusedTaskState<Real, P>& task,
                                                   const FusedThread<Real> th) {
  const FusedScratch<Real>& scratch = th.scratch;
  const int B = th.B;
  const int lane = threadIdx.x % 32;
  for (int q = lane; q < B * P; q += 32) {
    const int b = q / P, p = q % P;
    Real sum = Real(0);
    for (int k = 0; k < th.nwarps; ++k) sum += th.s_partial[(b * th.nwarps + k) * P + p];
    scratch.field[q] = sum * th.inv_sqrt_n;
    fused_row_activation(task, scratch, q);
  }
  __syncwarp();
  for (int q = lane; q < th.nruns * B; q += 32) fused_sample_error(task, scratch, q);
  __syncwarp();
  for (int q = lane; q < B * P; q += 32) fused_row_coefficients(task, scratch, q);
  __syncwarp();
  if (lane < th.rows) fused_update_v(task, scratch, lane);
}

// B, warps 1.. (th.overlap: B = 1, several warps) while warp 0 computes the
// coefficients: the next sample's inputs into x, this thread's own Philox
// group as phase A would draw it (the same counters, so the same numbers).
// Phase A left x^mu in shared memory for phase C.
template <typename Real, int P>
__device__ __forceinline__ Real fused_draw_next(Real (&x)[4], const FusedTaskState<Real, P>& task,
                                                const FusedThread<Real> th, std::uint64_t sample) {
  return draw_sample(task, th, sample, x);
}

// The same for warp 0, which is busy with phase B meanwhile: drawn by the
// last warp (its lane l draws group l, as thread l of warp 0 would: all its
// lanes own coordinates, since the overlap needs several warps) into shared
// memory after phase A's kept inputs, [4][32]; warp 0 takes them into x
// after the barrier. The last warp, with few owners at a partial N, has the
// most room in phase B; warp 0 no longer draws after its coefficients.
template <typename Real>
__device__ __forceinline__ Real* fused_next_of_warp0(const FusedThread<Real> th) {
  return th.s_inputs + 4 * th.nthreads;
}
template <typename Real, int P>
__device__ __forceinline__ void fused_draw_next_of_warp0(const FusedTaskState<Real, P>& task,
                                                         const FusedThread<Real> th,
                                                         std::uint64_t sample) {
  const int lane = threadIdx.x % 32;
  Real x0[4];
  draw_inputs(task.inputs, th.seed, task.train_size, sample, lane, th.n, th.transform, false, x0);
  Real* const s_next = fused_next_of_warp0(th);
#pragma unroll
  for (int j = 0; j < 4; ++j) s_next[j * 32 + lane] = x0[j];
}
template <typename Real>
__device__ __forceinline__ void fused_take_next_of_warp0(Real (&x)[4], const FusedThread<Real> th) {
  const int lane = threadIdx.x % 32;
  const Real* const s_next = fused_next_of_warp0(th);
#pragma unroll
  for (int j = 0; j < 4; ++j) x[j] = s_next[j * 32 + lane];
}

// C. w_k <- w_keep w_k + sum_b coef_b[k] x^b on this thread's coordinates
// (the student rows, first: a bound uniform over the block): the CPU engine's decay, but each term
// added by one FMA where the CPU rounds twice (math/sgd_update.h, decayed_weight). x^b: x^0 still
// in x for B = 1, else read back from shared memory (also under th.overlap,
// where x already holds the next sample's inputs) or drawn again.
template <typename Real, int P>
__device__ __forceinline__ void fused_update_weights(Real (&w)[P][4], Real (&x)[4],
                                                     const FusedTaskState<Real, P>& task,
                                                     const FusedThread<Real> th,
                                                     std::uint64_t first_sample) {
  if (th.decay) {
#pragma unroll
    for (int p = 0; p < P; ++p) {
      if (p >= th.students) break;
      const Real keep = task.w_keep[p];
#pragma unroll
      for (int j = 0; j < 4; ++j) w[p][j] = decayed_weight(keep, w[p][j]);
    }
  }
  const Real* const s_coef = th.scratch.coef;
  for (int b = 0; b < th.B; ++b) {
    Real xb[4];  // x^b (x itself holds the next sample's inputs under th.overlap)
#pragma unroll
    for (int j = 0; j < 4; ++j) xb[j] = x[j];
    if (th.keep_inputs) {
#pragma unroll
      for (int j = 0; j < 4; ++j) xb[j] = th.s_inputs[(b * 4 + j) * th.nthreads + th.group];
    } else if (th.B > 1 && th.owner) {
      draw_inputs(task.inputs, th.seed, task.train_size, first_sample + b, th.group, th.n,
                  th.transform, false, xb);
    }
#pragma unroll
    for (int p = 0; p < P; ++p) {
      if (p >= th.students) break;
      const Real coef = s_coef[b * P + p];
#pragma unroll
      for (int j = 0; j < 4; ++j) w[p][j] = fused_fma(coef, xb[j], w[p][j]);
    }
  }
}

// The phases above, with the block's barriers: every thread reaches each
// __syncthreads (the loop bounds are the task's, the same for every thread);
// the __syncwarp of phase B are reached by all lanes of warp 0.
template <typename Real, int P>
__global__ void TSGD_REGISTER_BUDGET(kFusedMaxThreads, (fused_max_registers<Real, P>()))
    fused_sgd_kernel(FusedArgs<Real> a) {
  static_assert(P == 4 || P == 8 || P == 16, "row classes are 4, 8 and 16");
  TSGD_BLOCK_SHARED(task, FusedTaskState<Real, P>);  // thread 0 fills it once
  TSGD_DYNAMIC_SHARED(fused_dynamic_shared);

  const FusedTask my = a.tasks[blockIdx.x];
  if (threadIdx.x == 0) fused_load_task(a, my, task);
  __syncthreads();

  const FusedThread<Real> th = fused_thread(a, task, fused_dynamic_shared);
  Real w[P][4];  // this thread's coordinates of every row, for the whole call
  fused_load_weights(a.batch, task, th, w);
  Real x[4] = {Real(0), Real(0), Real(0), Real(0)};
  Real zeta_next = Real(0);            // th.overlap, the noise lane: zeta of the sample x holds
  if (th.overlap && draws_inputs(th))  // the first sample's inputs (th.B = 1)
    zeta_next = draw_sample(task, th, static_cast<std::uint64_t>(th.first_step), x);
  for (std::int64_t t = 0; t < a.steps; ++t) {
    const std::uint64_t first_sample = static_cast<std::uint64_t>(th.first_step + t) * th.B;
    const bool next = th.overlap && t + 1 < a.steps;
    fused_partial_fields(w, x, task, th, first_sample, zeta_next);
    __syncthreads();
    const int warp = threadIdx.x / 32;
    if (warp == 0) fused_coefficients(task, th);
    if (next && warp > 0 && draws_inputs(th)) {
      zeta_next = fused_draw_next(x, task, th, first_sample + 1);
    }
    if (next && warp == th.nwarps - 1) {
      fused_draw_next_of_warp0(task, th, first_sample + 1);
    }
    __syncthreads();
    if (next && warp == 0) {
      fused_take_next_of_warp0(x, th);
    }
    fused_update_weights(w, x, task, th, first_sample);
  }
  fused_store_students(a.batch, task, th, w);
}

}  // namespace
}  // namespace tsgd
