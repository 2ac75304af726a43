// Order-parameter states and grid points shared by the tests of the ODE, its
// fixed points and the asymptotic theory (tests/theory/).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/model.h"
#include "theory/fixed_point.h"
#include "theory/ode.h"

namespace tsgd::testing {

// Order parameters of explicit random weight vectors in dimension D (always a valid state).
inline OrderParameters random_state(int K, int M, unsigned seed, double teacher_v = 1.0) {
  const int D = 12;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> w(K * D), ws(M * D);
  for (double& x : w) x = u(rng) * 0.6;
  for (double& x : ws) x = u(rng) * 0.6;
  OrderParameters op;
  op.resize(K, M);
  auto dot = [&](const double* a, const double* b) {
    double s = 0;
    for (int d = 0; d < D; ++d) s += a[d] * b[d];
    return s;
  };
  for (int i = 0; i < K; ++i) {
    for (int k = 0; k < K; ++k) op.Q[i * K + k] = dot(&w[i * D], &w[k * D]);
    for (int m = 0; m < M; ++m) op.R[i * M + m] = dot(&w[i * D], &ws[m * D]);
    op.v[i] = 0.5 + 0.5 * u(rng);
  }
  for (int n = 0; n < M; ++n) {
    for (int m = 0; m < M; ++m) op.T[n * M + m] = dot(&ws[n * D], &ws[m * D]);
    op.vstar[n] = teacher_v;
  }
  return op;
}

// n record times from lo to hi, evenly spaced in log(alpha), the last exactly hi.
inline std::vector<double> log_spaced(double lo, double hi, int n) {
  std::vector<double> a(n);
  for (int i = 0; i < n; ++i) a[i] = lo * std::pow(hi / lo, static_cast<double>(i) / (n - 1));
  a.back() = hi;
  return a;
}

// The linear soft committee machine: linear student and teacher, first layer
// trained, learning rate eta, label noise sigma.
inline PointParams linear_scm(int K, int M, double eta, double sigma) {
  PointParams p;
  p.student_activation = p.teacher_activation = Activation::linear;
  p.K = K;
  p.M = M;
  p.lr = eta;
  p.sigma = sigma;
  p.train = TrainMode::first_layer;
  return p;
}

// The noise-free fixed point reached by the ODE from EXPECTED's initial state, then Newton.
inline FixedPointResult noise_free_fixed_point(PointParams p, double alpha) {
  p.sigma = 0.0;
  const OdeResult r = integrate_ode(p, expected_initial_state(p), {alpha}, OdeSettings{});
  EXPECT_FALSE(r.diverged);
  return find_fixed_point(p, r.states.back());
}

}  // namespace tsgd::testing
