// The step constants of math/sgd_update.h for one grid point
// (docs/theory.md §1), computed in double and rounded once to the engine's precision.
// Shared by the CPU and CUDA engines (host code only).
#pragma once

#include <cmath>

#include "core/model.h"
#include "math/sgd_update.h"

namespace tsgd {

template <typename Real>
SgdConstants<Real> sgd_constants(const PointParams& p) {
  const double n = p.N, b = p.batch_size;
  const bool both = p.train == TrainMode::both_layers;
  SgdConstants<Real> c;
  c.student = p.student_activation;
  c.teacher = p.teacher_activation;
  c.w_rate = static_cast<Real>(p.lr / (std::sqrt(n) * b));         // eta_w / (sqrt(N) B)
  c.v_rate = both ? static_cast<Real>(p.lr2 / (n * b)) : Real(0);  // eta_v / (N B)
  c.w_keep = static_cast<Real>(1.0 - p.weight_decay / n);          // 1 - kappa_w / N
  c.v_keep = both ? static_cast<Real>(1.0 - p.weight_decay2 / n) : Real(1);
  c.sigma = static_cast<Real>(p.sigma);
  c.K = p.K;
  c.M = p.M;
  return c;
}

}  // namespace tsgd
