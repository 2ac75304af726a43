// Gaussian averages of the activation functions: the integrals I2, J2, I3, I4
// that close the order-parameter ODEs (docs/theory.md §1, §4), and E[g1(a) g2(b)] for
// two different activations (generalisation error of mismatched networks).
//
// Every average is a function of the covariance of its arguments, taken in
// argument order:
//   I2(a,b)     = < g(a) g(b) >
//   J2(a,b)     = < g'(a) g'(b) >
//   I3(a,b,c)   = < g'(a) b g(c) >            (not symmetric in a, b)
//   I4(a,b,c,d) = < g'(a) g'(b) g(c) g(d) >   (symmetric under a<->b, c<->d)
// The arguments are indices into a Covariance, usually the local fields of the
// K students then the M teachers, C = [[Q, R], [R^T, T]]. Indices, not values,
// because equal indices mean identical fields, and the ReLU I4 is elementary
// only then (docs/theory.md §4.3(a)); distinct indices take the 73-node tanh-sinh
// quadrature of §4.3(b).
//
// Conventions shared with math/activation.h: g(0) = 0 for every activation and
// g'(0) = 0 for ReLU, so a field of zero variance (a zero-norm student) is
// identically 0 and contributes 0 wherever g or a ReLU g' is applied to it.
// Rounding-level violations of positive semi-definiteness (negative variances
// of order 1e-16, |C_ab| slightly above sqrt(C_aa C_bb)) are clamped (docs/theory.md §5).
#pragma once

#include <vector>

#include "core/model.h"
#include "math/activation.h"

namespace tsgd {

// A symmetric n x n covariance matrix, row-major.
class Covariance {
 public:
  Covariance() = default;
  explicit Covariance(int n);
  // Throws std::invalid_argument unless row_major has n * n entries.
  Covariance(int n, std::vector<double> row_major);
  // The local-field covariance [[Q, R], [R^T, T]]: students 0..K-1, teachers K..K+M-1.
  explicit Covariance(const OrderParameters& op);

  // Refills from order parameters, reusing the storage (no allocation once sized).
  void assign_fields(const OrderParameters& op);

  int size() const { return n_; }
  double operator()(int p, int q) const { return c_[static_cast<std::size_t>(p) * n_ + q]; }
  // Sets C_pq and C_qp.
  void set(int p, int q, double value);
  const double* data() const { return c_.data(); }

 private:
  int n_ = 0;
  std::vector<double> c_;
};

// The averages above for one activation. Sign has I2 only (docs/theory.md §4.5): its
// J2, I3 and I4 are infinite or meaningless and throw std::invalid_argument.
double I2(Activation g, const Covariance& C, int a, int b);
double J2(Activation g, const Covariance& C, int a, int b);
double I3(Activation g, const Covariance& C, int a, int b, int c);
double I4(Activation g, const Covariance& C, int a, int b, int c, int d);

// I2 from the three entries of a 2 x 2 covariance, closed form (docs/theory.md §3).
double I2_pair(Activation g, double caa, double cbb, double cab);

// < ga(a) gb(b) > for (a, b) ~ N(0, [[caa, cab], [cab, cbb]]), any two
// activations. Equal activations use the closed form; different ones condition
// on a, use the closed form of E[gb(b) | a] (b | a is Gaussian) and integrate
// over a by tanh-sinh quadrature on each half-line (split at the kinks of
// ReLU and sign). Error, relative to the scale sqrt(<ga^2><gb^2>): ~1e-14 for
// erf, ReLU, linear and quad; for a sign gb, <= 1e-11 while 1 - |corr| >= 1e-10,
// rising to ~1e-9 for fields collinear to 1e-15 (measured against the closed forms).
double I2_mixed(Activation ga, Activation gb, double caa, double cbb, double cab);

namespace detail {
// For tests: the numerical path of I2_mixed even when ga == gb.
double I2_mixed_numerical(Activation ga, Activation gb, double caa, double cbb, double cab);
// For tests: the ReLU I4 quadrature (docs/theory.md §4.3(b)) without routing coincident
// indices to the closed forms.
double relu_i4_quadrature(const Covariance& C, int a, int b, int c, int d);
// For tests: the same with the integrand as first written (13 arctangents per node,
// std::atan2), against which the regrouped, vectorised one of relu_quadrature.cpp is
// checked.
double relu_i4_quadrature_reference(const Covariance& C, int a, int b, int c, int d);
}  // namespace detail

}  // namespace tsgd
