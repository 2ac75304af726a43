// The pipeline in one process (experiment/pipeline.h: run_experiment) on the
// plateau of an erf committee machine over 40 seeds: curves.csv is the
// statistics of runs.csv, and the curve shows the plateau and the escape.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/pipeline.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using namespace tsgd::testing;
using nlohmann::json;

TEST(Pipeline, PlateauStatisticsOfFortySeeds) {
  // erf committee machine, N = 500, M = K = 2, eta = 0.5, sigma = 0, 40 seeds.
  const std::string dir = temp_dir("plateau");
  const json config = {
      {"name", "plateau"},
      {"model", {{"N", 500}, {"M", 2}, {"K", 2}}},
      {"training", {{"lr", 0.5}, {"sigma", 0.0}, {"alpha", 320}}},
      {"seeds", {{"count", 40}}},
      {"record", {{"points", 40}, {"alpha_min", 0.5}, {"order_parameters", false}}},
      {"simulate", {{"precision", "float32"}}},
      {"ode", {{"enabled", false}}},
      {"output", dir + "/out"}};
  Experiment e = parse_experiment(config);
  RunOptions options;
  options.quiet = true;
  std::ostringstream out;
  ASSERT_EQ(run_experiment(e, options, out), 0);

  // curves.csv equals a direct recomputation from runs.csv.
  std::map<double, std::vector<double>> by_alpha;
  const auto runs = read_csv(dir + "/out/runs.csv");
  ASSERT_EQ(runs[0], (std::vector<std::string>{"point_id", "seed", "alpha", "eg", "diverged"}));
  for (std::size_t i = 1; i < runs.size(); ++i)
    by_alpha[std::stod(runs[i][2])].push_back(std::stod(runs[i][3]));
  const auto curves = read_csv(dir + "/out/curves.csv");
  // The first columns as before the robust statistics (test_robust_statistics.py checks those).
  ASSERT_EQ(std::vector<std::string>(curves[0].begin(), curves[0].begin() + 9),
            (std::vector<std::string>{"point_id", "alpha", "n", "n_diverged", "eg_mean", "eg_std",
                                      "eg_sem", "eg_lo", "eg_hi"}));
  ASSERT_EQ(curves.size() - 1, by_alpha.size());
  // Student t 97.5% quantile, 39 degrees of freedom (checked by Simpson
  // integration of the t density: CDF - 0.975 = 1e-14).
  const double t39 = 2.0226909200367604;
  double escape_alpha = -1, plateau = 0;
  for (std::size_t i = 1; i < curves.size(); ++i) {
    const double alpha = std::stod(curves[i][1]);
    const auto& v = by_alpha.at(alpha);
    ASSERT_EQ(v.size(), 40u);
    double mean = 0;
    for (double x : v) mean += x;
    mean /= v.size();
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    const double sd = std::sqrt(ss / (v.size() - 1)), sem = sd / std::sqrt(double(v.size()));
    // Different but exact summation orders: agreement to 1e-13 relative.
    EXPECT_EQ(std::stoi(curves[i][2]), 40);
    EXPECT_EQ(std::stoi(curves[i][3]), 0);
    EXPECT_NEAR(std::stod(curves[i][4]), mean, 1e-13 * mean);
    EXPECT_NEAR(std::stod(curves[i][5]), sd, 1e-11 * sd);
    EXPECT_NEAR(std::stod(curves[i][6]), sem, 1e-11 * sem);
    EXPECT_NEAR(std::stod(curves[i][7]), mean - t39 * sem, 1e-11 * mean);
    EXPECT_NEAR(std::stod(curves[i][8]), mean + t39 * sem, 1e-11 * mean);
    if (alpha >= 20 && alpha <= 60) plateau = std::max(plateau, mean);
    if (escape_alpha < 0 && mean < 1e-3) escape_alpha = alpha;
  }
  // The symmetric plateau (eps_g ~ 0.02 for these parameters, seen between
  // alpha 10 and 100), then the escape to perfect learning.
  EXPECT_GT(plateau, 0.01);
  EXPECT_LT(plateau, 0.04);
  EXPECT_GT(escape_alpha, 100);
  EXPECT_LT(escape_alpha, 320);
  std::cout << "[ plateau eps_g " << plateau
            << "; mean eps_g falls below 1e-3 at alpha = " << escape_alpha << " ]\n";
  fs::remove_all(dir);
}
