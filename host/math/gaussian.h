// Gaussian numbers addressed by run identity (docs/architecture.md contract 1).
//
// Every Gaussian tsgd uses is a float computed from Philox4x32-10 bits by the
// Box-Muller transform below, on the CPU and on the GPU alike. The float64 CPU
// engine promotes these floats, so every engine and precision sees the same
// data; CPU and GPU differ at most by the rounding of the float transform.
//
// The transform is branch-free polynomial code (Cephes logf / sinf / cosf
// coefficients) so that the CPU loop vectorises and nvcc emits the same math,
// with every rounding spelled out (rn_fma / rn_mul / ... of hd.h): a compiler
// that fused a different multiply-add would change an ulp here and there.
// Resolution: 23 bits for the radius (|z| <= 5.77, tail mass 1e-8 cut off),
// 24 bits for the angle.
//
// The fast transform (RngTransform::fast, simulate.rng_transform) is the same
// Box-Muller on the same bits, u and the angle as above, with the GPU's
// hardware approximations: r = sqrt(-2 ln 2 log2 u) by lg2.approx and
// rsqrt.approx, (cos, sin) by sin.approx / cos.approx (one multi-function unit
// instruction each). Its error against the exact transform, from the bounds
// the CUDA Programming Guide gives for __log2f (2^-22 absolute for u in
// [0.5, 2], 2 ulp elsewhere), rsqrtf (2 ulp) and __sinf / __cosf (2^-21.41 /
// 2^-21.19 absolute on [-pi, pi]): for a draw of radius r,
//   |z_fast - z_exact| <= min(6e-4, 1.8e-7 / r) + 1.2e-6 r + (a few ulp),
// i.e. below 8e-6 for every r > 0.03 (all but 5e-4 of the draws), and at
// most 6e-4 where r is tiny (log u within 2^-22 of 0: one draw in ~10^6).
// The host has no such instructions: there the same formula is evaluated with
// the C library's log2f, sqrtf, sinf and cosf, so the CPU engine's `fast`
// draws are the GPU's to within that bound, not bit for bit, and are slower
// than the exact ones on the CPU, which draws those 16 at a time
// (engines/cpu_draw.h; the fast ones exist so that a GPU experiment can be
// resumed, grown or checked on the CPU with the transform it used).
#pragma once

#include "math/hd.h"
#include "math/philox.h"

namespace tsgd {

// Which Box-Muller transform turns Philox bits into Gaussians (above): part of
// a run's identity (docs/architecture.md contract 1).
enum class RngTransform : std::uint32_t { exact = 0, fast = 1 };

// What a block of random numbers is for; part of the Philox counter.
enum class Stream : std::uint32_t {
  input = 0,         // x^mu, index = mu, block = coordinate / 4
  label_noise = 1,   // zeta^mu, index = mu, block 0, lane 0
  teacher_w = 2,     // w*_m, index = m, block = coordinate / 4
  teacher_v = 3,     // v*_m, index 0, block = m / 4
  student_w = 4,     // w_k, index = k, block = coordinate / 4
  student_v = 5,     // v_k, index 0, block = k / 4
  permutation = 6,   // a finite training set's epoch order (math/permutation.h)
  teacher_mask = 7,  // which of w*_m's weights are zero, index = m (initial_weights.h)
};

TSGD_HD TSGD_FORCEINLINE Philox4x32 random_block(std::uint64_t seed, Stream stream,
                                                 std::uint64_t index, std::uint32_t block) {
  const Philox4x32 counter{{block, static_cast<std::uint32_t>(index),
                            static_cast<std::uint32_t>(index >> 32),
                            static_cast<std::uint32_t>(stream)}};
  return philox4x32_10(counter, static_cast<std::uint32_t>(seed),
                       static_cast<std::uint32_t>(seed >> 32));
}

namespace detail {

// ln(u) for u in (0, 1], about 1 ulp (Cephes logf).
TSGD_HD TSGD_FORCEINLINE float log_unit(float u) {
  const std::uint32_t bits = float_to_bits(u);
  int e = static_cast<int>((bits >> 23) & 0xffu) - 127;
  float m = bits_to_float((bits & 0x007fffffu) | 0x3f800000u);  // m in [1, 2)
  const bool big = m > 1.41421356f;
  m = big ? 0.5f * m : m;
  e = big ? e + 1 : e;
  const float x = rn_sub(m, 1.0f);  // in (-0.293, 0.415)
  const float z = rn_mul(x, x);
  // Horner in fused multiply-adds (rounding spelled out: hd.h).
  float y = 7.0376836292e-2f;
  y = rn_fma(y, x, -1.1514610310e-1f);
  y = rn_fma(y, x, 1.1676998740e-1f);
  y = rn_fma(y, x, -1.2420140846e-1f);
  y = rn_fma(y, x, 1.4249322787e-1f);
  y = rn_fma(y, x, -1.6668057665e-1f);
  y = rn_fma(y, x, 2.0000714765e-1f);
  y = rn_fma(y, x, -2.4999993993e-1f);
  y = rn_fma(y, x, 3.3333331174e-1f);
  y = rn_mul(rn_mul(y, x), z);
  const float fe = static_cast<float>(e);
  y = rn_fma(-2.12194440e-4f, fe, y);
  y = rn_fma(-0.5f, z, y);
  return rn_fma(0.693359375f, fe, rn_add(x, y));
}

// Box-Muller on one pair of 32-bit words: (r cos theta, r sin theta).
TSGD_HD TSGD_FORCEINLINE void box_muller(std::uint32_t a, std::uint32_t b, float* z0, float* z1) {
  // u = (k + 1/2) 2^-23 with k < 2^23: exact in float, never 0 or 1.
  const float u = (static_cast<float>(a >> 9) + 0.5f) * 1.1920928955078125e-7f;
  const float r = math_sqrt(rn_mul(-2.0f, log_unit(u)));  // sqrt: correctly rounded on both
  // theta = (q + x) pi/2 with quadrant q (2 bits) and x in (0, 1) (22 bits).
  const std::uint32_t q = b >> 30;
  const float x =
      (static_cast<float>((b >> 8) & 0x3fffffu) + 0.5f) * 2.384185791015625e-7f;  // exact
  const float y = rn_mul(rn_sub(x, 0.5f), 1.57079632679f);  // in (-pi/4, pi/4)
  const float s2 = rn_mul(y, y);
  // sin y = y + y s2 (s1 + s2 (s3 + s2 s5)), cos y = 1 - s2/2 + s2^2 (c4 + s2 (c6 + s2 c8)).
  float ps = rn_fma(s2, -1.9515295891e-4f, 8.3321608736e-3f);
  ps = rn_fma(s2, ps, -1.6666654611e-1f);
  const float sin_y = rn_fma(rn_mul(y, s2), ps, y);
  float pc = rn_fma(s2, 2.443315711809948e-5f, -1.388731625493765e-3f);
  pc = rn_fma(s2, pc, 4.166664568298827e-2f);
  const float cos_y = rn_fma(rn_mul(s2, s2), pc, rn_fma(-0.5f, s2, 1.0f));
  // psi = y + pi/4, in (0, pi/2).
  const float cos_psi = rn_mul(rn_sub(cos_y, sin_y), 0.70710678118f);
  const float sin_psi = rn_mul(rn_add(cos_y, sin_y), 0.70710678118f);
  const bool swap = (q & 1u) != 0;
  const float c = swap ? sin_psi : cos_psi;
  const float s = swap ? cos_psi : sin_psi;
  const bool neg_c = (((q + 1u) >> 1) & 1u) != 0;  // quadrants 1 and 2
  const bool neg_s = (q >> 1) != 0;                // quadrants 2 and 3
  *z0 = rn_mul(r, neg_c ? -c : c);
  *z1 = rn_mul(r, neg_s ? -s : s);
}

// The fast transform's functions: the GPU's approximations (PTX lg2.approx,
// rsqrt.approx, sin.approx, cos.approx), on the host the C library's.
TSGD_HD TSGD_FORCEINLINE float fast_log2(float x) {
#if defined(__CUDA_ARCH__)
  return __log2f(x);
#else
  return log2f(x);
#endif
}
TSGD_HD TSGD_FORCEINLINE float fast_sqrt(float x) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(x, rsqrtf(x));  // one MUFU.RSQ and a multiply (x > 0 here)
#else
  return sqrtf(x);
#endif
}
TSGD_HD TSGD_FORCEINLINE void fast_sincos(float x, float* s, float* c) {
#if defined(__CUDA_ARCH__)
  __sincosf(x, s, c);
#else
  *s = sinf(x);
  *c = cosf(x);
#endif
}

// Box-Muller on one pair of words with the fast functions: the exact
// transform's u and angle (the same bits), to within the bound above.
TSGD_HD TSGD_FORCEINLINE void box_muller_fast(std::uint32_t a, std::uint32_t b, float* z0,
                                              float* z1) {
  const float u = (static_cast<float>(a >> 9) + 0.5f) * 1.1920928955078125e-7f;  // exact
  // -2 ln u = -2 ln 2 log2 u; log2 u may round to 0 or above for u near 1
  // (absolute error 2^-22): the floor keeps r finite and tiny there.
  const float r2 = rn_mul(-1.3862943611198906f, fast_log2(u));
  const float r = fast_sqrt(r2 > 1e-30f ? r2 : 1e-30f);
  // theta = 2 pi t, t = (b >> 8 + 1/2) 2^-24 (the exact transform's (q + x) / 4),
  // computed as theta - pi in (-pi, pi), where sin.approx is accurate, and
  // (cos, sin)(theta) = -(cos, sin)(theta - pi). centred = 2^24 (t - 1/2),
  // exact: an integer below 2^23 in magnitude plus 1/2.
  const float centred = static_cast<float>(static_cast<int>(b >> 8) - 8388608) + 0.5f;
  const float shifted = rn_mul(centred, 3.7450702829239893e-07f);  // 2 pi 2^-24
  float s, c;
  fast_sincos(shifted, &s, &c);
  *z0 = rn_mul(-r, c);
  *z1 = rn_mul(-r, s);
}

}  // namespace detail

// Four standard Gaussians from one Philox block.
TSGD_HD TSGD_FORCEINLINE void gaussian4(const Philox4x32& bits, float out[4]) {
  detail::box_muller(bits.v[0], bits.v[1], &out[0], &out[1]);
  detail::box_muller(bits.v[2], bits.v[3], &out[2], &out[3]);
}

// The same with a run's transform: a branch on a value that is uniform
// across a kernel launch, so no kernel is compiled twice for it.
TSGD_HD TSGD_FORCEINLINE void gaussian4(const Philox4x32& bits, float out[4],
                                        RngTransform transform) {
  if (transform == RngTransform::fast) {
    detail::box_muller_fast(bits.v[0], bits.v[1], &out[0], &out[1]);
    detail::box_muller_fast(bits.v[2], bits.v[3], &out[2], &out[3]);
  } else {
    gaussian4(bits, out);
  }
}

// The Gaussian of one coordinate of (seed, stream, index).
TSGD_HD inline float gaussian_at(std::uint64_t seed, Stream stream, std::uint64_t index,
                                 std::uint32_t coordinate,
                                 RngTransform transform = RngTransform::exact) {
  float out[4];
  gaussian4(random_block(seed, stream, index, coordinate / 4u), out, transform);
  return out[coordinate % 4u];
}

}  // namespace tsgd
