// The fused (on-chip) SGD path: one thread block advances one task (a run, or
// a few runs of one seed that see the same inputs) by a whole advance() worth
// of steps, with the weights in registers from the first step to the last.
//
// Thread t owns coordinates 4t..4t+3 of every row of its task (one Philox
// block of inputs), so a block has ceil(N/4) threads rounded up to a warp:
// N <= 4 * kFusedMaxThreads. The rows of a task (the K + M rows of each of
// its runs, stacked) are a compile-time bound P in {4, 8, 16}: registers
// hold P x 4 weights per thread. Per step and sample: draw x in registers,
// P partial dot products, a warp reduction and one shared-memory stage give
// the local fields; warp 0 turns them into the update coefficients with
// the stage functions of math/fused_step.h (the arithmetic of
// accumulate_sample, spread over lanes); every thread updates its weights.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "batch_layout.cuh"
#include "cuda_engine.h"
#include "math/fused_step.h"  // kFusedMaxRunsPerTask: runs of one seed advanced by one block

namespace tsgd {

constexpr int kFusedMaxThreads = 512;
constexpr int kFusedMaxN = 4 * kFusedMaxThreads;
constexpr int kFusedMaxBatch = 16;       // bounds the shared memory (< 48 KB)

// Rows per task the registers hold: 16 in float, 8 in double (64 registers
// of weights either way).
template <typename Real>
constexpr int fused_max_rows() {
  return sizeof(Real) == 4 ? 16 : 8;
}

// The compiled row bound that holds `rows` rows: 4, 8 or 16.
inline int fused_row_class(int rows) { return rows <= 4 ? 4 : (rows <= 8 ? 8 : 16); }

// A block's work: the runs task_runs[first .. first + count), all of one seed,
// one batch size and one step counter, with at most the row class's rows.
struct FusedTask {
  int first;
  int count;
};

template <typename Real>
struct FusedArgs {
  BatchLayout<Real> batch;
  const FusedTask* tasks;  // this launch's tasks (all of one row class)
  const int* task_runs;
  int max_batch;  // largest B among the tasks: sizes the shared memory
  std::int64_t steps;
};

// Advances `ntasks` tasks of row class `row_class` by args.steps steps.
template <typename Real>
void fused_sgd(const FusedArgs<Real>& args, int ntasks, int row_class, cudaStream_t stream);

// Shared memory one block needs, to check a batch against the device's limit.
template <typename Real>
std::size_t fused_shared_bytes(int n, int max_batch, int row_class);

std::vector<CudaKernelInfo> fused_kernel_info();

}  // namespace tsgd
