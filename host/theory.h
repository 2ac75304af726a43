// Closed-form asymptotic generalisation errors eps* (the stationary eps_g at long
// times) from Goldt et al. 2020 and MATH.md §6, for the grid points where they apply.
//
// With mini-batches of B samples the eta_w^2 terms of the ODE carry 1/B (MATH.md §2),
// and every formula below is stated with that factor (B = 1 in the paper).
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace tsgd {

struct TheoryPrediction {
  std::string formula;     // e.g. "eq. (12)": which result
  double eg = 0.0;         // predicted eps*
  bool exact = false;      // exact, or the leading order in eta
  std::string conditions;  // what the prediction assumes, for the reader of the summary
};

// The predictions whose conditions hold for p (empty if none):
//  eq. (12), linear SCM, exact:  eps* = eta K v^2 sigma^2 / (4B - 2 eta K v^2).
//    Linear student and teacher, first layer only, every student v_k equal to v (uniform
//    student_v_init: v = student_v times the output scaling; denoise init: v = v*/(K/M)
//    when M divides K and v* is uniform; v = 1 in the paper, where K = L + M), no
//    first-layer weight decay, eta K v^2 < 2B. Any teacher v*, any T and
//    any initial state: eps_g obeys the closed ODE
//    d eps/d alpha = -2 eta K v^2 eps + (eta^2 K^2 v^4 / (2B)) (2 eps + sigma^2).
//  eq. (13), its small-eta limit: eps* = eta K v^2 sigma^2 / (4B) (same conditions).
//  eq. (11), erf SCM, leading order in eta: eps* = sigma^2 eta (L + M/sqrt3) / (2 pi B).
//    erf student and teacher, first layer only, v_k = v*_m = 1 (uniform, after output
//    scaling), no weight decay, K >= M, L = K - M, teacher T = I (the expected
//    teacher; a measured T differs at O(1/sqrt N)). For L >= 2 the differences of the
//    extra units are marginal and the ODE can drift below (MATH.md §6).
//  eq. (15), erf, both layers, M = 1, leading order: eps* = eta (sigma v*)^2 / (2 sqrt3 K pi B).
//    erf student and teacher, both layers with lr2 = lr, no weight decay, T = 1, at the
//    fixed point where all students equal the teacher and v_k = v*/K (reached slowly
//    from generic initial conditions; MATH.md §6).
std::vector<TheoryPrediction> asymptotic_theory(const PointParams& p);

// The general small-eta rule (MATH.md §6):
//   eps* = (eta_w sigma^2 / (4B)) sum_k v_k^2 J2(k,k)
// evaluated at a noise-free fixed point (e.g. fixed_point.h with sigma = 0). It gives
// eqs. (11), (13) and (15) at their fixed points. Throws std::invalid_argument for a
// sign student.
double small_eta_rule(const PointParams& p, const OrderParameters& noise_free_fixed_point);

}  // namespace tsgd
