// The Gaussian draws (math/gaussian.h): the polynomial log, the moments of a
// million draws, the vectorised draw of the CPU engine (draw_input) against
// one coordinate at a time, and the addressing of docs/architecture.md contract 1;
// the fast transform's formula (here with the C library's functions; the
// GPU's approximations are checked by tests/cuda/test_cuda_transform.cpp)
// against the exact one, draw by draw and in distribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/enum_names.h"
#include "engines/cpu_engine.h"
#include "math/gaussian.h"
#include "tests/support/normality.h"

using namespace tsgd;

TEST(Gaussian, LogMatchesLibm) {
  // The polynomial log is Cephes logf: within a few float ulps of the true value.
  double worst = 0;
  for (std::uint32_t k = 0; k < (1u << 23); k += 997) {
    const float u = (static_cast<float>(k) + 0.5f) * 1.1920928955078125e-7f;
    const double exact = std::log(static_cast<double>(u));
    worst = std::max(worst, std::abs(detail::log_unit(u) - exact) / std::max(1.0, std::abs(exact)));
  }
  EXPECT_LT(worst, 4e-7);  // ~3 ulp of float
}

TEST(Gaussian, MomentsOfOneMillionDraws) {
  // Mean 0, variance 1, fourth moment 3; tolerances are 5 standard errors of
  // the sample moments of n = 1e6 draws (se of m4 is sqrt(96/n)).
  const int n = 1 << 20;
  std::vector<float> x(n);
  for (int mu = 0; mu < n / 1024; ++mu) draw_input(12345, mu, 1024, &x[mu * 1024]);
  double m1 = 0, m2 = 0, m4 = 0, maxabs = 0;
  for (float v : x) {
    m1 += v;
    m2 += double(v) * v;
    m4 += double(v) * v * v * v;
    maxabs = std::max(maxabs, std::abs(double(v)));
  }
  m1 /= n, m2 /= n, m4 /= n;
  EXPECT_NEAR(m1, 0.0, 5 * std::sqrt(1.0 / n));
  EXPECT_NEAR(m2, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m4, 3.0, 5 * std::sqrt(96.0 / n));
  EXPECT_LE(maxabs, 5.78);  // 23-bit radius: |z| <= sqrt(-2 ln 2^-24)
  // Fraction beyond 2 sigma: 0.0455, binomial se sqrt(p(1-p)/n).
  int beyond = 0;
  for (float v : x) beyond += std::abs(v) > 2.0f;
  EXPECT_NEAR(double(beyond) / n, 0.04550026, 5 * std::sqrt(0.0455 * 0.9545 / n));
}

TEST(Gaussian, VectorisedDrawEqualsScalarAddressing) {
  // draw_input (vectorised) and gaussian_at (one coordinate) are the same numbers.
  for (int n : {1, 3, 4, 5, 63, 64, 65, 784}) {
    std::vector<float> x((n + 3) / 4 * 4 + 64);
    draw_input(7, 99, n, x.data());
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(x[i], gaussian_at(7, Stream::input, 99, i)) << "n " << n << " i " << i;
  }
}

TEST(Gaussian, StreamsSeedsAndSamplesAreIndependentAddresses) {
  const float a = gaussian_at(1, Stream::input, 5, 3);
  EXPECT_EQ(a, gaussian_at(1, Stream::input, 5, 3));  // stateless
  EXPECT_NE(a, gaussian_at(2, Stream::input, 5, 3));
  EXPECT_NE(a, gaussian_at(1, Stream::input, 6, 3));
  EXPECT_NE(a, gaussian_at(1, Stream::teacher_w, 5, 3));
  EXPECT_NE(a, gaussian_at(1, Stream::input, 5, 2));
  // Sample indices beyond 2^32 address distinct numbers (the high word is used).
  EXPECT_NE(gaussian_at(1, Stream::input, 1ull << 32, 0), gaussian_at(1, Stream::input, 0, 0));
  // Seeds beyond 2^32 too.
  EXPECT_NE(gaussian_at(1ull << 32, Stream::input, 0, 0), gaussian_at(0, Stream::input, 0, 0));
}

TEST(Gaussian, FastTransformIsTheExactOneToWithinItsBound) {
  // Same bits, same u and angle: on the host (C library functions, about an
  // ulp each) the two differ by a few ulp of r, 4e-7 (1 + r); a wrong angle
  // map, sign or factor would differ by order one. The GPU bound
  // (fast_transform_bound) holds a fortiori.
  double worst = 0;
  for (std::uint64_t mu = 0; mu < 4096; ++mu) {
    float exact[1024], fast[1024];
    draw_input(5, mu, 1024, exact, RngTransform::exact);
    draw_input(5, mu, 1024, fast, RngTransform::fast);
    for (int i = 0; i < 1024; i += 2) {
      const double r = std::hypot(exact[i], exact[i + 1]);
      for (int j = i; j < i + 2; ++j) {
        const double d = std::abs(double(fast[j]) - exact[j]);
        worst = std::max(worst, d / (1 + r));
        ASSERT_LE(d, 4e-7 * (1 + r)) << "mu " << mu << " coordinate " << j;
        ASSERT_LE(d, tsgd::testing::fast_transform_bound(r));
      }
    }
  }
  EXPECT_GT(worst, 0.0);  // two formulas, not one
}

TEST(Gaussian, FastTransformIsStandardNormalTo5Sigma) {
  // 2^26 draws of each transform: moments, tails beyond 2..5 sigma, KS
  // (tests/support/normality.h states the tolerances).
  for (RngTransform transform : {RngTransform::exact, RngTransform::fast}) {
    tsgd::testing::NormalityCheck check;
    std::vector<float> z(1 << 16);
    for (std::uint64_t mu = 0; mu < 1024; ++mu) {
      draw_input(2024, mu, static_cast<int>(z.size()), z.data(), transform);
      check.add(z.data(), z.size());
    }
    check.expect_standard_normal(enum_name(transform));
  }
}

TEST(Gaussian, LabelNoiseUsesTheTransform) {
  // gaussian_at with the fast transform is draw_input's fast draw.
  float fast[8];
  draw_input(3, 17, 8, fast, RngTransform::fast);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(gaussian_at(3, Stream::input, 17, i, RngTransform::fast), fast[i]);
  // ... and differs from the exact one somewhere (they agree to a few ulp).
  int differ = 0;
  for (std::uint64_t mu = 0; mu < 64; ++mu)
    differ += gaussian_at(3, Stream::label_noise, mu, 0, RngTransform::fast) !=
              gaussian_at(3, Stream::label_noise, mu, 0, RngTransform::exact);
  EXPECT_GT(differ, 0);
}
