// Resuming: `tsgd run` killed with SIGKILL once a work unit is saved, then
// run again, writes the files of an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

TEST(Pipeline, ResumeAfterKillGivesIdenticalFiles) {
  // Four record schedules (N) give four work units. The run is killed with
  // SIGKILL after the first unit is saved, then rerun; the files must equal
  // those of an uninterrupted run.
  const std::string dir = temp_dir("resume");
  const json config = {{"name", "resume"},
                       {"model", {{"N", {200, 210, 220, 230}}, {"M", 2}, {"K", {2, 3}}}},
                       {"training", {{"lr", 0.5}, {"sigma", 0.05}, {"alpha", 40}}},
                       {"seeds", {{"count", 4}}},
                       {"record", {{"points", 20}}},
                       {"ode", {{"enabled", false}}}};
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/clean", "--quiet", "--threads", "1"}), 0);

  const pid_t child =
      start_tsgd({"run", path, "--output", dir + "/killed", "--quiet", "--threads", "1"});
  bool killed = false;
  for (int i = 0; i < 6000 && !killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (fs::exists(dir + "/killed/work")) {
      for (const auto& entry : fs::directory_iterator(dir + "/killed/work"))
        if (entry.path().extension() == ".jsonl") {
          ::kill(child, SIGKILL);
          killed = true;
          break;
        }
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(killed) << "the run finished before it could be killed";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(fs::exists(dir + "/killed/summary.json"));  // no result files from a killed run
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/killed", "--threads", "2"}, &err), 0) << err;
  EXPECT_NE(err.find("resuming"), std::string::npos) << err;
  expect_same_results(dir + "/clean", dir + "/killed");
  // The manifest names the engine of every run, those of the killed session included.
  EXPECT_EQ(runs_computed(dir + "/killed"), 32u);
  fs::remove_all(dir);
}

TEST(Pipeline, TheRngTransformIsPartOfTheRunsIdentity) {
  // simulate.rng_transform "fast" on the CPU: config.json names it; the same
  // experiment with "auto" (exact on the CPU) in that directory is refused
  // naming the key, never resumed or grown into a mix of transforms; "exact"
  // leaves config.json as it was before the key existed.
  const std::string dir = temp_dir("rng_transform");
  json config = {{"name", "transform"},
                 {"model", {{"N", 40}, {"M", 1}, {"K", 1}}},
                 {"training", {{"lr", 0.5}, {"sigma", 0.1}, {"alpha", 2}}},
                 {"seeds", {{"count", 2}}},
                 {"record", {{"points", 4}}},
                 {"simulate", {{"backend", "cpu"}, {"rng_transform", "fast"}}},
                 {"ode", {{"enabled", false}}}};
  const std::string fast = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", fast, "--output", dir + "/out", "--quiet"}), 0);
  const json written = json::parse(std::ifstream(dir + "/out/config.json"));
  EXPECT_EQ(written["simulate"]["rng_transform"], "fast");

  config["simulate"]["rng_transform"] = "auto";
  config["seeds"]["count"] = 3;  // a growth, which would keep the fast runs
  const std::string automatic = write_config(temp_dir("rng_transform_auto"), config);
  std::string err;
  EXPECT_NE(run_tsgd({"run", automatic, "--output", dir + "/out", "--quiet"}, &err), 0);
  EXPECT_NE(err.find("simulate.rng_transform"), std::string::npos) << err;

  config["simulate"]["rng_transform"] = "exact";
  const std::string exact = write_config(temp_dir("rng_transform_exact"), config);
  ASSERT_EQ(run_tsgd({"run", exact, "--output", dir + "/exact", "--quiet"}), 0);
  const json plain = json::parse(std::ifstream(dir + "/exact/config.json"));
  EXPECT_FALSE(plain["simulate"].contains("rng_transform"));
}
