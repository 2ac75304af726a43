// The per-sample SGD update of the two-layer network, for both engines.
//
// With local fields lambda_k = w_k.x/sqrt(N) (student) and rho_m = w*_m.x/sqrt(N)
// (teacher), the error of one sample is
//     Delta = sum_k v_k g(lambda_k) - sum_m v*_m g*(rho_m) - sigma zeta,
// and one SGD step on a mini-batch of B fresh samples (docs/theory.md §1) is
//     w_k <- (1 - kappa_w/N) w_k - eta_w/(sqrt(N) B) sum_b v_k g'(lambda_k^b) Delta^b x^b
//     v_k <- (1 - kappa_v/N) v_k - eta_v/(N B)       sum_b g(lambda_k^b) Delta^b
// with all B samples' fields computed from the weights before the step. The
// engines compute the fields and apply the rank-1 updates; this header holds
// the arithmetic between the two, so that it is written once.
#pragma once

#include "math/activation.h"
#include "math/hd.h"

namespace tsgd {

// Step constants of one run, precomputed in the engine's precision.
template <typename Real>
struct SgdConstants {
  Activation student;  // g
  Activation teacher;  // g*
  Real w_rate;         // eta_w / (sqrt(N) B)
  Real v_rate;         // eta_v / (N B), 0 when only the first layer is trained
  Real w_keep;         // 1 - kappa_w / N
  Real v_keep;         // 1 - kappa_v / N (1 when only the first layer is trained)
  Real sigma;          // label noise
  int K;
  int M;
};

// The arithmetic from here to the updates rounds every product and sum on its
// own (rn_mul, rn_add, rn_sub of hd.h: never fused into an FMA, by nvcc or by
// the host compiler), so that the CPU engine and every CUDA kernel that
// shares it (cuBLAS path, fused path in every row class) do the same
// roundings: a run's numbers cannot depend on which kernel instantiation
// advanced it. The fused kernel spreads a sample over the lanes of a warp
// (math/fused_step.h) instead of calling accumulate_sample, so each formula
// is a helper of its own that both call: a formula written twice could drift
// apart by a rounding without any compiler noticing.

// One unit's term of an output sum: sum + v g (g: the unit's activation).
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real add_output_term(Real sum, Real v, Real g) {
  return rn_add(sum, rn_mul(v, g));
}

// The teacher's activations g*_m = g*(rho_m), computed where they are read
// (sample_error: the cuBLAS path keeps the fields, not the activations).
template <typename Real>
struct TeacherActivations {
  Activation g;
  const Real* rho;
  TSGD_HD TSGD_FORCEINLINE Real operator[](int m) const { return activation(g, rho[m]); }
};

// The output a sample trains towards, before its noise: the teacher's, sum_m
// v*_m g*_m over G_TEACHER[m] (activations already computed: the CPU engine,
// the fused kernel; or computed as they are read: TeacherActivations), or
// LABEL where a file gives one (real inputs with labels, core/model.h:
// InputSet; the teacher's sum is then discarded: a select, so that the
// teacher-label code is the loop alone — a caller that would compute the
// activations only for this sum passes M = 0 then). Every engine calls it.
template <typename Real, typename Activations>
TSGD_HD TSGD_FORCEINLINE Real target_output(int M, const Real* vstar, const Activations& g_teacher,
                                            const Real* label) {
  Real out = Real(0);
  for (int m = 0; m < M; ++m) out = add_output_term(out, vstar[m], g_teacher[m]);
  return label != nullptr ? *label : out;
}

// Delta from the student's and the teacher's outputs and the label noise.
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real error_from_outputs(Real student, Real teacher, Real sigma,
                                                 Real zeta) {
  return rn_sub(rn_sub(student, teacher), rn_mul(sigma, zeta));
}

// Error Delta of one sample from its local fields and label noise zeta; with
// a LABEL (real inputs with labels from files, core/model.h: InputSet), that
// label stands where the teacher's output goes and the teacher is unused.
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real sample_error(const SgdConstants<Real>& c, const Real* lambda,
                                           const Real* v, const Real* rho, const Real* vstar,
                                           Real zeta, const Real* label = nullptr) {
  Real student = Real(0);
  for (int k = 0; k < c.K; ++k)
    student = add_output_term(student, v[k], activation(c.student, lambda[k]));
  const Real teacher = target_output(label != nullptr ? 0 : c.M, vstar,
                                     TeacherActivations<Real>{c.teacher, rho}, label);
  return error_from_outputs(student, teacher, c.sigma, zeta);
}

// A student unit's two terms of one sample, from its second-layer weight v
// and its activation g and derivative dg at the sample's field: w_rate v g'
// Delta (minus its coefficient of x^b in the first-layer update) and v_rate
// g Delta (minus its second-layer change).
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real w_coefficient_term(Real w_rate, Real v, Real dg, Real delta) {
  return rn_mul(rn_mul(rn_mul(w_rate, v), dg), delta);
}
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real v_change_term(Real v_rate, Real g, Real delta) {
  return rn_mul(rn_mul(v_rate, g), delta);
}

// The v change of one unit over a step's B samples from each sample's own
// (dv_b = 0 - v_rate g Delta, the GPU's per-sample terms, at dv[b * stride +
// unit]), summed in sample order: (-d_0) + (-d_1) + ... is the CPU's
// -d_0 - d_1 - ... bit for bit (neither sum ever holds -0).
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real summed_v_change(const Real* dv, int unit, int batch, int stride) {
  Real change = Real(0);
  for (int b = 0; b < batch; ++b) change = rn_add(change, dv[b * stride + unit]);
  return change;
}

// Second layer of a trained student unit: v_keep v + change.
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real updated_v(Real v_keep, Real v, Real change) {
  return rn_add(rn_mul(v_keep, v), change);
}

// The first layer, w_k <- w_keep w_k + sum_b coefficient_b,k x^b, is applied
// by each engine to its own layout of the weights. Only the decay is the
// same arithmetic everywhere (decayed_weight: the CPU engine, the fused
// kernel and the cuBLAS path's decay kernel). The sum is not, by design: the
// CPU engine rounds each term twice (w + c x: product, then sum), the fused
// kernel once (one FMA per sample and coordinate, like its dot products) and
// the cuBLAS path as its GEMM chooses. So the engines' weights part by float
// roundings from the first step on (docs/architecture.md contract 1: equal to float
// rounding across engines, bitwise only within one; the tests allow it), and
// a helper for the sum would only hide that it is three different sums.
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real decayed_weight(Real w_keep, Real w) {
  return rn_mul(w_keep, w);
}

// Accumulates one sample's contribution to the step:
//   w_coefficient[k] += -w_rate v_k g'(lambda_k) Delta   (multiplies x in the rank-1 update)
//   v_change[k]      += -v_rate g(lambda_k) Delta
// Returns Delta. LABEL: as for sample_error.
template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real accumulate_sample(const SgdConstants<Real>& c, const Real* lambda,
                                                const Real* v, const Real* rho, const Real* vstar,
                                                Real zeta, Real* w_coefficient, Real* v_change,
                                                const Real* label = nullptr) {
  const Real delta = sample_error(c, lambda, v, rho, vstar, zeta, label);
  for (int k = 0; k < c.K; ++k) {
    const Real dg = activation_derivative(c.student, lambda[k]);
    w_coefficient[k] = rn_sub(w_coefficient[k], w_coefficient_term(c.w_rate, v[k], dg, delta));
    v_change[k] =
        rn_sub(v_change[k], v_change_term(c.v_rate, activation(c.student, lambda[k]), delta));
  }
  return delta;
}

}  // namespace tsgd
