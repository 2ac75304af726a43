// See first_order.h.
#include "theory/first_order.h"

#include <cmath>
#include <exception>

#include "core/initial_weights.h"
#include "theory/conditions.h"
#include "theory/fixed_point.h"
#include "theory/ode_system.h"

namespace tsgd {

using namespace theory_detail;

namespace {

// The teacher's second layer as initial_weights.h sets it (empty for a gaussian one).
std::optional<std::vector<double>> teacher_second_layer(const PointParams& p) {
  if (p.teacher_v_init == SecondLayerInit::gaussian) return std::nullopt;
  std::vector<double> vstar(p.M, p.teacher_v * output_scale(p.output_scaling, p.M));
  if (p.teacher_v_init == SecondLayerInit::flip_half)
    for (int m = p.M - p.M / 2; m < p.M; ++m) vstar[m] = -vstar[m];
  return vstar;
}

// First layer: students k < M on the teachers, the others at zero; every v_k the
// student rule's, which must equal v*_k on the copies.
bool first_layer_point(const PointParams& p, const std::vector<double>& vstar, OrderParameters& x,
                       std::string* why) {
  if (p.K < p.M) {
    *why = "K >= M (here K = " + std::to_string(p.K) + ", M = " + std::to_string(p.M) + ")";
    return false;
  }
  // A ReLU unit at zero norm has g' = 0 (the convention of integrals.h) but g' = 1 on
  // half of its inputs at any small norm: the ODE is not differentiable there.
  if (p.K > p.M && p.student_activation == Activation::relu) {
    *why = "no superfluous ReLU unit (at zero norm its g' jumps: no first order there)";
    return false;
  }
  if (p.student_v_init != SecondLayerInit::uniform) {
    *why = "a uniform student second layer";
    return false;
  }
  const double v = p.student_v * output_scale(p.output_scaling, p.K);
  for (int m = 0; m < p.M; ++m)
    if (v != vstar[m]) {
      *why = "student v = teacher v* (here v = " + num(v) + ", v*_" + std::to_string(m) + " = " +
             num(vstar[m]) + ": a copy of the teacher unit would not reproduce it)";
      return false;
    }
  for (int k = 0; k < p.M; ++k) {
    x.Q[static_cast<std::size_t>(k) * p.K + k] = 1.0;
    x.R[static_cast<std::size_t>(k) * p.M + k] = 1.0;
  }
  x.v.assign(p.K, v);
  return true;
}

// Both layers: student k a copy of teacher k mod M with v_k = v*_m / Z, Z = K / M.
bool denoising_point(const PointParams& p, const std::vector<double>& vstar, OrderParameters& x,
                     std::string* why) {
  if (p.K % p.M != 0) {
    *why = "K a multiple of M, each teacher unit copied by K/M students (here K = " +
           std::to_string(p.K) + ", M = " + std::to_string(p.M) + ")";
    return false;
  }
  const int Z = p.K / p.M;
  for (int k = 0; k < p.K; ++k) {
    for (int l = 0; l < p.K; ++l)
      x.Q[static_cast<std::size_t>(k) * p.K + l] = k % p.M == l % p.M ? 1.0 : 0.0;
    x.R[static_cast<std::size_t>(k) * p.M + k % p.M] = 1.0;
    x.v[k] = vstar[k % p.M] / Z;
  }
  return true;
}

std::string formula_name(const PointParams& p) {
  if (p.train == TrainMode::both_layers) return "denoising, first order in sigma^2";
  const bool erf =
      p.student_activation == Activation::erf && p.teacher_activation == Activation::erf;
  const bool unit_second_layers = p.student_v_init == SecondLayerInit::uniform &&
                                  p.student_v * output_scale(p.output_scaling, p.K) == 1.0 &&
                                  p.teacher_v_init != SecondLayerInit::gaussian &&
                                  p.teacher_v * output_scale(p.output_scaling, p.M) == 1.0 &&
                                  (p.teacher_v_init == SecondLayerInit::uniform || p.M == 1);
  return erf && unit_second_layers ? "eq. (10)" : "first order in sigma^2";
}

}  // namespace

std::optional<OrderParameters> symmetric_fixed_point(const PointParams& p, std::string* why) {
  std::string scratch;
  if (!why) why = &scratch;
  *why = ode_unsupported_reason(p);
  if (!why->empty()) return std::nullopt;
  // Its teacher is the configured one (T = I, v* from teacher_v).
  const std::string teacher = assumed_teacher_failure(p);
  if (!teacher.empty()) {
    *why = teacher.substr(std::string("needs ").size());
    return std::nullopt;
  }
  // Students copying the teachers reproduce them, with zero error, only when they share
  // the teachers' activation: a mixed pair has no such fixed point.
  if (p.student_activation != p.teacher_activation) {
    *why =
        "the same student and teacher activation, so that copies of the teachers have zero "
        "error (here " +
        pair_name(p) + ")";
    return std::nullopt;
  }
  const std::optional<std::vector<double>> vstar = teacher_second_layer(p);
  if (!vstar) {
    *why =
        "a uniform or flip_half teacher second layer (a gaussian one has no symmetric fixed point)";
    return std::nullopt;
  }
  OrderParameters x;
  x.resize(p.K, p.M);
  for (int m = 0; m < p.M; ++m) x.T[static_cast<std::size_t>(m) * p.M + m] = 1.0;
  x.vstar = *vstar;
  // Copies of the teachers with v = v*/(K/M): both layers trained, or the first layer
  // only from a denoise start (whose v is exactly that, and stays).
  const bool copies = p.train == TrainMode::both_layers || p.init == InitKind::denoise;
  const bool ok =
      copies ? denoising_point(p, *vstar, x, why) : first_layer_point(p, *vstar, x, why);
  if (!ok) return std::nullopt;
  return x;
}

TheoryReport first_order_theory(const PointParams& p) {
  TheoryReport out;
  Conditions c;
  std::string why;
  const std::optional<OrderParameters> x0 = symmetric_fixed_point(p, &why);
  c.unless(assumed_teacher_failure(p))
      .require(
          p.weight_decay == 0.0 && p.weight_decay2 == 0.0, "no weight decay",
          "weight_decay = " + num(p.weight_decay) + ", weight_decay2 = " + num(p.weight_decay2))
      .require(x0.has_value(), "a symmetric noise-free fixed point with zero error", why);
  NoiseResponse r;
  if (c.hold()) {
    try {
      r = noise_response(p, *x0);
    } catch (const std::exception& e) {
      c.require(false, "a first order in sigma^2", e.what());
    }
  }
  c.require(!(r.max_real_eigenvalue > kMarginalEigenvalue),
            "a noise-free fixed point that attracts at this eta",
            "its largest eigenvalue has real part " + num(r.max_real_eigenvalue))
      .require(r.residual <= 1e-6,
               "a stationary first order (the noise drives no marginal direction)",
               "residual " + num(r.residual))
      .require(r.derivative_failure.empty(), "a first order in sigma^2", r.derivative_failure)
      .require(r.deg_dsigma2 > 0, "a positive first order",
               "d eps*/d sigma^2 = " + num(r.deg_dsigma2));
  const bool superfluous = p.train == TrainMode::first_layer && p.K - p.M >= 2;
  const bool exact =
      p.student_activation == Activation::linear && p.train == TrainMode::first_layer;
  report(
      out, formula_name(p), c, p.sigma * p.sigma * r.deg_dsigma2, exact,
      std::string("; first order in sigma^2, exact in eta") +
          (exact ? " (eps* is linear in sigma^2 here)" : " (the next order is O(sigma) relative)") +
          "; at the symmetric fixed point with T = I" +
          (p.train == TrainMode::both_layers
               ? " (each teacher unit copied by K/M students, v = v*/(K/M))"
               : " (students on the teachers, superfluous units at zero)") +
          (superfluous ? "; the superfluous units' differences are marginal: projected out (they "
                         "stay identical), "
                         "the ODE from generic initial conditions may drift below"
                       : ""));
  return out;
}

}  // namespace tsgd
