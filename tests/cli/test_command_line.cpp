// The command line (host/cli): a bad configuration is refused with one line
// naming its key and exit status 2; argument errors say what is expected.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

TEST(Config, CliRejectsABadConfigWithOneLineAndExitCode2) {
  const std::string dir = temp_dir("badcli");
  const std::string bad =
      std::string(TSGD_SOURCE_DIR) + "/tests/experiment/bad_configs/lr_negative_in_list.json";
  std::string err;
  EXPECT_EQ(run_tsgd({"run", bad, "--output", dir + "/out"}, &err), 2);
  EXPECT_NE(err.find("training.lr[2]"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(fs::exists(dir + "/out"));  // nothing written
  EXPECT_EQ(run_tsgd({"validate", bad}, &err), 2);
  // A directory given as CONFIG is named as such (the stream read used to fail with
  // "basic_filebuf::underflow error reading the file: Is a directory").
  EXPECT_EQ(run_tsgd({"run", dir, "--output", dir + "/out"}, &err), 2);
  EXPECT_NE(err.find(dir + ": is a directory"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(Config, CliArgumentErrorsSayWhatIsExpected) {
  // Exit 2 and a short message naming the option and what it takes.
  const std::string good = std::string(TSGD_SOURCE_DIR) + "/configs/quickstart.json";
  std::string err;
  EXPECT_EQ(run_tsgd({"bogus"}, &err), 2);
  EXPECT_NE(err.find("unknown command 'bogus'"), std::string::npos) << err;
  for (const char* threads : {"abc", "-3", "2.5"}) {
    EXPECT_EQ(run_tsgd({"run", good, "--threads", threads, "--output", "/nonexistent/x"}, &err), 2);
    EXPECT_NE(err.find(std::string("--threads: expected an integer >= 0, got '") + threads + "'"),
              std::string::npos)
        << err;
    EXPECT_LT(err.size(), 200u) << err;
  }
  EXPECT_EQ(run_tsgd({"slurm", good, "--tasks", "0"}, &err), 2);
  EXPECT_NE(err.find("--tasks: expected an integer >= 1"), std::string::npos) << err;
}
