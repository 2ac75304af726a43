// The branch-free arctangent and arcsine (theory/vector_math.h) against libm.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "theory/vector_math.h"

namespace tsgd {
namespace {

// Error in units of the last place of the libm value (libm's own error is < 1 ulp).
double ulps(double value, double exact) {
  const double ulp = std::nextafter(std::abs(exact), INFINITY) - std::abs(exact);
  return std::abs(value - exact) / ulp;
}

TEST(VectorMath, Atan2UpperHalfPlane) {
  // Points on circles of radii 1e-150 .. 1e150 at random angles in [0, pi], plus the
  // axes and the edges of the branches (y = |x|, lo = 0.66 hi).
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> angle(0.0, 3.14159265358979323846);
  double worst = 0.0;
  for (int i = 0; i < 200000; ++i) {
    const double r = std::pow(10.0, -150.0 + 300.0 * (i % 101) / 100.0), a = angle(rng);
    const double y = r * std::sin(a), x = r * std::cos(a);
    worst = std::max(worst, ulps(atan2_upper(y, x), std::atan2(y, x)));
  }
  for (double x : {-2.0, -1.0, -0.66, 0.0, 0.66, 1.0, 2.0})
    for (double y : {0.0, 0.66, 1.0, 1.5})
      if (x != 0.0 || y != 0.0) worst = std::max(worst, ulps(atan2_upper(y, x), std::atan2(y, x)));
  // Measured 2 ulp: the rational's ~1 ulp, plus the rounding of pi/2 - atan or pi - angle;
  // 4 allows for a compiler that orders the polynomial differently.
  EXPECT_LE(worst, 4.0);
  EXPECT_EQ(atan2_upper(0.0, 0.0), 0.0);  // the convention of the degenerate conditional
}

TEST(VectorMath, AsinOnTheUnitInterval) {
  double worst = 0.0;
  for (int i = 0; i <= 400000; ++i) {
    const double x = -1.0 + 2.0 * i / 400000.0;
    worst = std::max(worst, ulps(asin_branchless(x), std::asin(x)));
  }
  // Near +-1, near +-1/2 (the switch) and near 0 on a log scale.
  for (int k = 1; k <= 300; ++k) {
    const double e = std::pow(10.0, -k / 20.0);
    for (double x : {1.0 - e, -1.0 + e, e, -e, 0.5 + e, 0.5 - e, -0.5 + e, -0.5 - e})
      worst = std::max(worst, ulps(asin_branchless(x), std::asin(x)));
  }
  // Measured 2 ulp (polynomial ~1 ulp, plus pi/2 - 2 asin s); 4 as above.
  EXPECT_LE(worst, 4.0);
  EXPECT_EQ(asin_branchless(1.0), std::asin(1.0));
  EXPECT_EQ(asin_branchless(0.0), 0.0);
}

}  // namespace
}  // namespace tsgd
