#include "theory/asymptotic.h"

#include <cmath>
#include <cstdio>
#include <exception>

#include "core/initial_weights.h"
#include "theory/conditions.h"
#include "theory/constants.h"
#include "theory/first_order.h"
#include "theory/integrals.h"

namespace tsgd {

using namespace theory_detail;

namespace {

// Empty when the leading order in eta, LEADING_PER_SIGMA2 * sigma^2, is within
// kLeadingOrderTolerance of the first order in sigma^2 of the fixed point at the
// point's eta (noise_response at the noise-free fixed point X0); else why not.
std::string next_order_failure(const PointParams& p, const OrderParameters& x0,
                               double leading_per_sigma2) {
  NoiseResponse r;
  try {
    r = noise_response(p, x0);
  } catch (const std::exception& e) {
    return "needs the first order in sigma^2 at this eta to bound the next order in eta, which "
           "failed: " +
           std::string(e.what());
  }
  // J delta = -F1 solved only in the least-squares sense: the noise drives a direction
  // the noise-free dynamics does not restore, so there is no stationary first order.
  if (r.max_real_eigenvalue > kMarginalEigenvalue)
    return "needs a noise-free fixed point that attracts at this eta (here its largest eigenvalue "
           "has real part " +
           num(r.max_real_eigenvalue) + ")";
  if (!r.derivative_failure.empty())
    return "needs the first order in sigma^2 at this eta to bound the next order in eta, which "
           "failed: " +
           r.derivative_failure;
  if (r.residual > 1e-6)
    return "needs a stationary first order in sigma^2 at this eta (the noise drives a "
           "marginal direction of the noise-free fixed point: residual " +
           num(r.residual) + ")";
  if (!(r.deg_dsigma2 > 0))
    return "needs a positive first order in sigma^2 at this eta (here d eps*/d sigma^2 = " +
           num(r.deg_dsigma2) + ")";
  // The orders beyond the leading one, relative to it.
  const double relative = std::abs(r.deg_dsigma2 / leading_per_sigma2 - 1.0);
  if (relative > kLeadingOrderTolerance)
    return "needs eta small enough for the leading order: the next order is " +
           num(100.0 * relative) + "% of the leading order at eta = " + num(p.lr) +
           " (first order in sigma^2: " + num(r.deg_dsigma2) + " sigma^2), above " +
           num(100.0 * kLeadingOrderTolerance) + "%";
  return "";
}

// The same at the symmetric noise-free fixed point of the formula (first_order.h).
std::string next_order_failure(const PointParams& p, double leading_per_sigma2) {
  std::string why;
  const std::optional<OrderParameters> x0 = symmetric_fixed_point(p, &why);
  if (!x0)
    return "needs the symmetric noise-free fixed point to bound the next order in eta (" + why +
           ")";
  return next_order_failure(p, *x0, leading_per_sigma2);
}

std::string next_order_condition() {
  return "next order in eta below " + num(100.0 * kLeadingOrderTolerance) +
         "% (checked against the first order in sigma^2 at this eta)";
}

}  // namespace

void TheoryReport::append(const TheoryReport& other) {
  holds.insert(holds.end(), other.holds.begin(), other.holds.end());
  skipped.insert(skipped.end(), other.skipped.begin(), other.skipped.end());
}

namespace {

// The second layers the formulas assume, as the point sets them up.
struct SecondLayers {
  bool teacher_uniform = false;  // uniform, or flip_half with M = 1 (nothing flipped)
  double vstar = 0.0;            // the teacher's v*_m, after output scaling
  // The students' v_k with only the first layer trained, when all units share one
  // value (initial_weights.h): denoise init gives v*_m / copies(m), equal when the
  // teacher is uniform and M divides K; every other init the student_v rule, equal
  // when it is uniform.
  bool student_uniform = false;
  double v = 0.0;
};

SecondLayers second_layers(const PointParams& p) {
  SecondLayers s;
  s.teacher_uniform = p.teacher_v_init == SecondLayerInit::uniform ||
                      (p.teacher_v_init == SecondLayerInit::flip_half && p.M == 1);
  s.vstar = p.teacher_v * output_scale(p.output_scaling, p.M);
  if (p.init == InitKind::file) {
    // Its second layer may come from the file, which merging results does not read:
    // not assumed uniform, so that a run and its merge report the same entries.
    s.student_uniform = false;
  } else if (p.init == InitKind::denoise) {
    s.student_uniform = s.teacher_uniform && p.K % p.M == 0;
    if (s.student_uniform) s.v = s.vstar / (p.K / p.M);
  } else {
    s.student_uniform = p.student_v_init == SecondLayerInit::uniform;
    s.v = p.student_v * output_scale(p.output_scaling, p.K);
  }
  return s;
}

bool both_are(const PointParams& p, Activation g) {
  return p.student_activation == g && p.teacher_activation == g;
}

// Linear SCM: eqs. (12) and (13).
void linear_scm_theory(const PointParams& p, const SecondLayers& s, TheoryReport& out) {
  const double B = p.batch_size, s2 = p.sigma * p.sigma;
  const double rate = p.lr * p.K * s.v * s.v;  // effective learning rate of w_eff = v sum_k w_k
  Conditions c;
  c.require(both_are(p, Activation::linear), "linear student and teacher", pair_name(p))
      .require(p.train == TrainMode::first_layer, "first layer only", "both layers trained")
      .require(s.student_uniform, "every student v_k equal", "student second layer not uniform")
      .require(p.weight_decay == 0.0, "no weight decay", "weight_decay = " + num(p.weight_decay))
      .require(rate < 2.0 * B, "eta K v^2 < 2B (v = " + num(s.v) + ")",
               "eta K v^2 = " + num(rate) + ", 2B = " + num(2 * B));
  report(out, "eq. (12)", c, rate * s2 / (4.0 * B - 2.0 * rate), true);
  // eq. (12) / eq. (13) - 1 = eta K v^2 / (2B - eta K v^2): the orders beyond the first.
  const double next = rate / (2.0 * B - rate);
  c.require(next <= kLeadingOrderTolerance,
            "next order in eta below " + num(100.0 * kLeadingOrderTolerance) +
                "% (eq. (12) / eq. (13) - 1)",
            "eq. (12) / eq. (13) - 1 = " + num(next));
  report(out, "eq. (13)", c, rate * s2 / (4.0 * B), false, "; leading order in eta of eq. (12)");
}

// erf SCM, first layer: eq. (11).
void erf_scm_theory(const PointParams& p, const SecondLayers& s, TheoryReport& out) {
  const int K = p.K, M = p.M;
  const double L = K - M;
  const double per_sigma2 = p.lr * (L + M / std::sqrt(3.0)) / (2.0 * kPi * p.batch_size);
  Conditions c;
  c.require(both_are(p, Activation::erf), "erf student and teacher", pair_name(p))
      .require(p.train == TrainMode::first_layer, "first layer only", "both layers trained")
      .require(s.student_uniform && s.v == 1.0, "every student v_k = 1",
               s.student_uniform ? "v = " + num(s.v) : "student second layer not uniform")
      .require(s.teacher_uniform && s.vstar == 1.0, "every teacher v*_m = 1",
               s.teacher_uniform ? "v* = " + num(s.vstar) : "teacher second layer not uniform")
      .unless(assumed_teacher_failure(p))
      .require(p.weight_decay == 0.0, "no weight decay", "weight_decay = " + num(p.weight_decay))
      .require(K >= M, "K >= M (a student that can represent the teacher)",
               "K = " + std::to_string(K) + ", M = " + std::to_string(M));
  if (c.hold()) c.require_message(next_order_failure(p, per_sigma2), next_order_condition());
  report(
      out, "eq. (11)", c, p.sigma * p.sigma * per_sigma2, false,
      "; teacher T = I; leading order in eta" +
          std::string(
              K - M >= 2
                  ? "; L >= 2: the extra units' differences are marginal, the ODE may drift below"
                  : ""));
}

// erf, both layers, M = 1: eq. (15).
void erf_both_layers_theory(const PointParams& p, const SecondLayers& s, TheoryReport& out) {
  const double per_sigma2 =
      p.lr * s.vstar * s.vstar / (2.0 * std::sqrt(3.0) * p.K * kPi * p.batch_size);
  Conditions c;
  c.require(both_are(p, Activation::erf), "erf student and teacher", pair_name(p))
      .require(p.train == TrainMode::both_layers, "both layers trained", "first layer only")
      .require(p.M == 1, "M = 1", "M = " + std::to_string(p.M))
      .unless(assumed_teacher_failure(p))
      .require(s.teacher_uniform, "uniform teacher second layer",
               "teacher second layer not uniform")
      .require(p.lr2 == p.lr, "lr2 = lr", "lr2 = " + num(p.lr2) + ", lr = " + num(p.lr))
      .require(
          p.weight_decay == 0.0 && p.weight_decay2 == 0.0, "no weight decay",
          "weight_decay = " + num(p.weight_decay) + ", weight_decay2 = " + num(p.weight_decay2));
  if (c.hold()) c.require_message(next_order_failure(p, per_sigma2), next_order_condition());
  report(
      out, "eq. (15)", c, p.sigma * p.sigma * per_sigma2, false,
      "; T = 1; at the fixed point with identical students and v_k = v*/K; leading order in eta");
}

}  // namespace

TheoryReport asymptotic_theory(const PointParams& p) {
  TheoryReport out;
  if (p.K < 1 || p.M < 1 || p.batch_size < 1) return out;
  const SecondLayers s = second_layers(p);
  linear_scm_theory(p, s, out);
  erf_scm_theory(p, s, out);
  erf_both_layers_theory(p, s, out);
  out.append(first_order_theory(p));
  if (p.train_size > 0) {  // every formula is about online learning: each one skipped
    for (const TheoryPrediction& h : out.holds)
      out.skipped.push_back(
          {h.formula, "needs online learning, a fresh sample every step (here data.train_size = " +
                          std::to_string(p.train_size) + ")"});
    out.holds.clear();
  }
  return out;
}

double small_eta_rule(const PointParams& p, const OrderParameters& op) {
  // eps* = (eta_w sigma^2 / (4B)) sum_k v_k^2 J2(k,k)
  const Covariance C(op);
  double sum = 0.0;
  for (int k = 0; k < op.K; ++k) sum += op.v[k] * op.v[k] * J2(p.student_activation, C, k, k);
  return p.lr * p.sigma * p.sigma / (4.0 * p.batch_size) * sum;
}

TheoryReport small_eta_theory(const PointParams& p, const FixedPointResult& fp) {
  return small_eta_theory(p, [&fp] { return fp; });
}

TheoryReport small_eta_theory(const PointParams& p,
                              const std::function<FixedPointResult()>& noise_free) {
  TheoryReport out;
  Conditions c;
  // The rule was derived and checked for matched pairs (docs/theory.md §6.6); a mixed pair's
  // noise-free fixed point has zero error only by exception.
  c.require(p.student_activation == p.teacher_activation, "the same student and teacher activation",
            pair_name(p))
      .require(p.sigma > 0, "label noise (sigma > 0)", "sigma = 0")
      .require(
          p.weight_decay == 0.0 && p.weight_decay2 == 0.0, "no weight decay",
          "weight_decay = " + num(p.weight_decay) + ", weight_decay2 = " + num(p.weight_decay2));
  // Newton (O(K^6) at large K) only where the rule could hold.
  const FixedPointResult fp = c.hold() ? noise_free() : FixedPointResult{};
  c.require(fp.converged, "a converged noise-free fixed point (Newton from the ODE's end state)",
            fp.message)
      .require(fp.physical, "a physical fixed point",
               "eps_g = " + num(fp.eg) + " or an invalid state")
      .require(attracts(fp), "a stable or marginal fixed point",
               std::string("stability ") + to_string(stability_of(fp)));
  double eg = 0.0;
  if (c.hold()) {
    eg = small_eta_rule(p, fp.state);
    // Zero error at the noise-free fixed point: the rule is the noise's excess over it.
    // Newton's residual (1e-13) leaves eps_g ~1e-13 at a perfect fixed point; a student
    // that cannot represent the teacher (K < M) leaves a finite error.
    c.require(fp.eg <= std::max(1e-12, 0.01 * eg),
              "zero error at the noise-free fixed point (a realisable student)",
              "eps_g = " + num(fp.eg) + " there, against " + num(eg) + " from the noise");
  }
  if (c.hold())
    c.require_message(next_order_failure(p, fp.state, eg / (p.sigma * p.sigma)),
                      next_order_condition());
  report(out, kSmallEtaRule, c, eg, false,
         "; leading order in eta: (eta_w sigma^2/(4B)) sum_k v_k^2 J2(k,k) at the noise-free "
         "fixed point reached by Newton from the ODE's end state");
  return out;
}

TheoryReport small_eta_unavailable(const std::string& why) {
  TheoryReport out;
  out.skipped.push_back({kSmallEtaRule, why});
  return out;
}

}  // namespace tsgd
