// The CPU engine's draws in lanes (engines/cpu_draw.h) against the scalar
// definition (math/gaussian.h), bit for bit: the Box-Muller transform on
// every radius and every angle the words can give, and whole input vectors
// (Philox in the lanes, the interleaving, the tail) against gaussian_at.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engines/cpu_draw.h"
#include "math/gaussian.h"

using namespace tsgd;

namespace {

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Lanes vs scalar on 16 pairs of words; returns the number of differing outputs.
int differences(const std::uint32_t a[16], const std::uint32_t b[16]) {
  float z0[16], z1[16];
  box_muller_lanes(a, b, z0, z1);
  int differ = 0;
  for (int l = 0; l < 16; ++l) {
    float s0, s1;
    detail::box_muller(a[l], b[l], &s0, &s1);
    differ += !same_bits(s0, z0[l]) + !same_bits(s1, z1[l]);
  }
  return differ;
}

}  // namespace

TEST(CpuDraw, LaneTransformIsTheScalarOneOnEveryRadiusAndAngle) {
  // The radius depends on a >> 9 (2^23 values), the angle on b >> 8 (2^24
  // values): every one of them, each with some other word beside it, so
  // that every branch of the log (m above or below sqrt 2, every exponent)
  // and every quadrant is covered.
  std::uint32_t a[16], b[16];
  long differ = 0;
  for (std::uint32_t k = 0; k < (1u << 24); k += 16) {
    for (std::uint32_t l = 0; l < 16; ++l) {
      a[l] = (((k + l) & 0x7fffffu) << 9) | ((k + 7 * l) & 0x1ffu);  // every radius, twice
      b[l] = ((k + l) << 8) | (l * 37u & 0xffu);                     // every angle
    }
    differ += differences(a, b);
  }
  EXPECT_EQ(differ, 0) << "instruction set " << cpu_simd_isa();
}

TEST(CpuDraw, InputVectorsAreGaussianAtBitForBit) {
  // Lengths around the 64-coordinate chunks and 4-coordinate blocks; seeds
  // and sample indices with high words (the key and counter words).
  long compared = 0;
  for (std::uint64_t seed : {0ull, 7ull, (1ull << 40) + 3})
    for (std::uint64_t mu : {0ull, 99ull, (1ull << 33) + 5})
      for (int n : {1, 3, 4, 5, 63, 64, 65, 127, 128, 129, 784, 1000}) {
        std::vector<float> x((n + 3) / 4 * 4);
        draw_input(seed, mu, n, x.data());
        for (int i = 0; i < n; ++i, ++compared)
          ASSERT_TRUE(same_bits(x[i], gaussian_at(seed, Stream::input, mu, i)))
              << "seed " << seed << " mu " << mu << " n " << n << " i " << i;
      }
  EXPECT_GT(compared, 20000);
}

TEST(CpuDraw, WritesNothingPastTheLastBlock) {
  // out needs room for n rounded up to 4 only: the chunk of 64 is not written whole.
  std::vector<float> x(80, 123.0f);
  draw_input(1, 2, 5, x.data());
  for (int i = 8; i < 80; ++i) ASSERT_EQ(x[i], 123.0f) << i;
  EXPECT_NE(x[4], 123.0f);
}
