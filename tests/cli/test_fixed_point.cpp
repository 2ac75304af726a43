// `tsgd fixed-point` (experiment/fixed_point_stage.h): fixed_points.csv
// reports Newton's fixed point from the ODE's end state and its stability, and
// the ODE's end value as summary.json does (the mean over the seeds' curves).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/result_files.h"
#include "tests/support/test_util.h"
#include "theory/asymptotic.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

TEST(Pipeline, FixedPointReportsTheOdeEndStateAndMarginalStability) {
  // Linear committee machine, K = 3 > M = 2, sigma = 0.3: the fixed point of
  // eq. (12) (eps* = eta sigma^2 K / (4 - 2 eta K)), whose conserved student
  // differences give zero eigenvalues: "marginal", not "no".
  const std::string dir = temp_dir("fixed_point_report");
  const json config = {{"name", "fixed_point_report"},
                       {"model",
                        {{"teacher_activation", "linear"},
                         {"student_activation", "linear"},
                         {"N", 100},
                         {"M", 2},
                         {"K", 3}}},
                       {"training", {{"lr", 0.1}, {"sigma", 0.3}, {"alpha", 200}}},
                       {"simulate", {{"enabled", false}}},
                       {"ode", {{"enabled", true}, {"init", "expected"}}},
                       {"record", {{"points", 10}}}};
  const std::string path = write_config(dir, config);
  std::string err;
  ASSERT_EQ(run_tsgd({"fixed-point", path, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  const auto rows = read_csv(dir + "/out/fixed_points.csv");
  ASSERT_EQ(rows.size(), 2u);  // header and the one point
  std::map<std::string, std::string> row;
  for (std::size_t i = 0; i < rows[0].size() && i < rows[1].size(); ++i)
    row[rows[0][i]] = rows[1][i];
  EXPECT_EQ(row.at("converged"), "1");
  EXPECT_EQ(row.at("stability"), "marginal");
  EXPECT_EQ(row.at("stable"), "1");
  // The conserved differences are the neutral modes the minimum-norm step leaves alone.
  EXPECT_GT(std::stoi(row.at("neutral_modes")), 0);
  EXPECT_EQ(row.at("neutral_cut"), "1e-08");
  const double eq12 = 0.1 * 0.09 * 3 / (4 - 2 * 0.1 * 3);
  EXPECT_NEAR(std::stod(row.at("eg")), eq12, 1e-8 * eq12);  // Newton's residual 1e-13
  // The ODE's end state at alpha = 200 has relaxed at rate ~eta to within
  // rounding of the fixed point too (both printed, to compare).
  EXPECT_NEAR(std::stod(row.at("eg_ode_end")), eq12, 1e-3 * eq12);
  fs::remove_all(dir);
}

TEST(Pipeline, FixedPointFromTheDenoisingStart) {
  // erf, both layers, M = 2, K = 4: with fixed_point.start "denoise" Newton starts at the
  // two-copies-per-teacher fixed point (v = v*/2) and finds, at sigma = 1e-3, the fixed
  // point with noise next to it: eps* equals summary theory's "denoising, first order in
  // sigma^2" to O(sigma) = 1e-3 relative. The ODE's short run (alpha = 5) is far from it,
  // so the start, not the ODE's end, is what Newton used. K = 3 has no such fixed point:
  // the message says why.
  const std::string dir = temp_dir("fixed_point_denoise");
  json config = {{"name", "fixed_point_denoise"},
                 {"model", {{"N", 100}, {"M", 2}, {"K", {4, 3}}, {"train", "both_layers"}}},
                 {"training", {{"lr", 0.1}, {"sigma", 1e-3}, {"alpha", 5}}},
                 {"simulate", {{"enabled", false}}},
                 {"ode", {{"init", "expected"}}},
                 {"fixed_point", {{"start", "denoise"}}},
                 {"record", {{"points", 5}}}};
  std::string err;
  ASSERT_EQ(
      run_tsgd({"fixed-point", write_config(dir, config), "--output", dir + "/out", "--quiet"},
               &err),
      0)
      << err;
  const auto rows = read_csv(dir + "/out/fixed_points.csv");
  ASSERT_EQ(rows.size(), 3u);
  std::map<std::string, std::string> row, other;
  for (std::size_t i = 0; i < rows[0].size(); ++i) {
    if (i < rows[1].size()) row[rows[0][i]] = rows[1][i];
    if (i < rows[2].size()) other[rows[0][i]] = rows[2][i];
  }
  EXPECT_EQ(row.at("converged"), "1") << row.at("message");
  PointParams p;
  p.K = 4;
  p.M = 2;
  p.N = 100;
  p.train = TrainMode::both_layers;
  p.lr = p.lr2 = 0.1;
  p.sigma = 1e-3;
  double first = 0;
  for (const auto& t : asymptotic_theory(p).holds)
    if (t.formula == "denoising, first order in sigma^2") first = t.eg;
  ASSERT_GT(first, 0);
  EXPECT_NEAR(std::stod(row.at("eg")) / first, 1.0, 1e-3);
  EXPECT_GT(std::stod(row.at("eg_ode_end")), 10 * first);
  EXPECT_EQ(other.at("converged"), "0");
  EXPECT_NE(other.at("message").find("K a multiple of M"), std::string::npos)
      << other.at("message");
  // An unknown start is refused by name.
  config["fixed_point"]["start"] = "origin";
  ASSERT_EQ(run_tsgd({"fixed-point", write_config(dir, config), "--output", dir + "/bad"}, &err),
            2);
  EXPECT_NE(err.find("fixed_point.start"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(Pipeline, FixedPointOdeEndIsSummaryOdeValue) {
  // With ode.init "measured" each seed has its own ODE curve and summary.json's
  // ode.eg_final is their mean; fixed_points.csv's eg_ode_end is the same mean
  // (ode_curves = 3), not the first seed's end. N = 50 gives the seeds visibly
  // different teachers (T off I by ~0.2), so the two differ: the test can fail.
  const std::string dir = temp_dir("fixed_point_seeds");
  const json config = {{"name", "fixed_point_seeds"},
                       {"model", {{"N", 50}, {"M", 2}, {"K", 3}}},
                       {"training", {{"lr", 0.5}, {"sigma", 0.1}, {"alpha", 30}}},
                       {"seeds", {{"count", 3}}},
                       {"simulate", {{"enabled", false}}},
                       {"record", {{"points", 5}}}};
  const std::string path = write_config(dir, config);
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  ASSERT_EQ(run_tsgd({"fixed-point", path, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  const json summary = json::parse(read_file(dir + "/out/summary.json"));
  const double ode_final = summary["points"][0]["ode"]["eg_final"];
  const auto rows = read_csv(dir + "/out/fixed_points.csv");
  ASSERT_EQ(rows.size(), 2u);
  std::map<std::string, std::string> row;
  for (std::size_t i = 0; i < rows[0].size() && i < rows[1].size(); ++i)
    row[rows[0][i]] = rows[1][i];
  EXPECT_EQ(row.at("ode_curves"), "3");
  // The same three curves averaged in the same order, both files printing the
  // shortest form that reads back: equal to the last bit (DOUBLE_EQ: 4 ulp).
  EXPECT_DOUBLE_EQ(std::stod(row.at("eg_ode_end")), ode_final);
  // The first seed's curve alone ends elsewhere (ode.csv: point_id,seed,alpha,eg,...).
  const auto ode = read_csv(dir + "/out/ode.csv");
  double first_seed_end = 0;
  for (std::size_t r = 1; r < ode.size(); ++r)
    if (ode[r][1] == "0") first_seed_end = std::stod(ode[r][3]);  // the last record wins
  EXPECT_GT(std::fabs(first_seed_end - ode_final), 1e-3 * ode_final);
  fs::remove_all(dir);
}

TEST(Pipeline, FixedPointReportsTheNeutralDriftOfALinearNetworkWithBothLayers) {
  // Issue 14 point 6: linear, both layers, K = M = 1, eta = sigma = 0.1. The balance Q - v^2
  // drifts at eta^2 (2 eps_g + sigma^2) v^2: no fixed point. fixed_points.csv says so
  // (converged 0), names the one neutral mode and its drift, and gives the state the ODE
  // relaxes to: eg within 1e-3 of the ODE's end (the first-order slow-manifold gap,
  // test_neutral_modes.cpp).
  const std::string dir = temp_dir("fixed_point_neutral");
  const json config = {
      {"name", "fixed_point_neutral"},
      {"model",
       {{"teacher_activation", "linear"},
        {"student_activation", "linear"},
        {"N", 100},
        {"M", 1},
        {"K", 1},
        {"train", "both_layers"}}},
      {"training", {{"lr", 0.1}, {"sigma", 0.1}, {"alpha", 6000}}},
      {"simulate", {{"enabled", false}}},
      {"ode", {{"init", {{"Q", {{0.5}}}, {"R", {{0.0}}}, {"T", {{1.0}}}, {"v", {0.3}}}}}},
      {"record", {{"points", 5}}}};
  std::string err;
  ASSERT_EQ(
      run_tsgd({"fixed-point", write_config(dir, config), "--output", dir + "/out", "--quiet"},
               &err),
      0)
      << err;
  const auto rows = read_csv(dir + "/out/fixed_points.csv");
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].size(), rows[1].size());  // no comma inside a field
  std::map<std::string, std::string> row;
  for (std::size_t i = 0; i < rows[0].size(); ++i) row[rows[0][i]] = rows[1][i];
  EXPECT_EQ(row.at("converged"), "0");
  EXPECT_EQ(row.at("physical"), "1");
  EXPECT_EQ(row.at("neutral_modes"), "1");
  EXPECT_EQ(row.at("neutral_cut"), "0.003");
  const double lambda = std::stod(row.at("neutral_eigenvalues"));
  EXPECT_LT(lambda, 0.0);
  EXPECT_GT(lambda, -1e-3);  // ~eta^2 sigma^2 = 1e-4, times O(1)
  const double residual = std::stod(row.at("residual"));
  EXPECT_NEAR(std::stod(row.at("neutral_drift")), residual, 1e-6 * residual);
  EXPECT_LE(std::stod(row.at("off_neutral_residual")), std::max(1e-13, 1e-8 * residual));
  EXPECT_EQ(row.at("message").rfind("not a fixed point", 0), 0u) << row.at("message");
  EXPECT_NEAR(std::stod(row.at("eg")) / std::stod(row.at("eg_ode_end")), 1.0, 1e-3);
  fs::remove_all(dir);
}
