// One step of the cuBLAS SGD path, in plain C++ (no CUDA headers): its
// workspace, its two strided-batched GEMMs and the order of its kernels,
// written once against a "device" that launches the kernels and runs the
// GEMMs. The CUDA engine's device launches the kernels of cublas_kernels.cuh
// and calls cuBLAS (cublas_sgd.cu); the tests' emulated engine runs the same
// kernels on the SIMT emulator and the GEMMs by cuBLAS's documented
// definition (tests/emulated_cuda_engine.cpp), so the argument conventions
// below are checked without a GPU.
//
// One step of every run of the batch:
//   1. fill_inputs:      X (B x N per run) from the counter-based generator
//   2. GEMM:             F = W X^T / sqrt(N)   (units x B per run: all local fields)
//   3. coefficients:     accumulate_sample per (run, sample), in parallel -> C (Kmax x B)
//                        and the v changes; second_layer: per run, v <- v_keep v + sum_b dv_b
//   4. decay (only with weight decay): W_students *= w_keep
//   5. GEMM:             W_students += C X     (the rank-B update)
// with strided-batched GEMMs over the runs (batch_layout.h). Frozen runs get
// C = 0 and are skipped by the other kernels, so they do not move.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/batch_layout.h"

namespace tsgd {

template <typename Real>
struct CublasWorkspace {
  Real* x;       // nruns x max_batch x n: sample b of run r at (r max_batch + b) n
  Real* fields;  // nruns x max_batch x units
  Real* coef;    // nruns x max_batch x kmax: coef_b[k] at (r max_batch + b) kmax + k
  Real* dv;      // nruns x max_batch x kmax, laid out like coef
  int max_batch;
  int kmax;      // = batch.teacher_offset
  bool decay;    // some run has w_keep != 1
  bool train_v;  // some run trains the second layer
};

enum class GemmOp { none, transpose };

// C_i <- alpha op(A_i) op(B_i) + beta C_i for i < count, every matrix
// column-major (cuBLAS's <t>gemmStridedBatched): op(A_i) m x k at
// a + i stride_a with leading dimension lda, op(B_i) k x n, C_i m x n.
template <typename Real>
struct GemmCall {
  GemmOp op_a, op_b;
  int m, n, k;
  Real alpha;
  const Real* a;
  int lda;
  long long stride_a;
  const Real* b;
  int ldb;
  long long stride_b;
  Real beta;
  Real* c;
  int ldc;
  long long stride_c;
  int count;
};

// One SGD step of every run that is not frozen; step `t` counts from each
// run's params.step (so a captured sequence of steps can be replayed).
// Device: fill_inputs(batch, work, t), gemm(GemmCall<Real>),
// coefficients(batch, work, t), second_layer(batch, work), decay(batch, work).
template <typename Real, typename Device>
void cublas_step_sequence(Device& device, const BatchLayout<Real>& batch,
                          const CublasWorkspace<Real>& work, std::int64_t t) {
  if (batch.nruns == 0) return;
  const int n = batch.n, units = batch.units, kmax = work.kmax, max_batch = work.max_batch;
  const long long run_weights = static_cast<long long>(units) * n;
  const long long run_inputs = static_cast<long long>(max_batch) * n;

  device.fill_inputs(batch, work, t);
  // Column-major views: run r's weights are W^T (n x units, ld n), its inputs
  // X^T (n x max_batch, ld n). F (units x max_batch, ld units) = W X^T / sqrt(N).
  device.gemm(GemmCall<Real>{GemmOp::transpose, GemmOp::none, units, max_batch, n,
                             Real(1) / std::sqrt(static_cast<Real>(n)), batch.weights, n,
                             run_weights, work.x, n, run_inputs, Real(0), work.fields, units,
                             static_cast<long long>(units) * max_batch, batch.nruns});
  device.coefficients(batch, work, t);
  if (work.train_v) device.second_layer(batch, work);
  if (work.decay) device.decay(batch, work);
  // W_students^T (n x kmax, ld n) += X^T (n x max_batch) C^T, with C stored
  // column-major kmax x max_batch (ld kmax).
  device.gemm(GemmCall<Real>{GemmOp::none, GemmOp::transpose, n, kmax, max_batch, Real(1), work.x,
                             n, run_inputs, work.coef, kmax,
                             static_cast<long long>(kmax) * max_batch, Real(1), batch.weights, n,
                             run_weights, batch.nruns});
}

// Threads per block of the cuBLAS path's kernels, and the blocks for `count`
// threads (capped: the element-wise kernels loop over the rest).
constexpr int kCublasThreads = 256;
inline int cublas_grid_for(std::int64_t count) {
  const std::int64_t blocks = (count + kCublasThreads - 1) / kCublasThreads;
  return static_cast<int>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

}  // namespace tsgd
