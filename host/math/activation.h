// Activation functions g and their derivatives g', for both engines.
//   erf:    g(x) = erf(x / sqrt 2),  g'(x) = sqrt(2/pi) exp(-x^2 / 2)
//   relu:   g(x) = max(0, x),        g'(x) = step(x)   (g'(0) = 0)
//   linear: g(x) = x,                g'(x) = 1
//   quad:   g(x) = x^2,              g'(x) = 2x
//   sign:   g(x) = sign(x),          teacher only (g' = 2 delta: no SGD signal)
#pragma once

#include "math/hd.h"

namespace tsgd {

enum class Activation : int { erf = 0, relu = 1, linear = 2, quad = 3, sign = 4 };

template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real activation(Activation g, Real x) {
  switch (g) {
    case Activation::erf:
      return math_erf(x * Real(0.70710678118654752440));
    case Activation::relu:
      return x > Real(0) ? x : Real(0);
    case Activation::linear:
      return x;
    case Activation::quad:
      return x * x;
    case Activation::sign:
      return x > Real(0) ? Real(1) : (x < Real(0) ? Real(-1) : Real(0));
  }
  return Real(0);
}

template <typename Real>
TSGD_HD TSGD_FORCEINLINE Real activation_derivative(Activation g, Real x) {
  switch (g) {
    case Activation::erf:
      return Real(0.79788456080286535588) * math_exp(Real(-0.5) * x * x);
    case Activation::relu:
      return x > Real(0) ? Real(1) : Real(0);
    case Activation::linear:
      return Real(1);
    case Activation::quad:
      return Real(2) * x;
    case Activation::sign:
      return Real(0);  // zero almost surely (docs/theory.md §4.5)
  }
  return Real(0);
}

// g and g' of one unit with one dispatch on G (the fused kernel's stage 1,
// math/fused_step.h, where a switch per function cost a warp twice the
// branches): each case calls the two functions above with a constant kind,
// so the formulas are theirs and their own switches fold away.
template <Activation A, typename Real>
TSGD_HD TSGD_FORCEINLINE void activation_pair_of(Real x, Real* g, Real* dg) {
  *g = activation(A, x);
  *dg = activation_derivative(A, x);
}
template <typename Real>
TSGD_HD TSGD_FORCEINLINE void activation_pair(Activation g, Real x, Real* value, Real* derivative) {
  switch (g) {
    case Activation::erf:
      return activation_pair_of<Activation::erf>(x, value, derivative);
    case Activation::relu:
      return activation_pair_of<Activation::relu>(x, value, derivative);
    case Activation::linear:
      return activation_pair_of<Activation::linear>(x, value, derivative);
    case Activation::quad:
      return activation_pair_of<Activation::quad>(x, value, derivative);
    case Activation::sign:
      return activation_pair_of<Activation::sign>(x, value, derivative);
  }
  *value = Real(0);
  *derivative = Real(0);
}

}  // namespace tsgd
