// The Gaussian integrals (theory/integrals.h) against the test vectors of
// docs/theory.md §7, exact closed forms, quadrature and a seeded Monte Carlo.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/support/monte_carlo.h"
#include "theory/integrals.h"

namespace tsgd {
namespace {

constexpr double kPi = 3.14159265358979323846;

// docs/theory.md §7: C0, eigenvalues 0.164 .. 1.736.
Covariance c0() {
  return Covariance(4, {1.0, 0.3, 0.5, -0.2,  //
                        0.3, 0.8, 0.1, 0.4,   //
                        0.5, 0.1, 1.2, 0.25,  //
                        -0.2, 0.4, 0.25, 0.9});
}

// The sub-matrix of C on an index list (rows and columns in list order).
Covariance pick(const Covariance& C, const std::vector<int>& idx) {
  const int n = static_cast<int>(idx.size());
  std::vector<double> c(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) c[static_cast<std::size_t>(i) * n + j] = C(idx[i], idx[j]);
  return Covariance(n, c);
}

struct Vector7 {
  Activation g;
  double i2, j2, i3, i4;
};

// docs/theory.md §7 table, printed with 13 significant digits.
const Vector7 kVectors[] = {
    {Activation::erf, 1.010826241043e-01, 3.398024960835e-01, 7.812608886657e-03,
     3.326243773583e-02},
    {Activation::linear, 0.3, 1.0, 0.1, 0.25},
    {Activation::relu, 2.254375751909e-01, 3.044374547583e-01, 7.908121849043e-02,
     0.12047171272492555},  // I4: the 40-digit reference
    {Activation::quad, 0.98, 1.2, 0.92, 1.758},
};

TEST(Integrals, MathSheetVectors) {
  const Covariance C = c0();
  for (const Vector7& v : kVectors) {
    SCOPED_TRACE(to_string(v.g));
    // The table has 13 significant digits: relative 1e-11 covers its rounding (5e-13)
    // and the closed forms' rounding error with a wide margin.
    const double tol = 1e-11;
    EXPECT_NEAR(I2(v.g, C, 0, 1), v.i2, tol * std::abs(v.i2));
    EXPECT_NEAR(J2(v.g, C, 0, 1), v.j2, tol * std::abs(v.j2));
    EXPECT_NEAR(I3(v.g, C, 0, 1, 2), v.i3, tol * std::abs(v.i3));
    // ReLU I4 is the 73-node tanh-sinh quadrature: docs/theory.md §4.3(b) measured 1e-13 to
    // 1e-16 on generic covariances like C0, so 1e-11 still holds with margin.
    EXPECT_NEAR(I4(v.g, C, 0, 1, 2, 3), v.i4, tol * std::abs(v.i4));
  }
}

TEST(Integrals, ReluCoincidentClosedForms) {
  const Covariance C = c0();
  struct Case {
    int a, b, c, d;
    double value;
  };
  // docs/theory.md §7: I4 on the index sets (0,0,2,3), (0,1,2,2), (0,1,0,3) of C0.
  const Case cases[] = {{0, 0, 2, 3, 0.14294387376198936},
                        {0, 1, 2, 2, 0.28817135538651134},
                        {0, 1, 0, 3, 0.09477932788381999}};
  for (const Case& k : cases) {
    SCOPED_TRACE(std::to_string(k.a) + std::to_string(k.b) + std::to_string(k.c) +
                 std::to_string(k.d));
    // Closed forms (G, K3): verified to <= 5e-13 against 40-digit quadrature; 1e-12
    // relative allows for rounding in asin/atan2 of a different evaluation order.
    EXPECT_NEAR(I4(Activation::relu, C, k.a, k.b, k.c, k.d), k.value, 1e-12 * k.value);
    // The same average with the coincident fields duplicated into distinct indices
    // goes through the quadrature. docs/theory.md §4.3(b): worst case 4.8e-8 (exact a = b).
    const Covariance dup = pick(C, {k.a, k.b, k.c, k.d});
    EXPECT_NEAR(detail::relu_i4_quadrature(dup, 0, 1, 2, 3), k.value, 1e-7 * k.value);
  }
  // Further coincidences reduce to elementary averages:
  //   <step(a) relu(a) relu(d)> = <relu(a) relu(d)> = I2(a, d);  <relu(c)^2> = C_cc/2.
  EXPECT_NEAR(I4(Activation::relu, C, 0, 0, 0, 3), I2(Activation::relu, C, 0, 3), 1e-15);
  EXPECT_NEAR(I4(Activation::relu, C, 2, 2, 2, 2), 0.6, 1e-15);
  EXPECT_NEAR(I4(Activation::relu, C, 0, 1, 0, 1), I2(Activation::relu, C, 0, 1), 1e-15);
  // Symmetries a <-> b and c <-> d of the general quadrature, 1e-12: the path integrand
  // is evaluated in a different order, rounding only.
  const double generic = I4(Activation::relu, C, 0, 1, 2, 3);
  EXPECT_NEAR(I4(Activation::relu, C, 1, 0, 2, 3), generic, 1e-12 * generic);
  EXPECT_NEAR(I4(Activation::relu, C, 0, 1, 3, 2), generic, 1e-12 * generic);
}

TEST(Integrals, ReluQuadratureNearCoincidentFields) {
  // c and d one field (distinct indices): the quadrature merges them below
  // 1 - r_cd = 1e-12. Across that threshold the value is continuous: I4 moves by
  // O(1 - r_cd) (measured slope ~0.8), so 1e-11 relative covers 1 - r_cd <= 1e-11.
  const Covariance C = c0();
  const double merged = 0.28817135538651134;  // docs/theory.md §7, I4 on (0,1,2,2)
  for (double gap : {0.0, 1e-15, 0.9e-12, 1.1e-12, 1e-11}) {
    Covariance dup = pick(C, {0, 1, 2, 2});
    dup.set(2, 3, C(2, 2) * (1.0 - gap));
    SCOPED_TRACE(gap);
    EXPECT_NEAR(I4(Activation::relu, dup, 0, 1, 2, 3), merged, 1e-11 * merged);
  }
  // a = c and b = d as distinct indices (two pairs of identical students):
  // <step(x) step(y) relu(x) relu(y)> = <relu(x) relu(y)> = I2(x, y). Quadrature at
  // exactly collinear pairs: docs/theory.md §4.3(b) bounds it by 4.8e-8.
  const Covariance pairs(4, {1.0, 0.3, 1.0, 0.3, 0.3, 0.8, 0.3, 0.8,  //
                             1.0, 0.3, 1.0, 0.3, 0.3, 0.8, 0.3, 0.8});
  const double expected = I2(Activation::relu, pairs, 0, 1);
  EXPECT_NEAR(I4(Activation::relu, pairs, 0, 1, 2, 3), expected, 5e-8 * expected);
  // Three identical students and one other field: same bound.
  const Covariance triple(4, {1.0, 1.0, 1.0, 0.3, 1.0, 1.0, 1.0, 0.3,  //
                              1.0, 1.0, 1.0, 0.3, 0.3, 0.3, 0.3, 0.8});
  EXPECT_NEAR(I4(Activation::relu, triple, 0, 1, 2, 3), expected, 5e-8 * expected);
  // Four identical fields: <relu(x)^2> = C_xx / 2 (merged c, d then K3 with a = b = z).
  const Covariance all(4, std::vector<double>(16, 1.0));
  EXPECT_NEAR(I4(Activation::relu, all, 0, 1, 2, 3), 0.5, 1e-14);
}

// The regrouped, vectorised integrand (theory/relu_quadrature.cpp) against the one as
// first written (detail::relu_i4_quadrature_reference) on random covariances: Gram
// matrices of four Gaussian vectors in 4..6 dimensions, generic or with one pair of
// fields nearly collinear or anti-collinear (1 - |corr| down to ~1e-24, so the
// merge of collinear c, d is reached too). The two evaluate the same F(t) on the same
// nodes; they differ by the rounding of regrouped sums and a few-ulp arctangent, so
// 1e-14 of the scale sqrt(C_cc C_dd) (measured worst 3e-16).
TEST(Integrals, ReluFastQuadratureEqualsReference) {
  std::mt19937 rng(20261205);
  std::normal_distribution<double> normal;
  double worst = 0.0;
  for (int trial = 0; trial < 4000; ++trial) {
    const int dim = 4 + trial % 3, mode = trial % 4;
    const double eps = std::pow(10.0, -1.0 - (trial / 4) % 12);
    std::vector<double> w(4 * 6);
    for (double& x : w) x = normal(rng);
    // mode 0 generic; 1: b ~ a; 2: c ~ a; 3: c ~ -a.
    const int near = mode == 1 ? 1 : 2;
    const double sign = mode == 3 ? -1.0 : 1.0;
    if (mode != 0)
      for (int d = 0; d < dim; ++d) w[near * 6 + d] = sign * w[d] + eps * normal(rng);
    std::vector<double> c(16);
    for (int x = 0; x < 4; ++x)
      for (int y = 0; y < 4; ++y) {
        double sum = 0.0;
        for (int d = 0; d < dim; ++d) sum += w[x * 6 + d] * w[y * 6 + d];
        c[x * 4 + y] = sum / dim;
      }
    const Covariance C(4, c);
    const double fast = detail::relu_i4_quadrature(C, 0, 1, 2, 3);
    const double reference = detail::relu_i4_quadrature_reference(C, 0, 1, 2, 3);
    worst = std::max(worst, std::abs(fast - reference) / std::sqrt(C(2, 2) * C(3, 3)));
  }
  EXPECT_LT(worst, 1e-14);
}

// Where both pairs (a, b) and (c, d) are nearly collinear (1 - corr ~ 1e-10..1e-12),
// the reference integrand loses digits in its 1 - (t r)^2 and conditional covariances
// (errors 2e-8 to 1e-6 on these three); the fast one keeps the cancellation-free forms.
// Expected values: 40-digit mpmath evaluation of the same path integral (mp.quad in u
// with breakpoints at 2^-k, k = 1..40). 5e-9 relative: the floor docs/theory.md
// §4.3(b) reports for such pairs (1.4e-9), measured here at up to 2.4e-9.
TEST(Integrals, ReluFastQuadratureNearlyCollinearPairs) {
  struct Case {
    std::vector<double> c;
    double exact;
  };
  const Case cases[] = {
      {{0.92362080971091187, 0.92362085538787331, -0.47630554195494101, -0.4763062503052532,
        0.92362085538787331, 0.92362090106531891, -0.47630544978564027, -0.47630615813632338,
        -0.47630554195494101, -0.47630544978564027, 0.35387384175809522, 0.3538740573095544,
        -0.4763062503052532, -0.47630615813632338, 0.3538740573095544, 0.35387427286192863},
       0.0070549618381658269},
      {{0.7074653990979396, 0.70746554476551204, -0.26186684039132596, -0.26186699165138561,
        0.70746554476551204, 0.70746569043343188, -0.26186687446461798, -0.26186702572485376,
        -0.26186684039132596, -0.26186687446461798, 0.1580240413004009, 0.15802418978567484,
        -0.26186699165138561, -0.26186702572485376, 0.15802418978567484, 0.15802433827150414},
       0.0046287836156334531},
      {{1.0449195988583944, 1.0449124205281872, -0.64119291592381267, -0.64119417192969896,
        1.0449124205281872, 1.044905242434133, -0.6411796131562747, -0.64118086904276106,
        -0.64119291592381267, -0.6411796131562747, 0.94708996224278408, 0.94709719192319664,
        -0.64119417192969896, -0.64118086904276106, 0.94709719192319664, 0.94710442168514086},
       0.056914173699437347},
  };
  for (const Case& k : cases) {
    const Covariance C(4, k.c);
    EXPECT_NEAR(I4(Activation::relu, C, 0, 1, 2, 3), k.exact, 5e-9 * k.exact);
  }
}

TEST(Integrals, SignOnlyHasI2) {
  const Covariance C = c0();
  // I2 = (2/pi) asin(rho_01), closed form; rounding only.
  EXPECT_NEAR(I2(Activation::sign, C, 0, 1), 2.0 / kPi * std::asin(0.3 / std::sqrt(0.8)), 1e-15);
  EXPECT_THROW(J2(Activation::sign, C, 0, 1), std::invalid_argument);
  EXPECT_THROW(I3(Activation::sign, C, 0, 1, 2), std::invalid_argument);
  EXPECT_THROW(I4(Activation::sign, C, 0, 1, 2, 3), std::invalid_argument);
}

TEST(Integrals, DegenerateVariancesGiveNoNaN) {
  // A zero-norm student (Q_00 = 0) and a duplicated pair of fields (1 and 2 identical).
  const Covariance C(4, {0.0, 0.0, 0.0, 0.0,  //
                         0.0, 1.0, 1.0, 0.5,  //
                         0.0, 1.0, 1.0, 0.5,  //
                         0.0, 0.5, 0.5, 1.0});
  for (Activation g : {Activation::erf, Activation::relu, Activation::linear, Activation::quad}) {
    SCOPED_TRACE(to_string(g));
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b) {
        EXPECT_TRUE(std::isfinite(I2(g, C, a, b)));
        EXPECT_TRUE(std::isfinite(J2(g, C, a, b)));
        for (int c = 0; c < 4; ++c) {
          EXPECT_TRUE(std::isfinite(I3(g, C, a, b, c)));
          for (int d = 0; d < 4; ++d) EXPECT_TRUE(std::isfinite(I4(g, C, a, b, c, d)));
        }
      }
  }
  // ReLU on a zero field: step(0) = relu(0) = 0 (math/activation.h), so every average is 0.
  EXPECT_EQ(I4(Activation::relu, C, 0, 1, 2, 3), 0.0);
  EXPECT_EQ(J2(Activation::relu, C, 0, 1), 0.0);
  // Fields 1 and 2 identical: J2 = P(x > 0) = 1/2 exactly.
  EXPECT_NEAR(J2(Activation::relu, C, 1, 2), 0.5, 1e-15);
  // I4(1,2,1,3) through the quadrature equals the closed form I4(1,1,1,3) = I2(1,3);
  // duplicated fields are the quadrature's worst case, 4.8e-8 (docs/theory.md §4.3(b)).
  const double closed = I2(Activation::relu, C, 1, 3);
  EXPECT_NEAR(detail::relu_i4_quadrature(C, 1, 2, 1, 3), closed, 1e-7 * closed);
  // Mixed pairs with a zero field: g(0) = 0.
  EXPECT_EQ(I2_mixed(Activation::relu, Activation::erf, 0.0, 1.0, 0.0), 0.0);
}

// ---- Monte Carlo ------------------------------------------------------------------

using testing::Gaussian;
using testing::Moments;

// Lower Cholesky factor of a positive definite n x n matrix.
std::vector<double> cholesky(const Covariance& C) {
  const int n = C.size();
  std::vector<double> L(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      double s = C(i, j);
      for (int k = 0; k < j; ++k) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i == j ? std::sqrt(s) : s / L[j * n + j];
    }
  return L;
}

// A random positive definite covariance A A^T / n + 0.1 I, scaled per field.
Covariance random_covariance(std::uint64_t seed, int n) {
  Gaussian z(seed);
  std::vector<double> A(static_cast<std::size_t>(n) * n);
  for (double& a : A) a = z();
  Covariance C(n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      double s = i == j ? 0.1 : 0.0;
      for (int k = 0; k < n; ++k) s += A[i * n + k] * A[j * n + k] / n;
      C.set(i, j, s);
    }
  return C;
}

struct IndexPattern {
  int kind;  // 2: I2, 5: J2, 3: I3, 4: I4
  int a, b, c, d;
};

double evaluate(Activation g, const Covariance& C, const IndexPattern& p) {
  switch (p.kind) {
    case 2:
      return I2(g, C, p.a, p.b);
    case 5:
      return J2(g, C, p.a, p.b);
    case 3:
      return I3(g, C, p.a, p.b, p.c);
    default:
      return I4(g, C, p.a, p.b, p.c, p.d);
  }
}

// One Monte Carlo sample of a pattern from precomputed f = g(x), df = g'(x).
double sample(const double* f, const double* df, const double* x, const IndexPattern& p) {
  switch (p.kind) {
    case 2:
      return f[p.a] * f[p.b];
    case 5:
      return df[p.a] * df[p.b];
    case 3:
      return df[p.a] * x[p.b] * f[p.c];
    default:
      return df[p.a] * df[p.b] * f[p.c] * f[p.d];
  }
}

std::string describe(const IndexPattern& p) {
  const char* names[] = {"", "", "I2", "I3", "I4", "J2"};
  std::string s = names[p.kind];
  s += "(" + std::to_string(p.a) + "," + std::to_string(p.b);
  if (p.kind == 3 || p.kind == 4) s += "," + std::to_string(p.c);
  if (p.kind == 4) s += "," + std::to_string(p.d);
  return s + ")";
}

TEST(Integrals, MonteCarlo) {
  // Generic patterns and the coincidences that the ODE routes to closed forms.
  const IndexPattern patterns[] = {
      {2, 0, 1, 0, 0}, {2, 2, 2, 0, 0}, {5, 0, 1, 0, 0}, {5, 3, 3, 0, 0},
      {3, 0, 1, 2, 0}, {3, 1, 0, 3, 0}, {3, 0, 0, 2, 0}, {3, 0, 1, 0, 0},
      {4, 0, 1, 2, 3}, {4, 2, 3, 0, 1}, {4, 0, 0, 2, 3}, {4, 0, 1, 2, 2},
      {4, 0, 1, 0, 3}, {4, 0, 1, 2, 1}, {4, 1, 1, 1, 3}, {4, 0, 0, 3, 3}};
  const Activation acts[] = {Activation::erf, Activation::relu, Activation::linear,
                             Activation::quad};
  constexpr int kPatterns = sizeof(patterns) / sizeof(patterns[0]);
  constexpr int kActs = 4;
  constexpr long kSamples = 1000000;
  for (std::uint64_t cov_seed : {11u, 12u, 13u}) {
    const Covariance C = random_covariance(cov_seed, 4);
    const std::vector<double> L = cholesky(C);
    Gaussian z(1000 + cov_seed);
    std::vector<Moments> m(kPatterns * kActs);
    double x[4], u[4];
    for (long s = 0; s < kSamples; ++s) {
      for (double& ui : u) ui = z();
      for (int i = 0; i < 4; ++i) {
        x[i] = 0.0;
        for (int k = 0; k <= i; ++k) x[i] += L[i * 4 + k] * u[k];
      }
      for (int gi = 0; gi < kActs; ++gi) {
        double f[4], df[4];
        for (int i = 0; i < 4; ++i) {
          f[i] = activation(acts[gi], x[i]);
          df[i] = activation_derivative(acts[gi], x[i]);
        }
        for (int p = 0; p < kPatterns; ++p)
          m[gi * kPatterns + p].add(sample(f, df, x, patterns[p]));
      }
    }
    for (int gi = 0; gi < kActs; ++gi)
      for (int p = 0; p < kPatterns; ++p) {
        const Moments& mm = m[gi * kPatterns + p];
        const double exact = evaluate(acts[gi], C, patterns[p]);
        SCOPED_TRACE(std::string(to_string(acts[gi])) + " " + describe(patterns[p]) +
                     " covariance seed " + std::to_string(cov_seed));
        // 1e6 samples: within 4 standard errors (a false alarm in ~6e-5 of checks);
        // the 1e-12 floor covers averages that are exactly constant (linear J2).
        EXPECT_NEAR(exact, mm.mean(), 4.0 * mm.standard_error() + 1e-12);
      }
  }
}

// ---- mixed pairs --------------------------------------------------------------------

const Activation kAll[] = {Activation::erf, Activation::relu, Activation::linear, Activation::quad,
                           Activation::sign};

TEST(Integrals, MixedQuadratureMatchesClosedFormsForEqualActivations) {
  // (caa, cbb, cab): generic, strongly correlated, nearly identical, anti-correlated,
  // small and large variances.
  const double covs[][3] = {{1.0, 0.8, 0.3},  {0.5, 2.0, 0.9},      {1.0, 1.0, 0.999999},
                            {1.3, 0.7, -0.6}, {1e-3, 4.0, 0.02},    {9.0, 0.25, 1.2},
                            {1.0, 1.0, 1.0},  {2.0, 0.5, -0.999999}};
  for (Activation g : kAll)
    for (const auto& c : covs) {
      SCOPED_TRACE(std::string(to_string(g)) + " " + std::to_string(c[0]) + " " +
                   std::to_string(c[1]) + " " + std::to_string(c[2]));
      const double closed = I2_pair(g, c[0], c[1], c[2]);
      const double numeric = detail::I2_mixed_numerical(g, g, c[0], c[1], c[2]);
      // Target accuracy of the quadrature: 1e-10 relative to the scale of the
      // integrand, sqrt(<g(a)^2><g(b)^2>) = sqrt(I2(a,a) I2(b,b)).
      const double scale = std::sqrt(I2_pair(g, c[0], c[0], c[0]) * I2_pair(g, c[1], c[1], c[1]));
      EXPECT_NEAR(numeric, closed, 1e-10 * scale);
    }
}

TEST(Integrals, MixedPairsClosedForms) {
  // Exact results for different activations, from Stein's lemma E[a f(b)] = C_ab E[f'(b)]
  // and the erf tilt E[g'(a) h(b)] = sqrt(2/pi)/sqrt(1+C_aa) E~[h(b)]:
  //   <a erf(b/sqrt2)>   = C_ab sqrt(2/pi) / sqrt(1 + C_bb)
  //   <a relu(b)>        = C_ab / 2
  //   <a sign(b)>        = C_ab sqrt(2 / (pi C_bb))
  //   <a b^2>            = 0
  //   <relu(a) sign(b)>  = C_ab / sqrt(2 pi C_bb)
  //   <a^2 relu(b)>      = C_aa sqrt(C_bb / (2 pi)) + C_ab^2 / sqrt(2 pi C_bb)
  //   <erf(a/sqrt2) relu(b)> = C_ab / sqrt(2 pi (1 + C_aa))
  //   <sign(a) erf(b/sqrt2)> = (2/pi) asin( C_ab / sqrt(C_aa (1 + C_bb)) )
  //   <a^2 erf(b/sqrt2)> = 0 (odd in b)
  const double covs[][3] = {{1.0, 0.8, 0.3}, {0.5, 2.0, 0.9}, {1.3, 0.7, -0.6}, {1.0, 1.0, 0.9999}};
  for (const auto& c : covs) {
    const double caa = c[0], cbb = c[1], cab = c[2];
    SCOPED_TRACE(std::to_string(caa) + " " + std::to_string(cbb) + " " + std::to_string(cab));
    struct Case {
      Activation ga, gb;
      double exact;
    };
    const Case cases[] = {
        {Activation::linear, Activation::erf, cab * std::sqrt(2.0 / kPi) / std::sqrt(1.0 + cbb)},
        {Activation::linear, Activation::relu, cab / 2.0},
        {Activation::linear, Activation::sign, cab * std::sqrt(2.0 / (kPi * cbb))},
        {Activation::linear, Activation::quad, 0.0},
        {Activation::relu, Activation::sign, cab / std::sqrt(2.0 * kPi * cbb)},
        {Activation::quad, Activation::relu,
         caa * std::sqrt(cbb / (2.0 * kPi)) + cab * cab / std::sqrt(2.0 * kPi * cbb)},
        {Activation::erf, Activation::relu, cab / std::sqrt(2.0 * kPi * (1.0 + caa))},
        {Activation::sign, Activation::erf,
         2.0 / kPi * std::asin(cab / std::sqrt(caa * (1.0 + cbb)))},
        {Activation::quad, Activation::erf, 0.0},
    };
    for (const Case& k : cases) {
      SCOPED_TRACE(std::string(to_string(k.ga)) + "/" + to_string(k.gb));
      const double scale = std::sqrt(I2_pair(k.ga, caa, caa, caa) * I2_pair(k.gb, cbb, cbb, cbb));
      // 1e-10 of the integrand's scale: the accuracy the quadrature is built for.
      EXPECT_NEAR(I2_mixed(k.ga, k.gb, caa, cbb, cab), k.exact, 1e-10 * scale);
      // Swapping the roles conditions on the other field: same value.
      EXPECT_NEAR(I2_mixed(k.gb, k.ga, cbb, caa, cab), k.exact, 1e-10 * scale);
    }
  }
}

TEST(Integrals, MixedPairsMonteCarlo) {
  const double caa = 0.9, cbb = 1.4, cab = -0.55;
  const double l21 = cab / std::sqrt(caa), l22 = std::sqrt(cbb - cab * cab / caa);
  constexpr long kSamples = 1000000;
  std::vector<Moments> m(25);
  Gaussian z(77);
  for (long s = 0; s < kSamples; ++s) {
    const double u1 = z(), u2 = z();
    const double a = std::sqrt(caa) * u1, b = l21 * u1 + l22 * u2;
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j) m[i * 5 + j].add(activation(kAll[i], a) * activation(kAll[j], b));
  }
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      SCOPED_TRACE(std::string(to_string(kAll[i])) + "/" + to_string(kAll[j]));
      // 1e6 samples, 4 standard errors; the floor covers exactly-zero averages.
      EXPECT_NEAR(I2_mixed(kAll[i], kAll[j], caa, cbb, cab), m[i * 5 + j].mean(),
                  4.0 * m[i * 5 + j].standard_error() + 1e-12);
    }
}

}  // namespace
}  // namespace tsgd
