// The plan of an experiment (experiment/plan.h): each grid point's record
// times. (How a sweep splits into shards: tests/cli/test_merge.cpp.)
#include <gtest/gtest.h>

#include <vector>

#include "experiment/config.h"
#include "experiment/plan.h"

using namespace tsgd;

TEST(Plan, RecordStepsAreDistinctAndEndAtAlpha) {
  PointParams p;
  p.N = 100;
  p.alpha = 50;
  RecordSettings r;
  r.points = 200;
  r.alpha_min = 0.001;  // below one step: rounded up, duplicates dropped
  const auto steps = record_steps(r, p);
  EXPECT_EQ(steps.front(), 0);
  EXPECT_EQ(steps.back(), 5000);
  for (std::size_t i = 1; i < steps.size(); ++i) EXPECT_GT(steps[i], steps[i - 1]);
  r.spacing = Spacing::lin;
  r.points = 10;
  const auto lin = record_steps(r, p);
  ASSERT_EQ(lin.size(), 11u);
  EXPECT_EQ(lin[1], 500);
}
