// The kernels of the cuBLAS SGD path (cublas_step.h: the step). Included by
// cublas_sgd.cu, which launches them, and by the tests' SIMT emulator
// (tests/simt_emulator.h), which runs them on the host; element-wise
// kernels without barriers, using threadIdx, blockIdx, blockDim, gridDim.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/batch_layout.h"
#include "cuda/cublas_step.h"
#include "math/gaussian.h"
#include "math/permutation.h"
#include "math/sgd_update.h"

namespace tsgd {
// Internal linkage: the emulator's host instantiations must never be mistaken
// for the CUDA library's kernels of the same name by the linker.
namespace {

// X: thread per (run, sample b, block of 4 coordinates): drawn, or with real
// inputs (RunParams::inputs) gathered from the training rows, float to Real.
template <typename Real>
__global__ void fill_inputs_kernel(BatchLayout<Real> batch, Real* x, int max_batch,
                                   std::int64_t t) {
  const int n = batch.n;
  const int groups = (n + 3) / 4;
  const std::int64_t total = static_cast<std::int64_t>(batch.nruns) * max_batch * groups;
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
       index < total; index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int group = static_cast<int>(index % groups);
    const std::int64_t sample_row = index / groups;  // run * max_batch + b
    const int b = static_cast<int>(sample_row % max_batch);
    const RunParams<Real>& params = batch.runs[sample_row / max_batch];
    if (params.frozen || b >= params.batch) continue;  // padded rows stay zero
    // The training sample of counter mu (math/permutation.h; mu itself online).
    const std::uint64_t mu =
        sample_index(params.seed, params.train_size,
                     static_cast<std::uint64_t>(params.step + t) * params.batch + b);
    float z[4];
    if (params.inputs != nullptr) {
      const float* const source = params.inputs + mu * static_cast<std::uint64_t>(n);
      for (int j = 0; j < 4; ++j) z[j] = 4 * group + j < n ? source[4 * group + j] : 0.0f;
    } else {
      gaussian4(random_block(params.seed, Stream::input, mu, static_cast<std::uint32_t>(group)), z,
                batch.rng_transform);
    }
    Real* const row = x + sample_row * n;
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (4 * group + j < n) row[4 * group + j] = static_cast<Real>(z[j]);
  }
}

// Thread per (run, sample b): coef_b[k] and dv_b[k] of that sample (zero for
// frozen runs and for the padded samples b >= B of a run). Every thread reads
// v before any changes it (second_layer_kernel runs after).
template <typename Real>
__global__ void sgd_coefficients_kernel(BatchLayout<Real> batch, CublasWorkspace<Real> work,
                                        std::int64_t t) {
  const std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (index >= static_cast<std::int64_t>(batch.nruns) * work.max_batch) return;
  const int run = static_cast<int>(index / work.max_batch);
  const int b = static_cast<int>(index % work.max_batch);
  const RunParams<Real>& params = batch.runs[run];
  const int kmax = work.kmax;
  Real* const coef = work.coef + index * kmax;  // (run max_batch + b) kmax
  Real* const dv = work.dv + index * kmax;
  for (int k = 0; k < kmax; ++k) {
    coef[k] = Real(0);
    dv[k] = Real(0);
  }
  if (params.frozen || b >= params.batch) return;

  const SgdConstants<Real> c = params.c;
  const Real* const v = batch.v + static_cast<std::size_t>(run) * batch.units;
  const std::uint64_t mu =
      sample_index(params.seed, params.train_size,
                   static_cast<std::uint64_t>(params.step + t) * params.batch + b);
  const Real* const field = work.fields + index * batch.units;
  // zeta is addressed by (seed, mu): not drawing it when sigma = 0 shifts nothing.
  const Real zeta = c.sigma != Real(0)
                        ? static_cast<Real>(gaussian_at(params.seed, Stream::label_noise, mu, 0,
                                                        batch.rng_transform))
                        : Real(0);
  // Labels from files stand where the teacher's output goes (sample_error).
  const Real label = params.labels != nullptr ? static_cast<Real>(params.labels[mu]) : Real(0);
  accumulate_sample(c, field, v, field + batch.teacher_offset, v + batch.teacher_offset, zeta, coef,
                    dv, params.labels != nullptr ? &label : nullptr);
}

// Thread per run: v_k <- v_keep v_k + sum_b dv_b[k], the samples in order
// (summed_v_change: the CPU engine's sum bit for bit).
template <typename Real>
__global__ void second_layer_kernel(BatchLayout<Real> batch, CublasWorkspace<Real> work) {
  const int run = blockIdx.x * blockDim.x + threadIdx.x;
  if (run >= batch.nruns) return;
  const RunParams<Real>& params = batch.runs[run];
  if (params.frozen || !params.train_v) return;
  const int kmax = work.kmax;
  const Real* const dv = work.dv + static_cast<std::size_t>(run) * work.max_batch * kmax;
  Real* const v = batch.v + static_cast<std::size_t>(run) * batch.units;
  for (int k = 0; k < params.c.K; ++k) {
    const Real change = summed_v_change(dv, k, params.batch, kmax);
    v[k] = updated_v(params.c.v_keep, v[k], change);
  }
}

// Weight decay: W_students <- w_keep W_students (decayed_weight, as on the
// CPU) before the rank-B update adds C X (a GEMM: its own roundings,
// math/sgd_update.h).
template <typename Real>
__global__ void decay_weights_kernel(BatchLayout<Real> batch, int kmax) {
  const int n = batch.n;
  const std::int64_t total = static_cast<std::int64_t>(batch.nruns) * kmax * n;
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
       index < total; index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = index / n;  // run * kmax + k
    const int run = static_cast<int>(row / kmax);
    const int k = static_cast<int>(row % kmax);
    const RunParams<Real>& params = batch.runs[run];
    if (params.frozen || k >= params.c.K) continue;
    const Real keep = params.c.w_keep;
    Real& w = batch.weights[(static_cast<std::int64_t>(run) * batch.units + k) * n + index % n];
    w = decayed_weight(keep, w);
  }
}

}  // namespace
}  // namespace tsgd
