// Shards and `tsgd merge` (experiment/merge.h, docs/architecture.md contract 6): the
// merged shards equal the unsharded run bit for bit; a missing shard or one of
// another configuration is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "experiment/config.h"
#include "experiment/file_io.h"
#include "experiment/plan.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

TEST(Pipeline, ShardsMergeToTheUnshardedFiles) {
  // Contract 6: a sweep split into shards and merged equals the unsharded run
  // bit for bit; a missing shard or a shard of another configuration is refused.
  const std::string dir = temp_dir("shards");
  json config = {{"name", "shards"},
                 {"model", {{"N", {60, 80}}, {"M", 2}, {"K", {1, 3}}}},
                 {"training", {{"lr", 0.4}, {"sigma", 0.1}, {"alpha", {3, 5}}}},
                 {"seeds", {{"count", 3}}},
                 {"record", {{"points", 10}}},
                 {"ode", {{"enabled", true}}}};
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/plain", "--quiet"}), 0);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/sharded", "--quiet", "--shard",
                        std::to_string(i) + "/4"}),
              0);
  std::string err;
  ASSERT_EQ(run_tsgd({"merge", dir + "/sharded", "--quiet"}, &err), 0) << err;
  expect_same_results(dir + "/plain", dir + "/sharded");
  EXPECT_EQ(runs_computed(dir + "/sharded"), 24u);  // each shard's engine, in the merged manifest
  EXPECT_EQ(read_file(dir + "/plain/ode.csv"), read_file(dir + "/sharded/ode.csv"));
  // The split is balanced by cost and covers every run once.
  const Experiment e = load_experiment(path);
  const auto shard = shard_of_runs(e, 4);
  EXPECT_EQ(shard.size(), plan_runs(e).size());
  for (int s = 0; s < 4; ++s) EXPECT_GT(std::count(shard.begin(), shard.end(), s), 0);
  // A missing shard, then a shard of a different configuration.
  fs::rename(dir + "/sharded/shard-2-of-4", dir + "/moved");
  EXPECT_EQ(run_tsgd({"merge", dir + "/sharded", "--quiet"}, &err), 1);
  EXPECT_NE(err.find("shard(s) 2 of 4 missing"), std::string::npos) << err;
  config["training"]["lr"] = 0.5;
  write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/other", "--quiet", "--shard", "2/4"}), 0);
  fs::rename(dir + "/other/shard-2-of-4", dir + "/sharded/shard-2-of-4");
  EXPECT_EQ(run_tsgd({"merge", dir + "/sharded", "--quiet"}, &err), 1);
  EXPECT_NE(err.find("different configuration"), std::string::npos) << err;
  fs::remove_all(dir);
}
