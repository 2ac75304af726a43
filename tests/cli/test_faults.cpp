// Faults: kills at random moments, SIGTERM, corrupted work units and result
// files, a full disk, and experiments too large for the machine. Nothing
// complete is lost, nothing wrong or half-written is left, every error names
// what is wrong.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "experiment/file_io.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;
using tsgd::read_file;
using tsgd::write_file_atomic;

namespace {

void expect_no_temporary_files(const std::string& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

// Eight record schedules (N) give eight work units, plus four ODE units.
json multi_unit_config() {
  return {{"name", "faults"},
          {"model", {{"N", {120, 130, 140, 150, 160, 170, 180, 190}}, {"M", 2}, {"K", 2}}},
          {"training", {{"lr", 0.5}, {"sigma", 0.05}, {"alpha", 60}}},
          {"seeds", {{"count", 3}}},
          {"record", {{"points", 15}}},
          {"ode", {{"enabled", true}}}};
}

}  // namespace

TEST(Faults, TenKillsAtRandomMomentsThenIdenticalFiles) {
  const std::string dir = temp_dir("kills");
  const std::string path = write_config(dir, multi_unit_config());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/clean", "--quiet", "--threads", "1"}), 0);
  const double full_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::mt19937 rng(20261128);  // fixed: the same moments every time
  int interrupted = 0;
  for (int k = 0; k < 10; ++k) {
    // A moment within the first 10% of a full run's time: each resumed run has
    // less left to do, and a kill after its end would not interrupt anything.
    const int ms =
        std::uniform_int_distribution<int>(1, std::max(2, static_cast<int>(0.1 * full_ms)))(rng);
    const pid_t child =
        start_tsgd({"run", path, "--output", dir + "/killed", "--quiet", "--threads", "1"});
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) ++interrupted;
  }
  EXPECT_GE(interrupted, 3) << "kills must land while the run is still working";
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/killed", "--threads", "2"}, &err), 0) << err;
  expect_identical_result_files(dir + "/clean", dir + "/killed");
  expect_no_temporary_files(dir + "/killed");
  fs::remove_all(dir);
}

TEST(Faults, TemporariesOfInterruptedWritesAreRemovedOnTheNextRun) {
  // A kill in the middle of write_file_atomic leaves NAME.tmpPID behind (a
  // moment the test above hits only now and then): the next run removes
  // those of the files it writes, and nothing else.
  const std::string dir = temp_dir("temporaries");
  json config = multi_unit_config();
  config["model"]["N"] = 60;
  config["training"]["alpha"] = 5;
  const std::string path = write_config(dir, config);
  const std::string out = dir + "/out";
  fs::create_directories(out + "/work");
  for (const char* name : {"config.json.tmp4242", "points.csv.tmp17", "summary.json.tmp1"})
    write_file_atomic(out + "/" + name, "partial");
  write_file_atomic(out + "/notes.tmp3", "mine");        // not tsgd's: kept
  write_file_atomic(out + "/config.json.tmpx", "mine");  // not a PID: kept
  ASSERT_EQ(run_tsgd({"run", path, "--output", out, "--quiet"}), 0);
  EXPECT_FALSE(fs::exists(out + "/config.json.tmp4242"));
  EXPECT_FALSE(fs::exists(out + "/points.csv.tmp17"));
  EXPECT_FALSE(fs::exists(out + "/summary.json.tmp1"));
  EXPECT_TRUE(fs::exists(out + "/notes.tmp3"));
  EXPECT_TRUE(fs::exists(out + "/config.json.tmpx"));
  fs::remove_all(dir);
}

TEST(Faults, SigintAndSigtermStopCleanlyKeepCompleteUnitsAndResume) {
  // SIGINT -> 130, SIGTERM -> 143 (128 + signal), sent once the first unit is
  // saved; no temporary file stays, and a rerun gives an uninterrupted run's files.
  const std::string dir = temp_dir("signals");
  const std::string path = write_config(dir, multi_unit_config());
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/clean", "--quiet"}), 0);
  for (const auto& [sig, code] : {std::pair{SIGINT, 130}, std::pair{SIGTERM, 143}}) {
    const std::string out = dir + "/out" + std::to_string(sig);
    const pid_t child = start_tsgd({"run", path, "--output", out, "--quiet", "--threads", "1"});
    for (int i = 0; i < 4000; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      bool any = false;
      if (fs::exists(out + "/work"))
        for (const auto& e : fs::directory_iterator(out + "/work"))
          any = any || e.path().extension() == ".jsonl";
      if (any) break;
    }
    ::kill(child, sig);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << sig;
    EXPECT_EQ(WEXITSTATUS(status), code) << "signal " << sig;
    expect_no_temporary_files(out);
    ASSERT_EQ(run_tsgd({"run", path, "--output", out, "--quiet"}), 0);
    expect_identical_result_files(dir + "/clean", out);
  }
  fs::remove_all(dir);
}

TEST(Faults, CorruptWorkUnitsAreReportedByName) {
  const std::string dir = temp_dir("corrupt");
  json config = multi_unit_config();
  config["model"]["N"] = {100, 110};
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}), 0);
  std::vector<fs::path> units;
  for (const auto& e : fs::directory_iterator(dir + "/out/work"))
    if (e.path().filename().string().rfind("sgd-", 0) == 0) units.push_back(e.path());
  ASSERT_GE(units.size(), 2u);
  std::sort(units.begin(), units.end());
  const std::string summary = read_file(dir + "/out/summary.json");
  // An edited number (same length), then a truncated file.
  std::string text = read_file(units[0]);
  const std::size_t at = text.find("\"eg\":[") + 7;
  text[at] = text[at] == '1' ? '2' : '1';
  std::ofstream(units[0], std::ios::binary) << text;
  std::string err;
  EXPECT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}, &err), 1);
  EXPECT_NE(err.find(units[0].string()), std::string::npos) << err;
  EXPECT_NE(err.find("checksum"), std::string::npos) << err;
  EXPECT_EQ(read_file(dir + "/out/summary.json"), summary);  // nothing rewritten from bad data
  fs::remove(units[0]);
  const std::string good = read_file(units[1]);
  std::ofstream(units[1], std::ios::binary) << good.substr(0, good.size() / 2);
  EXPECT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}, &err), 1);
  EXPECT_NE(err.find(units[1].string()), std::string::npos) << err;
  // Deleting the bad unit recomputes its runs: the same results as before.
  fs::remove(units[1]);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}), 0);
  EXPECT_EQ(read_file(dir + "/out/summary.json"), summary);
  fs::remove_all(dir);
}

TEST(Faults, AnEditedResultFileIsReportedAndRewritten) {
  const std::string dir = temp_dir("edited");
  json config = multi_unit_config();
  config["model"]["N"] = 100;
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}), 0);
  const std::string runs = read_file(dir + "/out/runs.csv");
  std::ofstream(dir + "/out/runs.csv") << runs.substr(0, runs.size() / 3);  // truncated
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}, &err), 0);
  EXPECT_NE(err.find(dir + "/out/runs.csv"), std::string::npos) << err;
  EXPECT_EQ(read_file(dir + "/out/runs.csv"), runs);
  fs::remove_all(dir);
}

TEST(Faults, AFullDiskIsNamedAndLosesNothing) {
  const std::string dir = temp_dir("full");
  const std::string mount_point = dir + "/disk";
  fs::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=4m") != 0) {
    if (std::getenv("CI"))
      FAIL() << "cannot mount a tmpfs (needed in CI): " << std::strerror(errno);
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  json config = multi_unit_config();
  config["model"]["N"] = {100, 110};
  const std::string path = write_config(dir, config);
  const std::string out = mount_point + "/out";
  ASSERT_EQ(run_tsgd({"run", path, "--output", out, "--quiet"}), 0);
  const std::string summary = read_file(out + "/summary.json");
  const std::string runs = read_file(out + "/runs.csv");
  // Fill the disk, then rerun: rewriting the result files fails.
  {
    std::ofstream filler(mount_point + "/filler", std::ios::binary);
    const std::string block(1 << 16, 'x');
    while (filler.write(block.data(), block.size())) {
    }
  }
  std::string err;
  EXPECT_EQ(run_tsgd({"run", path, "--output", out, "--quiet"}, &err), 1);
  EXPECT_NE(err.find(out + "/"), std::string::npos) << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_EQ(read_file(out + "/summary.json"), summary);  // the old files are intact
  EXPECT_EQ(read_file(out + "/runs.csv"), runs);
  expect_no_temporary_files(out);
  ::umount(mount_point.c_str());
  fs::remove_all(dir);
}

TEST(Faults, ExperimentsBeyondTheMachineAreRefusedBeforeAnyWork) {
  const std::string dir = temp_dir("huge");
  struct Case {
    json config;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{"name", "long"},
        {"model", {{"N", 10000000}, {"K", 8}, {"M", 8}}},
        {"training", {{"alpha", 10}}}},
       "days"},
      {{{"name", "wide"},
        {"model", {{"N", 10000000}, {"K", 1000}, {"M", 1000}}},
        {"training", {{"alpha", 1}}},
        {"record", {{"alpha_min", 0.5}}}},
       "model.N"},
      {{{"name", "many"},
        {"model", {{"N", 100}}},
        {"training", {{"alpha", 1000}}},
        {"seeds", {{"count", 100000000}}}},
       "seeds.count"},
  };
  for (const Case& c : cases) {
    const std::string path = write_config(dir, c.config);
    std::string err;
    EXPECT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--backend", "cpu"}, &err), 1)
        << c.key;
    EXPECT_NE(err.find(c.key), std::string::npos) << err;
    EXPECT_FALSE(fs::exists(dir + "/out")) << "nothing may be written";
  }
  // 1e9 runs: refused by the configuration reader itself.
  const std::string path = write_config(dir, {{"name", "billion"},
                                              {"model", {{"K", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}}},
                                              {"seeds", {{"count", 100000000}}}});
  std::string err;
  EXPECT_EQ(run_tsgd({"validate", path}, &err), 2);
  EXPECT_NE(err.find("seeds.count"), std::string::npos) << err;
  fs::remove_all(dir);
}
