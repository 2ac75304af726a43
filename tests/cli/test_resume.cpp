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
