// The shape of the fused (on-chip) path's work, in plain C++ (no CUDA
// headers): its limits, the tasks its blocks advance, the arguments of its
// kernel, and how a batch is planned into tasks. Read by the CUDA engine, by
// the kernel (fused_kernel.cuh) and by the tests' SIMT emulator, which runs
// that kernel on the host (tests/emulated_cuda_engine.cpp).
//
// Thread t of a block owns coordinates 4t..4t+3 of every row of its task (one
// Philox block of inputs), so a block has ceil(N/4) threads rounded up to a
// warp: N <= 4 * kFusedMaxThreads. The rows of a task (the K + M rows of each
// of its runs, stacked) are bounded at compile time by P in {4, 8, 16}:
// registers hold P x 4 weights per thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "cuda/batch_layout.h"
#include "math/fused_step.h"  // kFusedMaxRunsPerTask: runs of one seed advanced by one block

namespace tsgd {

constexpr int kFusedMaxThreads = 512;
constexpr int kFusedMaxN = 4 * kFusedMaxThreads;
constexpr int kFusedMaxBatch = 16;  // bounds the shared memory (< 48 KB)
// Shared memory a block may use without opting in.
constexpr std::size_t kFusedSharedLimit = 48u << 10;
// Fused path: block-steps per kernel launch (of blocks of N = 784, B = 1;
// scaled by N B) when the options do not say: a launch of 16896 such tasks
// does ~1000 steps, ~30 ms at 6e8 run-steps/s.
constexpr std::int64_t kFusedBlockStepsPerLaunch = std::int64_t{1} << 24;

// Rows per task the registers hold: 16 in float, 8 in double (64 registers
// of weights either way).
template <typename Real>
constexpr int fused_max_rows() {
  return sizeof(Real) == 4 ? 16 : 8;
}

// Registers per thread of the kernel of row class P (its __maxnreg__,
// kernel_macros.cuh): at most 128, so that a block of kFusedMaxThreads can
// always launch (64 K registers per block); 64 for the float 4-row kernel and
// 96 for the float 8-row and double 4-row ones, so that at N = 784 (224
// threads) four, three and three blocks share a multiprocessor without
// spilling. Left to itself, ptxas moves between 64 and 97 (float, 4 rows) and
// 96 and 104 (8 rows) with edits elsewhere in the kernel: occupancy by accident.
template <typename Real, int P>
constexpr int fused_max_registers() {
  if constexpr (sizeof(Real) == 4) return P == 4 ? 64 : (P == 8 ? 96 : 128);
  return P == 4 ? 96 : 128;
}
// Whether the kernel of row class P, for launches of B = 1 only, draws the
// next sample's inputs during phase B (every warp its own, warps 1.. while
// warp 0 computes the coefficients; fused_kernel.cuh): the kernels with a
// budget of 128 registers, which leave the fewest blocks per multiprocessor
// (2 of 224 threads), so that the warps waiting for warp 0 have little other
// work to switch to. With 3 or more blocks per multiprocessor the schedulers
// stay busy with the other blocks, and keeping x^mu in shared memory for
// phase C costs more issue slots than the overlap hides (the static model,
// docs/benchmarks.md, N = 784: overlapping in the float 8-row kernel too
// would take case (a) from 2.57e8 to 2.43e8 run-steps/s, (b) from 4.16e8 to
// 3.95e8).
template <typename Real, int P>
constexpr bool fused_overlaps_draws() {
  return fused_max_registers<Real, P>() == 128;
}

static_assert(128 * kFusedMaxThreads <= 64 * 1024,
              "a block of the fused kernel must fit the register file");

// The compiled row bound that holds `rows` rows: 4, 8 or 16.
inline int fused_row_class(int rows) { return rows <= 4 ? 4 : (rows <= 8 ? 8 : 16); }
constexpr int kFusedRowClasses[3] = {4, 8, 16};

// Threads of a block for inputs of dimension n: a Philox block of 4
// coordinates each, rounded up to whole warps.
inline int fused_threads(int n) {
  const int groups = (n + 3) / 4;
  return (groups + 31) / 32 * 32;
}

// Dynamic shared memory of one block: [B][nwarps][P] partial fields, five
// [B][P] arrays, [B][runs] errors, [B] label noises and [B] file labels (the
// kernel's layout).
template <typename Real>
std::size_t fused_shared_bytes(int n, int max_batch, int row_class) {
  const int nwarps = fused_threads(n) / 32;
  return static_cast<std::size_t>(max_batch) *
         (static_cast<std::size_t>(row_class) * (nwarps + 5) + kFusedMaxRunsPerTask + 2) *
         sizeof(Real);
}

// Phase C of a step with B > 1 needs the step's inputs x^1..x^B again. A
// block keeps them in dynamic shared memory, after the layout above, as
// [B][4][threads] Reals (each thread reads back only what it wrote, so no
// barrier guards them), when that fits under kFusedSharedLimit beside the
// rest; otherwise it draws them again (the same numbers: the generator is
// counter-based). Keeping them halves the draws of a mini-batch step.
template <typename Real>
std::size_t fused_input_bytes(int n, int max_batch) {
  return static_cast<std::size_t>(max_batch) * 4 * static_cast<std::size_t>(fused_threads(n)) *
         sizeof(Real);
}

// How the kernel of row class P is launched for inputs of dimension n and
// largest mini-batch max_batch: threads per block, dynamic shared memory, and
// whether the blocks keep their inputs (may_keep_inputs: CudaOptions::keep_inputs).
struct FusedLaunchShape {
  int threads;
  std::size_t shared_bytes;
  bool keep_inputs;
};

template <typename Real, int P>
FusedLaunchShape fused_launch_shape(int n, int max_batch, bool may_keep_inputs) {
  FusedLaunchShape shape{fused_threads(n), fused_shared_bytes<Real>(n, max_batch, P), false};
  // B = 1 in a kernel that overlaps: x^mu kept for phase C (x takes the next
  // sample's inputs during phase B), where a mini-batch's inputs are kept,
  // then warp 0's next inputs, [4][32], which the last warp draws for it.
  if (fused_overlaps_draws<Real, P>() && max_batch == 1)
    shape.shared_bytes += fused_input_bytes<Real>(n, 1) + 4 * 32 * sizeof(Real);
  if (may_keep_inputs && max_batch > 1) {
    const std::size_t kept = shape.shared_bytes + fused_input_bytes<Real>(n, max_batch);
    if (kept + sizeof(FusedTaskState<Real, P>) <= kFusedSharedLimit) {
      shape.shared_bytes = kept;
      shape.keep_inputs = true;
    }
  }
  return shape;
}

// A block's work: the runs task_runs[first .. first + count), all of one seed,
// one batch size and one step counter, with at most the row class's rows.
// Bit r of shares_teacher: run r has the teacher of run r - 1 (the kernel
// holds those rows once).
struct FusedTask {
  int first;
  int count;
  unsigned shares_teacher;
};

template <typename Real>
struct FusedArgs {
  BatchLayout<Real> batch;
  const FusedTask* tasks;  // this launch's tasks (all of one row class)
  const int* task_runs;
  int max_batch;  // largest B among this launch's tasks (FusedPlan::class_max_batch): sizes the
                  // shared memory
  std::int64_t steps;
  // Set by the engine: the blocks may keep their inputs for phase C; the
  // launch leaves it set only where fused_launch_shape says they fit.
  bool keep_inputs;
};

// Whether a launch of row class `row_class` (4, 8, 16) keeps its inputs:
// fused_launch_shape's answer without naming P at compile time (benchmarks).
template <typename Real>
bool fused_keeps_inputs(int row_class, int n, int max_batch) {
  switch (row_class) {
    case 4:
      return fused_launch_shape<Real, 4>(n, max_batch, true).keep_inputs;
    case 8:
      return fused_launch_shape<Real, 8>(n, max_batch, true).keep_inputs;
    default:
      return fused_launch_shape<Real, 16>(n, max_batch, true).keep_inputs;
  }
}

// A launch of the kernel of row class P: its shape, with args.keep_inputs
// left set only where the inputs fit (cuda/fused_sgd.cu and the tests'
// emulator launch through this).
template <typename Real, int P>
FusedLaunchShape prepare_fused_launch(FusedArgs<Real>& args) {
  const FusedLaunchShape shape =
      fused_launch_shape<Real, P>(args.batch.n, args.max_batch, args.keep_inputs);
  args.keep_inputs = shape.keep_inputs;
  return shape;
}

// Whether the fused path holds a batch of inputs of dimension n, largest
// mini-batch max_batch and these runs.
template <typename Real>
bool fused_path_fits(int n, int max_batch, const std::vector<RunParams<Real>>& params) {
  if (n > kFusedMaxN || max_batch > kFusedMaxBatch) return false;
  for (const RunParams<Real>& p : params)
    if (p.c.K + p.c.M > fused_max_rows<Real>()) return false;
  // The dynamic part and the kernel's static FusedTaskState.
  constexpr int P = fused_max_rows<Real>();
  return fused_launch_shape<Real, P>(n, max_batch, false).shared_bytes +
             sizeof(FusedTaskState<Real, P>) <=
         kFusedSharedLimit;
}

// The tasks of a batch's runs that are not frozen, grouped by row class:
// tasks[class_first[c] ..  + class_count[c]) have at most kFusedRowClasses[c]
// rows. Runs that share seed, batch size, step counter, training-set size,
// real inputs and file labels (so they see the same samples and labels) are packed greedily into
// tasks of at most fused_max_rows rows and kFusedMaxRunsPerTask runs; within a seed, runs of one
// teacher
// (`teachers[r]`: the first run of the batch with run r's teacher,
// HostBatch::teachers) are adjacent and their teacher's M rows counted once
// (the kernel holds them once, fused_kernel.cuh): so at K = M = 4 a float
// task of 16 rows advances 3 grid points of a seed, not 2. Without grouping,
// each run is its own task.
struct FusedPlan {
  std::vector<FusedTask> tasks;
  std::vector<int> task_runs;
  int class_first[3] = {0, 0, 0};
  int class_count[3] = {0, 0, 0};
  int class_max_batch[3] = {1, 1, 1};  // largest B of each class's tasks: sizes its shared memory
  int ntasks() const { return class_count[0] + class_count[1] + class_count[2]; }
};

template <typename Real>
FusedPlan plan_fused_tasks(const std::vector<RunParams<Real>>& params,
                           const std::vector<int>& teachers, bool group_by_seed) {
  if (teachers.size() != params.size())
    throw std::invalid_argument("plan_fused_tasks: one teacher index per run");
  FusedPlan plan;
  std::vector<int>& order = plan.task_runs;
  for (int r = 0; r < static_cast<int>(params.size()); ++r)
    if (!params[r].frozen) order.push_back(r);
  auto key = [&](int r) {
    return std::make_tuple(params[r].seed, params[r].batch, params[r].step, params[r].train_size,
                           params[r].inputs, params[r].labels);
  };
  if (group_by_seed)
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return std::make_tuple(key(a), teachers[a]) < std::make_tuple(key(b), teachers[b]);
    });

  std::vector<FusedTask> by_class[3];
  int task_rows = 0;
  FusedTask task{0, 0, 0u};
  auto close_task = [&] {
    if (task.count == 0) return;
    const int row_class = fused_row_class(task_rows);
    const int c = row_class == 4 ? 0 : (row_class == 8 ? 1 : 2);
    by_class[c].push_back(task);
    plan.class_max_batch[c] = std::max(plan.class_max_batch[c], params[order[task.first]].batch);
  };
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int r = order[i];
    const bool same_teacher = task.count > 0 && teachers[order[i - 1]] == teachers[r];
    const int rows = params[r].c.K + (same_teacher ? 0 : params[r].c.M);
    const bool joins = group_by_seed && task.count > 0 && key(order[task.first]) == key(r) &&
                       task_rows + rows <= fused_max_rows<Real>() &&
                       task.count < kFusedMaxRunsPerTask;
    if (!joins) {
      close_task();
      task = FusedTask{static_cast<int>(i), 0, 0u};
      task_rows = 0;
    }
    if (joins && same_teacher) task.shares_teacher |= 1u << task.count;
    ++task.count;
    task_rows += joins ? rows : params[r].c.K + params[r].c.M;
  }
  close_task();

  for (int c = 0; c < 3; ++c) {
    plan.class_first[c] = static_cast<int>(plan.tasks.size());
    plan.class_count[c] = static_cast<int>(by_class[c].size());
    plan.tasks.insert(plan.tasks.end(), by_class[c].begin(), by_class[c].end());
  }
  return plan;
}

// Steps per kernel launch: `requested` when positive, else about
// kFusedBlockStepsPerLaunch block-steps of the reference shape (N = 784, B = 1)
// per launch, at least 16 and at most 4096 steps.
inline std::int64_t fused_steps_per_launch(std::int64_t requested, int ntasks, int max_batch,
                                           int n) {
  if (requested > 0) return requested;
  // Work of one launch-step: every task's B samples of N coordinates (the
  // draws and dot products dominate).
  const double step_work = static_cast<double>(ntasks) * max_batch * n / 784.0;
  return static_cast<std::int64_t>(
      std::clamp(static_cast<double>(kFusedBlockStepsPerLaunch) / step_work, 16.0, 4096.0));
}

}  // namespace tsgd
