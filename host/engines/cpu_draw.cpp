#include "engines/cpu_draw.h"

#include <algorithm>
#include <cstring>

#include "engines/cpu_simd.h"
#include "math/philox.h"

namespace tsgd {

namespace {

using simd::F32x16;
using simd::U32x16;

// Philox4x32-10 (math/philox.h) on C x 16 counters, lane by lane: the same
// rounds, products and key schedule. C independent chains in lockstep hide
// the latency of each round's multiply and shuffles.
template <int C>
TSGD_FORCEINLINE void philox_lanes(U32x16 (*c)[4], std::uint32_t k0, std::uint32_t k1) {
  // Unrolled, so that the state stays in registers.
#pragma GCC unroll 10
  for (int round = 0; round < 10; ++round) {
    const U32x16 key0 = simd::broadcast_u32(k0), key1 = simd::broadcast_u32(k1);
#pragma GCC unroll 4
    for (int i = 0; i < C; ++i) {
      U32x16 hi0, hi1;
      const U32x16 lo0 = simd::mulhilo(detail::kPhiloxM0, c[i][0], &hi0);
      const U32x16 lo1 = simd::mulhilo(detail::kPhiloxM1, c[i][2], &hi1);
      c[i][0] = simd::xor3(hi1, c[i][1], key0);
      c[i][1] = lo1;
      c[i][2] = simd::xor3(hi0, c[i][3], key1);
      c[i][3] = lo0;
    }
    k0 += detail::kPhiloxW0;
    k1 += detail::kPhiloxW1;
  }
}

// detail::log_unit (math/gaussian.h) in the lanes: the same constants and
// operations in the same order, each FMA where it has rn_fma, each product
// and sum rounded where it has rn_mul / rn_add / rn_sub.
TSGD_FORCEINLINE F32x16 log_unit_lanes(F32x16 u) {
  using simd::broadcast;
  const U32x16 bits = simd::float_to_bits(u);
  // e + 127 (0 < u < 1: e < 0); the bias is removed as a float below, exactly.
  U32x16 biased = simd::shift_right<23>(bits) & simd::broadcast_u32(0xffu);
  F32x16 m = simd::bits_to_float((bits & simd::broadcast_u32(0x007fffffu)) |
                                 simd::broadcast_u32(0x3f800000u));
  const simd::Mask16 big = simd::greater(m, broadcast(1.41421356f));
  m = simd::select(big, broadcast(0.5f) * m, m);
  biased = simd::select(big, biased + simd::broadcast_u32(1u), biased);
  const F32x16 x = m - broadcast(1.0f);
  const F32x16 z = x * x;
  F32x16 y = broadcast(7.0376836292e-2f);
  y = simd::fma(y, x, broadcast(-1.1514610310e-1f));
  y = simd::fma(y, x, broadcast(1.1676998740e-1f));
  y = simd::fma(y, x, broadcast(-1.2420140846e-1f));
  y = simd::fma(y, x, broadcast(1.4249322787e-1f));
  y = simd::fma(y, x, broadcast(-1.6668057665e-1f));
  y = simd::fma(y, x, broadcast(2.0000714765e-1f));
  y = simd::fma(y, x, broadcast(-2.4999993993e-1f));
  y = simd::fma(y, x, broadcast(3.3333331174e-1f));
  y = (y * x) * z;
  // static_cast<float>(e) with e = biased - 127: both exact in float.
  const F32x16 fe = simd::to_float(biased) - broadcast(127.0f);
  y = simd::fma(broadcast(-2.12194440e-4f), fe, y);
  y = simd::fma(broadcast(-0.5f), z, y);
  return simd::fma(broadcast(0.693359375f), fe, x + y);
}

// detail::box_muller in the lanes (the same order of operations).
TSGD_FORCEINLINE void box_muller_in_lanes(U32x16 a, U32x16 b, F32x16* z0, F32x16* z1) {
  using simd::broadcast;
  const F32x16 u = (simd::to_float(simd::shift_right<9>(a)) + broadcast(0.5f)) *
                   broadcast(1.1920928955078125e-7f);
  const F32x16 r = simd::sqrt(broadcast(-2.0f) * log_unit_lanes(u));
  const U32x16 q = simd::shift_right<30>(b);
  const F32x16 x =
      (simd::to_float(simd::shift_right<8>(b) & simd::broadcast_u32(0x3fffffu)) + broadcast(0.5f)) *
      broadcast(2.384185791015625e-7f);
  const F32x16 y = (x - broadcast(0.5f)) * broadcast(1.57079632679f);
  const F32x16 s2 = y * y;
  F32x16 ps = simd::fma(s2, broadcast(-1.9515295891e-4f), broadcast(8.3321608736e-3f));
  ps = simd::fma(s2, ps, broadcast(-1.6666654611e-1f));
  const F32x16 sin_y = simd::fma(y * s2, ps, y);
  F32x16 pc = simd::fma(s2, broadcast(2.443315711809948e-5f), broadcast(-1.388731625493765e-3f));
  pc = simd::fma(s2, pc, broadcast(4.166664568298827e-2f));
  const F32x16 cos_y = simd::fma(s2 * s2, pc, simd::fma(broadcast(-0.5f), s2, broadcast(1.0f)));
  const F32x16 cos_psi = (cos_y - sin_y) * broadcast(0.70710678118f);
  const F32x16 sin_psi = (cos_y + sin_y) * broadcast(0.70710678118f);
  const simd::Mask16 swap = simd::nonzero(q & simd::broadcast_u32(1u));
  const F32x16 c = simd::select(swap, sin_psi, cos_psi);
  const F32x16 s = simd::select(swap, cos_psi, sin_psi);
  const simd::Mask16 neg_c =
      simd::nonzero(simd::shift_right<1>(q + simd::broadcast_u32(1u)) & simd::broadcast_u32(1u));
  const simd::Mask16 neg_s = simd::nonzero(simd::shift_right<1>(q));
  *z0 = r * simd::select(neg_c, -c, c);
  *z1 = r * simd::select(neg_s, -s, s);
}

void draw_input_fast(std::uint64_t seed, std::uint64_t mu, int n, float* out) {
  for (int j = 0; 4 * j < n; ++j)
    gaussian4(random_block(seed, Stream::input, mu, static_cast<std::uint32_t>(j)), &out[4 * j],
              RngTransform::fast);
}

}  // namespace

// The exact draw of chunks [first_chunk, first_chunk + chunks) of 64 coordinates.
static void draw_input_chunks(std::uint64_t seed, std::uint64_t mu, int n, int first_chunk,
                              int chunks, float* out) {
  const int blocks = (n + 3) / 4;
  const int end = std::min(blocks, 16 * (first_chunk + chunks));
  const std::uint32_t k0 = static_cast<std::uint32_t>(seed);
  const std::uint32_t k1 = static_cast<std::uint32_t>(seed >> 32);
  // The counter of random_block (math/gaussian.h): (block, mu low, mu high, stream).
  const U32x16 mu_lo = simd::broadcast_u32(static_cast<std::uint32_t>(mu));
  const U32x16 mu_hi = simd::broadcast_u32(static_cast<std::uint32_t>(mu >> 32));
  const U32x16 stream = simd::broadcast_u32(static_cast<std::uint32_t>(Stream::input));
  // Two chunks of 16 blocks per pass (the second may lie past the end).
  constexpr int kChains = 2;
  for (int j0 = 16 * first_chunk; j0 < end; j0 += 16 * kChains) {
    U32x16 c[kChains][4];
    for (int i = 0; i < kChains; ++i) {
      c[i][0] = simd::iota_u32(static_cast<std::uint32_t>(j0 + 16 * i));
      c[i][1] = mu_lo;
      c[i][2] = mu_hi;
      c[i][3] = stream;
    }
    philox_lanes<kChains>(c, k0, k1);
    for (int i = 0; i < kChains && j0 + 16 * i < end; ++i) {
      F32x16 z[4];
      box_muller_in_lanes(c[i][0], c[i][1], &z[0], &z[1]);
      box_muller_in_lanes(c[i][2], c[i][3], &z[2], &z[3]);
      const int first = j0 + 16 * i;
      if (end - first >= 16) {
        simd::store_interleaved4(&out[4 * first], z[0], z[1], z[2], z[3]);
      } else {
        float last[64];
        simd::store_interleaved4(last, z[0], z[1], z[2], z[3]);
        std::copy(last, last + 4 * (end - first), &out[4 * first]);
      }
    }
  }
}

void draw_input(std::uint64_t seed, std::uint64_t mu, int n, float* out, RngTransform transform) {
  if (transform == RngTransform::fast) return draw_input_fast(seed, mu, n, out);
  draw_input_chunks(seed, mu, n, 0, (n + 63) / 64, out);
}

void draw_label_noise(std::uint64_t seed, std::uint64_t first_mu, int count, float* out,
                      RngTransform transform) {
  if (transform == RngTransform::fast) {
    for (int i = 0; i < count; ++i)
      out[i] = gaussian_at(seed, Stream::label_noise, first_mu + i, 0, RngTransform::fast);
    return;
  }
  // Lane l: block 0 of sample first_mu + i + l; its first Gaussian (z0).
  const U32x16 zero = simd::broadcast_u32(0u);
  const U32x16 stream = simd::broadcast_u32(static_cast<std::uint32_t>(Stream::label_noise));
  for (int i = 0; i < count; i += 16) {
    std::uint32_t lo[16], hi[16];
    for (int l = 0; l < 16; ++l) {
      const std::uint64_t mu = first_mu + static_cast<std::uint64_t>(i + l);
      lo[l] = static_cast<std::uint32_t>(mu);
      hi[l] = static_cast<std::uint32_t>(mu >> 32);
    }
    U32x16 c[1][4] = {{zero, zero, zero, stream}};
    std::memcpy(&c[0][1], lo, sizeof lo);
    std::memcpy(&c[0][2], hi, sizeof hi);
    philox_lanes<1>(c, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
    F32x16 z0, z1;
    box_muller_in_lanes(c[0][0], c[0][1], &z0, &z1);
    float z[16];
    std::memcpy(z, &z0, sizeof z);
    std::copy(z, z + std::min(16, count - i), out + i);
  }
}

void box_muller_lanes(const std::uint32_t a[16], const std::uint32_t b[16], float z0[16],
                      float z1[16]) {
  // Every implementation of the lanes holds lane l at byte 4 l.
  static_assert(sizeof(U32x16) == 64 && sizeof(F32x16) == 64, "16 lanes of 4 bytes");
  U32x16 av, bv;
  std::memcpy(&av, a, sizeof av);
  std::memcpy(&bv, b, sizeof bv);
  F32x16 r0, r1;
  box_muller_in_lanes(av, bv, &r0, &r1);
  std::memcpy(z0, &r0, sizeof r0);
  std::memcpy(z1, &r1, sizeof r1);
}

const char* cpu_simd_isa() { return simd::isa(); }

}  // namespace tsgd
