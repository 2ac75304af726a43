// The fused kernel's set-up and its last store (cuda/fused_kernel.cuh): the
// task loaded into shared memory by thread 0, each thread's constants and
// place in the block (FusedThread), its weights into registers, and the
// students back to device memory. None of it runs inside the step loop; the
// phases of a step are in fused_kernel.cuh, whose helpers take a FusedThread.
// Like the kernel, it uses nothing of CUDA beyond what the tests' SIMT
// emulator provides.
#pragma once

#include <cstdint>

#include "cuda/fused_plan.h"
#include "cuda/kernel_macros.cuh"
#include "math/fused_step.h"

namespace tsgd {
// Internal linkage, as the kernel's (fused_kernel.cuh).
namespace {

// Thread 0, once per call: the task's runs stacked into rows, their v, decay
// factors and masks, in shared memory. Students first, run after run (rows
// 0 .. students - 1, so that phase C's loops stop at a bound uniform over the
// block), then the teachers: run r's own, unless it has the teacher of run
// r - 1 (bit r of FusedTask::shares_teacher, set by the plan), whose rows it
// then reads, so a teacher that several grid points of a seed share is held
// once.
template <typename Real, int P>
__device__ __forceinline__ void fused_load_task(const FusedArgs<Real>& a, const FusedTask& my,
                                                FusedTaskState<Real, P>& task) {
  const BatchLayout<Real>& batch = a.batch;
  int rows = 0;
  unsigned v_train_mask = 0;
  int decay = 0, noise = 0;
  for (int r = 0; r < my.count; ++r) {
    const int run = a.task_runs[my.first + r];
    const RunParams<Real> params = batch.runs[run];
    if (r == 0) {
      task.seed = params.seed;
      task.train_size = params.train_size;
      task.inputs = params.inputs;
      task.labels = params.labels;
      task.step = params.step;
      task.batch = params.batch;
    }
    task.c[r] = params.c;
    if (params.c.sigma != Real(0)) noise = 1;
    task.run_start[r] = rows;
    const long long first_unit = static_cast<long long>(run) * batch.units;
    for (int k = 0; k < params.c.K; ++k, ++rows) {
      task.unit[rows] = first_unit + k;
      task.row_run[rows] = r;
      task.v[rows] = batch.v[first_unit + k];
      task.w_keep[rows] = params.c.w_keep;
      task.v_keep[rows] = params.c.v_keep;
      if (params.train_v) v_train_mask |= 1u << rows;
      if (params.c.w_keep != Real(1)) decay = 1;
    }
  }
  task.run_start[my.count] = rows;  // the students' end
  task.student_mask = (1u << rows) - 1u;
  for (int r = 0; r < my.count; ++r) {
    if (r > 0 && ((my.shares_teacher >> r) & 1u) != 0) {
      task.teacher_start[r] = task.teacher_start[r - 1];
      continue;
    }
    task.teacher_start[r] = rows;
    const long long first_teacher =
        static_cast<long long>(a.task_runs[my.first + r]) * batch.units + batch.teacher_offset;
    for (int m = 0; m < task.c[r].M; ++m, ++rows) {
      task.unit[rows] = first_teacher + m;
      task.row_run[rows] = r;
      task.v[rows] = batch.v[first_teacher + m];
      task.w_keep[rows] = Real(1);
      task.v_keep[rows] = Real(1);
    }
  }
  task.nruns = my.count;
  task.rows = rows;
  task.v_train_mask = v_train_mask;
  task.decay = decay;
  task.noise = noise;
}

// What a thread keeps in registers for the whole call: the task's constants
// (read from shared memory once, after the task is loaded), its place in the
// block, and where the step's shared arrays lie. The phases take it by value
// and recompute lane and warp from threadIdx where they need them: with ptxas
// 13.0 this gives the register pressure of the kernel written in one piece
// (a const reference, or lane and warp kept here, cost the double 4-row
// kernel its headroom under the register budget: it spilled at 88 registers
// where the one-piece kernel did not).
template <typename Real>
struct FusedThread {
  int rows;
  int students;  // rows 0 .. students - 1 are the students (fused_load_task)
  bool decay;
  bool noise;        // the task draws label noise
  bool noise_apart;  // ... in a pass of its own (fused_label_noise), not with the inputs
  RngTransform transform;
  int nruns;
  int B;  // shared by the task's runs
  std::uint64_t seed;
  std::int64_t first_step;
  int n;
  int group;  // this thread's Philox block of 4 coordinates
  bool owner;
  int nwarps;
  int nthreads;
  Real inv_sqrt_n;
  bool keep_inputs;            // phase A leaves the inputs in shared memory for phase C
  bool overlap;                // B = 1 and several warps: the next inputs drawn in phase B
  Real* s_partial;             // the warps' partial fields, [B][nwarps][P]
  FusedScratch<Real> scratch;  // the coefficient stage's (math/fused_step.h)
  Real* s_inputs;              // phase A's inputs, [B][4][threads]
};

// Every thread, after the task is loaded: its constants, and the dynamic
// shared memory (fused_shared_bytes) cut into the step's arrays.
template <typename Real, int P>
__device__ __forceinline__ FusedThread<Real> fused_thread(const FusedArgs<Real>& a,
                                                          const FusedTaskState<Real, P>& task,
                                                          unsigned char* dynamic_shared) {
  FusedThread<Real> th;
  th.rows = task.rows;
  th.students = task.run_start[task.nruns];
  th.decay = task.decay != 0;
  th.noise = task.noise != 0;
  th.transform = a.batch.rng_transform;
  th.nruns = task.nruns;
  th.B = task.batch;
  th.seed = task.seed;
  th.first_step = task.step;
  th.n = a.batch.n;
  th.group = threadIdx.x;
  th.owner = 4 * th.group < th.n;
  // The label noise rides on the inputs' draw in the block's last thread
  // where that thread is past N (owns no coordinates) and the inputs are
  // drawn, not read; else the last B threads draw it apart (phase A).
  const bool last_idle = 4 * (static_cast<int>(blockDim.x) - 1) >= th.n;
  th.noise_apart = th.noise && (task.inputs != nullptr || !last_idle);
  th.nwarps = blockDim.x / 32;
  TSGD_ASSUME(th.nwarps >= 1);
  th.inv_sqrt_n = Real(1) / math_sqrt(static_cast<Real>(th.n));
  const int B = th.B;
  th.s_partial = reinterpret_cast<Real*>(dynamic_shared);
  FusedScratch<Real>& scratch = th.scratch;
  scratch.field = th.s_partial + B * th.nwarps * P;         // [B][P]
  scratch.g = scratch.field + B * P;                        // [B][P]
  scratch.dg = scratch.g + B * P;                           // [B][P]
  scratch.coef = scratch.dg + B * P;                        // [B][P]
  scratch.dv = scratch.coef + B * P;                        // [B][P]
  scratch.delta = scratch.dv + B * P;                       // [B][kFusedMaxRunsPerTask]
  scratch.zeta = scratch.delta + B * kFusedMaxRunsPerTask;  // [B]
  // Where they fit (fused_launch_shape); a thread reads back only its own.
  // Overlap (fused_overlaps_draws; false at compile time in the other
  // kernels): the launch's tasks all have B = 1 (its shared memory then holds
  // one sample's inputs after the scratch: fused_launch_shape), so x is free
  // for the next sample's draw once phase A has kept x^mu there.
  th.overlap = fused_overlaps_draws<Real, P>() && a.max_batch == 1 && th.nwarps > 1;
  th.keep_inputs = (a.keep_inputs && B > 1) || th.overlap;
  scratch.label = scratch.zeta + B;  // [B]
  th.s_inputs = scratch.label + B;
  th.nthreads = blockDim.x;
  return th;
}

// The weights of this thread's coordinates (0 past N and past the rows).
template <typename Real, int P>
__device__ __forceinline__ void fused_load_weights(const BatchLayout<Real>& batch,
                                                   const FusedTaskState<Real, P>& task,
                                                   const FusedThread<Real> th, Real (&w)[P][4]) {
#pragma unroll
  for (int p = 0; p < P; ++p) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int i = 4 * th.group + j;
      w[p][j] = p < th.rows && i < th.n ? batch.weights[task.unit[p] * th.n + i] : Real(0);
    }
  }
}

// Back to device memory: the students (teachers never change).
template <typename Real, int P>
__device__ __forceinline__ void fused_store_students(const BatchLayout<Real>& batch,
                                                     const FusedTaskState<Real, P>& task,
                                                     const FusedThread<Real> th,
                                                     const Real (&w)[P][4]) {
#pragma unroll
  for (int p = 0; p < P; ++p) {
    if (p < th.students) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int i = 4 * th.group + j;
        if (i < th.n) batch.weights[task.unit[p] * th.n + i] = w[p][j];
      }
    }
  }
  if (th.group < th.students) batch.v[task.unit[th.group]] = task.v[th.group];
}

}  // namespace
}  // namespace tsgd
