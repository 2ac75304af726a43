// Counter-based random numbers: Philox4x32-10 known answers, the Gaussian
// transform, and the addressing of DESIGN.md contract 1.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engines/cpu_engine.h"
#include "math/gaussian.h"
#include "math/philox.h"

using namespace tsgd;

namespace {
// Random123's kat_vectors: counter[4], key[2] -> output[4].
struct Kat {
  std::uint32_t ctr[4], key[2], out[4];
};
const Kat kKats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};
}  // namespace

TEST(Philox, Random123KnownAnswers) {
  for (const Kat& k : kKats) {
    const Philox4x32 out = philox4x32_10(Philox4x32{{k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3]}}, k.key[0], k.key[1]);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.v[i], k.out[i]) << "word " << i;
  }
}

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
    for (int i = 0; i < n; ++i) ASSERT_EQ(x[i], gaussian_at(7, Stream::input, 99, i)) << "n " << n << " i " << i;
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
