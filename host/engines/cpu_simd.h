// Fixed-width lanes for the CPU engine's hot loops: 16 float lanes (U32x16,
// F32x16) or 8 double lanes (F64x8), 64 bytes either way, whatever the
// instruction set. One AVX-512 register each where the compiler targets
// AVX-512 and FMA, two AVX2 registers with AVX2 and FMA, otherwise arrays
// that the compiler vectorises as it can (the portable fallback). The build
// chooses by -march; this header checks the compiler's macros, it never
// assumes an instruction set.
//
// The lane count is part of the arithmetic, not of the machine: the draw
// (cpu_draw.cpp) does per lane exactly what math/gaussian.h does per scalar,
// and a dot product (cpu_kernels.h) sums lane l over coordinates l, l + L,
// l + 2L, ... with one FMA each, then the lanes by a fixed tree (reduce), so
// every instruction set gives the same bits. fma is one rounding on the
// vector paths and rn_fma (math/hd.h) on the portable one: one rounding on a
// host with FMA, two without (as for the Gaussian draws).
#pragma once

#include <cstddef>
#include <cstdint>

#include "math/hd.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__FMA__)
#define TSGD_SIMD_AVX512 1
// GCC 12's AVX-512 intrinsics fill unused results with a self-initialised
// "undefined" value that -W(maybe-)uninitialized reports (GCC bug 105593, fixed
// in GCC 13): silenced for the header's own lines only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#elif defined(__AVX2__) && defined(__FMA__)
#define TSGD_SIMD_AVX2 1
#include <immintrin.h>
#endif

namespace tsgd::simd {

#if defined(TSGD_SIMD_AVX512)
// ---- AVX-512: one register per value -----------------------------------------
constexpr const char* kIsa = "avx512";
struct U32x16 {
  __m512i v;
};
struct F32x16 {
  __m512 v;
};
struct F64x8 {
  __m512d v;
};
using Mask16 = __mmask16;

inline U32x16 broadcast_u32(std::uint32_t a) { return {_mm512_set1_epi32(static_cast<int>(a))}; }
// start, start + 1, ..., start + 15
inline U32x16 iota_u32(std::uint32_t start) {
  const __m512i step = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return {_mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(start)), step)};
}
inline U32x16 operator+(U32x16 a, U32x16 b) { return {_mm512_add_epi32(a.v, b.v)}; }
inline U32x16 operator&(U32x16 a, U32x16 b) { return {_mm512_and_si512(a.v, b.v)}; }
inline U32x16 operator|(U32x16 a, U32x16 b) { return {_mm512_or_si512(a.v, b.v)}; }
inline U32x16 xor3(U32x16 a, U32x16 b, U32x16 c) {
  return {_mm512_ternarylogic_epi32(a.v, b.v, c.v, 0x96)};
}
template <int n>
inline U32x16 shift_right(U32x16 a) {
  return {_mm512_srli_epi32(a.v, n)};
}
// The 64-bit products m * a: low words returned, high words in *hi.
inline U32x16 mulhilo(std::uint32_t m, U32x16 a, U32x16* hi) {
  const __m512i mv = _mm512_set1_epi32(static_cast<int>(m));
  const __m512i even = _mm512_mul_epu32(a.v, mv);                        // lanes 0, 2, ...
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a.v, 32), mv);  // lanes 1, 3, ...
  // Shifts and blends, not cross-lane shuffles: they issue on more ports.
  hi->v = _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(even, 32), odd);
  return {_mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64(odd, 32))};
}
inline Mask16 nonzero(U32x16 a) { return _mm512_test_epi32_mask(a.v, a.v); }
inline U32x16 select(Mask16 m, U32x16 a, U32x16 b) {
  return {_mm512_mask_blend_epi32(m, b.v, a.v)};
}
// Lanes below 2^31 as floats (exact below 2^24).
inline F32x16 to_float(U32x16 a) { return {_mm512_cvtepi32_ps(a.v)}; }
inline F32x16 bits_to_float(U32x16 a) { return {_mm512_castsi512_ps(a.v)}; }
inline U32x16 float_to_bits(F32x16 a) { return {_mm512_castps_si512(a.v)}; }

inline F32x16 broadcast(float a) { return {_mm512_set1_ps(a)}; }
inline F32x16 load(const float* p) { return {_mm512_loadu_ps(p)}; }
inline void store(float* p, F32x16 a) { _mm512_storeu_ps(p, a.v); }
inline F32x16 operator+(F32x16 a, F32x16 b) { return {_mm512_add_ps(a.v, b.v)}; }
inline F32x16 operator-(F32x16 a, F32x16 b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline F32x16 operator*(F32x16 a, F32x16 b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline F32x16 operator-(F32x16 a) {
  return {_mm512_castsi512_ps(
      _mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(INT32_MIN)))};
}
inline F32x16 fma(F32x16 a, F32x16 b, F32x16 c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline F32x16 sqrt(F32x16 a) { return {_mm512_sqrt_ps(a.v)}; }
inline Mask16 greater(F32x16 a, F32x16 b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ); }
inline F32x16 select(Mask16 m, F32x16 a, F32x16 b) { return {_mm512_mask_blend_ps(m, b.v, a.v)}; }
inline float reduce_tree(F32x16 a) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a.v), _mm512_extractf32x8_ps(a.v, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}
// out[4 j + t] = z_t[j], j < 16: the blocks' four Gaussians in coordinate order.
inline void store_interleaved4(float* out, F32x16 z0, F32x16 z1, F32x16 z2, F32x16 z3) {
  const __m512 t0 = _mm512_unpacklo_ps(z0.v, z1.v), t1 = _mm512_unpackhi_ps(z0.v, z1.v);
  const __m512 t2 = _mm512_unpacklo_ps(z2.v, z3.v), t3 = _mm512_unpackhi_ps(z2.v, z3.v);
  // u_k holds blocks k, k + 4, k + 8, k + 12, one per 128-bit quarter.
  const __m512d u0 = _mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2));
  const __m512d u1 = _mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2));
  const __m512d u2 = _mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3));
  const __m512d u3 = _mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3));
  const __m512d a = _mm512_shuffle_f64x2(u0, u1, 0x44), b = _mm512_shuffle_f64x2(u2, u3, 0x44);
  const __m512d c = _mm512_shuffle_f64x2(u0, u1, 0xee), d = _mm512_shuffle_f64x2(u2, u3, 0xee);
  _mm512_storeu_pd(reinterpret_cast<double*>(out), _mm512_shuffle_f64x2(a, b, 0x88));
  _mm512_storeu_pd(reinterpret_cast<double*>(out + 16), _mm512_shuffle_f64x2(a, b, 0xdd));
  _mm512_storeu_pd(reinterpret_cast<double*>(out + 32), _mm512_shuffle_f64x2(c, d, 0x88));
  _mm512_storeu_pd(reinterpret_cast<double*>(out + 48), _mm512_shuffle_f64x2(c, d, 0xdd));
}

inline F64x8 broadcast(double a) { return {_mm512_set1_pd(a)}; }
inline F64x8 load(const double* p) { return {_mm512_loadu_pd(p)}; }
inline void store(double* p, F64x8 a) { _mm512_storeu_pd(p, a.v); }
inline F64x8 operator+(F64x8 a, F64x8 b) { return {_mm512_add_pd(a.v, b.v)}; }
inline F64x8 operator*(F64x8 a, F64x8 b) { return {_mm512_mul_pd(a.v, b.v)}; }
inline F64x8 fma(F64x8 a, F64x8 b, F64x8 c) { return {_mm512_fmadd_pd(a.v, b.v, c.v)}; }
inline double reduce_tree(F64x8 a) {
  const __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(a.v), _mm512_extractf64x4_pd(a.v, 1));
  const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

#elif defined(TSGD_SIMD_AVX2)
// ---- AVX2: two registers per value, lanes 0-7 in lo, 8-15 in hi --------------
constexpr const char* kIsa = "avx2";
struct U32x16 {
  __m256i lo, hi;
};
struct F32x16 {
  __m256 lo, hi;
};
struct F64x8 {
  __m256d lo, hi;
};
struct Mask16 {
  __m256i lo, hi;  // all ones where true
};

inline U32x16 broadcast_u32(std::uint32_t a) {
  const __m256i v = _mm256_set1_epi32(static_cast<int>(a));
  return {v, v};
}
inline U32x16 iota_u32(std::uint32_t start) {
  const __m256i s = _mm256_set1_epi32(static_cast<int>(start));
  return {_mm256_add_epi32(s, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
          _mm256_add_epi32(s, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15))};
}
inline U32x16 operator+(U32x16 a, U32x16 b) {
  return {_mm256_add_epi32(a.lo, b.lo), _mm256_add_epi32(a.hi, b.hi)};
}
inline U32x16 operator&(U32x16 a, U32x16 b) {
  return {_mm256_and_si256(a.lo, b.lo), _mm256_and_si256(a.hi, b.hi)};
}
inline U32x16 operator|(U32x16 a, U32x16 b) {
  return {_mm256_or_si256(a.lo, b.lo), _mm256_or_si256(a.hi, b.hi)};
}
inline U32x16 xor3(U32x16 a, U32x16 b, U32x16 c) {
  return {_mm256_xor_si256(_mm256_xor_si256(a.lo, b.lo), c.lo),
          _mm256_xor_si256(_mm256_xor_si256(a.hi, b.hi), c.hi)};
}
template <int n>
inline U32x16 shift_right(U32x16 a) {
  return {_mm256_srli_epi32(a.lo, n), _mm256_srli_epi32(a.hi, n)};
}
inline __m256i mulhilo8(__m256i m, __m256i a, __m256i* hi) {
  const __m256i even = _mm256_mul_epu32(a, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xaa);
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xaa);
}
inline U32x16 mulhilo(std::uint32_t m, U32x16 a, U32x16* hi) {
  const __m256i mv = _mm256_set1_epi32(static_cast<int>(m));
  U32x16 lo;
  lo.lo = mulhilo8(mv, a.lo, &hi->lo);
  lo.hi = mulhilo8(mv, a.hi, &hi->hi);
  return lo;
}
inline Mask16 nonzero(U32x16 a) {
  const __m256i z = _mm256_setzero_si256(), ones = _mm256_set1_epi32(-1);
  return {_mm256_xor_si256(_mm256_cmpeq_epi32(a.lo, z), ones),
          _mm256_xor_si256(_mm256_cmpeq_epi32(a.hi, z), ones)};
}
inline U32x16 select(Mask16 m, U32x16 a, U32x16 b) {
  return {_mm256_blendv_epi8(b.lo, a.lo, m.lo), _mm256_blendv_epi8(b.hi, a.hi, m.hi)};
}
inline F32x16 to_float(U32x16 a) { return {_mm256_cvtepi32_ps(a.lo), _mm256_cvtepi32_ps(a.hi)}; }
inline F32x16 bits_to_float(U32x16 a) {
  return {_mm256_castsi256_ps(a.lo), _mm256_castsi256_ps(a.hi)};
}
inline U32x16 float_to_bits(F32x16 a) {
  return {_mm256_castps_si256(a.lo), _mm256_castps_si256(a.hi)};
}

inline F32x16 broadcast(float a) { return {_mm256_set1_ps(a), _mm256_set1_ps(a)}; }
inline F32x16 load(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
inline void store(float* p, F32x16 a) {
  _mm256_storeu_ps(p, a.lo);
  _mm256_storeu_ps(p + 8, a.hi);
}
inline F32x16 operator+(F32x16 a, F32x16 b) {
  return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
}
inline F32x16 operator-(F32x16 a, F32x16 b) {
  return {_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)};
}
inline F32x16 operator*(F32x16 a, F32x16 b) {
  return {_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)};
}
inline F32x16 operator-(F32x16 a) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  return {_mm256_xor_ps(a.lo, sign), _mm256_xor_ps(a.hi, sign)};
}
inline F32x16 fma(F32x16 a, F32x16 b, F32x16 c) {
  return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
inline F32x16 sqrt(F32x16 a) { return {_mm256_sqrt_ps(a.lo), _mm256_sqrt_ps(a.hi)}; }
inline Mask16 greater(F32x16 a, F32x16 b) {
  return {_mm256_castps_si256(_mm256_cmp_ps(a.lo, b.lo, _CMP_GT_OQ)),
          _mm256_castps_si256(_mm256_cmp_ps(a.hi, b.hi, _CMP_GT_OQ))};
}
inline F32x16 select(Mask16 m, F32x16 a, F32x16 b) {
  return {_mm256_blendv_ps(b.lo, a.lo, _mm256_castsi256_ps(m.lo)),
          _mm256_blendv_ps(b.hi, a.hi, _mm256_castsi256_ps(m.hi))};
}
inline float reduce_tree(F32x16 a) {
  const __m256 h = _mm256_add_ps(a.lo, a.hi);
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}
// out[4 j + t] = z_t[j] for the 8 blocks of one half.
inline void store_interleaved4_half(float* out, __m256 z0, __m256 z1, __m256 z2, __m256 z3) {
  const __m256 t0 = _mm256_unpacklo_ps(z0, z1), t1 = _mm256_unpackhi_ps(z0, z1);
  const __m256 t2 = _mm256_unpacklo_ps(z2, z3), t3 = _mm256_unpackhi_ps(z2, z3);
  // u_k holds blocks k and k + 4, one per 128-bit half.
  const __m256 u0 =
      _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
  const __m256 u1 =
      _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
  const __m256 u2 =
      _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
  const __m256 u3 =
      _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u1, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
}
inline void store_interleaved4(float* out, F32x16 z0, F32x16 z1, F32x16 z2, F32x16 z3) {
  store_interleaved4_half(out, z0.lo, z1.lo, z2.lo, z3.lo);
  store_interleaved4_half(out + 32, z0.hi, z1.hi, z2.hi, z3.hi);
}

inline F64x8 broadcast(double a) { return {_mm256_set1_pd(a), _mm256_set1_pd(a)}; }
inline F64x8 load(const double* p) { return {_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)}; }
inline void store(double* p, F64x8 a) {
  _mm256_storeu_pd(p, a.lo);
  _mm256_storeu_pd(p + 4, a.hi);
}
inline F64x8 operator+(F64x8 a, F64x8 b) {
  return {_mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi)};
}
inline F64x8 operator*(F64x8 a, F64x8 b) {
  return {_mm256_mul_pd(a.lo, b.lo), _mm256_mul_pd(a.hi, b.hi)};
}
inline F64x8 fma(F64x8 a, F64x8 b, F64x8 c) {
  return {_mm256_fmadd_pd(a.lo, b.lo, c.lo), _mm256_fmadd_pd(a.hi, b.hi, c.hi)};
}
inline double reduce_tree(F64x8 a) {
  const __m256d h = _mm256_add_pd(a.lo, a.hi);
  const __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
  return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

#else
// ---- portable: arrays, vectorised by the compiler as far as it can -----------
constexpr const char* kIsa = "portable";
struct U32x16 {
  std::uint32_t v[16];
};
struct F32x16 {
  float v[16];
};
struct F64x8 {
  double v[8];
};
using Mask16 = U32x16;  // all ones where true

template <typename T, typename F>
inline T lanewise(F f) {
  T out;
  for (int l = 0; l < static_cast<int>(sizeof(out.v) / sizeof(out.v[0])); ++l) out.v[l] = f(l);
  return out;
}

inline U32x16 broadcast_u32(std::uint32_t a) {
  return lanewise<U32x16>([&](int) { return a; });
}
inline U32x16 iota_u32(std::uint32_t start) {
  return lanewise<U32x16>([&](int l) { return start + static_cast<std::uint32_t>(l); });
}
inline U32x16 operator+(U32x16 a, U32x16 b) {
  return lanewise<U32x16>([&](int l) { return a.v[l] + b.v[l]; });
}
inline U32x16 operator&(U32x16 a, U32x16 b) {
  return lanewise<U32x16>([&](int l) { return a.v[l] & b.v[l]; });
}
inline U32x16 operator|(U32x16 a, U32x16 b) {
  return lanewise<U32x16>([&](int l) { return a.v[l] | b.v[l]; });
}
inline U32x16 xor3(U32x16 a, U32x16 b, U32x16 c) {
  return lanewise<U32x16>([&](int l) { return a.v[l] ^ b.v[l] ^ c.v[l]; });
}
template <int n>
inline U32x16 shift_right(U32x16 a) {
  return lanewise<U32x16>([&](int l) { return a.v[l] >> n; });
}
inline U32x16 mulhilo(std::uint32_t m, U32x16 a, U32x16* hi) {
  U32x16 lo;
  for (int l = 0; l < 16; ++l) {
    const std::uint64_t p = static_cast<std::uint64_t>(m) * a.v[l];
    lo.v[l] = static_cast<std::uint32_t>(p);
    hi->v[l] = static_cast<std::uint32_t>(p >> 32);
  }
  return lo;
}
inline Mask16 nonzero(U32x16 a) {
  return lanewise<U32x16>([&](int l) { return a.v[l] != 0 ? ~0u : 0u; });
}
inline U32x16 select(Mask16 m, U32x16 a, U32x16 b) {
  return lanewise<U32x16>([&](int l) { return m.v[l] ? a.v[l] : b.v[l]; });
}
inline F32x16 to_float(U32x16 a) {
  return lanewise<F32x16>(
      [&](int l) { return static_cast<float>(static_cast<std::int32_t>(a.v[l])); });
}
inline F32x16 bits_to_float(U32x16 a) {
  return lanewise<F32x16>([&](int l) { return tsgd::bits_to_float(a.v[l]); });
}
inline U32x16 float_to_bits(F32x16 a) {
  return lanewise<U32x16>([&](int l) { return tsgd::float_to_bits(a.v[l]); });
}

inline F32x16 broadcast(float a) {
  return lanewise<F32x16>([&](int) { return a; });
}
inline F32x16 load(const float* p) {
  return lanewise<F32x16>([&](int l) { return p[l]; });
}
inline void store(float* p, F32x16 a) {
  for (int l = 0; l < 16; ++l) p[l] = a.v[l];
}
inline F32x16 operator+(F32x16 a, F32x16 b) {
  return lanewise<F32x16>([&](int l) { return a.v[l] + b.v[l]; });
}
inline F32x16 operator-(F32x16 a, F32x16 b) {
  return lanewise<F32x16>([&](int l) { return a.v[l] - b.v[l]; });
}
inline F32x16 operator*(F32x16 a, F32x16 b) {
  return lanewise<F32x16>([&](int l) { return a.v[l] * b.v[l]; });
}
inline F32x16 operator-(F32x16 a) {
  return lanewise<F32x16>([&](int l) { return -a.v[l]; });
}
inline F32x16 fma(F32x16 a, F32x16 b, F32x16 c) {
  return lanewise<F32x16>([&](int l) { return rn_fma(a.v[l], b.v[l], c.v[l]); });
}
inline F32x16 sqrt(F32x16 a) {
  return lanewise<F32x16>([&](int l) { return math_sqrt(a.v[l]); });
}
inline Mask16 greater(F32x16 a, F32x16 b) {
  return lanewise<U32x16>([&](int l) { return a.v[l] > b.v[l] ? ~0u : 0u; });
}
inline F32x16 select(Mask16 m, F32x16 a, F32x16 b) {
  return lanewise<F32x16>([&](int l) { return m.v[l] ? a.v[l] : b.v[l]; });
}
template <typename T>
inline auto reduce_tree(T a) {
  for (int h = static_cast<int>(sizeof(a.v) / sizeof(a.v[0])) / 2; h > 0; h /= 2)
    for (int l = 0; l < h; ++l) a.v[l] = a.v[l] + a.v[l + h];
  return a.v[0];
}
inline void store_interleaved4(float* out, F32x16 z0, F32x16 z1, F32x16 z2, F32x16 z3) {
  for (int j = 0; j < 16; ++j) {
    out[4 * j] = z0.v[j];
    out[4 * j + 1] = z1.v[j];
    out[4 * j + 2] = z2.v[j];
    out[4 * j + 3] = z3.v[j];
  }
}

inline F64x8 broadcast(double a) {
  return lanewise<F64x8>([&](int) { return a; });
}
inline F64x8 load(const double* p) {
  return lanewise<F64x8>([&](int l) { return p[l]; });
}
inline void store(double* p, F64x8 a) {
  for (int l = 0; l < 8; ++l) p[l] = a.v[l];
}
inline F64x8 operator+(F64x8 a, F64x8 b) {
  return lanewise<F64x8>([&](int l) { return a.v[l] + b.v[l]; });
}
inline F64x8 operator*(F64x8 a, F64x8 b) {
  return lanewise<F64x8>([&](int l) { return a.v[l] * b.v[l]; });
}
// Like rn_fma: one rounding on a host with FMA, two without.
inline F64x8 fma(F64x8 a, F64x8 b, F64x8 c) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  return lanewise<F64x8>([&](int l) { return __builtin_fma(a.v[l], b.v[l], c.v[l]); });
#else
  return lanewise<F64x8>([&](int l) { return a.v[l] * b.v[l] + c.v[l]; });
#endif
}
#endif

// The instruction set the lanes were compiled for: "avx512", "avx2" or "portable".
inline const char* isa() { return kIsa; }
inline float reduce(F32x16 a) { return reduce_tree(a); }
inline double reduce(F64x8 a) { return reduce_tree(a); }

// The lanes of a precision: 64 bytes, L = 64 / sizeof(Real).
template <typename Real>
struct LanesOf;
template <>
struct LanesOf<float> {
  using type = F32x16;
  static constexpr int size = 16;
};
template <>
struct LanesOf<double> {
  using type = F64x8;
  static constexpr int size = 8;
};

}  // namespace tsgd::simd
