// The test-set measurement in every result file (docs/results.md): an
// experiment whose points run on real inputs (an InputSet put on the parsed
// points: the configuration of data.inputs is not this test's) records the
// test-set eg and, with file labels, the class error, as simulate_batch
// computes them (test_test_set_eg.cpp checks those by hand); points.csv,
// summary.json and results.h5 name the eg_source; the numbers go through the
// work units (a resumed directory writes the same files) and their JSON form.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/training_error.h"
#include "engines/cpu_engine.h"
#include "experiment/config.h"
#include "experiment/pipeline.h"
#include "experiment/plan.h"
#include "experiment/resources.h"
#include "experiment/simulation.h"
#include "experiment/work_units.h"
#include "tests/support/input_sets.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

namespace tsgd {
namespace {

using nlohmann::json;
using tsgd::testing::read_csv;

constexpr int kN = 20;
constexpr std::size_t kTrain = 30, kTest = 12;

// Cell K of ROW; read_csv leaves out a row's trailing empty cells.
std::string cell(const std::vector<std::string>& row, std::size_t k) {
  return k < row.size() ? row[k] : std::string();
}

// Rows from the Gaussian stream of seed 7; with LABELLED the labels are the sign
// of the sum of the first two coordinates.
std::shared_ptr<const InputSet> input_set(bool labelled) {
  if (!labelled) return testing::drawn_input_set(7, kN, kTrain, kTest);
  return testing::drawn_input_set(7, kN, kTrain, kTest, 1.0f,
                                  [](const float* x) { return x[0] + x[1] > 0 ? 1.0f : -1.0f; });
}

// Point 0 (K = 2): file labels; point 1 (K = 3): teacher labels.
Experiment experiment(const std::string& out) {
  const json config = {{"name", "test_set"},
                       {"model", {{"N", kN}, {"M", 2}, {"K", {2, 3}}}},
                       {"training", {{"lr", 0.3}, {"alpha", 4}}},
                       {"data", {{"train_size", kTrain}}},
                       {"seeds", {{"count", 3}}},
                       {"record", {{"points", 5}}},
                       {"simulate", {{"precision", "float64"}, {"backend", "cpu"}}},
                       {"ode", {{"enabled", false}}},
                       {"output", out}};
  Experiment e = parse_experiment(config);
  e.points.at(0).inputs = input_set(true);
  e.points.at(1).inputs = input_set(false);
  return e;
}

// Every run's trajectory, as simulate_batch gives it on the CPU engine, by (point, seed).
std::map<std::pair<int, std::uint64_t>, RunTrajectory> expected(const Experiment& e) {
  std::map<std::pair<int, std::uint64_t>, RunTrajectory> out;
  for (const RunSpec& run : plan_runs(e)) {
    auto engine = make_cpu_engine(Precision::float64, 1);
    SimulationControl control;
    control.threads = 1;
    std::vector<RunTrajectory> t;
    EXPECT_TRUE(simulate_batch(*engine, {run}, record_steps(e.record, run.params), control, t));
    out[{run.point_id, run.seed}] = t.at(0);
  }
  return out;
}

TEST(TestSetFiles, EveryFileHasTheTestSetEgAndClassError) {
  const std::string dir = tsgd::testing::temp_dir("test_set_files"), out = dir + "/out";
  const Experiment e = experiment(out);
  RunOptions options;
  options.quiet = true;
  options.threads = 1;
  std::ostringstream log;
  ASSERT_EQ(run_experiment(e, options, log), 0);
  const auto want = expected(e);

  // runs.csv: eg and class_err of every record as simulate_batch's (the numbers
  // are written with shortest round-trip digits: equal exactly).
  const auto runs = read_csv(out + "/runs.csv");
  ASSERT_EQ(runs[0], (std::vector<std::string>{"point_id", "seed", "alpha", "eg", "diverged", "et",
                                               "class_err"}));
  std::map<std::pair<int, std::uint64_t>, std::size_t> row_of_run;
  std::map<int, std::map<std::string, std::vector<double>>> class_err_by_alpha;
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const int point = std::stoi(runs[i][0]);
    const std::uint64_t seed = std::stoull(runs[i][1]);
    const RunTrajectory& t = want.at({point, seed});
    const std::size_t j = row_of_run[{point, seed}]++;
    EXPECT_EQ(std::stod(runs[i][3]), t.eg.at(j)) << "row " << i;
    if (point == 0) {
      ASSERT_EQ(t.class_err.size(), t.eg.size());
      EXPECT_EQ(std::stod(cell(runs[i], 6)), t.class_err[j]) << "row " << i;
      class_err_by_alpha[point][runs[i][2]].push_back(t.class_err[j]);
    } else {
      EXPECT_EQ(cell(runs[i], 6), "") << "row " << i;  // teacher labels: no class error
    }
  }
  EXPECT_EQ(row_of_run.size(), 6u);

  // curves.csv: class_err_mean over the seeds (point 0), empty cells for point 1.
  const auto curves = read_csv(out + "/curves.csv");
  const std::vector<std::string> tail(curves[0].end() - 5, curves[0].end());
  EXPECT_EQ(tail, (std::vector<std::string>{"class_err_mean", "class_err_std", "class_err_sem",
                                            "class_err_lo", "class_err_hi"}));
  const std::size_t mean_column = curves[0].size() - 5;
  std::string last_alpha0;  // point 0's last record time
  for (std::size_t i = 1; i < curves.size(); ++i) {
    if (curves[i][0] != "0") {
      EXPECT_EQ(cell(curves[i], mean_column), "");
      continue;
    }
    last_alpha0 = curves[i][1];
    const auto& values = class_err_by_alpha[0].at(curves[i][1]);
    ASSERT_EQ(values.size(), 3u);
    // Three fractions of 12 summed in another order: 1e-15 relative.
    const double mean = (values[0] + values[1] + values[2]) / 3.0;
    EXPECT_NEAR(std::stod(curves[i][mean_column]), mean, 1e-15 * std::max(1.0, mean));
  }

  // points.csv: eg_source and test_samples last.
  const auto points = read_csv(out + "/points.csv");
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].back(), "test_samples");
  EXPECT_EQ(points[0][points[0].size() - 2], "eg_source");
  for (std::size_t p = 1; p <= 2; ++p) {
    EXPECT_EQ(points[p][points[p].size() - 2], "test_set");
    EXPECT_EQ(points[p].back(), std::to_string(kTest));
  }

  // summary.json: eg_source, test_samples, class_err_final for the labelled point only.
  const json summary = json::parse(read_file(out + "/summary.json"));
  for (const json& point : summary.at("points")) {
    EXPECT_EQ(point.at("eg_source"), "test_set");
    EXPECT_EQ(point.at("test_samples"), kTest);
    EXPECT_EQ(point.contains("class_err_final"), point.at("point_id") == 0);
  }
  const json& final0 = summary.at("points").at(0).at("class_err_final");
  const auto& last = class_err_by_alpha[0].at(last_alpha0);
  EXPECT_NEAR(final0.at("mean").get<double>(), (last[0] + last[1] + last[2]) / 3.0, 1e-15);

  // results.h5 names the datasets and attributes (their values: scripts/test_results_h5.py's kind).
  const std::string h5 = read_file(out + "/results.h5");
  EXPECT_NE(h5.find("class_err"), std::string::npos);
  EXPECT_NE(h5.find("eg_source"), std::string::npos);
  EXPECT_NE(h5.find("test_set"), std::string::npos);

  // Run again on the directory: every run from its work unit, the same files.
  const std::string copy = dir + "/first";
  std::filesystem::create_directories(copy);
  for (const char* f :
       {"runs.csv", "curves.csv", "table.csv", "summary.json", "points.csv", "results.h5"})
    std::filesystem::copy_file(out + "/" + f, copy + "/" + f);
  ASSERT_EQ(run_experiment(e, options, log), 0);
  for (const char* f :
       {"runs.csv", "curves.csv", "table.csv", "summary.json", "points.csv", "results.h5"})
    EXPECT_TRUE(read_file(out + "/" + f) == read_file(copy + "/" + f)) << f;
}

// A work unit's (and checkpoint's) JSON form carries class_err, NaN included.
TEST(TestSetFiles, TrajectoryJsonCarriesTheClassError) {
  const Experiment e = experiment("unused");
  RunTrajectory t;
  t.point_id = 0;
  t.seed = e.seeds.first;
  t.alpha = {0, 1};
  t.eg = {0.5, 0.25};
  t.et = {0.4, 0.2};
  t.class_err = {0.5, std::nan("")};
  OrderParameters op;
  op.resize(2, 2);
  t.states = {op};
  const RunTrajectory back =
      trajectory_from_json(json::parse(trajectory_json(t, false).dump()), e, "unit");
  ASSERT_EQ(back.class_err.size(), 2u);
  EXPECT_EQ(back.class_err[0], 0.5);
  EXPECT_TRUE(std::isnan(back.class_err[1]));
  t.class_err.clear();  // none: no key
  EXPECT_FALSE(trajectory_json(t, false).contains("class_err"));
}

// The time estimate counts the test set's forward passes at every record
// (test_count of them, as many SGD steps each) beside the training error's
// (min(P, record.train_error_samples) = 30): the estimates with and without the
// test rows differ by records x 12 of the run's steps (a ratio of sums of
// integers: 1e-12 relative).
TEST(TestSetFiles, TheTimeEstimateCountsTheTestSet) {
  Experiment e = experiment("unused");
  const PointParams point0 = e.points[0];
  e.points[0].inputs = nullptr;
  e.points[1].inputs = nullptr;
  const std::vector<double> without = estimate_run_seconds(e, 0, 1);
  e.points[0].inputs = input_set(true);
  const std::vector<double> with = estimate_run_seconds(e, 0, 1);
  const double records = static_cast<double>(record_steps(e.record, point0).size());
  const double steps = static_cast<double>(point0.total_steps()) + records * kTrain;
  ASSERT_EQ(with.size(), without.size());
  for (std::size_t i = 0; i < with.size(); ++i) {
    const double added = plan_runs(e)[i].point_id == 0 ? records * kTest / steps : 0.0;
    EXPECT_NEAR(with[i] / without[i] - 1.0, added, 1e-12) << "run " << i;
  }
}

}  // namespace
}  // namespace tsgd
