// The coefficient stage of the fused CUDA kernel (cuda/fused_sgd.cu), written
// as plain functions of one index so that the lanes of a warp can share it
// and a host test can run it lane by lane (tests/math/test_fused_step.cpp).
//
// A fused task is up to kFusedMaxRunsPerTask runs of one seed (they see the
// same inputs), their rows stacked: run r's students at rows run_start[r] ..
// + K - 1, its teachers at teacher_start[r] .. + M - 1. Runs of one teacher
// (fused_plan.h) read one set of teacher rows; the fields are the same bits
// whichever row computes them. Given the local fields
// of every row for the B samples of a step (field[b * P + p]), the stage is
//   0. per sample:         the label noise zeta (drawn in the kernel's phase A
//                          with the inputs by a thread past N, or apart);
//   1. per (sample, row):  g = activation(field), g' for student rows;
//   2. per (run, sample):  Delta = sum_k v_k g_k - sum_m v*_m g*_m - sigma zeta
//                          (with labels from files: the label for the v* sum);
//   3. per (sample, row):  student rows: coef = -w_rate v g' Delta,
//                          dv = -v_rate g Delta;
//   4. per row:            trained v: v <- v_keep v + sum_b dv_b.
// The arithmetic is accumulate_sample's (math/sgd_update.h): the same helpers
// (add_output_term, error_from_outputs, w_coefficient_term, v_change_term,
// updated_v; summed_v_change adds the samples' v changes as accumulate_sample
// does) on the same values in the same order, each product and sum rounded
// on its own, so the numbers are those of the serial code bit for bit
// (tests/math/test_fused_step.cpp), up to the device's erf and exp; only the
// indexing is this file's. Spread over lanes, one step's K + M activations
// take the time of one instead of K + M one after the other.
#pragma once

#include "math/gaussian.h"
#include "math/hd.h"
#include "math/permutation.h"
#include "math/sgd_update.h"

namespace tsgd {

// Runs of one seed advanced by one block of the fused kernel.
constexpr int kFusedMaxRunsPerTask = 8;

// What a block knows about its task (in shared memory on the device). P is
// the compiled row bound (4, 8 or 16).
template <typename Real, int P>
struct FusedTaskState {
  SgdConstants<Real> c[kFusedMaxRunsPerTask];
  int run_start[kFusedMaxRunsPerTask + 1];  // first student row of each run; [nruns]: their end
  long long unit[P];                        // row p's global unit: run * units + unit in run
  int row_run[P];  // the run of row p (a shared teacher row: the first of its runs; they share g*)
  Real v[P];       // student rows: v_k (updated in place); teacher rows: v*_m
  Real w_keep[P];  // student rows: 1 - kappa_w / N of their run; teacher rows: 1
  Real v_keep[P];
  std::uint64_t seed;
  std::uint64_t train_size;  // P (0: online), shared by the task's runs
  const float* inputs;       // real inputs (RunParams::inputs), shared by the task's runs, or null
  const float* labels;       // labels from files (RunParams::labels), shared, or null
  long long step;            // SGD steps done (all runs of a task share it)
  int batch;                 // B, shared by the task's runs
  int nruns;
  int rows;
  unsigned student_mask;  // bit p: row p is a student row
  unsigned v_train_mask;  // bit p: row p is a student row whose run trains v
  int decay;              // some student row has w_keep != 1
  int noise;              // some run has sigma != 0: the step draws zeta
  // First teacher row of each run (its own, or one it shares). Last in the
  // struct: with it beside run_start, ptxas 13.0 spilled in the double kernels.
  int teacher_start[kFusedMaxRunsPerTask];
};

// One step's scratch, each array [B][P] but delta [B][kFusedMaxRunsPerTask]
// and zeta [B].
template <typename Real>
struct FusedScratch {
  Real* field;
  Real* g;
  Real* dg;
  Real* delta;
  Real* coef;
  Real* dv;
  Real* zeta;
  Real* label;  // [B]: the samples' labels from files (task.labels), else unused
};

// 0. b < B, when task.noise: the label noise of the step's sample b, zeta^mu
// of (seed, mu = first_sample + b) with the runs' transform.
template <typename Real, int P>
TSGD_HD TSGD_FORCEINLINE void fused_label_noise(const FusedTaskState<Real, P>& task,
                                                const FusedScratch<Real>& s,
                                                std::uint64_t first_sample, int b,
                                                RngTransform transform) {
  s.zeta[b] = static_cast<Real>(
      gaussian_at(task.seed, Stream::label_noise,
                  sample_index(task.seed, task.train_size, first_sample + b), 0, transform));
}

// 0'. b < B, when task.labels: the file label of the step's sample b, read
// as the CPU engine reads it (float to Real).
template <typename Real, int P>
TSGD_HD TSGD_FORCEINLINE void fused_sample_label(const FusedTaskState<Real, P>& task,
                                                 const FusedScratch<Real>& s,
                                                 std::uint64_t first_sample, int b) {
  s.label[b] =
      static_cast<Real>(task.labels[sample_index(task.seed, task.train_size, first_sample + b)]);
}

// 1. q = b * P + p, q < B * P: row p's activation and derivative at its field
// of sample b (0 for the rows past the task's own; 0 derivative for teacher
// rows); clears coef and dv. One call of g for student and teacher rows alike:
// lanes whose rows have the same activation (erf students and teachers) take
// one path through it, where a branch per layer made a warp issue g twice; in
// float one dispatch on the activation for g and g' (activation_pair), where
// a dispatch per function made the warp issue both switches.
template <typename Real, int P>
TSGD_HD TSGD_FORCEINLINE void fused_row_activation(const FusedTaskState<Real, P>& task,
                                                   const FusedScratch<Real>& s, int q) {
  const int p = q % P;
  Real g = Real(0), dg = Real(0);
  if (p < task.rows) {
    const SgdConstants<Real>& c = task.c[task.row_run[p]];
    const Real field = s.field[q];
    const bool student = ((task.student_mask >> p) & 1u) != 0;
    if constexpr (sizeof(Real) == 4) {
      activation_pair(student ? c.student : c.teacher, field, &g, &dg);
      if (!student) dg = Real(0);
    } else {  // with one dispatch ptxas 13.0 spills in the double 8-row kernel
      g = activation(student ? c.student : c.teacher, field);
      if (student) dg = activation_derivative(c.student, field);
    }
  }
  s.g[q] = g;
  s.dg[q] = dg;
  s.coef[q] = Real(0);
  s.dv[q] = Real(0);
}

// 2. q = r * B + b, q < nruns * B: Delta of run r's sample b, summed in the
// order of sample_error (zeta from stage 0).
template <typename Real, int P>
TSGD_HD TSGD_FORCEINLINE void fused_sample_error(const FusedTaskState<Real, P>& task,
                                                 const FusedScratch<Real>& s, int q) {
  const int B = task.batch;
  const int r = q / B, b = q % B;
  const SgdConstants<Real>& c = task.c[r];
  const int start = task.run_start[r];
  const Real* const g = s.g + b * P + start;
  const Real* const v = task.v + start;
  Real student = Real(0);
  for (int k = 0; k < c.K; ++k) student = add_output_term(student, v[k], g[k]);
  // Indexed from the run's first student row (as v and g), which keeps the
  // double kernels free of spills (ptxas 13.0; separate bases spilled).
  const int teacher = task.teacher_start[r] - start;
  // Labels from files stand where the teacher's output goes (math/sgd_update.h).
  const Real output =
      target_output(c.M, v + teacher, g + teacher, task.labels != nullptr ? &s.label[b] : nullptr);
  // zeta is addressed by (seed, mu): not drawing it when sigma = 0 shifts nothing.
  const Real zeta = c.sigma != Real(0) ? s.zeta[b] : Real(0);
  s.delta[b * kFusedMaxRunsPerTask + r] = error_from_outputs(student, output, c.sigma, zeta);
}

// 3. q = b * P + p, q < B * P: the update coefficients of student row p for
// sample b (accumulate_sample's "-=" on a zero).
template <typename Real, int P>
TSGD_HD TSGD_FORCEINLINE void fused_row_coefficients(const FusedTaskState<Real, P>& task,
                                                     const FusedScratch<Real>& s, int q) {
  const int b = q / P, p = q % P;
  if (p >= task.rows || ((task.student_mask >> p) & 1u) == 0) return;
  const int r = task.row_run[p];
  const SgdConstants<Real>& c = task.c[r];
  const Real delta = s.delta[b * kFusedMaxRunsPerTask + r];
  Real coef = Real(0), dv = Real(0);
  coef = rn_sub(coef, w_coefficient_term(c.w_rate, task.v[p], s.dg[q], delta));
  dv = rn_sub(dv, v_change_term(c.v_rate, s.g[q], delta));
  s.coef[q] = coef;
  s.dv[q] = dv;
}

// 4. p < rows, after every sample's coefficients (they read v): the second
// layer of a trained student row.
template <typename Real, int P>
TSGD_HD TSGD_FORCEINLINE void fused_update_v(FusedTaskState<Real, P>& task,
                                             const FusedScratch<Real>& s, int p) {
  if (((task.v_train_mask >> p) & 1u) == 0) return;
  const Real change = summed_v_change(s.dv, p, task.batch, P);
  task.v[p] = updated_v(task.v_keep[p], task.v[p], change);
}

}  // namespace tsgd
