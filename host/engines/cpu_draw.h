// The CPU engine's input draws: the Gaussians of math/gaussian.h for a whole
// input vector, 16 Philox blocks (64 coordinates) at a time in the lanes of
// engines/cpu_simd.h. The exact transform is the same floats as gaussian_at,
// bit for bit on every instruction set (tests/math/test_gaussian.cpp checks
// the transform on every radius and every angle the bits can give).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "core/model.h"
#include "math/gaussian.h"

namespace tsgd {

// Fills out[0..n) with the input Gaussians of sample mu of a run with `seed`
// (math/gaussian.h; out must have room for n rounded up to a multiple of 4).
// The fast transform is drawn one block at a time with the C library's
// functions, one block at a time (slower than the exact one here).
void draw_input(std::uint64_t seed, std::uint64_t mu, int n, float* out,
                RngTransform transform = RngTransform::exact);

// out[i] = gaussian_at(seed, Stream::label_noise, first_mu + i, 0, transform),
// i < count: the label noise of consecutive samples, 16 at a time.
void draw_label_noise(std::uint64_t seed, std::uint64_t first_mu, int count, float* out,
                      RngTransform transform = RngTransform::exact);

// The exact Box-Muller transform of 16 pairs of words in the lanes, as the
// draw uses it: (z0[l], z1[l]) = detail::box_muller(a[l], b[l]) (tests).
void box_muller_lanes(const std::uint32_t a[16], const std::uint32_t b[16], float z0[16],
                      float z1[16]);

// The input x^mu in the engine's precision, zero from N to `padded` (the
// rows' padding must stay zero through the updates): training row mu of
// INPUTS (real inputs, float then Real as a draw), else drawn at (seed, mu).
template <typename Real>
void draw_sample(std::uint64_t seed, std::uint64_t mu, int N, std::size_t padded,
                 RngTransform transform, const InputSet* inputs, float* scratch, Real* x) {
  if (inputs) {
    const float* row = inputs->train_row(mu);
    for (int i = 0; i < N; ++i) x[i] = static_cast<Real>(row[i]);
  } else if constexpr (std::is_same_v<Real, float>) {
    draw_input(seed, mu, N, x, transform);  // writes up to N rounded to 4 <= padded
  } else {
    draw_input(seed, mu, N, scratch, transform);
    for (int i = 0; i < N; ++i) x[i] = static_cast<Real>(scratch[i]);
  }
  std::fill(x + N, x + padded, Real(0));
}

// The instruction set of the lanes ("avx512", "avx2", "portable").
const char* cpu_simd_isa();

}  // namespace tsgd
