// The coefficient stage of the fused CUDA kernel (math/fused_step.h), run on
// the host lane by lane as the kernel's warp runs it, against
// accumulate_sample (math/sgd_update.h), which the CPU engine uses: the same
// numbers bit for bit, in float and double, for tasks of several runs of
// mixed shapes, activations and training modes. This checks the kernel's
// indexing (rows, runs, samples) without a GPU; the kernel's loops and
// barriers around these functions are checked on the GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "math/fused_step.h"

using namespace tsgd;

namespace {

struct RunShape {
  int K, M;
  Activation student, teacher;
  bool train_v;
  double sigma, w_keep, v_keep;
};

template <typename Real>
bool same_bits(Real a, Real b) {
  return std::memcmp(&a, &b, sizeof(Real)) == 0;
}

// Builds a task of `shapes` (stacked rows: each run's students, then its own
// teachers, or with `shared_teacher` one set of teacher rows after all the
// students, as the kernel's thread 0 lays out runs of one teacher), random
// fields for B samples, runs the five stages lane by lane in the given lane
// order, and compares with accumulate_sample run by run.
template <typename Real, int P>
void check_task(const std::vector<RunShape>& shapes, int B, std::uint64_t seed,
                std::uint64_t first_sample, bool reverse_lanes, bool shared_teacher = false) {
  std::mt19937_64 rng(seed * 7919 + static_cast<std::uint64_t>(B));
  std::normal_distribution<double> normal(0.0, 1.0);
  FusedTaskState<Real, P> task{};
  task.seed = seed;
  task.step = 0;
  task.batch = B;
  task.nruns = static_cast<int>(shapes.size());
  int rows = 0;
  auto add_teacher = [&](int r, int M) {
    task.teacher_start[r] = rows;
    for (int m = 0; m < M; ++m, ++rows) {
      task.row_run[rows] = r;
      task.v[rows] = static_cast<Real>(1 + normal(rng));
      task.w_keep[rows] = Real(1);
      task.v_keep[rows] = Real(1);
    }
  };
  for (int r = 0; r < task.nruns; ++r) {
    const RunShape& shape = shapes[r];
    SgdConstants<Real>& c = task.c[r];
    c.student = shape.student;
    c.teacher = shape.teacher;
    c.w_rate = static_cast<Real>(0.3 + 0.1 * r);
    c.v_rate = static_cast<Real>(shape.train_v ? 0.02 + 0.01 * r : 0.0);
    c.w_keep = static_cast<Real>(shape.w_keep);
    c.v_keep = static_cast<Real>(shape.v_keep);
    c.sigma = static_cast<Real>(shape.sigma);
    c.K = shape.K;
    c.M = shape.M;
    task.run_start[r] = rows;
    for (int k = 0; k < shape.K; ++k, ++rows) {
      task.row_run[rows] = r;
      task.v[rows] = static_cast<Real>(normal(rng));
      task.w_keep[rows] = c.w_keep;
      task.v_keep[rows] = c.v_keep;
      task.student_mask |= 1u << rows;
      if (shape.train_v) task.v_train_mask |= 1u << rows;
    }
    if (!shared_teacher) add_teacher(r, shape.M);
  }
  if (shared_teacher) {
    add_teacher(0, shapes[0].M);
    for (int r = 1; r < task.nruns; ++r) {
      ASSERT_EQ(shapes[r].M, shapes[0].M);
      ASSERT_EQ(shapes[r].teacher, shapes[0].teacher);
      task.teacher_start[r] = task.teacher_start[0];
    }
  }
  ASSERT_LE(rows, P);
  task.run_start[task.nruns] = rows;
  task.rows = rows;

  std::vector<Real> field(B * P), g(B * P, Real(-7)), dg(B * P, Real(-7)), coef(B * P, Real(-7)),
      dv(B * P, Real(-7)), delta(B * kFusedMaxRunsPerTask, Real(-7)), zeta(B, Real(-7));
  for (int b = 0; b < B; ++b)
    for (int p = 0; p < P; ++p)
      field[b * P + p] = static_cast<Real>(p < rows ? 1.3 * normal(rng) : 0.0);
  FusedScratch<Real> s{field.data(), g.data(),  dg.data(),   delta.data(),
                       coef.data(),  dv.data(), zeta.data(), nullptr};  // no file labels
  const FusedTaskState<Real, P> before = task;

  // The four stages, each a loop over "lanes" (any order: within a stage,
  // lanes neither read what others write nor write the same place).
  auto lanes = [&](int count, auto body) {
    for (int i = 0; i < count; ++i) body(reverse_lanes ? count - 1 - i : i);
  };
  lanes(B, [&](int b) { fused_label_noise(task, s, first_sample, b, RngTransform::exact); });
  lanes(B * P, [&](int q) { fused_row_activation(task, s, q); });
  lanes(task.nruns * B, [&](int q) { fused_sample_error(task, s, q); });
  lanes(B * P, [&](int q) { fused_row_coefficients(task, s, q); });
  lanes(rows, [&](int p) { fused_update_v(task, s, p); });

  // The reference: accumulate_sample per run and sample, as the CPU engine
  // calls it (coefficients from zero per sample, v changes summed over samples).
  for (int r = 0; r < task.nruns; ++r) {
    const SgdConstants<Real>& c = before.c[r];
    const int start = before.run_start[r], teacher = before.teacher_start[r];
    std::vector<Real> v_change(c.K, Real(0));
    for (int b = 0; b < B; ++b) {
      const Real zeta =
          static_cast<Real>(gaussian_at(seed, Stream::label_noise, first_sample + b, 0));
      std::vector<Real> w_coefficient(c.K, Real(0));
      const Real* const fields = &field[b * P];
      const Real expected_delta =
          accumulate_sample(c, fields + start, &before.v[start], fields + teacher,
                            &before.v[teacher], zeta, w_coefficient.data(), v_change.data());
      const std::string where = "run " + std::to_string(r) + " sample " + std::to_string(b);
      EXPECT_TRUE(same_bits(delta[b * kFusedMaxRunsPerTask + r], expected_delta))
          << where << ": Delta " << delta[b * kFusedMaxRunsPerTask + r] << " vs " << expected_delta;
      for (int k = 0; k < c.K; ++k)
        EXPECT_TRUE(same_bits(coef[b * P + start + k], w_coefficient[k]))
            << where << " row " << k << ": coefficient " << coef[b * P + start + k] << " vs "
            << w_coefficient[k];
      for (int m = 0; m < c.M; ++m)
        EXPECT_EQ(coef[b * P + teacher + m], Real(0)) << where << ": teacher row";
    }
    for (int k = 0; k < c.K; ++k) {
      const Real expected = (before.v_train_mask >> (start + k)) & 1u
                                ? c.v_keep * before.v[start + k] + v_change[k]
                                : before.v[start + k];
      EXPECT_TRUE(same_bits(task.v[start + k], expected))
          << "run " << r << " v_" << k << ": " << task.v[start + k] << " vs " << expected;
    }
    for (int m = 0; m < c.M; ++m)
      EXPECT_EQ(task.v[teacher + m], before.v[teacher + m]) << "v* moved";
  }
  // Rows past the task's own: no update.
  for (int b = 0; b < B; ++b)
    for (int p = rows; p < P; ++p) EXPECT_EQ(coef[b * P + p], Real(0)) << "padding row " << p;
}

const std::vector<RunShape> kMixedTask = {
    {2, 2, Activation::erf, Activation::erf, false, 0.01, 1.0, 1.0},
    {3, 1, Activation::relu, Activation::relu, true, 0.1, 0.999, 0.998},
    {1, 2, Activation::linear, Activation::linear, true, 0.0, 1.0, 0.99},
    {2, 1, Activation::quad, Activation::erf, false, 0.3, 0.995, 1.0},
    {1, 1, Activation::erf, Activation::sign, true, 0.05, 1.0, 1.0},
};  // 16 rows

}  // namespace

TEST(FusedStep, MatchesAccumulateSampleBitwiseFloat) {
  for (int B : {1, 2, 5, 16})
    for (bool reverse : {false, true}) check_task<float, 16>(kMixedTask, B, 42, 1000 * B, reverse);
}

TEST(FusedStep, MatchesAccumulateSampleBitwiseDouble) {
  const std::vector<RunShape> eight(kMixedTask.begin() + 1, kMixedTask.begin() + 3);  // 7 rows
  for (int B : {1, 3, 16})
    for (bool reverse : {false, true})
      check_task<double, 8>(eight, B, 7, (1ull << 35) + B, reverse);
}

TEST(FusedStep, OneRunPerTaskInEveryRowClass) {
  // The usual case: one run, K + M rows in a block of the next row class.
  check_task<float, 4>({{2, 2, Activation::erf, Activation::erf, false, 0.01, 1.0, 1.0}}, 1, 3, 0,
                       false);
  check_task<float, 8>({{5, 2, Activation::erf, Activation::erf, true, 0.0, 1.0, 1.0}}, 1, 4, 99,
                       false);
  check_task<float, 16>({{8, 8, Activation::erf, Activation::erf, false, 0.01, 1.0, 1.0}}, 4, 5, 12,
                        true);
  check_task<double, 4>({{1, 1, Activation::relu, Activation::relu, true, 0.2, 0.9, 0.9}}, 2, 6, 7,
                        false);
}

TEST(FusedStep, RunsSharingOneTeacherMatchAccumulateSampleBitwise) {
  // Grid points of one seed with one teacher (M = 4, erf) held once after
  // the students, as the fused kernel lays out a grouped task: mixed K,
  // rates, training modes, noise and decay, 15 and 16 rows.
  const std::vector<RunShape> points = {
      {4, 4, Activation::erf, Activation::erf, false, 0.01, 1.0, 1.0},
      {3, 4, Activation::erf, Activation::erf, true, 0.0, 0.999, 0.998},
      {5, 4, Activation::relu, Activation::erf, true, 0.1, 1.0, 1.0}};
  for (int B : {1, 3, 16})
    for (bool reverse : {false, true}) {
      check_task<float, 16>(points, B, 11, 77 * B, reverse, true);
      check_task<double, 16>(points, B, 12, 5 * B, reverse, true);
    }
  // 8 rows: 2 + 1 + 3 students and one teacher of 2, a quad student among them.
  const std::vector<RunShape> eight = {
      {2, 2, Activation::erf, Activation::relu, false, 0.2, 1.0, 1.0},
      {1, 2, Activation::quad, Activation::relu, true, 0.0, 1.0, 0.99},
      {3, 2, Activation::linear, Activation::relu, false, 0.0, 0.995, 1.0}};
  check_task<float, 8>(eight, 2, 13, 0, false, true);
  check_task<double, 8>(eight, 1, 14, 3, true, true);
}

// Stage 1's single dispatch (activation_pair, math/activation.h) gives the
// bits of the two functions the CPU engine calls, for every activation, in
// both precisions, at ordinary and edge values (exact: the same expressions).
// This is the host's compile, which the emulated kernel runs; nvcc's is
// checked by the GPU tests' agreement with the CPU engine (test_cuda_engine.cpp).
template <typename Real>
void check_activation_pair() {
  const Real values[] = {
      Real(0),   -Real(0),   Real(1e-30), Real(-0.7),  Real(0.3),
      Real(2.5), Real(-4.0), Real(40),    Real(-1e30), std::numeric_limits<Real>::infinity()};
  for (Activation a :
       {Activation::erf, Activation::relu, Activation::linear, Activation::quad, Activation::sign})
    for (Real x : values) {
      Real g = Real(-7), dg = Real(-7);
      activation_pair(a, x, &g, &dg);
      EXPECT_TRUE(same_bits(g, activation(a, x))) << static_cast<int>(a) << " g at " << x;
      EXPECT_TRUE(same_bits(dg, activation_derivative(a, x)))
          << static_cast<int>(a) << " g' at " << x;
    }
}

TEST(FusedStep, ActivationPairIsBothFunctionsBitwise) {
  check_activation_pair<float>();
  check_activation_pair<double>();
}
