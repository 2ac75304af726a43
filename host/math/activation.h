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

}  // namespace tsgd
