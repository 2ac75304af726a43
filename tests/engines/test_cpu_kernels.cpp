// The CPU engine's row passes (engines/cpu_kernels.h) against scalar
// transcriptions of the order and roundings they state, bit for bit: so the
// fields and updates are the same on every instruction set (the stated
// order does not mention one), and a field does not depend on the rows that
// share its pass.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engines/cpu_kernels.h"
#include "math/hd.h"

using namespace tsgd;

namespace {

// rn_fma's rounding (math/hd.h) in both precisions: one rounding with FMA.
float reference_fma(float a, float b, float c) { return rn_fma(a, b, c); }
double reference_fma(double a, double b, double c) {
  return kHostHasFma ? std::fma(a, b, c) : a * b + c;
}

// The stated order: lane l of L = 64 / sizeof(Real) sums coordinates l, l + L,
// ... by FMA; lanes added by halving; times scale.
template <typename Real>
Real reference_field(const Real* w, const Real* x, std::size_t padded, Real scale) {
  constexpr std::size_t L = 64 / sizeof(Real);
  Real lane[L] = {};
  for (std::size_t i = 0; i < padded; ++i) lane[i % L] = reference_fma(w[i], x[i], lane[i % L]);
  for (std::size_t h = L / 2; h > 0; h /= 2)
    for (std::size_t l = 0; l < h; ++l) lane[l] = lane[l] + lane[l + h];
  return lane[0] * scale;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// `count` rows of n Gaussian coordinates, zero to the padded length.
template <typename Real>
struct Rows {
  std::size_t padded;
  std::vector<Real> data;
  std::vector<Real*> pointers;
  Rows(int count, int n, std::mt19937& rng) : padded(padded_length(n)), data(count * padded) {
    std::normal_distribution<double> normal;
    for (int r = 0; r < count; ++r) {
      for (int i = 0; i < n; ++i) data[r * padded + i] = static_cast<Real>(normal(rng));
      pointers.push_back(&data[r * padded]);
    }
  }
};

template <typename Real>
void expect_fields_in_stated_order() {
  std::mt19937 rng(5);
  int differ_from_sequential = 0;
  for (int n : {1, 15, 16, 17, 100, 784}) {
    for (int count = 1; count <= 9; ++count) {
      Rows<Real> w(count, n, rng), x(1, n, rng);
      const Real scale = Real(1) / std::sqrt(static_cast<Real>(n));
      std::vector<Real> out(count);
      row_fields(w.pointers.data(), count, x.data.data(), w.padded, scale, out.data());
      for (int r = 0; r < count; ++r) {
        const Real* row = w.pointers[r];
        ASSERT_TRUE(same_bits(out[r], reference_field(row, x.data.data(), w.padded, scale)))
            << "n " << n << " rows " << count << " row " << r;
        Real sequential = 0;
        for (int i = 0; i < n; ++i) sequential += row[i] * x.data[i];
        differ_from_sequential += !same_bits(out[r], sequential * scale);
      }
    }
  }
  // The order matters: a test of it can fail.
  EXPECT_GT(differ_from_sequential, 0);
}

template <typename Real>
void expect_updates_as_stated(bool decay, int B) {
  std::mt19937 rng(11);
  for (int n : {3, 16, 50, 784}) {
    const int count = 7;  // a pass of 4 and one of 3
    Rows<Real> w(count, n, rng), x(B, n, rng);
    std::vector<Real> coef(count * B), keep(count);
    for (int r = 0; r < count; ++r) {
      keep[r] = decay && r % 2 ? Real(0.99) : Real(1);
      for (int b = 0; b < B; ++b) coef[r * B + b] = Real(0.01) * (r + 1) * (b % 2 ? -1 : 1);
    }
    std::vector<Real> expected = w.data;
    for (int r = 0; r < count; ++r)
      for (std::size_t i = 0; i < w.padded; ++i) {
        Real& e = expected[r * w.padded + i];
        e = rn_add(rn_mul(keep[r], e), rn_mul(coef[r * B], x.data[i]));
        for (int b = 1; b < B; ++b)
          e = rn_add(e, rn_mul(coef[r * B + b], x.data[b * x.padded + i]));
      }
    row_updates(w.pointers.data(), count, coef.data(), keep.data(), decay, x.data.data(), x.padded,
                B, w.padded);
    for (std::size_t i = 0; i < expected.size(); ++i)
      ASSERT_TRUE(same_bits(w.data[i], expected[i])) << "n " << n << " B " << B << " at " << i;
    for (int r = 0; r < count; ++r)  // the padding stays zero
      for (std::size_t i = n; i < w.padded; ++i) ASSERT_EQ(w.data[r * w.padded + i], Real(0));
  }
}

template <typename Real>
void expect_fused_pass_is_update_then_fields(bool decay) {
  std::mt19937 rng(17);
  for (int count : {1, 2, 3, 4, 5, 8, 9, 12, 17})
    for (int fixed_count : {0, 1, 4, 5}) {  // read-only rows: in the last pass or apart
      Rows<Real> w(count, 100, rng), x(2, 100, rng), fixed(fixed_count, 100, rng);
      Rows<Real> copy = w;
      for (int r = 0; r < count; ++r) copy.pointers[r] = &copy.data[r * copy.padded];
      std::vector<Real> coef(count), keep(count, decay ? Real(0.995) : Real(1));
      for (int r = 0; r < count; ++r) coef[r] = Real(0.02) * (r - 2);
      const Real* x_now = x.data.data();
      const Real* x_next = x_now + x.padded;
      const Real scale = Real(0.1);
      std::vector<Real> fused(count), separate(count), fixed_fused(fixed_count),
          fixed_separate(fixed_count);
      std::vector<const Real*> fixed_rows(fixed.pointers.begin(), fixed.pointers.end());
      row_updates_then_fields(w.pointers.data(), count, coef.data(), keep.data(), decay,
                              fixed_rows.data(), fixed_count, x_now, x_next, w.padded, scale,
                              fused.data(), fixed_fused.data());
      row_updates(copy.pointers.data(), count, coef.data(), keep.data(), decay, x_now, x.padded, 1,
                  copy.padded);
      row_fields(copy.pointers.data(), count, x_next, copy.padded, scale, separate.data());
      row_fields(fixed_rows.data(), fixed_count, x_next, copy.padded, scale, fixed_separate.data());
      for (int r = 0; r < count; ++r) ASSERT_TRUE(same_bits(fused[r], separate[r])) << r;
      for (int t = 0; t < fixed_count; ++t)
        ASSERT_TRUE(same_bits(fixed_fused[t], fixed_separate[t])) << count << " " << t;
      for (std::size_t i = 0; i < w.data.size(); ++i)
        ASSERT_TRUE(same_bits(w.data[i], copy.data[i]));
    }
}

}  // namespace

TEST(CpuKernels, FieldsFollowTheStatedOrderInBothPrecisions) {
  expect_fields_in_stated_order<float>();
  expect_fields_in_stated_order<double>();
}

TEST(CpuKernels, UpdatesRoundAsTheSgdUpdateStates) {
  for (bool decay : {false, true})
    for (int B : {1, 3}) {
      expect_updates_as_stated<float>(decay, B);
      expect_updates_as_stated<double>(decay, B);
    }
}

TEST(CpuKernels, FusedPassIsTheUpdateThenTheFields) {
  for (bool decay : {false, true}) {
    expect_fused_pass_is_update_then_fields<float>(decay);
    expect_fused_pass_is_update_then_fields<double>(decay);
  }
}
