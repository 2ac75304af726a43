// A finite training set's epoch order (math/permutation.h): a bijection of
// [0, P) for every P, every sample once per epoch, fresh per epoch and seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "math/permutation.h"

using namespace tsgd;

namespace {

// Every position once: the epoch's order as a vector, checked to be a permutation.
std::vector<std::uint64_t> order(std::uint64_t seed, std::uint64_t epoch, std::uint64_t size) {
  const EpochPermutation p = epoch_permutation(seed, epoch, size);
  std::vector<std::uint64_t> out(size);
  for (std::uint64_t j = 0; j < size; ++j) out[j] = permute(p, j);
  return out;
}

bool is_permutation_of_range(std::vector<std::uint64_t> v) {
  std::sort(v.begin(), v.end());
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] != i) return false;
  return true;
}

}  // namespace

TEST(Permutation, EverySampleOncePerEpochForSmallSizes) {
  for (std::uint64_t size : {1ull, 2ull, 3ull, 5ull, 1000ull, 4097ull, 65537ull}) {
    SCOPED_TRACE(size);
    for (std::uint64_t epoch : {0ull, 1ull, 123456789ull}) {
      const std::vector<std::uint64_t> o = order(7, epoch, size);
      EXPECT_TRUE(is_permutation_of_range(o));
      const EpochPermutation p = epoch_permutation(7, epoch, size);
      for (std::uint64_t j = 0; j < size; ++j) ASSERT_EQ(unpermute(p, o[j]), j);
    }
  }
}

TEST(Permutation, BijectionOnALargeSetBySampling) {
  // P = 2^31 + 11 (a 32-bit domain, cycle-walking over almost half of it): 2^20
  // positions spread over [0, P) map into [0, P) without a collision and back. A
  // random map would collide ~2^40 / 2^32 = 256 times; a bijection never.
  const std::uint64_t size = (1ull << 31) + 11;
  const EpochPermutation p = epoch_permutation(42, 3, size);
  std::set<std::uint64_t> seen;
  const std::uint64_t stride = size / (1u << 20);
  for (std::uint64_t j = 0; j < size; j += stride) {
    const std::uint64_t i = permute(p, j);
    ASSERT_LT(i, size);
    ASSERT_TRUE(seen.insert(i).second) << "collision at position " << j;
    ASSERT_EQ(unpermute(p, i), j);
  }
  // The last positions too (the cycle-walking's edge).
  for (std::uint64_t j = size - 16; j < size; ++j) EXPECT_EQ(unpermute(p, permute(p, j)), j);
  // P up to 2^63: still a bijection where it is sampled.
  const EpochPermutation huge = epoch_permutation(1, 0, (1ull << 63) + 5);
  for (std::uint64_t j : {0ull, 1ull, 1ull << 40, (1ull << 63) + 4})
    EXPECT_EQ(unpermute(huge, permute(huge, j)), j);
}

TEST(Permutation, FreshPerEpochAndSeedAndReproducible) {
  const std::uint64_t size = 1000;
  const auto a = order(5, 0, size);
  EXPECT_EQ(a, order(5, 0, size));  // from the identity alone
  EXPECT_NE(a, order(5, 1, size));
  EXPECT_NE(a, order(6, 0, size));
  // Not the identity, nor a shift of it: few fixed points (a random permutation
  // has 1 on average; P(>= 8) < 1e-5).
  int fixed = 0;
  for (std::uint64_t j = 0; j < size; ++j) fixed += a[j] == j;
  EXPECT_LT(fixed, 8);
}

TEST(Permutation, FirstPositionsAreUniformOverEpochs) {
  // Over 200 P epochs the sample at position 0 is each of the P samples 200
  // times on average, and the pair at positions (0, 1) each of the P (P - 1)
  // ordered pairs 200 / (P - 1) times. Chi-square below its 1e-4 quantile for a
  // uniform choice: 33.7 (P = 10, 9 degrees of freedom) and 50.8 (P = 5, 19). The
  // pair test fails with four Feistel rounds (109 at P = 5).
  const auto chi2 = [](const std::vector<double>& count, double expected) {
    double s = 0.0;
    for (double c : count) s += (c - expected) * (c - expected) / expected;
    return s;
  };
  std::vector<double> first(10, 0.0);
  for (std::uint64_t e = 0; e < 2000; ++e) first[permute(epoch_permutation(9, e, 10), 0)] += 1;
  EXPECT_LT(chi2(first, 200.0), 33.7);
  std::vector<double> pairs;
  std::vector<double> grid(25, 0.0);
  for (std::uint64_t e = 0; e < 1000; ++e) {
    const EpochPermutation p = epoch_permutation(9, e, 5);
    grid[permute(p, 0) * 5 + permute(p, 1)] += 1;
  }
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      if (i != j) pairs.push_back(grid[i * 5 + j]);
  EXPECT_LT(chi2(pairs, 1000.0 / 20.0), 50.8);
}

namespace tsgd {
namespace {

// The engines' mapping from SGD's sample counter mu to a training sample
// (sample_index, and SampleOrder which keeps the epoch's key): over counters
// e P .. (e + 1) P - 1 every sample 0 .. P - 1 exactly once, for every epoch;
// online (P = 0) the counter itself. Exact: integer identities.
TEST(Permutation, SampleIndexVisitsEverySampleOncePerEpoch) {
  for (std::uint64_t size : {1ull, 2ull, 3ull, 1000ull}) {
    SampleOrder order;
    order.seed = 77;
    order.size = size;
    for (std::uint64_t epoch = 0; epoch < 4; ++epoch) {
      std::vector<int> seen(size, 0);
      for (std::uint64_t j = 0; j < size; ++j) {
        const std::uint64_t mu = epoch * size + j;
        const std::uint64_t i = sample_index(77, size, mu);
        ASSERT_LT(i, size);
        ++seen[i];
        EXPECT_EQ(order(mu), i) << "P=" << size << " mu=" << mu;
      }
      for (std::uint64_t i = 0; i < size; ++i)
        EXPECT_EQ(seen[i], 1) << "P=" << size << " epoch " << epoch << " sample " << i;
    }
  }
  for (std::uint64_t mu : {0ull, 5ull, 1ull << 40}) EXPECT_EQ(sample_index(3, 0, mu), mu);
  // Two epochs of P = 1000 in different orders (a fresh permutation each epoch).
  int same = 0;
  for (std::uint64_t j = 0; j < 1000; ++j)
    same += sample_index(77, 1000, j) == sample_index(77, 1000, 1000 + j);
  EXPECT_LT(same, 20);  // expected 1 for independent permutations
}

}  // namespace
}  // namespace tsgd
