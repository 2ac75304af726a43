// `tsgd fixed-point` (experiment/fixed_point_stage.h): fixed_points.csv
// reports Newton's fixed point from the ODE's end state and its stability.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

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
  const double eq12 = 0.1 * 0.09 * 3 / (4 - 2 * 0.1 * 3);
  EXPECT_NEAR(std::stod(row.at("eg")), eq12, 1e-8 * eq12);  // Newton's residual 1e-13
  // The ODE's end state at alpha = 200 has relaxed at rate ~eta to within
  // rounding of the fixed point too (both printed, to compare).
  EXPECT_NEAR(std::stod(row.at("eg_ode_end")), eq12, 1e-3 * eq12);
  fs::remove_all(dir);
}
