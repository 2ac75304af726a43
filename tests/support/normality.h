// Whether draws are standard Gaussians, and how far the fast transform may be
// from the exact one (math/gaussian.h): the checks of the host's and the
// GPU's draws (tests/math/test_gaussian.cpp, tests/cuda/test_cuda_transform.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace tsgd::testing {

// |z_fast - z_exact| allowed for a draw whose exact radius is r: the bound of
// math/gaussian.h (log2 error 2^-22 absolute -> 1.7e-7 / r, capped at
// 5.7e-4 where r is tiny; 2 ulp of rsqrt and 2^-21.2 of sin / cos plus the
// rounding of the angle -> 1.1e-6 r) with some room, plus a few ulp of the
// exact transform itself (1e-6 covers 4 ulp at |z| = 2).
inline double fast_transform_bound(double r) {
  return std::min(6e-4, 1.8e-7 / std::max(r, 1e-30)) + 1.2e-6 * r + 1e-6;
}

// Accumulates draws and checks that they are standard normal:
// - moments: mean 0, variance 1, fourth moment 3, each within 5 standard
//   errors of the sample moment (1/sqrt n, sqrt(2/n), sqrt(96/n));
// - tails: the count beyond 2, 3, 4 and 5 sigma within 5 binomial standard
//   deviations of n P(|z| > t) (at 5 sigma and n = 2^26, 38 expected: a
//   tail cut off or doubled fails), none beyond the radius the 23-bit u
//   allows (sqrt(-2 ln 2^-24) = 5.768);
// - Kolmogorov-Smirnov on the first kKsDraws: D below the 1e-6 critical
//   value sqrt(ln(2 / 1e-6) / (2 n)) (a false alarm once in 10^6 seeds).
class NormalityCheck {
 public:
  static constexpr std::size_t kKsDraws = std::size_t{1} << 22;
  static constexpr double kTails[4] = {2.0, 3.0, 4.0, 5.0};

  void add(const float* z, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      const double x = z[i];
      m1_ += x;
      m2_ += x * x;
      m4_ += x * x * x * x;
      max_abs_ = std::max(max_abs_, std::abs(x));
      for (int t = 0; t < 4; ++t) beyond_[t] += std::abs(x) > kTails[t];
      if (ks_.size() < kKsDraws) ks_.push_back(x);
    }
    n_ += count;
  }

  void expect_standard_normal(const std::string& what) {
    const double n = static_cast<double>(n_);
    ASSERT_GT(n_, kKsDraws) << what;
    EXPECT_NEAR(m1_ / n, 0.0, 5 * std::sqrt(1.0 / n)) << what << ": mean";
    EXPECT_NEAR(m2_ / n, 1.0, 5 * std::sqrt(2.0 / n)) << what << ": variance";
    EXPECT_NEAR(m4_ / n, 3.0, 5 * std::sqrt(96.0 / n)) << what << ": fourth moment";
    EXPECT_LE(max_abs_, 5.7683) << what << ": beyond the 23-bit radius";
    for (int t = 0; t < 4; ++t) {
      const double p = std::erfc(kTails[t] / std::sqrt(2.0));
      EXPECT_NEAR(static_cast<double>(beyond_[t]), n * p, 5 * std::sqrt(n * p * (1 - p)))
          << what << ": draws beyond " << kTails[t] << " sigma";
    }
    std::sort(ks_.begin(), ks_.end());
    const double k = static_cast<double>(ks_.size());
    double d = 0;
    for (std::size_t i = 0; i < ks_.size(); ++i) {
      const double phi = 0.5 * std::erfc(-ks_[i] / std::sqrt(2.0));
      d = std::max({d, (static_cast<double>(i) + 1) / k - phi, phi - static_cast<double>(i) / k});
    }
    EXPECT_LT(d, std::sqrt(std::log(2 / 1e-6) / (2 * k))) << what << ": Kolmogorov-Smirnov D";
  }

 private:
  std::size_t n_ = 0;
  double m1_ = 0, m2_ = 0, m4_ = 0, max_abs_ = 0;
  std::size_t beyond_[4] = {0, 0, 0, 0};
  std::vector<double> ks_;
};

}  // namespace tsgd::testing
