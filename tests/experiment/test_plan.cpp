// The plan of an experiment (experiment/plan.h): each grid point's record
// times, and the rule that splits a sweep into shards. (Merging the shards:
// tests/cli/test_merge.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "experiment/config.h"
#include "experiment/plan.h"

using namespace tsgd;
using nlohmann::json;

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

TEST(Plan, ShardsFollowTheLongestProcessingTimeRule) {
  // plan.h's rule written out plainly (runs by decreasing cost, ties in plan
  // order, each to the least loaded shard, the first of equals): shard
  // directories already on disk depend on it, so it must not change with the
  // implementation. Many ties: 4 seeds of each point cost the same.
  const Experiment e =
      parse_experiment(json{{"name", "shards"},
                            {"model", {{"N", {50, 80}}, {"K", {1, 2, 5}}, {"M", 2}}},
                            {"training", {{"alpha", {3, 7}}, {"batch_size", {1, 2}}}},
                            {"seeds", {{"count", 4}}}});
  const std::vector<RunSpec> runs = plan_runs(e);
  std::vector<double> cost;
  for (const RunSpec& r : runs)
    cost.push_back(static_cast<double>(r.params.total_steps()) * r.params.batch_size *
                   (r.params.K + r.params.M) * r.params.N);
  std::vector<std::size_t> order(runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  for (int count : {1, 2, 3, 7, 50, 200}) {
    std::vector<double> load(static_cast<std::size_t>(count), 0.0);
    std::vector<int> expected(runs.size());
    for (std::size_t i : order) {
      const auto least = std::min_element(load.begin(), load.end());
      expected[i] = static_cast<int>(least - load.begin());
      *least += cost[i];
    }
    EXPECT_EQ(shard_of_runs(e, count), expected) << count << " shards";
  }
}
