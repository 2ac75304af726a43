// The engine `tsgd run` chooses (experiment/sgd_stage.h): without a GPU,
// --backend auto falls back to the CPU with a notice, and cuda is refused
// before anything is written, naming where it was asked for.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

TEST(Pipeline, WithoutAGpuAutoFallsBackWithANoticeAndCudaIsRefusedNamingItsSource) {
  if (run_tsgd({"devices"}) == 0) GTEST_SKIP() << "a GPU is visible: nothing falls back";
  const std::string dir = temp_dir("backend");
  json config = {{"name", "backend"},
                 {"model", {{"N", 30}}},
                 {"training", {{"alpha", 1}}},
                 {"ode", {{"enabled", false}}}};
  const std::string path = write_config(dir, config);
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/auto", "--backend", "auto"}, &err), 0)
      << err;
  EXPECT_NE(err.find("running on the CPU"), std::string::npos) << err;
  EXPECT_EQ(run_tsgd({"run", path, "--output", dir + "/cuda", "--backend", "cuda"}, &err), 1);
  EXPECT_NE(err.find("--backend cuda"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir + "/cuda/config.json"));  // refused before anything is written
  config["simulate"] = {{"backend", "cuda"}};
  write_config(dir, config);
  EXPECT_EQ(run_tsgd({"run", path, "--output", dir + "/cuda"}, &err), 1);
  EXPECT_NE(err.find("simulate.backend"), std::string::npos) << err;
  EXPECT_EQ(run_tsgd({"validate", path}), 1);  // validate says what run would refuse
  fs::remove_all(dir);
}
