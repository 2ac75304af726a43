// Philox4x32-10, the counter-based generator of Salmon et al. (SC'11), as in
// Random123 and cuRAND. Stateless: out = philox(counter, key). Checked against
// the Random123 known-answer vectors in tests/test_random.cpp.
//
// Run identity (docs/architecture.md contract 1): key = the run's 64-bit seed; the counter
// addresses (block of 4 coordinates, sample index mu or unit index, stream).
#pragma once

#include "math/hd.h"

namespace tsgd {

struct Philox4x32 {
  std::uint32_t v[4];
};

namespace detail {
constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

TSGD_HD TSGD_FORCEINLINE std::uint32_t mulhilo(std::uint32_t a, std::uint32_t b,
                                               std::uint32_t* hi) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
}
}  // namespace detail

// Ten rounds; round r uses the key bumped r times by the Weyl constants.
TSGD_HD TSGD_FORCEINLINE Philox4x32 philox4x32_10(Philox4x32 c, std::uint32_t k0,
                                                  std::uint32_t k1) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, hi1;
    const std::uint32_t lo0 = detail::mulhilo(detail::kPhiloxM0, c.v[0], &hi0);
    const std::uint32_t lo1 = detail::mulhilo(detail::kPhiloxM1, c.v[2], &hi1);
    c = Philox4x32{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
    k0 += detail::kPhiloxW0;
    k1 += detail::kPhiloxW1;
  }
  return c;
}

}  // namespace tsgd
