// Order parameters on the device: the overlaps of every pair of a run's rows,
// gram[r][a][b] = w_a . w_b / N (a, b over the run's students then teachers),
// accumulated in double as the CPU engine does.
//
// Not a cuBLAS GEMM on purpose: cuBLAS picks its algorithm (and so its
// summation order) from the whole batch's shape (run count, padding to the
// batch's largest K and M), which would make a run's order parameters differ
// in the last bits with its batch and break docs/architecture.md contract 1, which the
// engine tests check bit for bit. One block per run with a fixed reduction
// order gives the same bits whatever the batch; it runs only at record times.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "cuda/batch_layout.cuh"
#include "cuda/cuda_engine.h"

namespace tsgd {

// gram: nruns x units x units, row-major; entries of rows a run does not use
// are left as they are.
template <typename Real>
void gram_matrices(const BatchLayout<Real>& batch, double* gram, cudaStream_t stream);

std::vector<CudaKernelInfo> order_parameter_kernel_info();

}  // namespace tsgd
