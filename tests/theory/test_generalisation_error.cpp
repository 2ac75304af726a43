// The generalisation error (theory/generalisation_error.h) in closed form:
// docs/theory.md §7's test vectors, the exact matrix form of linear networks, and
// seeded Monte Carlo estimates for mixed activations and for a trained student.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "core/initial_weights.h"
#include "engines/cpu_engine.h"
#include "math/activation.h"
#include "tests/support/math_sheet.h"
#include "tests/support/monte_carlo.h"
#include "theory/generalisation_error.h"

namespace tsgd {
namespace {

using testing::Gaussian;
using testing::Moments;
using testing::sheet_state;

TEST(GeneralisationError, MathSheetVectors) {
  const OrderParameters op = sheet_state();
  struct Case {
    Activation g;
    double eg;
  };
  const Case cases[] = {{Activation::erf, 3.269387864825e-01},
                        {Activation::linear, 9.045e-01},
                        {Activation::relu, 3.297950851115e-01},
                        {Activation::quad, 2.00615}};
  for (const Case& c : cases) {
    SCOPED_TRACE(to_string(c.g));
    // 13 significant digits in the sheet; closed forms, rounding only.
    EXPECT_NEAR(generalisation_error(op, c.g, c.g), c.eg, 1e-11 * c.eg);
  }
}

TEST(GeneralisationError, LinearMatrixForm) {
  // eps_g = 1/2 (v^T Q v + v*^T T v* - 2 v^T R v*), exact.
  const OrderParameters op = sheet_state();
  double vqv = 0, tt = 0, vrv = 0;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 2; ++k) {
      vqv += op.v[i] * op.q(i, k) * op.v[k];
      tt += op.vstar[i] * op.t(i, k) * op.vstar[k];
      vrv += op.v[i] * op.r(i, k) * op.vstar[k];
    }
  EXPECT_NEAR(generalisation_error(op, Activation::linear, Activation::linear),
              0.5 * (vqv + tt - 2.0 * vrv), 1e-15);
}

TEST(GeneralisationError, MixedActivationsMonteCarlo) {
  // Students and teachers as explicit vectors in R^3 (N = 3 dimensions suffice for the
  // local fields' covariance): a relu student of K = 2 against an erf, then a sign teacher.
  const double w[2][3] = {{0.9, 0.3, -0.2}, {-0.1, 0.8, 0.5}};
  const double ws[2][3] = {{1.0, 0.0, 0.0}, {0.2, 0.0, 0.9}};
  OrderParameters op;
  op.resize(2, 2);
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 2; ++k) {
      double q = 0, r = 0, t = 0;
      for (int d = 0; d < 3; ++d) {
        q += w[i][d] * w[k][d];
        r += w[i][d] * ws[k][d];
        t += ws[i][d] * ws[k][d];
      }
      op.Q[i * 2 + k] = q;
      op.R[i * 2 + k] = r;
      op.T[i * 2 + k] = t;
    }
  op.v = {0.7, 1.2};
  op.vstar = {1.0, -0.5};
  for (Activation teacher : {Activation::erf, Activation::sign, Activation::quad}) {
    SCOPED_TRACE(to_string(teacher));
    Gaussian z(5);
    Moments m;
    for (long s = 0; s < 1000000; ++s) {
      const double x[3] = {z(), z(), z()};
      double out = 0.0;
      for (int i = 0; i < 2; ++i) {
        const double lam = w[i][0] * x[0] + w[i][1] * x[1] + w[i][2] * x[2];
        const double rho = ws[i][0] * x[0] + ws[i][1] * x[1] + ws[i][2] * x[2];
        out += op.v[i] * activation(Activation::relu, lam) - op.vstar[i] * activation(teacher, rho);
      }
      m.add(0.5 * out * out);
    }
    // 1e6 samples, 4 standard errors.
    EXPECT_NEAR(generalisation_error(op, Activation::relu, teacher), m.mean(),
                4.0 * m.standard_error());
  }
  EXPECT_TRUE(generalisation_error_defined(Activation::relu, Activation::sign));
  EXPECT_FALSE(generalisation_error_defined(Activation::sign, Activation::erf));
}

TEST(GeneralisationError, ClosedFormMatchesMonteCarloTestError) {
  // A student trained for a while, then eps_g = <(phi - phi*)^2>/2 estimated on
  // 1e6 fresh inputs from an independent generator: the closed form must lie
  // within 4 standard errors of the estimate.
  for (auto [student, teacher] :
       {std::pair{Activation::erf, Activation::erf}, std::pair{Activation::relu, Activation::relu},
        std::pair{Activation::erf, Activation::sign}}) {
    RunSpec spec{0, 9, PointParams{}};
    spec.params.N = 100;
    spec.params.K = 3;
    spec.params.M = 2;
    spec.params.lr = 0.3;
    spec.params.student_activation = student;
    spec.params.teacher_activation = teacher;
    spec.params.train = TrainMode::both_layers;
    auto engine = make_cpu_engine(Precision::float64, 1);
    engine->load({spec});
    engine->advance(3000);
    std::vector<OrderParameters> op;
    engine->order_parameters(op);
    InitialWeights w;
    cpu_engine_weights(*engine, 0, w);
    const int N = 100, K = 3, M = 2, samples = 1000000;
    std::mt19937_64 rng(2024);
    std::normal_distribution<double> normal;
    std::vector<double> x(N);
    double sum = 0, sum2 = 0;
    for (int s = 0; s < samples; ++s) {
      for (double& xi : x) xi = normal(rng);
      double out = 0;
      for (int k = 0; k < K; ++k) {
        double l = 0;
        for (int i = 0; i < N; ++i) l += w.w[k * N + i] * x[i];
        out += w.v[k] * activation<double>(student, l / std::sqrt(double(N)));
      }
      for (int m = 0; m < M; ++m) {
        double r = 0;
        for (int i = 0; i < N; ++i) r += w.wstar[m * N + i] * x[i];
        out -= w.vstar[m] * activation<double>(teacher, r / std::sqrt(double(N)));
      }
      const double e = 0.5 * out * out;
      sum += e;
      sum2 += e * e;
    }
    const double mean = sum / samples, se = std::sqrt((sum2 / samples - mean * mean) / samples);
    const double closed = generalisation_error(op[0], student, teacher);
    EXPECT_NEAR(closed, mean, 4 * se)
        << to_string(student) << "/" << to_string(teacher) << " se " << se;
    EXPECT_GT(mean, 10 * se);  // a non-trivial error, measured to better than 10%
  }
}

}  // namespace
}  // namespace tsgd
