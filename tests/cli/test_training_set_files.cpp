// The result files of finite training sets (data.train_size): the training error
// et in runs.csv, curves.csv, table.csv, summary.json (and results.h5, compared
// byte for byte below), empty for the online point of a mixed sweep; and shards
// merged, or a rerun from the saved work units, give the same files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

TEST(Pipeline, TrainingErrorColumnsShardsAndRerun) {
  const std::string dir = temp_dir("training_set_files");
  const json config = {{"name", "finite"},
                       {"model", {{"N", 40}, {"M", 1}, {"K", 2}}},
                       {"training", {{"lr", 0.5}, {"sigma", 0.3}, {"alpha", 5}}},
                       {"data", {{"train_size", {nullptr, 20}}}},
                       {"seeds", {{"count", 4}}},
                       {"record", {{"points", 8}, {"train_error_samples", 10}}}};
  const std::string path = write_config(dir, config);
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/plain", "--quiet"}, &err), 0) << err;

  // runs.csv: et last; empty for point 0 (online), a number for point 1 (P = 20).
  const auto runs = read_csv(dir + "/plain/runs.csv");
  ASSERT_GT(runs.size(), 1u);
  ASSERT_EQ(runs[0].back(), "et");
  int finite_rows = 0;
  for (std::size_t i = 1; i < runs.size(); ++i) {
    if (runs[i][0] == "0") {  // read_csv drops the empty last cell
      EXPECT_EQ(runs[i].size(), runs[0].size() - 1) << "row " << i;
    } else {
      ASSERT_EQ(runs[i].size(), runs[0].size()) << "row " << i;
      EXPECT_TRUE(std::isfinite(std::stod(runs[i].back()))) << "row " << i;
      ++finite_rows;
    }
  }
  EXPECT_GT(finite_rows, 0);
  const auto curves = read_csv(dir + "/plain/curves.csv");
  ASSERT_GE(curves[0].size(), 5u);
  EXPECT_EQ(curves[0][curves[0].size() - 5], "et_mean");
  EXPECT_EQ(curves[0].back(), "et_hi");
  // summary.json: et_final and its sample count for the finite point only; no ODE, no theory.
  const json summary = json::parse(std::ifstream(dir + "/plain/summary.json"));
  const json& points = summary.at("points");
  ASSERT_EQ(points.size(), 2u);
  EXPECT_FALSE(points[0].contains("et_final"));
  ASSERT_TRUE(points[1].contains("et_final"));
  EXPECT_EQ(points[1].at("et_samples"), 10);
  EXPECT_EQ(points[1].at("params").at("train_size"), 20);
  EXPECT_TRUE(points[0].at("params").at("train_size").is_null());
  EXPECT_FALSE(points[1].contains("ode"));
  // No closed form holds for a finite training set: each formula skipped, saying why.
  EXPECT_TRUE(points[1].at("theory").empty());
  ASSERT_FALSE(points[1].at("theory_skipped").empty());
  bool online_reason = false;
  for (const json& skipped : points[1].at("theory_skipped"))
    online_reason = online_reason || skipped.at("failed").get<std::string>().find(
                                         "needs online learning") != std::string::npos;
  EXPECT_TRUE(online_reason) << points[1].at("theory_skipped").dump();
  EXPECT_FALSE(fs::exists(dir + "/plain/ode.csv"));

  // Two shards merged: the same files, byte for byte (results.h5 with its et included).
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/sharded", "--quiet", "--shard",
                        std::to_string(i) + "/2"}),
              0);
  ASSERT_EQ(run_tsgd({"merge", dir + "/sharded", "--quiet"}, &err), 0) << err;
  expect_same_results(dir + "/plain", dir + "/sharded");
  // A rerun into the same directory reads every run back from its work units.
  fs::remove(dir + "/plain/summary.json");
  fs::remove(dir + "/plain/runs.csv");
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/plain", "--quiet"}, &err), 0) << err;
  expect_same_results(dir + "/sharded", dir + "/plain");
  fs::remove_all(dir);
}
