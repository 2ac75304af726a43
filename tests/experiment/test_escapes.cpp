// Escape from the plateau (experiment/escapes.h): the plateau of an eps_g
// curve, the threshold rule and a run's escape time, on curves whose answer is
// known by construction.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "experiment/escapes.h"

namespace tsgd {
namespace {

// Log-spaced record times from 1e-2 to 1e4, 20 per decade, after alpha = 0.
std::vector<double> record_times() {
  std::vector<double> a = {0};
  for (int i = 0; i <= 120; ++i) a.push_back(std::pow(10.0, -2 + i / 20.0));
  return a;
}

template <typename F>
std::vector<double> curve(const std::vector<double>& a, F f) {
  std::vector<double> e;
  for (double x : a) e.push_back(f(x));
  return e;
}

TEST(Escapes, ThePlateauIsTheFlatStretchBetweenTwoFalls) {
  // An initial fall from 0.5 to a plateau at 0.04 by alpha ~ 10, escape around
  // alpha = 1000 to 1e-6. The plateau's value is the curve at its flattest record:
  // 0.04 up to the tails of the two falls there (1e-3 relative: at alpha ~ 100 the
  // first fall's exp(-alpha) is gone and the escape's (alpha/1000)^6 is 1e-6).
  const auto a = record_times();
  const auto e = curve(
      a, [](double x) { return 0.46 * std::exp(-x) + 0.04 / (1 + std::pow(x / 1000, 6)) + 1e-6; });
  const auto plateau = plateau_value(a, e);
  ASSERT_TRUE(plateau.has_value());
  EXPECT_NEAR(*plateau, 0.04, 0.04 * 1e-3);
  const EscapeThreshold t = escape_threshold(std::nullopt, a, e);
  EXPECT_EQ(t.from, "ODE plateau");
  EXPECT_DOUBLE_EQ(t.eg, 0.1 * *plateau);
  // The curve falls below 0.004 where 0.04 / (1 + (x/1000)^6) < 0.004, i.e. x^6 > 9e18:
  // x > 1000 * 9^(1/6) = 1442; the first record past that is 10^(3 + 4/20) = 1585.
  const auto at = escape_alpha(a, e, t.eg);
  ASSERT_TRUE(at.has_value());
  EXPECT_DOUBLE_EQ(*at, std::pow(10.0, 3.2));
}

TEST(Escapes, CurvesWithoutAPlateauUseTheDefault) {
  const auto a = record_times();
  // Settles at 0.04 and stays (K < M): flat at the end, never left -> no plateau.
  const auto settles = curve(a, [](double x) { return 0.46 * std::exp(-x) + 0.04; });
  EXPECT_FALSE(plateau_value(a, settles).has_value());
  // A power law alpha^-1 (linear networks): never flatter than -1/2.
  const auto power = curve(a, [](double x) { return 1 / (1 + x); });
  EXPECT_FALSE(plateau_value(a, power).has_value());
  // A quasi-plateau of slope -0.3 (finite N, large eta) between two falls is one.
  const auto sloped = curve(a, [](double x) {
    return 0.46 * std::exp(-x) + 0.04 * std::pow(1 + x, -0.3) / (1 + std::pow(x / 1000, 6));
  });
  EXPECT_TRUE(plateau_value(a, sloped).has_value());
  const EscapeThreshold t = escape_threshold(std::nullopt, a, settles);
  EXPECT_EQ(t.from, "default");
  EXPECT_EQ(t.eg, kDefaultEscapeEg);
  EXPECT_FALSE(escape_alpha(a, settles, t.eg).has_value());
  // No ODE curve at all.
  EXPECT_EQ(escape_threshold(std::nullopt, {}, {}).from, "default");
}

TEST(Escapes, AGivenThresholdWinsAndNonFiniteRecordsAreNoCandidates) {
  const auto a = record_times();
  auto e = curve(
      a, [](double x) { return 0.46 * std::exp(-x) + 0.04 / (1 + std::pow(x / 1000, 6)) + 1e-6; });
  const EscapeThreshold t = escape_threshold(0.02, a, e);
  EXPECT_EQ(t.from, "record.escape_eg");
  EXPECT_EQ(t.eg, 0.02);
  // A NaN record (a diverged curve's tail) is no candidate, and neither are its neighbours.
  for (std::size_t j = 40; j < e.size(); ++j) e[j] = NAN;
  EXPECT_FALSE(plateau_value(a, e).has_value());
  // The escape time is the first record strictly below the threshold.
  EXPECT_FALSE(escape_alpha({1, 2}, {0.5, 0.5}, 0.5).has_value());
  EXPECT_EQ(*escape_alpha({1, 2, 3}, {0.5, 0.4, 0.1}, 0.45), 2);
}

}  // namespace
}  // namespace tsgd
