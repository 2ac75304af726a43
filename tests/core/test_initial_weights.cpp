// The initial weights of a run (core/initial_weights.h): the Gaussian teacher
// is the raw draws of the run's identity, and the orthonormal teacher
// (model.teacher_init) those rows orthonormalised to T = I exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "core/initial_weights.h"
#include "math/gaussian.h"

using namespace tsgd;

namespace {

RunSpec teacher_run(std::uint64_t seed, int N, int M, TeacherInit init) {
  RunSpec run{0, seed, PointParams{}};
  run.params.N = N;
  run.params.M = M;
  run.params.K = 3;
  run.params.teacher_init = init;
  return run;
}

double dot(const double* a, const double* b, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

TEST(InitialWeights, GaussianTeacherIsTheRawDrawsOfTheRunIdentity) {
  // The default teacher, which every run before teacher_init existed used.
  const RunSpec run = teacher_run(5, 37, 3, TeacherInit::gaussian);
  const InitialWeights w = initial_weights(run);
  for (int m = 0; m < 3; ++m)
    for (int i = 0; i < 37; ++i)
      ASSERT_EQ(w.wstar[m * 37 + i], static_cast<double>(gaussian_at(5, Stream::teacher_w, m, i)))
          << m << " " << i;
}

TEST(InitialWeights, OrthonormalTeacherHasTEqualToTheIdentity) {
  const int N = 300, M = 4;
  const OrderParameters orthonormal =
      initial_order_parameters(teacher_run(0, N, M, TeacherInit::orthonormal));
  const OrderParameters gaussian =
      initial_order_parameters(teacher_run(0, N, M, TeacherInit::gaussian));
  // T is a sum of N = 300 products of O(1) terms, divided by N, in double: rounding
  // ~ N * 1e-16 at worst, far below 1e-12.
  for (int n = 0; n < M; ++n)
    for (int m = 0; m < M; ++m)
      EXPECT_NEAR(orthonormal.t(n, m), n == m ? 1.0 : 0.0, 1e-12) << n << " " << m;
  // The Gaussian teacher of the same seed is off by its finite-N spread (std
  // sqrt(2/N) = 0.08 on the diagonal, 1/sqrt(N) = 0.06 off it): the test can fail.
  double largest_gap = 0;
  for (int n = 0; n < M; ++n)
    for (int m = 0; m < M; ++m)
      largest_gap = std::max(largest_gap, std::fabs(gaussian.t(n, m) - (n == m ? 1.0 : 0.0)));
  EXPECT_GT(largest_gap, 0.01);
}

TEST(InitialWeights, OrthonormalTeacherComesFromTheRunIdentity) {
  const int N = 300, M = 4;
  const std::size_t n = N;
  const auto teacher = [&](std::uint64_t seed, int units, TeacherInit init) {
    return initial_weights(teacher_run(seed, N, units, init)).wstar;
  };
  const std::vector<double> a = teacher(7, M, TeacherInit::orthonormal);
  EXPECT_EQ(a, teacher(7, M, TeacherInit::orthonormal));  // same seed: bitwise the same
  EXPECT_NE(a, teacher(8, M, TeacherInit::orthonormal));
  // Row 0 keeps the direction of the Gaussian row 0: cosine 1 to rounding.
  const std::vector<double> g = teacher(7, M, TeacherInit::gaussian);
  const double cosine =
      dot(&a[0], &g[0], N) / std::sqrt(dot(&a[0], &a[0], N) * dot(&g[0], &g[0], N));
  EXPECT_NEAR(cosine, 1.0, 1e-14);
  // Row m depends on rows 0..m only, not on M (the CPU engine computes the teacher
  // fields of one seed's runs from the member with the largest M): bitwise equal.
  const std::vector<double> two = teacher(7, 2, TeacherInit::orthonormal);
  EXPECT_TRUE(std::equal(two.begin(), two.end(), a.begin()));
  EXPECT_NE(a[2 * n], g[2 * n]);  // the later rows did move
}

TEST(InitialWeights, InformedStudentsCopyTheOrthonormalTeacher) {
  RunSpec run = teacher_run(3, 50, 2, TeacherInit::orthonormal);
  run.params.init = InitKind::informed;
  run.params.init_scale = 1e-3;
  const OrderParameters op = initial_order_parameters(run);
  // R_kk = T_kk + s G.w*_k / N with s = 1e-3: within 1e-3 * (a few) / sqrt(N) of 1.
  EXPECT_NEAR(op.r(0, 0), 1.0, 2e-3);
  EXPECT_NEAR(op.r(1, 1), 1.0, 2e-3);
  // Students drawn without the teacher are the same for both teachers.
  RunSpec gaussian = run;
  gaussian.params.teacher_init = TeacherInit::gaussian;
  gaussian.params.init = run.params.init = InitKind::large;
  EXPECT_EQ(initial_weights(run).w, initial_weights(gaussian).w);
}

TEST(InitialWeights, OrthonormalTeacherNeedsMAtMostN) {
  EXPECT_NO_THROW(initial_weights(teacher_run(1, 4, 4, TeacherInit::orthonormal)));
  EXPECT_THROW(initial_weights(teacher_run(1, 4, 5, TeacherInit::orthonormal)),
               std::invalid_argument);
  // M = N: the rows span the whole space, still orthonormal to rounding.
  const OrderParameters op =
      initial_order_parameters(teacher_run(1, 4, 4, TeacherInit::orthonormal));
  for (int n = 0; n < 4; ++n)
    for (int m = 0; m < 4; ++m) EXPECT_NEAR(op.t(n, m), n == m ? 1.0 : 0.0, 1e-12);
}
