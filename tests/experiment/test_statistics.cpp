// Statistics over seeds: Student t and normal quantiles against references
// and closed forms, and sample summaries against hand-computed values.
//
// Reference quantiles were computed with mpmath at 40 significant digits for
// the double nearest to each p (scipy.stats.t.ppf agrees to ~1e-15), and are
// quoted to 20 digits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "experiment/statistics.h"

namespace tsgd {
namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
constexpr double kEps = std::numeric_limits<double>::epsilon();

// The implementation is limited by the rounding of lgamma, log, exp and the
// continued fraction: ~1e-14 relative observed over dof in [1, 1e12]. 1e-12
// leaves a margin of 100 and is still 100x tighter than the 1e-10 required.
constexpr double kQuantileTolerance = 1e-12;

::testing::AssertionResult RelativelyNear(double actual, double expected, double tolerance) {
  const double error = std::fabs(actual - expected);
  if (error <= tolerance * std::fabs(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "actual " << actual << " expected " << expected << " relative error "
         << error / std::fabs(expected) << " > " << tolerance;
}

bool bitwise_equal(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct QuantileCase {
  double p;
  double dof;
  double expected;
};

TEST(StudentTQuantile, MatchesReferenceValues) {
  const QuantileCase cases[] = {
      {0.975, 1, 12.706204736174693314},  // exact: 1 / tan(pi (1 - p))
      {0.975, 2, 4.3026527297494617894},
      {0.975, 5, 2.5705818356363147828},
      {0.975, 7, 2.3646242515927847379},
      {0.975, 10, 2.2281388519862742245},
      {0.975, 39, 2.0226909200367607237},
      {0.975, 1000, 1.9623390808264081039},
      {0.975, 1e6, 1.9599663568141066553},
      {0.995, 3, 5.8409093097333554113},
      {0.999999, 4, 41.577854150151498845},
      // real (non-integer) degrees of freedom
      {0.975, 2.5, 3.5746548420036817607},
      {0.9, 1.5, 2.1963984175655377638},
      {0.6, 3, 0.27667066233268984701},
  };
  for (const QuantileCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "p = " << c.p << ", dof = " << c.dof);
    EXPECT_TRUE(RelativelyNear(student_t_quantile(c.p, c.dof), c.expected, kQuantileTolerance));
    EXPECT_TRUE(
        RelativelyNear(student_t_quantile(1.0 - c.p, c.dof), -c.expected, kQuantileTolerance));
  }
}

// Quantiles with closed forms, over the whole range of p, where the closed
// forms themselves are evaluated without cancellation (a few ulps).
double cauchy_quantile(double p) {                // dof = 1
  if (p > 0.5) return -cauchy_quantile(1.0 - p);  // 1 - p exact for p > 1/2
  if (p < 0.25) return -1.0 / std::tan(kPi * p);
  return std::tan(kPi * (p - 0.5));  // p - 1/2 exact (Sterbenz)
}

double two_dof_quantile(double p) {  // dof = 2: t = (2p - 1) / sqrt(2 p (1 - p))
  if (p > 0.5) return -two_dof_quantile(1.0 - p);
  return -2.0 * (0.5 - p) / std::sqrt(2.0 * p * (1.0 - p));
}

const std::vector<double>& probabilities() {
  static const std::vector<double> ps = {1e-300, 1e-100, 1e-15, 1e-10, 1e-6,      1e-3,
                                         0.01,   0.025,  0.05,  0.1,   0.2,       0.2499,
                                         0.25,   0.3,    0.4,   0.49,  0.4999999, 0.5 - 1e-12};
  return ps;
}

TEST(StudentTQuantile, MatchesClosedFormsForOneAndTwoDegrees) {
  for (double lower : probabilities()) {
    for (double p : {lower, 1.0 - lower}) {
      if (p == 1.0) continue;  // 1 - 1e-300 rounds to 1
      SCOPED_TRACE(::testing::Message() << "p = " << p);
      EXPECT_TRUE(
          RelativelyNear(student_t_quantile(p, 1.0), cauchy_quantile(p), kQuantileTolerance));
      EXPECT_TRUE(
          RelativelyNear(student_t_quantile(p, 2.0), two_dof_quantile(p), kQuantileTolerance));
    }
  }
}

// For p >= 1/2 both p and 1 - p lead to the same tail probability, computed
// exactly, so the two quantiles are negatives of each other bit for bit.
TEST(StudentTQuantile, IsExactlyAntisymmetric) {
  for (double dof : {1.0, 2.5, 7.0, 39.0, 1e4}) {
    for (double lower : probabilities()) {
      const double p = 1.0 - lower;
      if (p == 1.0) continue;
      SCOPED_TRACE(::testing::Message() << "p = " << p << ", dof = " << dof);
      EXPECT_TRUE(bitwise_equal(student_t_quantile(1.0 - p, dof), -student_t_quantile(p, dof)));
    }
  }
  EXPECT_EQ(student_t_quantile(0.5, 3.0), 0.0);
}

// cdf(quantile(p)) = p. A relative error delta of t moves the tail
// probability q by kappa * delta with kappa = |t| pdf(t) / q (kappa -> dof in
// the far tail); t itself is rounded (1.1e-16) and the cdf carries ~1e-14 of
// its own, hence the tolerance 1e-13 * max(1, kappa). The upper cdf is
// 1 - q or 1/2 + something and carries in addition an absolute rounding of
// an ulp or so of 1/2.
TEST(StudentTQuantile, InvertsTheDistributionFunction) {
  for (double dof : {0.5, 1.0, 1.5, 2.5, 3.0, 7.3, 30.0, 1000.0, 1e6, 1e12}) {
    for (double p : probabilities()) {
      if (dof < 1.0 && p < 1e-200) continue;  // quantile beyond the largest double
      SCOPED_TRACE(::testing::Message() << "p = " << p << ", dof = " << dof);
      const double t = student_t_quantile(p, dof);
      ASSERT_TRUE(std::isfinite(t));
      ASSERT_LT(t, 0.0);
      const double kappa = std::fabs(t) * student_t_pdf(t, dof) / p;
      EXPECT_TRUE(RelativelyNear(student_t_cdf(t, dof), p, 1e-13 * std::max(1.0, kappa)));
      EXPECT_NEAR(student_t_cdf(-t, dof), 1.0 - p, 2.0 * kEps + 1e-13 * std::max(1.0, kappa) * p);
    }
  }
}

TEST(StudentTQuantile, ApproachesTheNormalQuantileForLargeDof) {
  constexpr double z975 = 1.9599639845400538556;
  // t - z = z (z^2 + 1) / (4 dof) + O(dof^-2): 1.2e-12 relative at dof = 1e12.
  EXPECT_TRUE(RelativelyNear(student_t_quantile(0.975, 1e12), z975, 2e-12));
  EXPECT_GT(student_t_quantile(0.975, 1e12), z975);
  // dof = infinity is the normal distribution itself.
  const double infinity = std::numeric_limits<double>::infinity();
  EXPECT_EQ(student_t_quantile(0.975, infinity), normal_quantile(0.975));
  EXPECT_EQ(student_t_cdf(1.5, infinity), normal_cdf(1.5));
  // Heavier tails for fewer degrees of freedom: t_{0.975}(dof) decreases.
  double previous = infinity;
  for (double dof = 1.0; dof < 1e7; dof *= 1.7) {
    const double t = student_t_quantile(0.975, dof);
    EXPECT_LT(t, previous) << "dof = " << dof;
    previous = t;
  }
}

TEST(StudentTQuantile, BeyondTheLargestDoubleIsInfinite) {
  // dof = 1/2: P(T > t) ~ 0.45 t^(-1/2), so p = 1e-300 needs t ~ 1e599.
  EXPECT_EQ(student_t_quantile(1e-300, 0.5), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(student_t_quantile(1.0 - 1e-16, 0.01), std::numeric_limits<double>::infinity());
}

TEST(StudentTDistribution, HasTheRightLimitsAndCentre) {
  const double infinity = std::numeric_limits<double>::infinity();
  for (double dof : {0.5, 1.0, 7.0, 1e8}) {
    SCOPED_TRACE(::testing::Message() << "dof = " << dof);
    EXPECT_EQ(student_t_cdf(infinity, dof), 1.0);
    EXPECT_EQ(student_t_cdf(-infinity, dof), 0.0);
    EXPECT_EQ(student_t_cdf(0.0, dof), 0.5);
    EXPECT_EQ(student_t_pdf(infinity, dof), 0.0);
  }
  // Cauchy density 1 / (pi (1 + t^2)) and tail P(T > t) = atan(1/t) / pi
  // (written without cancellation; a few roundings each).
  for (double t : {0.0, 0.3, 2.0, 1e5}) {
    EXPECT_TRUE(RelativelyNear(student_t_pdf(t, 1.0), 1.0 / (kPi * (1.0 + t * t)), 1e-14));
    EXPECT_TRUE(RelativelyNear(student_t_cdf(-t, 1.0), std::atan(1.0 / t) / kPi, 1e-14));
  }
}

TEST(StudentTQuantile, RejectsArgumentsOutsideTheDomain) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double p : {0.0, 1.0, -0.1, 1.5, nan})
    EXPECT_THROW(student_t_quantile(p, 3.0), std::invalid_argument) << "p = " << p;
  for (double dof : {0.0, -1.0, nan})
    EXPECT_THROW(student_t_quantile(0.975, dof), std::invalid_argument) << "dof = " << dof;
  EXPECT_THROW(student_t_cdf(1.0, 0.0), std::invalid_argument);
  EXPECT_THROW(normal_quantile(0.0), std::invalid_argument);
  EXPECT_THROW(normal_quantile(1.0), std::invalid_argument);
}

TEST(NormalQuantile, MatchesReferenceValues) {
  // Acklam's approximation (1.15e-9) refined by a Halley step on erfc:
  // limited by erfc's rounding, a few 1e-16.
  constexpr double tolerance = 1e-14;
  EXPECT_TRUE(RelativelyNear(normal_quantile(0.975), 1.9599639845400538556, tolerance));
  EXPECT_TRUE(RelativelyNear(normal_quantile(0.025), -1.9599639845400538556, tolerance));
  EXPECT_TRUE(RelativelyNear(normal_quantile(0.995), 2.5758293035489004539, tolerance));
  EXPECT_TRUE(RelativelyNear(normal_quantile(1e-10), -6.3613409024040561991, tolerance));
  EXPECT_TRUE(RelativelyNear(normal_quantile(0.3), -0.52440051270804081597, tolerance));
  EXPECT_TRUE(RelativelyNear(normal_quantile(1e-300), -37.047096299361199237, tolerance));
  // Near the centre the result stays accurate relative to its own size.
  EXPECT_TRUE(RelativelyNear(normal_quantile(0.5 + 1e-12), 2.5065728237018604669e-12, tolerance));
  EXPECT_EQ(normal_quantile(0.5), 0.0);
}

TEST(IncompleteBeta, MatchesClosedForms) {
  // Closed forms evaluated in a few roundings; the continued fraction and
  // the log-gamma prefactor add ~1e-15.
  constexpr double tolerance = 1e-13;
  for (double x : {1e-10, 0.01, 0.2, 0.5, 0.7, 0.99, 1.0 - 1e-9}) {
    SCOPED_TRACE(::testing::Message() << "x = " << x);
    EXPECT_TRUE(RelativelyNear(incomplete_beta(3.5, 1.0, x), std::pow(x, 3.5), tolerance));
    EXPECT_TRUE(
        RelativelyNear(incomplete_beta(1.0, 2.5, x), -std::expm1(2.5 * std::log1p(-x)), tolerance));
    // I_x(2, 3) = sum_{j=2..4} C(4, j) x^j (1 - x)^(4 - j)
    const double y = 1.0 - x;
    EXPECT_TRUE(RelativelyNear(incomplete_beta(2.0, 3.0, x),
                               6 * x * x * y * y + 4 * x * x * x * y + x * x * x * x, tolerance));
  }
  EXPECT_TRUE(RelativelyNear(incomplete_beta(40.5, 40.5, 0.5), 0.5, tolerance));
  EXPECT_EQ(incomplete_beta(2.0, 3.0, 0.0), 0.0);
  EXPECT_EQ(incomplete_beta(2.0, 3.0, 1.0), 1.0);
}

// {2, 4, 4, 4, 5, 5, 7, 9}: sum 40, mean 5, squared deviations
// 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32, variance 32/7, sem = sqrt(32/7 / 8)
// = sqrt(4/7), t_{0.975, 7} = 2.3646242515927847379.
const std::vector<double> kHandSample = {2, 4, 4, 4, 5, 5, 7, 9};
const double kHandStd = std::sqrt(32.0 / 7.0);
const double kHandSem = std::sqrt(4.0 / 7.0);
constexpr double kT975Dof7 = 2.3646242515927847379;

TEST(Summarise, MatchesAHandComputedSample) {
  const SampleSummary s = summarise(kHandSample);
  EXPECT_EQ(s.n, 8u);
  EXPECT_EQ(s.mean, 5.0);  // every operation exact
  // std: one rounding of 32/7 and one of the sqrt, in both computations.
  EXPECT_TRUE(RelativelyNear(s.std, kHandStd, 4 * kEps));
  EXPECT_TRUE(RelativelyNear(s.sem, kHandSem, 8 * kEps));
  // The interval inherits the quantile's tolerance.
  EXPECT_TRUE(RelativelyNear(s.hi - s.mean, kT975Dof7 * kHandSem, kQuantileTolerance));
  EXPECT_TRUE(RelativelyNear(s.mean - s.lo, kT975Dof7 * kHandSem, kQuantileTolerance));
}

TEST(Summarise, IsNotFooledByALargeOffset) {
  // 1e15 + the hand sample: all values, their sum and the deviations are
  // exact integers below 2^53, so the two-pass result is the same as without
  // the offset, where sum(x^2)/n - mean^2 would lose every digit.
  std::vector<double> shifted;
  for (double v : kHandSample) shifted.push_back(1e15 + v);
  const SampleSummary s = summarise(shifted);
  EXPECT_EQ(s.mean, 1e15 + 5.0);
  EXPECT_TRUE(RelativelyNear(s.std, kHandStd, 4 * kEps));
}

TEST(Summarise, UsesNMinusOneDegreesOfFreedom) {
  // {0, 1}: mean 1/2, std sqrt(1/2), sem 1/2, t_{0.975, 1} = 12.7062...
  const SampleSummary two = summarise(std::vector<double>{0.0, 1.0});
  EXPECT_EQ(two.mean, 0.5);
  EXPECT_TRUE(RelativelyNear(two.sem, 0.5, 2 * kEps));
  EXPECT_TRUE(RelativelyNear(two.hi, 0.5 + 0.5 * 12.706204736174693314, kQuantileTolerance));
  // Beyond the table of small dof: 300 values 0, 1, 0, 1, ...
  std::vector<double> many(300);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<double>(i % 2);
  const SampleSummary s = summarise(many);
  EXPECT_EQ(s.mean, 0.5);
  EXPECT_TRUE(RelativelyNear((s.hi - s.lo) / (2 * s.sem), student_t_quantile(0.975, 299.0),
                             1e-14));  // two roundings of the mean +- t sem
}

TEST(Summarise, HandlesEmptyAndSingleSamples) {
  const SampleSummary empty = summarise(nullptr, 0);
  EXPECT_EQ(empty.n, 0u);
  for (double v : {empty.mean, empty.std, empty.sem, empty.lo, empty.hi})
    EXPECT_TRUE(std::isnan(v));

  const SampleSummary one = summarise(std::vector<double>{3.25});
  EXPECT_EQ(one.n, 1u);
  EXPECT_EQ(one.mean, 3.25);
  for (double v : {one.std, one.sem, one.lo, one.hi}) EXPECT_TRUE(std::isnan(v));
}

TEST(Summarise, PropagatesNonFiniteValues) {
  // Diverged runs are excluded by the caller; if one slips through it must
  // show, not be averaged away.
  const SampleSummary s =
      summarise(std::vector<double>{1.0, std::numeric_limits<double>::quiet_NaN(), 3.0});
  EXPECT_TRUE(std::isnan(s.mean));
  EXPECT_TRUE(std::isnan(s.std));
}

TEST(Summarise, IsBitwiseReproducible) {
  std::vector<double> values;
  for (int i = 0; i < 1000; ++i) values.push_back(std::sin(0.37 * i) * 1e-3 + 0.1 * i);
  const SampleSummary a = summarise(values);
  const SampleSummary b = summarise(values.data(), values.size());
  for (auto member : {&SampleSummary::mean, &SampleSummary::std, &SampleSummary::sem,
                      &SampleSummary::lo, &SampleSummary::hi})
    EXPECT_TRUE(bitwise_equal(a.*member, b.*member));
}

}  // namespace
}  // namespace tsgd
