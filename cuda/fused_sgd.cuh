// The fused (on-chip) SGD path: one thread block advances one task (a run, or
// a few runs of one seed that see the same inputs) by a whole advance() worth
// of steps, with the weights in registers from the first step to the last.
// Its shapes and planning are in fused_plan.h, the kernel in fused_kernel.cuh.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "cuda/cuda_engine.h"
#include "cuda/fused_plan.h"

namespace tsgd {

// Advances `ntasks` tasks of row class `row_class` by args.steps steps.
template <typename Real>
void fused_sgd(const FusedArgs<Real>& args, int ntasks, int row_class, cudaStream_t stream);

std::vector<CudaKernelInfo> fused_kernel_info();

}  // namespace tsgd
