#include "theory.h"

#include <cmath>

#include "initial_weights.h"
#include "integrals.h"

namespace tsgd {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

std::vector<TheoryPrediction> asymptotic_theory(const PointParams& p) {
  std::vector<TheoryPrediction> out;
  const int K = p.K, M = p.M;
  if (K < 1 || M < 1 || p.batch_size < 1) return out;
  const double eta = p.lr, B = p.batch_size, s2 = p.sigma * p.sigma;
  const bool same = p.student_activation == p.teacher_activation;
  const bool first = p.train == TrainMode::first_layer;
  // Teacher: uniform, or flip_half with M = 1 (nothing flipped).
  const bool teacher_uniform = p.teacher_v_init == SecondLayerInit::uniform ||
                               (p.teacher_v_init == SecondLayerInit::flip_half && M == 1);
  const double vstar = p.teacher_v * output_scale(p.output_scaling, M);
  // Student second layer with only the first layer trained, when all units share one
  // value (initial_weights.h): denoise init gives v*_m / copies(m), equal when the
  // teacher is uniform and M divides K; every other init the student_v rule, equal
  // when it is uniform.
  bool student_uniform = false;
  double v = 0.0;
  if (p.init == InitKind::denoise) {
    student_uniform = teacher_uniform && K % M == 0;
    if (student_uniform) v = vstar / (K / M);
  } else {
    student_uniform = p.student_v_init == SecondLayerInit::uniform;
    v = p.student_v * output_scale(p.output_scaling, K);
  }

  if (same && p.student_activation == Activation::linear && first && student_uniform &&
      p.weight_decay == 0.0) {
    const double rate = eta * K * v * v;  // effective learning rate of w_eff = v sum_k w_k
    const std::string cond =
        "linear student and teacher, first layer only, all v_k = " + std::to_string(v) +
        ", no weight decay";
    if (rate < 2.0 * B) {
      out.push_back(
          {"eq. (12)", rate * s2 / (4.0 * B - 2.0 * rate), true, cond + ", eta K v^2 < 2B"});
      out.push_back(
          {"eq. (13)", rate * s2 / (4.0 * B), false, cond + "; leading order in eta of eq. (12)"});
    }
  }
  if (same && p.student_activation == Activation::erf && first && student_uniform &&
      teacher_uniform && v == 1.0 && vstar == 1.0 && p.weight_decay == 0.0 && K >= M) {
    const double L = K - M;
    out.push_back({"eq. (11)", s2 * eta * (L + M / std::sqrt(3.0)) / (2.0 * kPi * B), false,
                   "erf SCM, first layer only, v = v* = 1, no weight decay, K >= M, T = I; "
                   "leading order in eta" +
                       std::string(K - M >= 2 ? "; L >= 2: the extra units' differences are "
                                                "marginal, the ODE may drift below"
                                              : "")});
  }
  if (same && p.student_activation == Activation::erf && !first && M == 1 && teacher_uniform &&
      p.lr2 == p.lr && p.weight_decay == 0.0 && p.weight_decay2 == 0.0) {
    out.push_back({"eq. (15)", eta * s2 * vstar * vstar / (2.0 * std::sqrt(3.0) * K * kPi * B),
                   false,
                   "erf, both layers with lr2 = lr, M = 1, no weight decay, T = 1; at the "
                   "fixed point with identical students and v_k = v*/K; leading order in eta"});
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

}  // namespace tsgd
