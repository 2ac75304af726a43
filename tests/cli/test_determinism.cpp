// Determinism: the same command twice, on one thread or two, and rerun on a
// finished directory, writes the same bytes.
#include <gtest/gtest.h>

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

TEST(Pipeline, SameCommandTwiceGivesIdenticalFilesOnAnyThreadCount) {
  const std::string dir = temp_dir("determinism");
  const json config = {{"name", "det"},
                       {"model",
                        {{"N", 100},
                         {"M", 2},
                         {"K", {1, 2, 3}},
                         {"student_activation", {"erf", "relu"}},
                         {"teacher_activation", "erf"}}},
                       {"training", {{"lr", {0.2, 0.9}}, {"sigma", 0.1}, {"alpha", 10}}},
                       {"seeds", {{"count", 3}}},
                       {"ode", {{"enabled", false}}}};
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/a", "--quiet", "--threads", "1"}), 0);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/b", "--quiet", "--threads", "2"}), 0);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/a", "--quiet", "--threads", "2"}),
            0);  // rerun: resumes, rewrites
  expect_same_results(dir + "/a", dir + "/b");
  fs::remove_all(dir);
}
