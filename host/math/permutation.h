// The order in which multi-pass SGD visits a finite training set of P samples
// (data.train_size, docs/config.md): at step mu, epoch e = mu / P, the run takes
// sample permute(epoch_permutation(seed, e, P), mu mod P). Each epoch is a fresh
// permutation of [0, P) drawn from the run's identity (docs/architecture.md
// contract 1) without storing it, so P = 10^9 costs no memory and the GPU needs
// no buffer: a Feistel network on the smallest domain of 2^(2h) >= P
// elements (kFeistelRounds rounds), with cycle-walking (apply it again while the result is >= P,
// which ends because j < P lies on its own cycle; at most 4P / P = 4 applications on average since
// the domain is under 4P). The rounds mix (a half, the round, the epoch's key), the key being a
// Philox block of (seed, Stream::permutation, index = epoch): any epoch and any P up to 2^63.
#pragma once

#include "math/gaussian.h"
#include "math/hd.h"
#include "math/philox.h"

namespace tsgd {

struct EpochPermutation {
  std::uint32_t k0 = 0, k1 = 0;  // the epoch's Philox key
  std::uint64_t size = 1;        // P
  int half_bits = 1;             // h: each Feistel half holds h bits, 2^(2h) >= P
};

// Luby-Rackoff's four rounds are asymptotic in the halves' size; on the small
// domains of a small P (2-bit halves for P = 5) four rounds leave the order
// visibly non-uniform (the first two positions: chi-square 109 on 19 degrees
// of freedom over 1,000 epochs); eight do not (21.8; tests/math/test_permutation.cpp).
constexpr int kFeistelRounds = 8;

// A permutation of [0, SIZE) keyed by the first two words of a Philox block
// (epoch_permutation's, or another stream's: initial_weights.h's teacher mask).
TSGD_HD inline EpochPermutation keyed_permutation(const Philox4x32& key, std::uint64_t size) {
  EpochPermutation p;
  p.k0 = key.v[0];
  p.k1 = key.v[1];
  p.size = size;
  int bits = 1;  // the bits of size - 1 (at least 1)
  while (bits < 64 && ((size - 1) >> bits) != 0) ++bits;
  p.half_bits = (bits + 1) / 2;
  return p;
}

TSGD_HD inline EpochPermutation epoch_permutation(std::uint64_t seed, std::uint64_t epoch,
                                                  std::uint64_t size) {
  return keyed_permutation(random_block(seed, Stream::permutation, epoch, 0), size);
}

namespace detail {
// The round function: SplitMix64's finaliser (Steele, Lea and Flood 2014) of
// the half, the epoch's key and the round; a statistical mixer, cheap on both
// compilers (two 64-bit multiplies), not a cryptographic one.
TSGD_HD TSGD_FORCEINLINE std::uint64_t feistel_round(const EpochPermutation& p, std::uint64_t half,
                                                     int round) {
  std::uint64_t z = half + ((static_cast<std::uint64_t>(p.k1) << 32) | p.k0) +
                    static_cast<std::uint64_t>(round + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
TSGD_HD TSGD_FORCEINLINE void swap_halves(std::uint64_t& a, std::uint64_t& b) {
  const std::uint64_t t = a;
  a = b;
  b = t;
}
// One pass of the network over the domain [0, 2^(2h)), forward or backward.
TSGD_HD inline std::uint64_t feistel(const EpochPermutation& p, std::uint64_t x, bool inverse) {
  const int h = p.half_bits;
  const std::uint64_t mask = (1ull << h) - 1;  // h <= 32
  std::uint64_t left = (x >> h) & mask, right = x & mask;
  // The inverse is the same network on the swapped halves with the rounds in
  // reverse order, swapped back: (L, R) -> (R, L ^ F(R)) undone by one round on (R', L').
  if (inverse) swap_halves(left, right);
  for (int i = 0; i < kFeistelRounds; ++i) {
    const std::uint64_t next =
        left ^ (feistel_round(p, right, inverse ? kFeistelRounds - 1 - i : i) & mask);
    left = right;
    right = next;
  }
  if (inverse) swap_halves(left, right);
  return (left << h) | right;
}
}  // namespace detail

namespace detail {
// Cycle-walking: the network again while the result lies outside [0, size).
TSGD_HD inline std::uint64_t walk(const EpochPermutation& p, std::uint64_t x, bool inverse) {
  if (p.size <= 1) return 0;
  do x = feistel(p, x, inverse);
  while (x >= p.size);
  return x;
}
}  // namespace detail

// The sample at position J (< size) of the epoch.
TSGD_HD inline std::uint64_t permute(const EpochPermutation& p, std::uint64_t j) {
  return detail::walk(p, j, false);
}

// The position of sample I (< size) in the epoch: permute's inverse.
TSGD_HD inline std::uint64_t unpermute(const EpochPermutation& p, std::uint64_t i) {
  return detail::walk(p, i, true);
}

// The training-set sample that SGD's sample counter MU (step t B + b) uses:
// online (size 0) MU itself, else sample permute(epoch_permutation(seed, e,
// size), MU mod size) of epoch e = MU / size. Both engines address a sample's
// input and label noise by the result, so sample i is the same every epoch.
// A caller that maps many consecutive counters keeps a SampleOrder.
TSGD_HD inline std::uint64_t sample_index(std::uint64_t seed, std::uint64_t size,
                                          std::uint64_t mu) {
  if (size == 0) return mu;
  const std::uint64_t epoch = mu / size;
  return permute(epoch_permutation(seed, epoch, size), mu - epoch * size);
}

// sample_index with the current epoch's key kept (one Philox block per epoch).
struct SampleOrder {
  std::uint64_t seed = 0;
  std::uint64_t size = 0;  // 0: online
  std::uint64_t epoch = ~std::uint64_t{0};
  EpochPermutation permutation{};

  TSGD_HD std::uint64_t operator()(std::uint64_t mu) {
    if (size == 0) return mu;
    const std::uint64_t e = mu / size;
    if (e != epoch) {
      permutation = epoch_permutation(seed, e, size);
      epoch = e;
    }
    return permute(permutation, mu - e * size);
  }
};

}  // namespace tsgd
