// The right-hand side of the order-parameter ODEs (theory/ode.h: OdeSystem,
// ode_rhs) against docs/theory.md §2 and §7: the sheet's test vectors, weight decay,
// the erf fast path against the generic integrals, the exact matrix form of
// linear networks with mini-batches, and the combinations it refuses.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/math_sheet.h"
#include "tests/support/theory_fixtures.h"
#include "theory/generalisation_error.h"
#include "theory/ode.h"

namespace tsgd {
namespace {

// docs/theory.md §7 right-hand-side test: K = M = 2, both layers, eta_w = 0.5, eta_v = 0.3, sigma =
// 0.2.
PointParams sheet_params(Activation g) {
  PointParams p;
  p.student_activation = p.teacher_activation = g;
  p.K = p.M = 2;
  p.train = TrainMode::both_layers;
  p.lr = 0.5;
  p.lr2 = 0.3;
  p.sigma = 0.2;
  p.weight_decay = p.weight_decay2 = 0.0;
  return p;
}

using testing::random_state;
using testing::sheet_state;

void expect_relative(double got, double want, double rel, const std::string& what) {
  EXPECT_NEAR(got, want, rel * std::abs(want)) << what;
}

struct SheetRhs {
  Activation g;
  double kw, kv;
  double dq[3], dr[4], dv[2];
  double rel;  // tolerance
};

TEST(OdeRhs, MathSheetVectors) {
  // docs/theory.md §7, values with 13 significant digits (erf, relu) or exact decimals (lin, quad):
  // 1e-11 relative for closed forms (table rounding 5e-13, rounding of the sums). ReLU:
  // the sheet's values used a 48-node Gauss-Legendre rule whose I4 carries <~1e-9 relative
  // error, so 1e-8 as the sheet recommends.
  const SheetRhs cases[] = {
      {Activation::erf,
       0.0,
       0.0,
       {-2.981255109615e-02, -1.188302957580e-01, -1.003518385958e-01},
       {1.025345371041e-01, 1.797505912740e-02, 1.031462049224e-01, 6.000785127429e-02},
       {-4.699715005682e-02, -7.624504321458e-02},
       1e-11},
      {Activation::linear,
       0.0,
       0.0,
       {-2.15775e-02, -7.68725e-02, -1.556775e-01},
       {2.565e-01, 7.2e-02, 3.135e-01, 8.8e-02},
       {-1.32e-01, -1.95e-01},
       1e-11},
      {Activation::relu,
       0.0,
       0.0,
       {-5.333210692839e-02, -1.073324164401e-01, -1.030759017737e-01},
       {8.154511234658e-02, 9.136071550832e-03, 6.364739130420e-02, 2.910365868535e-02},
       {-5.068344287636e-02, -6.539523596122e-02},
       1e-8},
      {Activation::quad,
       0.0,
       0.0,
       {5.3206542, 1.7909914, 5.2494057},
       {2.178e-01, -2.043e-01, -3.025e-01, 6.49e-02},
       {-3.066e-01, -1.917e-01},
       1e-11},
  };
  for (const SheetRhs& c : cases) {
    SCOPED_TRACE(to_string(c.g));
    PointParams p = sheet_params(c.g);
    OrderParameters d;
    ode_rhs(p, sheet_state(), d);
    expect_relative(d.Q[0], c.dq[0], c.rel, "dQ00");
    expect_relative(d.Q[1], c.dq[1], c.rel, "dQ01");
    expect_relative(d.Q[2], c.dq[1], c.rel, "dQ10 (mirrored)");
    expect_relative(d.Q[3], c.dq[2], c.rel, "dQ11");
    for (int j = 0; j < 4; ++j) expect_relative(d.R[j], c.dr[j], c.rel, "dR" + std::to_string(j));
    for (int j = 0; j < 2; ++j) expect_relative(d.v[j], c.dv[j], c.rel, "dv" + std::to_string(j));
    for (double t : d.T) EXPECT_EQ(t, 0.0);
  }
}

TEST(OdeRhs, MathSheetWeightDecay) {
  PointParams p = sheet_params(Activation::erf);
  p.weight_decay = 0.1;
  p.weight_decay2 = 0.05;
  OrderParameters d;
  ode_rhs(p, sheet_state(), d);
  // 13 significant digits in the sheet: 1e-11 relative.
  expect_relative(d.Q[0], -2.298125510961e-01, 1e-11, "dQ00");
  expect_relative(d.Q[1], -1.588302957580e-01, 1e-11, "dQ01");
  expect_relative(d.Q[3], -2.403518385958e-01, 1e-11, "dQ11");
  expect_relative(d.R[0], 4.253453710408e-02, 1e-11, "dR00");
  expect_relative(d.v[0], -9.199715005682e-02, 1e-11, "dv0");
  expect_relative(d.v[1], -1.312450432146e-01, 1e-11, "dv1");
}

TEST(OdeRhs, ErfFastPathMatchesGenericIntegrals) {
  // The erf right-hand side is rearranged for speed (ode.cpp); the generic path calls the
  // integrals of integrals.h one by one. Same formulas, different order: rounding only,
  // 1e-12 of the largest component.
  for (unsigned seed : {1u, 2u, 3u}) {
    PointParams p;
    p.K = 3 + seed % 2;
    p.M = 2;
    p.train = seed == 2 ? TrainMode::first_layer : TrainMode::both_layers;
    p.lr = 0.7;
    p.lr2 = 0.4;
    p.sigma = 0.3;
    p.batch_size = 2;
    p.weight_decay = 0.05;
    p.weight_decay2 = 0.02;
    const OrderParameters op = random_state(p.K, p.M, seed, 1.3);
    OrderParameters fast, generic;
    ode_rhs(p, op, fast);
    ode_rhs_generic(p, op, generic);
    double scale = 0.0;
    for (double x : generic.Q) scale = std::max(scale, std::abs(x));
    for (std::size_t j = 0; j < fast.Q.size(); ++j)
      EXPECT_NEAR(fast.Q[j], generic.Q[j], 1e-12 * scale);
    for (std::size_t j = 0; j < fast.R.size(); ++j)
      EXPECT_NEAR(fast.R[j], generic.R[j], 1e-12 * scale);
    for (std::size_t j = 0; j < fast.v.size(); ++j)
      EXPECT_NEAR(fast.v[j], generic.v[j], 1e-12 * scale);
  }
}

TEST(OdeRhs, ErfLargeStudentSameBitsOnAnyThreadCount) {
  // K = 30, M = 2: 465 student pairs x 496 field pairs, above the size from which one
  // right-hand side spreads its pairs over the threads. Each pair is summed by one thread
  // in a fixed order, so one and two threads give the same bits; and the vectorised
  // arcsines and 8 partial sums agree with the generic integrals to rounding
  // (1e-12 of the largest component, as above).
  PointParams p;
  p.K = 30;
  p.M = 2;
  p.train = TrainMode::both_layers;
  p.lr = 0.5;
  p.sigma = 0.1;
  const OrderParameters op = random_state(p.K, p.M, 4, 1.2);
  const int caller_threads = omp_get_max_threads();
  OrderParameters one, two, generic;
  omp_set_num_threads(1);
  ode_rhs(p, op, one);
  omp_set_num_threads(2);
  ode_rhs(p, op, two);
  omp_set_num_threads(caller_threads);
  EXPECT_EQ(one.Q, two.Q);
  EXPECT_EQ(one.R, two.R);
  EXPECT_EQ(one.v, two.v);
  ode_rhs_generic(p, op, generic);
  double scale = 0.0;
  for (double x : generic.Q) scale = std::max(scale, std::abs(x));
  for (std::size_t j = 0; j < one.Q.size(); ++j) EXPECT_NEAR(one.Q[j], generic.Q[j], 1e-12 * scale);
}

TEST(OdeRhs, LinearMatrixFormWithMiniBatch) {
  // docs/theory.md §2, exact for linear networks, with the mini-batch rule eta_w^2 -> eta_w^2 / B:
  //   dR = eta_w v (T v* - R^T v)^T
  //   dQ_ik = eta_w v_i [(R v*)_k - (Q v)_k] + eta_w v_k [(R v*)_i - (Q v)_i]
  //           + (eta_w^2 / B) v_i v_k (2 eps_g + sigma^2)
  //   dv = eta_v (R v* - Q v)
  PointParams p;
  p.student_activation = p.teacher_activation = Activation::linear;
  p.K = 3;
  p.M = 2;
  p.train = TrainMode::both_layers;
  p.lr = 0.4;
  p.lr2 = 0.25;
  p.sigma = 0.6;
  p.batch_size = 4;
  const OrderParameters op = random_state(3, 2, 9, 0.8);
  OrderParameters d;
  ode_rhs(p, op, d);
  const double eg = generalisation_error(op, Activation::linear, Activation::linear);
  std::vector<double> rv(3, 0.0), qv(3, 0.0), tv(2, 0.0), rtv(2, 0.0);
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k) qv[i] += op.q(i, k) * op.v[k];
  for (int i = 0; i < 3; ++i)
    for (int m = 0; m < 2; ++m) {
      rv[i] += op.r(i, m) * op.vstar[m];
      rtv[m] += op.r(i, m) * op.v[i];
    }
  for (int n = 0; n < 2; ++n)
    for (int m = 0; m < 2; ++m) tv[n] += op.t(n, m) * op.vstar[m];
  // Exact arithmetic identity: rounding of a few terms, 1e-14 absolute at O(1) values.
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) {
      const double want = p.lr * op.v[i] * (rv[k] - qv[k]) + p.lr * op.v[k] * (rv[i] - qv[i]) +
                          p.lr * p.lr / 4.0 * op.v[i] * op.v[k] * (2.0 * eg + p.sigma * p.sigma);
      EXPECT_NEAR(d.Q[i * 3 + k], want, 1e-14);
    }
    for (int m = 0; m < 2; ++m)
      EXPECT_NEAR(d.R[i * 2 + m], p.lr * op.v[i] * (tv[m] - rtv[m]), 1e-14);
    EXPECT_NEAR(d.v[i], p.lr2 * (rv[i] - qv[i]), 1e-14);
  }
}

TEST(OdeRhs, UnsupportedCombinations) {
  // Any teacher with any student but sign (mixed_integrals.h); a sign student is refused.
  PointParams p;
  EXPECT_EQ(ode_unsupported_reason(p), "");
  OrderParameters op = random_state(p.K, p.M, 1);
  for (Activation teacher :
       {Activation::erf, Activation::relu, Activation::linear, Activation::quad, Activation::sign})
    for (Activation student :
         {Activation::erf, Activation::relu, Activation::linear, Activation::quad}) {
      p.student_activation = student;
      p.teacher_activation = teacher;
      EXPECT_EQ(ode_unsupported_reason(p), "") << to_string(student) << "/" << to_string(teacher);
      OrderParameters d;
      ode_rhs(p, op, d);
      for (double x : d.Q) EXPECT_TRUE(std::isfinite(x));
    }
  p.student_activation = Activation::sign;
  EXPECT_NE(ode_unsupported_reason(p).find("no sign student"), std::string::npos);
  EXPECT_THROW(OdeSystem(p, op), std::invalid_argument);
}

TEST(OdeRhs, MixedPairLinearStudentInClosedForm) {
  // A linear student (g' = 1) and a quad teacher: by Stein I3(i,b,j) = C_bj for a student
  // j and I3(i,b,n) = <b rho_n^2> = 0 for a teacher n (an odd moment), likewise
  // I2(i,n) = 0, so dR_in = -eta v_i sum_j v_j R_jn and dv_i = -eta_v sum_j v_j Q_ij
  // exactly. Rounding only: 1e-14.
  PointParams p;
  p.K = 2;
  p.M = 2;
  p.student_activation = Activation::linear;
  p.teacher_activation = Activation::quad;
  p.train = TrainMode::both_layers;
  p.lr = 0.3;
  p.lr2 = 0.2;
  p.sigma = 0.1;
  const OrderParameters op = random_state(2, 2, 4);
  OrderParameters d;
  ode_rhs(p, op, d);
  for (int i = 0; i < 2; ++i) {
    double qv = 0.0;
    for (int j = 0; j < 2; ++j) qv += op.v[j] * op.q(i, j);
    EXPECT_NEAR(d.v[i], -p.lr2 * qv, 1e-14);
    for (int n = 0; n < 2; ++n) {
      double rv = 0.0;
      for (int j = 0; j < 2; ++j) rv += op.v[j] * op.r(j, n);
      EXPECT_NEAR(d.R[i * 2 + n], -p.lr * op.v[i] * rv, 1e-14);
    }
  }
}

}  // namespace
}  // namespace tsgd
