// The CPU engine's passes over weight rows: local fields, first-layer
// updates, and both in one pass. Rows are zero-padded to a multiple of 16
// coordinates (kCpuRowAlign); x is zero past N as well, so the padding stays
// zero and adds nothing.
//
// The order of a field's sum is fixed, the same on every instruction set
// (engines/cpu_simd.h): lane l of L = 64 bytes / sizeof(Real) accumulates
// w_i x_i for i = l, l + L, l + 2L, ... with one FMA each, the lanes are then
// added by halving (l + L/2, then L/4, ...), and the sum is multiplied by
// 1/sqrt(N). A field does not depend on which rows share its pass, so a run's
// numbers do not depend on its group (docs/architecture.md contract 1).
//
// The update of a row is math/sgd_update.h's: w <- decayed_weight(w_keep, w)
// + c_0 x^0, then + c_b x^b for b = 1 .. B-1, each product and sum rounded on
// its own. When w_keep is 1 the decay is skipped: 1 * w is w, bit for bit.
#pragma once

#include <cstddef>
#include <type_traits>

#include "engines/cpu_simd.h"
#include "math/hd.h"

namespace tsgd {

constexpr std::size_t kCpuRowAlign = 16;
// Rows per pass: each pass reads x once for all of them, and their
// independent sums hide the FMA latency; 8 where 32 vector registers hold
// their sums and coefficients (AVX-512), else 4.
#if defined(TSGD_SIMD_AVX512)
constexpr int kCpuRowsPerPass = 8;
#else
constexpr int kCpuRowsPerPass = 4;
#endif

inline std::size_t padded_length(int n) {
  return (static_cast<std::size_t>(n) + kCpuRowAlign - 1) / kCpuRowAlign * kCpuRowAlign;
}

// The distance between consecutive rows (and input vectors) of Real: the
// padded length rounded up to an odd number of 64-byte lines. Rows a
// multiple of 4 KB apart (N = 512 in double, 1024 in float) would all map
// to the same L1 sets and alias in the store buffer: the fused pass over
// 8 such rows ran 3x slower (3.4 instead of 1.2 ns per 64 bytes).
template <typename Real>
std::size_t row_stride(int n) {
  constexpr std::size_t kLine = 64 / sizeof(Real);
  std::size_t lines = (padded_length(n) + kLine - 1) / kLine;
  if (lines % 2 == 0) ++lines;
  return lines * kLine;
}

namespace cpu_kernels {

// Each kernel compiled on its own, not inlined into its dispatch: the same
// code whichever pass sizes a caller instantiates (a call per pass of
// thousands of cycles costs nothing).
#if defined(__GNUC__)
#define TSGD_CPU_KERNEL __attribute__((noinline))
#else
#define TSGD_CPU_KERNEL
#endif

template <typename Real>
using Lanes = typename simd::LanesOf<Real>::type;

// out[r] = (rows[r] . x) / sqrt(N), r < R.
template <typename Real, int R>
TSGD_CPU_KERNEL void fields(const Real* const* rows, const Real* x, std::size_t padded, Real scale,
                            Real* out) {
  constexpr std::size_t L = simd::LanesOf<Real>::size;
  Lanes<Real> acc[R];
  for (int r = 0; r < R; ++r) acc[r] = simd::broadcast(Real(0));
  for (std::size_t i = 0; i < padded; i += L) {
    const Lanes<Real> xi = simd::load(x + i);
    for (int r = 0; r < R; ++r) acc[r] = simd::fma(simd::load(rows[r] + i), xi, acc[r]);
  }
  for (int r = 0; r < R; ++r) out[r] = rn_mul(simd::reduce(acc[r]), scale);
}

// rows[r] <- keep[r] rows[r] + sum_b coef[r * B + b] x^b (x^b at x + b * x_stride).
template <typename Real, int R, bool kDecay>
TSGD_CPU_KERNEL void update(Real* const* rows, const Real* coef, const Real* keep, const Real* x,
                            std::size_t x_stride, int B, std::size_t padded) {
  constexpr std::size_t L = simd::LanesOf<Real>::size;
  Lanes<Real> c0[R], k[R];
  for (int r = 0; r < R; ++r) {
    c0[r] = simd::broadcast(coef[r * B]);
    k[r] = simd::broadcast(keep[r]);
  }
  for (std::size_t i = 0; i < padded; i += L) {
    const Lanes<Real> x0 = simd::load(x + i);
    for (int r = 0; r < R; ++r) {
      Lanes<Real> w = simd::load(rows[r] + i);
      if (kDecay) w = k[r] * w;
      w = w + c0[r] * x0;
      for (int b = 1; b < B; ++b)
        w = w + simd::broadcast(coef[r * B + b]) * simd::load(x + b * x_stride + i);
      simd::store(rows[r] + i, w);
    }
  }
}

// One sample's update (B = 1) and the next sample's fields in one pass:
// rows[r] <- keep[r] rows[r] + coef[r] x_now, then out[r] = (rows[r] .
// x_next) / sqrt(N); bit for bit update<Real, R, kDecay> then fields<Real, R>.
// T rows more are only read: fixed_out[t] = (fixed[t] . x_next) / sqrt(N),
// bit for bit fields<Real, T> (the teacher's rows, sharing the loads of x).
template <typename Real, int R, int T, bool kDecay>
TSGD_CPU_KERNEL void update_then_fields(Real* const* rows, const Real* coef, const Real* keep,
                                        const Real* const* fixed, const Real* x_now,
                                        const Real* x_next, std::size_t padded, Real scale,
                                        Real* out, Real* fixed_out) {
  constexpr std::size_t L = simd::LanesOf<Real>::size;
  Lanes<Real> c[R], k[R], acc[R], fixed_acc[T > 0 ? T : 1];
  for (int r = 0; r < R; ++r) {
    c[r] = simd::broadcast(coef[r]);
    k[r] = simd::broadcast(keep[r]);
    acc[r] = simd::broadcast(Real(0));
  }
  for (int t = 0; t < T; ++t) fixed_acc[t] = simd::broadcast(Real(0));
  for (std::size_t i = 0; i < padded; i += L) {
    const Lanes<Real> xn = simd::load(x_now + i), xx = simd::load(x_next + i);
    for (int r = 0; r < R; ++r) {
      Lanes<Real> w = simd::load(rows[r] + i);
      if (kDecay) w = k[r] * w;
      w = w + c[r] * xn;
      simd::store(rows[r] + i, w);
      acc[r] = simd::fma(w, xx, acc[r]);
    }
    for (int t = 0; t < T; ++t)
      fixed_acc[t] = simd::fma(simd::load(fixed[t] + i), xx, fixed_acc[t]);
  }
  for (int r = 0; r < R; ++r) out[r] = rn_mul(simd::reduce(acc[r]), scale);
  for (int t = 0; t < T; ++t) fixed_out[t] = rn_mul(simd::reduce(fixed_acc[t]), scale);
}

// f(std::integral_constant<int, t>) for t = value <= 4.
template <typename F>
void with_count(int value, F f) {
  switch (value) {
    case 0:
      return f(std::integral_constant<int, 0>{});
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    default:
      return f(std::integral_constant<int, 4>{});
  }
}

// f(std::integral_constant<int, size>), 1 <= size <= R.
template <int R, typename F>
void with_rows(int size, F& f) {
  if constexpr (R >= 1) {
    if (size == R) return f(std::integral_constant<int, R>{});
    with_rows<R - 1>(size, f);
  }
}

// The passes over `count` rows: kCpuRowsPerPass at a time, the rest in one
// pass, but a rest below 4 shares the last full pass's rows evenly (9 rows:
// 5 and 4, not 8 and 1, whose single sum would wait on its FMA latency).
// pass(first, R) calls the kernel instantiated for R rows.
template <typename F>
void in_passes(int count, F pass) {
  int full = count / kCpuRowsPerPass, rest = count % kCpuRowsPerPass;
  int tail[2] = {rest, 0};
  if (rest > 0 && rest < 4 && full > 0) {
    --full;
    tail[0] = (kCpuRowsPerPass + rest + 1) / 2;
    tail[1] = kCpuRowsPerPass + rest - tail[0];
  }
  int first = 0;
  for (int p = 0; p < full; ++p, first += kCpuRowsPerPass)
    pass(first, std::integral_constant<int, kCpuRowsPerPass>{});
  auto call = [&](auto R) { pass(first, R); };
  for (int size : tail)
    if (size > 0) {
      with_rows<kCpuRowsPerPass>(size, call);
      first += size;
    }
}

}  // namespace cpu_kernels

// Fields of `count` rows: out[u] = (rows[u] . x) / sqrt(N).
template <typename Real>
void row_fields(const Real* const* rows, int count, const Real* x, std::size_t padded, Real scale,
                Real* out) {
  cpu_kernels::in_passes(count, [&](int first, auto R) {
    cpu_kernels::fields<Real, decltype(R)::value>(rows + first, x, padded, scale, out + first);
  });
}

// First-layer updates of `count` rows with B samples (coef[u * B + b]); decay:
// some keep[u] is not 1.
template <typename Real>
void row_updates(Real* const* rows, int count, const Real* coef, const Real* keep, bool decay,
                 const Real* x, std::size_t x_stride, int B, std::size_t padded) {
  cpu_kernels::in_passes(count, [&](int first, auto R) {
    constexpr int kR = decltype(R)::value;
    if (decay)
      cpu_kernels::update<Real, kR, true>(rows + first, coef + first * B, keep + first, x, x_stride,
                                          B, padded);
    else
      cpu_kernels::update<Real, kR, false>(rows + first, coef + first * B, keep + first, x,
                                           x_stride, B, padded);
  });
}

// Most rows a fused pass holds (their sums and coefficients in registers):
// the teacher's rows ride along in the last pass when it has room.
#if defined(TSGD_SIMD_AVX512)
constexpr int kCpuFusedRowsMax = 12;
#else
constexpr int kCpuFusedRowsMax = 4;
#endif

// B = 1: the update with x_now and the fields at x_next, one pass; and the
// fields of `fixed_count` read-only rows at x_next (fixed_out), in the last
// pass where it has room for them, else in passes of their own.
template <typename Real>
void row_updates_then_fields(Real* const* rows, int count, const Real* coef, const Real* keep,
                             bool decay, const Real* const* fixed, int fixed_count,
                             const Real* x_now, const Real* x_next, std::size_t padded, Real scale,
                             Real* out, Real* fixed_out) {
  bool fixed_done = false;
  cpu_kernels::in_passes(count, [&](int first, auto R) {
    constexpr int kR = decltype(R)::value;
    const bool last = first + kR == count;
    const int T =
        last && fixed_count <= 4 && kR + fixed_count <= kCpuFusedRowsMax ? fixed_count : 0;
    fixed_done = fixed_done || T == fixed_count;
    cpu_kernels::with_count(T, [&](auto t) {
      constexpr int kT = decltype(t)::value;
      if (decay)
        cpu_kernels::update_then_fields<Real, kR, kT, true>(rows + first, coef + first,
                                                            keep + first, fixed, x_now, x_next,
                                                            padded, scale, out + first, fixed_out);
      else
        cpu_kernels::update_then_fields<Real, kR, kT, false>(rows + first, coef + first,
                                                             keep + first, fixed, x_now, x_next,
                                                             padded, scale, out + first, fixed_out);
    });
  });
  if (!fixed_done) row_fields(fixed, fixed_count, x_next, padded, scale, fixed_out);
}

}  // namespace tsgd
