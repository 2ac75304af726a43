// The cuBLAS SGD path: any N, K, M and mini-batch size. The step, its
// workspace and its GEMMs are in cublas_step.h, the kernels in
// cublas_kernels.cuh. The engine replays a fixed number of steps as a CUDA graph.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "cuda/batch_layout.cuh"
#include "cuda/cublas_step.h"
#include "cuda/cuda_engine.h"

namespace tsgd {

// One SGD step of every run that is not frozen; step `t` counts from each
// run's params.step (so a captured sequence of steps can be replayed).
template <typename Real>
void cublas_sgd_step(cublasHandle_t handle, const BatchLayout<Real>& batch,
                     const CublasWorkspace<Real>& work, std::int64_t t, cudaStream_t stream);

std::vector<CudaKernelInfo> cublas_kernel_info();

}  // namespace tsgd
