// Branch-free arctangent and arcsine for loops the compiler vectorises (libm's atan2
// and asin are a call per element): the ReLU I4 quadrature's nodes
// (relu_quadrature.cpp) and the erf right-hand side's I4 sums (ode_system.cpp).
// Accuracy against libm: tests/theory/test_vector_math.cpp.
#pragma once

#include <cmath>

#include "theory/constants.h"

namespace tsgd {

// atan2(y, x) in [0, pi] for y >= 0, without branches, so that a loop over the nodes
// vectorises (libm's atan2 is a call per element). Cephes' atan: the ratio
// q = lo / hi = min(y,|x|) / max(y,|x|) in [0, 1] is kept to |z| <= 0.66 by
// atan q = pi/4 + atan(z), z = (q-1)/(q+1) = (lo-hi)/(lo+hi), when q > 0.66, and
// atan z = z + z^3 P(z^2)/Q(z^2) with Cephes' degree 4/5 rational (relative error ~1e-16
// on |z| <= 0.66); then pi/2 - atan for y > |x| and pi - atan for x < 0. Two divisions.
// Differs from std::atan2 by a few ulp, and at x = -0 with y = 0, where it returns 0
// instead of pi (only reached at a zero-variance conditional, whose term carries a
// zero factor).
inline double atan2_upper(double y, double x) {
  const double ax = std::fabs(x);
  const double hi = y > ax ? y : ax, lo = y > ax ? ax : y;
  const bool reduce = lo > 0.66 * hi;
  const double z = (reduce ? lo - hi : lo) / (reduce ? lo + hi : (hi > 0.0 ? hi : 1.0));
  const double z2 = z * z;
  const double p = (((-8.750608600031904122785e-1 * z2 - 1.615753718733365076637e1) * z2 -
                     7.500855792314704667340e1) *
                        z2 -
                    1.228866684490136173410e2) *
                       z2 -
                   6.485021904942025371773e1;
  const double d = ((((z2 + 2.485846490142306297962e1) * z2 + 1.650270098316988542046e2) * z2 +
                     4.328810604912902668951e2) *
                        z2 +
                    4.853903996359136964868e2) *
                       z2 +
                   1.945506571482613964425e2;
  // pi/4 is split into its double and the rest (Cephes' MOREBITS / 2).
  const double atan_q =
      (reduce ? 0.25 * kPi + 3.061616997868382943065e-17 : 0.0) + (z + z * (z2 * p / d));
  const double angle = y > ax ? 0.5 * kPi - atan_q : atan_q;
  return x < 0.0 ? kPi - angle : angle;
}

// asin(x) for x in [-1, 1] without a division, fdlibm's reduction with a polynomial:
//   |x| <= 1/2:  asin x = x + x z P(z),                    z = x^2
//   |x| >  1/2:  asin x = pi/2 - 2 asin s,  s = sqrt(z),    z = (1 - |x|) / 2  (exact)
// with P(z) = (asin sqrt z - sqrt z) / z^(3/2) on z in [0, 1/4] by its degree-12
// Chebyshev fit (mpmath.chebyfit, 50 digits; error 1.5e-17, a tenth of an ulp of the
// result), and pi/2 in two parts. Two ulp at most (tests/theory/test_vector_math.cpp).
inline double asin_branchless(double x) {
  const double ax = std::fabs(x);
  const bool big = ax > 0.5;
  const double z = big ? 0.5 * (1.0 - ax) : ax * ax;
  const double s = big ? std::sqrt(z) : ax;
  double p = 0.0287578513674215647081;
  p = p * z - 0.0148518870712472032242;
  p = p * z + 0.017400879442694022443;
  p = p * z + 0.00545750671864035830042;
  p = p * z + 0.0103228143501857792869;
  p = p * z + 0.0114791774151849058958;
  p = p * z + 0.0139712129735529333042;
  p = p * z + 0.0173523927208699729415;
  p = p * z + 0.022372172942149887875;
  p = p * z + 0.0303819441385312472866;
  p = p * z + 0.0446428571463554297826;
  p = p * z + 0.0749999999999843293317;
  p = p * z + 0.166666666666666678265;
  const double asin_s = s + s * (z * p);
  // pi/2 = 1.5707963267948966 + 6.123233995736766e-17.
  const double angle = big ? 1.5707963267948966 - (2.0 * asin_s - 6.123233995736766e-17) : asin_s;
  return x < 0.0 ? -angle : angle;
}

}  // namespace tsgd
