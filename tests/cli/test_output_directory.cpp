// The output directory (experiment/output_directory.h, work_units.h): one
// configuration per directory, another refused unless forced; work units of
// another configuration never reused; --force removes only tsgd's own files
// and only what its command recomputes; `tsgd ode` keeps the runs of `tsgd run`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/file_io.h"
#include "experiment/work_units.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

TEST(Pipeline, ADifferentConfigIsRefusedUnlessForced) {
  const std::string dir = temp_dir("refuse");
  json config = {{"name", "refuse"},
                 {"model", {{"N", 50}}},
                 {"training", {{"alpha", 2}}},
                 {"ode", {{"enabled", false}}}};
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}), 0);
  const std::string before = read_file(dir + "/out/summary.json");
  config["training"]["lr"] = 0.3;
  write_config(dir, config);
  std::string err;
  EXPECT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}, &err), 1);
  EXPECT_NE(err.find("different configuration"), std::string::npos) << err;
  EXPECT_EQ(read_file(dir + "/out/summary.json"), before);  // nothing lost
  EXPECT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet", "--force"}), 0);
  EXPECT_NE(read_file(dir + "/out/summary.json"), before);
  fs::remove_all(dir);
}

TEST(Pipeline, WorkUnitsOfAnotherConfigurationAreNeverReused) {
  // Work units name their experiment (a hash of the resolved configuration),
  // so a unit left in a directory by another configuration is refused instead
  // of being mixed into the results; --force starts over.
  const std::string dir = temp_dir("foreign");
  json a = {{"name", "foreign"},
            {"model", {{"N", 50}, {"K", {1, 2}}}},
            {"training", {{"lr", 0.5}, {"alpha", 3}}},
            {"seeds", {{"count", 2}}},
            {"ode", {{"enabled", false}}}};
  json b = a;
  b["training"]["lr"] = 0.4;
  const std::string path_a = dir + "/a.json", path_b = dir + "/b.json";
  std::ofstream(path_a) << a.dump();
  std::ofstream(path_b) << b.dump();
  ASSERT_EQ(run_tsgd({"run", path_b, "--output", dir + "/b", "--quiet"}),
            0);  // the reference for b

  // 1. config.json deleted, then another configuration on the directory.
  ASSERT_EQ(run_tsgd({"run", path_a, "--output", dir + "/x", "--quiet"}), 0);
  fs::remove(dir + "/x/config.json");
  std::string err;
  EXPECT_EQ(run_tsgd({"run", path_b, "--output", dir + "/x", "--quiet"}, &err), 1);
  EXPECT_NE(err.find("work unit of another configuration"), std::string::npos) << err;
  EXPECT_NE(err.find("/x/work/sgd-"), std::string::npos) << err;  // names the file
  ASSERT_EQ(run_tsgd({"run", path_b, "--output", dir + "/x", "--quiet", "--force"}, &err), 0)
      << err;
  expect_same_results(dir + "/b", dir + "/x");

  // 2. Shards of b merged into a directory that holds a's results: refused
  // (a later plain run there would have resumed from a's units), then forced.
  ASSERT_EQ(run_tsgd({"run", path_a, "--output", dir + "/m", "--quiet"}), 0);
  const std::string a_summary = read_file(dir + "/m/summary.json");
  for (const char* shard : {"0/2", "1/2"})
    ASSERT_EQ(run_tsgd({"run", path_b, "--output", dir + "/m", "--quiet", "--shard", shard}), 0);
  EXPECT_EQ(run_tsgd({"merge", dir + "/m", "--quiet"}, &err), 1);
  EXPECT_NE(err.find("different configuration"), std::string::npos) << err;
  EXPECT_EQ(read_file(dir + "/m/summary.json"), a_summary);  // nothing lost
  ASSERT_EQ(run_tsgd({"merge", dir + "/m", "--quiet", "--force"}, &err), 0) << err;
  ASSERT_EQ(run_tsgd({"run", path_b, "--output", dir + "/m", "--quiet"}, &err), 0) << err;
  expect_same_results(dir + "/b", dir + "/m");

  // 3. --force also starts over a directory of the same configuration (the
  // advice of the corrupt-unit error).
  fs::path unit;
  for (const auto& entry : fs::directory_iterator(dir + "/b/work")) unit = entry.path();
  std::ofstream(unit, std::ios::app) << "garbage\n";
  EXPECT_EQ(run_tsgd({"run", path_b, "--output", dir + "/b", "--quiet"}, &err), 1);
  EXPECT_NE(err.find("corrupt work unit"), std::string::npos) << err;
  ASSERT_EQ(run_tsgd({"run", path_b, "--output", dir + "/b", "--quiet", "--force"}, &err), 0)
      << err;
  expect_same_results(dir + "/x", dir + "/b");

  // 4. A unit of an older tsgd (no configuration in its header) is named as such.
  {
    fs::path unit;
    for (const auto& entry : fs::directory_iterator(dir + "/b/work"))
      if (entry.path().filename().string().rfind("sgd-", 0) == 0) unit = entry.path();
    ASSERT_FALSE(unit.empty());
    std::vector<json> records =
        read_work_unit(unit.string(), experiment_fingerprint(load_experiment(path_b).resolved));
    std::string body = json{{"unit", "sgd"}, {"format", 1}, {"runs", records.size()}}.dump() + "\n";
    for (const json& r : records) body += r.dump() + "\n";
    body += json{{"end", records.size()}, {"fnv1a", fnv1a_hex(body)}}.dump() + "\n";
    write_file_atomic(unit.string(), body);
    EXPECT_EQ(run_tsgd({"run", path_b, "--output", dir + "/b", "--quiet"}, &err), 1);
    EXPECT_NE(err.find("written by an older tsgd"), std::string::npos) << err;
    ASSERT_EQ(run_tsgd({"run", path_b, "--output", dir + "/b", "--quiet", "--force"}, &err), 0)
        << err;
  }

  // 5. fixed-point refuses another experiment's directory too.
  json ode = b;
  ode["ode"]["enabled"] = true;
  ode["model"]["K"] = 2;
  const std::string path_ode = dir + "/ode.json";
  std::ofstream(path_ode) << ode.dump();
  EXPECT_EQ(run_tsgd({"fixed-point", path_ode, "--output", dir + "/b"}, &err), 1);
  EXPECT_NE(err.find("different configuration"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir + "/b/fixed_points.csv"));
  fs::remove_all(dir);
}

TEST(Pipeline, ForceRemovesOnlyTsgdsOwnFilesAndOnlyWhatItsCommandRecomputes) {
  const std::string dir = temp_dir("force");
  json config = {{"name", "force"},
                 {"model", {{"N", 40}, {"K", 2}}},
                 {"training", {{"lr", 0.5}, {"alpha", 2}}},
                 {"seeds", {{"count", 2}}}};
  const std::string path = write_config(dir, config);
  const auto user_files = [](const std::string& d) {
    fs::create_directories(d + "/work");
    fs::create_directories(d + "/plots");
    std::ofstream(d + "/work/notes.tex") << "mine";
    std::ofstream(d + "/plots/figure.png") << "mine";
    std::ofstream(d + "/README.txt") << "mine";
  };
  const auto user_files_intact = [](const std::string& d) {
    for (const char* f : {"/work/notes.tex", "/plots/figure.png", "/README.txt"}) {
      EXPECT_TRUE(fs::exists(d + f)) << d + f;
      if (fs::exists(d + f)) {
        EXPECT_EQ(read_file(d + f), "mine") << d + f;
      }
    }
  };
  // A directory that is not tsgd's (no config.json), and one that is.
  user_files(dir + "/mine");
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/mine", "--quiet", "--force"}, &err), 0)
      << err;
  user_files_intact(dir + "/mine");
  user_files(dir + "/out");
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  const std::string runs = read_file(dir + "/out/runs.csv");
  config["training"]["lr"] = 0.3;
  const std::string other = dir + "/other.json";
  std::ofstream(other) << config.dump();
  ASSERT_EQ(run_tsgd({"run", other, "--output", dir + "/out", "--quiet", "--force"}, &err), 0)
      << err;
  user_files_intact(dir + "/out");
  EXPECT_NE(read_file(dir + "/out/runs.csv"), runs);

  // On the same configuration, ode --force and fixed-point --force keep the SGD runs.
  const std::string runs_other = read_file(dir + "/out/runs.csv");
  ASSERT_EQ(run_tsgd({"ode", other, "--output", dir + "/out", "--quiet", "--force"}, &err), 0)
      << err;
  EXPECT_EQ(read_file(dir + "/out/runs.csv"), runs_other);
  ASSERT_EQ(run_tsgd({"fixed-point", other, "--output", dir + "/out", "--quiet", "--force"}, &err),
            0)
      << err;
  EXPECT_TRUE(fs::exists(dir + "/out/fixed_points.csv"));
  ASSERT_EQ(run_tsgd({"run", other, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  EXPECT_EQ(read_file(dir + "/out/runs.csv"), runs_other);

  // 2 and 2.0 are one configuration: an edit of that kind resumes.
  config["training"]["alpha"] = 2.0;
  config["training"]["lr"] = 3e-1;
  std::ofstream(other) << config.dump().replace(config.dump().find("\"alpha\":2.0"), 11,
                                                "\"alpha\":2e0");
  ASSERT_NE(read_file(other).find("2e0"), std::string::npos);
  ASSERT_EQ(run_tsgd({"run", other, "--output", dir + "/out"}, &err), 0) << err;
  EXPECT_NE(err.find("resuming"), std::string::npos) << err;
  EXPECT_EQ(read_file(dir + "/out/runs.csv"), runs_other);
  fs::remove_all(dir);
}

TEST(Pipeline, OdeOnlyKeepsTheSimulationResultsOfItsDirectory) {
  // `tsgd ode` on the directory of a finished `tsgd run` rewrites the result
  // files with the simulation runs still in them.
  const std::string dir = temp_dir("ode_after_run");
  const json config = {{"name", "ode_after_run"},
                       {"model", {{"N", 60}, {"K", 2}, {"M", 2}}},
                       {"training", {{"lr", 0.5}, {"alpha", 3}}},
                       {"seeds", {{"count", 3}}},
                       {"record", {{"points", 8}}}};
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet"}), 0);
  const std::string runs = read_file(dir + "/out/runs.csv");
  const std::string curves = read_file(dir + "/out/curves.csv");
  ASSERT_GT(read_csv(dir + "/out/runs.csv").size(), 3u);
  std::string err;
  ASSERT_EQ(run_tsgd({"ode", path, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  EXPECT_EQ(read_file(dir + "/out/runs.csv"), runs);
  EXPECT_EQ(read_file(dir + "/out/curves.csv"), curves);
  fs::remove_all(dir);
}
