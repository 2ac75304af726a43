// The averages of mixed activation pairs (theory/mixed_integrals.h): the reduction
// against the closed forms where both exist, against the independent I2 quadrature of
// integrals.h, the 4-field orthant against exact values and its own refinement, and
// every mixed student/teacher pair against a seeded Monte Carlo.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/support/monte_carlo.h"
#include "theory/mixed_integrals.h"

namespace tsgd {
namespace {

constexpr double kPi = 3.14159265358979323846;
const Activation kStudents[] = {Activation::erf, Activation::relu, Activation::linear,
                                Activation::quad};
const Activation kTeachers[] = {Activation::erf, Activation::relu, Activation::linear,
                                Activation::quad, Activation::sign};

// A random n x n covariance W W^T / D of D = n + 2 Gaussian columns (fixed seed): generic,
// eigenvalues well away from 0.
Covariance random_covariance(int n, std::uint64_t seed) {
  testing::Gaussian normal(seed);
  const int D = n + 2;
  std::vector<double> w(static_cast<std::size_t>(n) * D);
  for (double& x : w) x = normal();
  Covariance C(n);
  for (int i = 0; i < n; ++i)
    for (int j = i; j < n; ++j) {
      double s = 0.0;
      for (int k = 0; k < D; ++k) s += w[i * D + k] * w[j * D + k];
      C.set(i, j, s / D);
    }
  return C;
}

// Fields 1 and 2 made nearly collinear: row 2 = row 1 + eps * row 2 (before W W^T), so
// 1 - corr ~ eps^2.
Covariance nearly_collinear(int n, std::uint64_t seed, int x, int y, double eps) {
  const Covariance C = random_covariance(n, seed);
  Covariance out(n);
  // y' = x + eps y: Cov(y', z) = C_xz + eps C_yz, Var(y') = C_xx + 2 eps C_xy + eps^2 C_yy.
  for (int i = 0; i < n; ++i)
    for (int j = i; j < n; ++j) {
      auto row = [&](int p, int q) {
        if (p == y && q == y) return C(x, x) + 2 * eps * C(x, y) + eps * eps * C(y, y);
        if (p == y) return C(x, q) + eps * C(y, q);
        if (q == y) return C(p, x) + eps * C(p, y);
        return C(p, q);
      };
      out.set(i, j, row(i, j));
    }
  return out;
}

TEST(MixedIntegrals, OrthantFourExactValues) {
  // Exact: independent fields 1/16; equicorrelated r = 1/2 gives 1/(n+1) = 1/5; two
  // independent pairs P2 P2; a field independent of three others P3 / 2.
  const double p2 = 0.25 + std::asin(0.3) / (2 * kPi);
  const double p3 = 0.125 + (std::asin(0.3) + std::asin(-0.2) + std::asin(0.6)) / (4 * kPi);
  struct Case {
    double r[6];
    double exact;
  } cases[] = {{{0, 0, 0, 0, 0, 0}, 1.0 / 16},
               {{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 0.2},
               {{0.3, 0, 0, 0, 0, 0.3}, p2 * p2},
               {{0.3, -0.2, 0, 0.6, 0, 0}, 0.5 * p3}};
  for (const Case& c : cases)
    for (int refine = 0; refine <= 1; ++refine)
      // 1e-12: a quadrature whose refinement moves it by < 1e-11 (next test).
      EXPECT_NEAR(detail::orthant4(c.r, refine), c.exact, 1e-12) << "refine " << refine;
}

TEST(MixedIntegrals, OrthantFourQuadratureRefinement) {
  // The 1e-9 claim: halving the tanh-sinh step (73 -> 145 -> 289 nodes) changes P4 by
  // < 1e-9 from the 73 nodes the reduction uses (and < 1e-12 from 145, so that 289 is
  // converged), on random correlations and on pairs collinear to 1 - corr = 1e-4 .. 1e-10.
  double worst = 0.0;
  for (int k = 0; k < 40; ++k) {
    const Covariance C =
        k < 20 ? random_covariance(4, 100 + k)
               : nearly_collinear(4, 100 + k, 0, 1 + k % 3, std::pow(10.0, -2 - k % 4));
    double r[6];
    int o = 0;
    for (int i = 0; i < 4; ++i)
      for (int j = i + 1; j < 4; ++j) r[o++] = C(i, j) / std::sqrt(C(i, i) * C(j, j));
    const double p0 = detail::orthant4(r, 0), p1 = detail::orthant4(r, 1),
                 p2 = detail::orthant4(r, 2);
    EXPECT_NEAR(p0, p2, 1e-9) << "case " << k;  // measured: <= 1.2e-10 (1 - corr = 1e-10)
    EXPECT_NEAR(p1, p2, 1e-12) << "case " << k;
    worst = std::max(worst, std::abs(p0 - p2));
  }
  std::cout << "[ P4: max |73 nodes - 289 nodes| = " << worst << " ]\n";
}

// The reduction on matched pairs, against the closed forms of integrals.h (and the ReLU
// I4 quadrature), on the index patterns of the ODE.
TEST(MixedIntegrals, ReductionAgreesWithClosedForms) {
  struct Pattern {
    int a, b, c, d;
  };
  const Pattern i4_patterns[] = {{0, 1, 2, 3}, {0, 0, 2, 3}, {0, 1, 2, 2},
                                 {0, 1, 0, 3}, {0, 0, 0, 0}, {0, 0, 2, 2}};
  double worst = 0.0;
  for (int k = 0; k < 6; ++k) {
    const Covariance C = random_covariance(4, 300 + k);
    for (Activation g : kStudents) {
      SCOPED_TRACE(std::string(to_string(g)) + " covariance " + std::to_string(k));
      // Tolerance 1e-9 relative to the scale of the average (the accuracy): the
      // closed forms are exact to rounding; the reduction's only quadrature is the P4 of
      // a ReLU I4 (refinement test above: < 1e-10).
      auto check = [&](double reduced, double closed) {
        EXPECT_NEAR(reduced, closed, 1e-9 * std::max(1.0, std::abs(closed)));
        worst = std::max(worst, std::abs(reduced - closed) / std::max(1.0, std::abs(closed)));
      };
      check(detail::I2_reduced(C, g, 0, g, 1), I2(g, C, 0, 1));
      check(detail::I2_reduced(C, g, 2, g, 2), I2(g, C, 2, 2));
      check(detail::I3_reduced(g, C, 0, 1, g, 2), I3(g, C, 0, 1, 2));
      check(detail::I3_reduced(g, C, 0, 0, g, 2), I3(g, C, 0, 0, 2));
      check(detail::I3_reduced(g, C, 0, 1, g, 0), I3(g, C, 0, 1, 0));
      for (const Pattern& p : i4_patterns)
        check(detail::I4_reduced(g, C, p.a, p.b, g, p.c, g, p.d), I4(g, C, p.a, p.b, p.c, p.d));
    }
  }
  std::cout << "[ reduction vs closed forms: max relative difference " << worst << " ]\n";
}

TEST(MixedIntegrals, ReducedI2AgreesWithTheI2Quadrature) {
  // I2_mixed integrates over one field with the other's conditional mean in closed form
  // (integrals.h: ~1e-14, sign <= 1e-11): an independent method. 1e-10 absolute covers it.
  for (int k = 0; k < 5; ++k) {
    const Covariance C =
        k < 3 ? random_covariance(2, 400 + k) : nearly_collinear(2, 400 + k, 0, 1, 1e-3);
    for (Activation ga : kStudents)
      for (Activation gb : kTeachers) {
        if (ga == gb) continue;
        EXPECT_NEAR(detail::I2_reduced(C, ga, 0, gb, 1),
                    I2_mixed(ga, gb, C(0, 0), C(1, 1), C(0, 1)), 1e-10)
            << to_string(ga) << " x " << to_string(gb) << " covariance " << k;
      }
  }
}

TEST(MixedIntegrals, LinearStudentI4IsTheI2OfTheValues) {
  // g' = 1: I4(a,b,c,d) = <g_c(c) g_d(d)> exactly, computed by I2_mixed's quadrature.
  const Covariance C = random_covariance(4, 500);
  for (Activation gt : kTeachers)
    EXPECT_NEAR(I4_fields(Activation::linear, C, 0, 1, Activation::linear, 2, gt, 3),
                I2_mixed(Activation::linear, gt, C(2, 2), C(3, 3), C(2, 3)), 1e-10)
        << to_string(gt);
}

TEST(MixedIntegrals, ZeroVarianceFields) {
  // g(0) = 0 for every activation and a ReLU g'(0) = 0: a zero field gives 0.
  Covariance C = random_covariance(4, 600);
  for (int q = 0; q < 4; ++q) C.set(0, q, 0.0);
  for (Activation gt : kTeachers) {
    EXPECT_EQ(I4_fields(Activation::relu, C, 0, 1, Activation::relu, 2, gt, 3), 0.0);
    if (gt != Activation::relu) {
      EXPECT_EQ(I4_fields(Activation::relu, C, 1, 2, Activation::relu, 0, gt, 3), 0.0);
    }
    EXPECT_EQ(I3_fields(Activation::erf, C, 1, 2, gt, 0), 0.0);
  }
  EXPECT_THROW(I3_fields(Activation::sign, C, 1, 2, Activation::erf, 3), std::invalid_argument);
}

// ---- Monte Carlo ------------------------------------------------------------------

// Fields: students 0, 1, 2, teachers 3, 4. For each student activation gs and teacher
// activation gt != gs, the averages the ODE takes with a teacher among the values.
struct MixedCase {
  const char* name;
  int kind;  // 2: I2(a; c), 3: I3(a, b; c), 4: I4(a, b; c, d)
  int a, b, c, d;
};
const MixedCase kCases[] = {
    {"I2(s0,t3)", 2, 0, -1, 3, -1},     {"I3(s0,s1,t3)", 3, 0, 1, 3, -1},
    {"I3(s0,t4,t3)", 3, 0, 4, 3, -1},   {"I3(s0,t3,t3)", 3, 0, 3, 3, -1},
    {"I4(s0,s1,s2,t3)", 4, 0, 1, 2, 3}, {"I4(s0,s1,t3,t4)", 4, 0, 1, 3, 4},
    {"I4(s0,s1,t3,t3)", 4, 0, 1, 3, 3}, {"I4(s0,s0,s0,t3)", 4, 0, 0, 0, 3},
    {"I4(s0,s0,t3,t4)", 4, 0, 0, 3, 4}, {"I4(s0,s1,s0,t4)", 4, 0, 1, 0, 4},
};

double formula(const MixedCase& k, Activation gs, Activation gt, const Covariance& C) {
  const FieldActivations f{gs, gt, 3};
  if (k.kind == 2) return I2_fields(C, gs, k.a, gt, k.c);
  if (k.kind == 3) return I3_fields(gs, C, k.a, k.b, f(k.c), k.c);
  return I4_fields(gs, C, k.a, k.b, f(k.c), k.c, f(k.d), k.d);
}

// One sample of the integrand, from g[activation][field] and dg[student][field].
double sample(const MixedCase& k, int gs, int gt, const double* x, const double (*g)[5],
              const double (*dg)[5]) {
  auto val = [&](int p) { return p < 3 ? g[gs][p] : g[gt][p]; };
  if (k.kind == 2) return g[gs][k.a] * val(k.c);
  if (k.kind == 3) return dg[gs][k.a] * x[k.b] * val(k.c);
  return dg[gs][k.a] * dg[gs][k.b] * val(k.c) * val(k.d);
}

TEST(MixedIntegrals, MonteCarloEveryMixedPair) {
  // 1e6 samples per covariance (fixed seed): |formula - MC| within 4 standard errors,
  // i.e. a false alarm per check of 6e-5 for an exact formula (480 checks: 3%, fixed
  // by the seed). Covariances: generic; a student nearly on a teacher (1 - corr ~ 1e-4);
  // two nearly identical students (1 - corr ~ 1e-4).
  const Covariance covs[] = {random_covariance(5, 700), nearly_collinear(5, 701, 3, 0, 0.02),
                             nearly_collinear(5, 702, 0, 1, 0.02)};
  constexpr long kSamples = 1000000;
  double worst = 0.0;
  int checks = 0;
  for (int ci = 0; ci < 3; ++ci) {
    const Covariance& C = covs[ci];
    // Cholesky factor L (C = L L^T); the covariances are positive definite.
    double L[5][5] = {};
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j <= i; ++j) {
        double s = C(i, j);
        for (int k = 0; k < j; ++k) s -= L[i][k] * L[j][k];
        L[i][j] = i == j ? std::sqrt(s) : s / L[j][j];
      }
    std::vector<testing::Moments> m(4 * 5 * std::size(kCases));
    testing::Gaussian normal(9000 + ci);
    for (long n = 0; n < kSamples; ++n) {
      double z[5], x[5];
      for (double& v : z) v = normal();
      for (int i = 0; i < 5; ++i) {
        x[i] = 0.0;
        for (int j = 0; j <= i; ++j) x[i] += L[i][j] * z[j];
      }
      double g[5][5], dg[4][5];  // activations erf, relu, linear, quad, sign = 0..4
      for (int a = 0; a < 5; ++a)
        for (int i = 0; i < 5; ++i) g[a][i] = activation(static_cast<Activation>(a), x[i]);
      for (int a = 0; a < 4; ++a)
        for (int i = 0; i < 5; ++i)
          dg[a][i] = activation_derivative(static_cast<Activation>(a), x[i]);
      std::size_t o = 0;
      for (Activation gs : kStudents)
        for (Activation gt : kTeachers)
          for (const MixedCase& k : kCases)
            m[o++].add(sample(k, static_cast<int>(gs), static_cast<int>(gt), x, g, dg));
    }
    std::size_t o = 0;
    for (Activation gs : kStudents)
      for (Activation gt : kTeachers)
        for (const MixedCase& k : kCases) {
          const testing::Moments& mo = m[o++];
          if (gs == gt) continue;
          const double value = formula(k, gs, gt, C), se = mo.standard_error();
          const double z =
              se > 0 ? std::abs(value - mo.mean()) / se : std::abs(value - mo.mean()) * 1e12;
          ++checks;
          worst = std::max(worst, z);
          EXPECT_LT(z, 4.0) << to_string(gs) << " student, " << to_string(gt) << " teacher, "
                            << k.name << ", covariance " << ci << ": formula " << value << ", MC "
                            << mo.mean() << " +- " << se;
        }
  }
  std::cout << "[ " << checks << " mixed averages against MC: max z " << worst << " ]\n";
}

}  // namespace
}  // namespace tsgd
