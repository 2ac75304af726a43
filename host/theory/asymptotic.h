// Closed-form asymptotic generalisation errors eps* (the stationary eps_g at long
// times) from Goldt et al. 2020 and docs/theory.md §6, reported only where they hold.
//
// Every formula states its conditions and each is checked at the grid point; a
// formula whose conditions do not all hold is not reported as theory but listed as
// skipped with the first condition that fails (summary.json "theory_skipped"). The
// conditions, per formula:
//   - the model the formula is about (activations, which layers are trained, second
//     layers, M, K >= M where the student must be able to represent the teacher);
//   - no weight decay (with decay the noise-free fixed point has eps_g > 0, and the
//     formulas give only the noise's excess over it);
//   - a converged, attracting noise-free fixed point with zero error (the small-eta
//     rule, evaluated there);
//   - for a formula that is the leading order in eta: eta small enough that the next
//     order is below kLeadingOrderTolerance of it. The reference is the first order in
//     sigma^2 of the ODE's fixed point at the point's own eta (noise_response in
//     fixed_point.h, exact in eta), or the exact eq. (12) for eq. (13).
//
// With mini-batches of B samples the eta_w^2 terms of the ODE carry 1/B (docs/theory.md §2),
// and every formula below is stated with that factor (B = 1 in the paper).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/model.h"
#include "theory/fixed_point.h"

namespace tsgd {

// A leading-order formula is reported while |reference / leading - 1| <= this: the
// orders beyond the leading one are at most 10% of it.
inline constexpr double kLeadingOrderTolerance = 0.1;

struct TheoryPrediction {
  std::string formula;     // e.g. "eq. (12)": which result
  double eg = 0.0;         // predicted eps*
  bool exact = false;      // exact, or the leading order in eta
  std::string conditions;  // what the prediction assumes (each checked), for the reader
};

// A formula whose conditions do not all hold here, and the first that fails.
struct TheorySkipped {
  std::string formula;
  std::string failed;
};

struct TheoryReport {
  std::vector<TheoryPrediction> holds;
  std::vector<TheorySkipped> skipped;
  void append(const TheoryReport& other);
};

// The closed forms, each either holding or skipped:
//  eq. (12), linear SCM, exact:  eps* = eta K v^2 sigma^2 / (4B - 2 eta K v^2).
//    Linear student and teacher, first layer only, every student v_k equal to v (uniform
//    student_v_init: v = student_v times the output scaling; denoise init: v = v*/(K/M)
//    when M divides K and v* is uniform; v = 1 in the paper, where K = L + M), no
//    first-layer weight decay, eta K v^2 < 2B. Any teacher v*, any T and
//    any initial state: eps_g obeys the closed ODE
//    d eps/d alpha = -2 eta K v^2 eps + (eta^2 K^2 v^4 / (2B)) (2 eps + sigma^2).
//  eq. (13), its small-eta limit: eps* = eta K v^2 sigma^2 / (4B) (same conditions, and
//    eq. (12) / eq. (13) - 1 = eta K v^2 / (2B - eta K v^2) <= kLeadingOrderTolerance).
//  eq. (11), erf SCM, leading order in eta: eps* = sigma^2 eta (L + M/sqrt3) / (2 pi B).
//    erf student and teacher, first layer only, v_k = v*_m = 1 (uniform, after output
//    scaling), no weight decay, K >= M, L = K - M, teacher T = I (the expected
//    teacher; a measured T differs at O(1/sqrt N)). For L >= 2 the differences of the
//    extra units are marginal and the ODE can drift below (docs/theory.md §6.4).
//  eq. (15), erf, both layers, M = 1, leading order: eps* = eta (sigma v*)^2 / (2 sqrt3 K pi B).
//    erf student and teacher, both layers with lr2 = lr, no weight decay, T = 1, at the
//    fixed point where all students equal the teacher and v_k = v*/K (reached slowly
//    from generic initial conditions; docs/theory.md §6.5).
// A finite training set (p.train_size > 0) skips every formula: they hold for
// online learning only.
TheoryReport asymptotic_theory(const PointParams& p);

// The general small-eta rule (docs/theory.md §6.6):
//   eps* = (eta_w sigma^2 / (4B)) sum_k v_k^2 J2(k,k)
// evaluated at a noise-free fixed point. It gives eqs. (11), (13) and (15) at their
// fixed points. Throws std::invalid_argument for a sign student.
double small_eta_rule(const PointParams& p, const OrderParameters& noise_free_fixed_point);

// The name under which the rule is reported.
inline constexpr const char* kSmallEtaRule = "small-eta rule";

// The small-eta rule at NOISE_FREE (Newton at sigma = 0 from the ODE's end state), as
// one entry: holding when the fixed point converged, attracts, is physical and has
// zero error, there is label noise and no weight decay, and eta is within the
// leading-order tolerance; else skipped with the failing condition.
TheoryReport small_eta_theory(const PointParams& p, const FixedPointResult& noise_free);
// The same with the fixed point computed only when the conditions that do not need it
// (label noise, no weight decay) hold: Newton costs O(K^6) at large K.
TheoryReport small_eta_theory(const PointParams& p,
                              const std::function<FixedPointResult()>& noise_free);

// The small-eta rule skipped for a reason found before any fixed point (no ODE, ...).
TheoryReport small_eta_unavailable(const std::string& why);

}  // namespace tsgd
