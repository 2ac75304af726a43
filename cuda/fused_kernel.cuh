// The fused SGD kernel (fused_plan.h: the shape of the work). Included by
// fused_sgd.cu, which launches it, and by the tests' SIMT emulator
// (tests/simt_emulator.h), which runs it on the host thread by thread; so
// it uses nothing of CUDA beyond what that emulator provides (threadIdx,
// blockIdx, blockDim, TSGD_BLOCK_SHARED, TSGD_DYNAMIC_SHARED, __syncthreads,
// __syncwarp, __shfl_xor_sync with a full mask, __fmaf_rn, __fma_rn).
//
// Per step, for a task with `rows` rows (students and teachers of its runs)
// and B samples:
//   A. for b < B: every thread draws its 4 coordinates of x^b (Philox block
//      `thread` of sample mu = t B + b), forms the P partial dot products
//      w_p . x over them, and the warp reduces them; lane 0.. of each warp
//      writes the warp's sums to shared memory.                 __syncthreads
//   B. warp 0, the stages of math/fused_step.h: fields = sum over warps /
//      sqrt(N) and activations one lane per (sample, row); Delta one lane per
//      (run, sample); coefficients one lane per (sample, row); trained v rows.
//                                                               __syncthreads
//   C. every thread: w_k <- w_keep w_k + sum_b coef_b[k] x^b on its coordinates
//      (x^0 still in registers when B = 1; for B > 1 read back from shared
//      memory where phase A left them, or drawn again where they do not fit).
// Two barriers per step; nothing leaves the chip until the last step.
//
// Bitwise invariance (DESIGN.md contract 1): a run's arithmetic does not
// depend on its task's other runs, on its rows' slots, or on P. Each partial
// dot product is the same fma chain; the warp reduction is the xor butterfly
// with offsets 16..1 whatever P is (and float addition commutes, so every lane
// of a butterfly holds the same bits); warps are summed in order.
#pragma once

#include <cstdint>

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

// The four input coordinates 4 group .. 4 group + 3 of sample mu (0 past N).
template <typename Real>
__device__ __forceinline__ void draw_inputs(std::uint64_t seed, std::uint64_t mu, int group, int n,
                                            Real (&x)[4]) {
  float z[4];
  gaussian4(random_block(seed, Stream::input, mu, static_cast<std::uint32_t>(group)), z);
#pragma unroll
  for (int j = 0; j < 4; ++j) x[j] = 4 * group + j < n ? static_cast<Real>(z[j]) : Real(0);
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

template <typename Real, int P>
__global__ void TSGD_REGISTER_BUDGET(kFusedMaxThreads, (fused_max_registers<Real, P>()))
    fused_sgd_kernel(FusedArgs<Real> a) {
  static_assert(P == 4 || P == 8 || P == 16, "row classes are 4, 8 and 16");
  constexpr int kLanesPerValue = 32 / P;
  TSGD_BLOCK_SHARED(task, FusedTaskState<Real, P>);  // thread 0 fills it once
  TSGD_DYNAMIC_SHARED(fused_dynamic_shared);

  const BatchLayout<Real>& batch = a.batch;
  const FusedTask my = a.tasks[blockIdx.x];
  const int n = batch.n;

  if (threadIdx.x == 0) {
    int rows = 0;
    unsigned student_mask = 0, v_train_mask = 0;
    int decay = 0;
    for (int r = 0; r < my.count; ++r) {
      const int run = a.task_runs[my.first + r];
      const RunParams<Real> params = batch.runs[run];
      if (r == 0) {
        task.seed = params.seed;
        task.step = params.step;
        task.batch = params.batch;
      }
      task.c[r] = params.c;
      task.run_start[r] = rows;
      const long long first_unit = static_cast<long long>(run) * batch.units;
      for (int k = 0; k < params.c.K; ++k, ++rows) {
        task.unit[rows] = first_unit + k;
        task.row_run[rows] = r;
        task.v[rows] = batch.v[first_unit + k];
        task.w_keep[rows] = params.c.w_keep;
        task.v_keep[rows] = params.c.v_keep;
        student_mask |= 1u << rows;
        if (params.train_v) v_train_mask |= 1u << rows;
        if (params.c.w_keep != Real(1)) decay = 1;
      }
      for (int m = 0; m < params.c.M; ++m, ++rows) {
        task.unit[rows] = first_unit + batch.teacher_offset + m;
        task.row_run[rows] = r;
        task.v[rows] = batch.v[first_unit + batch.teacher_offset + m];
        task.w_keep[rows] = Real(1);
        task.v_keep[rows] = Real(1);
      }
    }
    task.run_start[my.count] = rows;
    task.nruns = my.count;
    task.rows = rows;
    task.student_mask = student_mask;
    task.v_train_mask = v_train_mask;
    task.decay = decay;
  }
  __syncthreads();

  const int rows = task.rows;
  const unsigned student_mask = task.student_mask;
  const bool decay = task.decay != 0;
  const int nruns = task.nruns;
  const int B = task.batch;  // shared by the task's runs
  const std::uint64_t seed = task.seed;
  const std::int64_t first_step = task.step;
  const int group = threadIdx.x;  // this thread's Philox block of 4 coordinates
  const bool owner = 4 * group < n;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int nwarps = blockDim.x / 32;
  const Real inv_sqrt_n = Real(1) / math_sqrt(static_cast<Real>(n));

  // Dynamic shared memory (fused_shared_bytes): the warps' partial fields
  // [B][nwarps][P], then the coefficient stage's scratch (math/fused_step.h).
  Real* const s_partial = reinterpret_cast<Real*>(fused_dynamic_shared);
  FusedScratch<Real> scratch;
  scratch.field = s_partial + B * nwarps * P;         // [B][P]
  scratch.g = scratch.field + B * P;                  // [B][P]
  scratch.dg = scratch.g + B * P;                     // [B][P]
  scratch.coef = scratch.dg + B * P;                  // [B][P]
  scratch.dv = scratch.coef + B * P;                  // [B][P]
  scratch.delta = scratch.dv + B * P;                 // [B][kFusedMaxRunsPerTask]
  const Real* const s_coef = scratch.coef;
  // Phase A's inputs for phase C (fused_launch_shape), [B][4][threads]: a
  // thread reads back only its own entries.
  const bool keep_inputs = a.keep_inputs && B > 1;
  Real* const s_inputs = scratch.delta + B * kFusedMaxRunsPerTask;
  const int nthreads = blockDim.x;

  // The weights of this thread's coordinates, for the whole call.
  Real w[P][4];
#pragma unroll
  for (int p = 0; p < P; ++p) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int i = 4 * group + j;
      w[p][j] = p < rows && i < n ? batch.weights[task.unit[p] * n + i] : Real(0);
    }
  }

  Real x[4] = {Real(0), Real(0), Real(0), Real(0)};
  for (std::int64_t t = 0; t < a.steps; ++t) {
    const std::uint64_t first_sample = static_cast<std::uint64_t>(first_step + t) * B;

    // A. partial fields of every sample, from the weights before the step.
    for (int b = 0; b < B; ++b) {
      if (owner) draw_inputs(seed, first_sample + b, group, n, x);
      if (keep_inputs) {
#pragma unroll
        for (int j = 0; j < 4; ++j) s_inputs[(b * 4 + j) * nthreads + group] = x[j];
      }
      Real partial[P];
#pragma unroll
      for (int p = 0; p < P; ++p) {
        Real dot = Real(0);
        if (p < rows) {
          dot = w[p][0] * x[0];
          dot = fused_fma(w[p][1], x[1], dot);
          dot = fused_fma(w[p][2], x[2], dot);
          dot = fused_fma(w[p][3], x[3], dot);
        }
        partial[p] = dot;
      }
      transposed_warp_sum<P, 16>(partial, lane);
      if (lane % kLanesPerValue == 0)
        s_partial[(b * nwarps + warp) * P + lane / kLanesPerValue] = partial[0];
    }
    __syncthreads();

    // B. the step's coefficients (warp 0, math/fused_step.h): the rows'
    // activations in parallel, one Delta per (run, sample), the coefficients
    // in parallel, then the second layer.
    if (warp == 0) {
      for (int q = lane; q < B * P; q += 32) {
        const int b = q / P, p = q % P;
        Real sum = Real(0);
        for (int k = 0; k < nwarps; ++k) sum += s_partial[(b * nwarps + k) * P + p];
        scratch.field[q] = sum * inv_sqrt_n;
        fused_row_activation(task, scratch, q);
      }
      __syncwarp();
      for (int q = lane; q < nruns * B; q += 32) fused_sample_error(task, scratch, first_sample, q);
      __syncwarp();
      for (int q = lane; q < B * P; q += 32) fused_row_coefficients(task, scratch, q);
      __syncwarp();
      // v_k <- v_keep v_k + sum_b dv_b[k], after every sample has read v.
      if (lane < rows) fused_update_v(task, scratch, lane);
    }
    __syncthreads();

    // C. w_k <- w_keep w_k + sum_b coef_b[k] x^b (student rows): the CPU
    // engine's decay, but each term added by one FMA where the CPU rounds
    // twice (math/sgd_update.h, decayed_weight).
    if (decay) {
#pragma unroll
      for (int p = 0; p < P; ++p) {
        if ((student_mask >> p) & 1u) {
          const Real keep = task.w_keep[p];
#pragma unroll
          for (int j = 0; j < 4; ++j) w[p][j] = decayed_weight(keep, w[p][j]);
        }
      }
    }
    for (int b = 0; b < B; ++b) {
      if (keep_inputs) {  // B = 1: x^0 is still in x
#pragma unroll
        for (int j = 0; j < 4; ++j) x[j] = s_inputs[(b * 4 + j) * nthreads + group];
      } else if (B > 1 && owner) {
        draw_inputs(seed, first_sample + b, group, n, x);
      }
#pragma unroll
      for (int p = 0; p < P; ++p) {
        if ((student_mask >> p) & 1u) {
          const Real coef = s_coef[b * P + p];
#pragma unroll
          for (int j = 0; j < 4; ++j) w[p][j] = fused_fma(coef, x[j], w[p][j]);
        }
      }
    }
  }

  // Back to device memory: the students (teachers never change).
#pragma unroll
  for (int p = 0; p < P; ++p) {
    if ((student_mask >> p) & 1u) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int i = 4 * group + j;
        if (i < n) batch.weights[task.unit[p] * n + i] = w[p][j];
      }
    }
  }
  if (group < rows && ((student_mask >> group) & 1u) != 0) batch.v[task.unit[group]] = task.v[group];
}

}  // namespace
}  // namespace tsgd
