// The device side of batch_layout.h: what the kernels do to the layout.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/batch_layout.h"

namespace tsgd {

// runs[r].step += steps for every run that is not frozen (after an advance).
template <typename Real>
void advance_step_counters(RunParams<Real>* runs, int nruns, std::int64_t steps,
                           cudaStream_t stream);

}  // namespace tsgd
