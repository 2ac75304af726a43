// The cuBLAS SGD path: any N, K, M and mini-batch size. One step of every
// run of the batch is
//   1. fill_inputs:     X (B x N per run) from the counter-based generator
//   2. GEMM:            F = W X^T / sqrt(N)   (units x B per run: all local fields)
//   3. sgd_coefficients: accumulate_sample per (run, sample), in parallel -> C (Kmax x B)
//      and the v changes; second_layer: per run, v <- v_keep v + sum_b dv_b
//   4. decay (only with weight decay): W_students *= w_keep
//   5. GEMM:            W_students += C X     (the rank-B update)
// with strided-batched GEMMs over the runs (batch_layout.cuh). Frozen runs get
// C = 0 and are skipped by the other kernels, so they do not move. The engine
// replays a fixed number of these steps as a CUDA graph.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "batch_layout.cuh"
#include "cuda_engine.h"

namespace tsgd {

template <typename Real>
struct CublasWorkspace {
  Real* x;       // nruns x max_batch x n: sample b of run r at (r max_batch + b) n
  Real* fields;  // nruns x max_batch x units
  Real* coef;    // nruns x max_batch x kmax: coef_b[k] at (r max_batch + b) kmax + k
  Real* dv;      // nruns x max_batch x kmax, laid out like coef
  int max_batch;
  int kmax;    // = batch.teacher_offset
  bool decay;    // some run has w_keep != 1
  bool train_v;  // some run trains the second layer
};

// One SGD step of every run that is not frozen; step `t` counts from each
// run's params.step (so a captured sequence of steps can be replayed).
template <typename Real>
void cublas_sgd_step(cublasHandle_t handle, const BatchLayout<Real>& batch,
                     const CublasWorkspace<Real>& work, std::int64_t t, cudaStream_t stream);

std::vector<CudaKernelInfo> cublas_kernel_info();

}  // namespace tsgd
