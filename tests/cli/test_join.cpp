// `tsgd merge OUT DIR1 DIR2 ...` (experiment/join.h): result directories of one
// experiment computed separately, with disjoint seeds or grid points, join into
// the files of a single run of the joined configuration; directories that do
// not fit are refused naming why; what none of them holds is left to `tsgd run`.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "experiment/file_io.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

namespace {

json part_config(int first_seed, int seeds, const json& K) {
  return {{"name", "join"},
          {"model", {{"N", 40}, {"M", 2}, {"K", K}}},
          {"training", {{"lr", 0.5}, {"sigma", 0.05}, {"alpha", 3}}},
          {"seeds", {{"first", first_seed}, {"count", seeds}}},
          {"record", {{"points", 6}}},
          {"ode", {{"init", "measured"}}}};
}

void run_part(const std::string& dir, const std::string& name, const json& config) {
  std::string err;
  const std::string path = dir + "/" + name + ".json";
  write_file_atomic(path, config.dump());
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/" + name, "--quiet"}, &err), 0) << err;
}

}  // namespace

TEST(Join, DisjointSeedsOrGridPointsJoinIntoTheFilesOfOneRun) {
  const std::string dir = temp_dir("join");
  // Seeds 3..6 and 0..2 (given in that order) join into seeds 0..6, the ODE's
  // per-seed curves included.
  run_part(dir, "late", part_config(3, 4, {1, 2}));
  run_part(dir, "early", part_config(0, 3, {1, 2}));
  run_part(dir, "all_seeds", part_config(0, 7, {1, 2}));
  std::string err;
  ASSERT_EQ(run_tsgd({"merge", dir + "/joined", dir + "/late", dir + "/early", "--quiet"}, &err), 0)
      << err;
  expect_identical_result_files(dir + "/all_seeds", dir + "/joined");
  EXPECT_EQ(runs_computed(dir + "/joined"), 14u);
  // K {1, 2} and {3} join into K {1, 2, 3}.
  run_part(dir, "k3", part_config(0, 7, {3}));
  run_part(dir, "all_k", part_config(0, 7, {1, 2, 3}));
  ASSERT_EQ(
      run_tsgd({"merge", dir + "/joined_k", dir + "/all_seeds", dir + "/k3", "--quiet"}, &err), 0)
      << err;
  expect_identical_result_files(dir + "/all_k", dir + "/joined_k");
  fs::remove_all(dir);
}

TEST(Join, WhatDoesNotFitIsRefusedAndWhatIsMissingIsLeftToRun) {
  const std::string dir = temp_dir("join_refused");
  run_part(dir, "a", part_config(0, 3, {1, 2}));
  run_part(dir, "overlap", part_config(2, 3, {1, 2}));
  run_part(dir, "k3", part_config(3, 2, {3}));
  std::string err;
  EXPECT_NE(run_tsgd({"merge", dir + "/x1", dir + "/a", dir + "/overlap"}, &err), 0);
  EXPECT_NE(err.find("(the same runs twice)"), std::string::npos) << err;
  EXPECT_NE(run_tsgd({"merge", dir + "/x2", dir + "/a", dir + "/k3"}, &err), 0);
  EXPECT_NE(err.find("differ in their seeds and in model.K"), std::string::npos) << err;
  EXPECT_NE(run_tsgd({"merge", dir + "/a", dir + "/a", dir + "/k3"}, &err), 0);
  EXPECT_NE(err.find("must not be one of the joined"), std::string::npos) << err;
  // With --config: a directory outside it is refused naming the key; one inside it
  // leaves the rest to `tsgd run`, whose files then equal a fresh run's.
  json whole = part_config(0, 5, {1, 2, 3});
  const std::string whole_path = dir + "/whole.json";
  write_file_atomic(whole_path, whole.dump());
  json small = part_config(0, 2, {1, 2});
  write_file_atomic(dir + "/small.json", small.dump());
  EXPECT_NE(run_tsgd({"merge", dir + "/x3", dir + "/a", "--config", dir + "/small.json"}, &err), 0);
  EXPECT_NE(err.find("a is not part of the joined configuration: seeds.count"), std::string::npos)
      << err;
  EXPECT_EQ(run_tsgd({"merge", dir + "/x4", dir + "/a", dir + "/k3", "--config", whole_path}, &err),
            1);
  EXPECT_NE(err.find("7 run(s) and the ODE of 3 grid point(s)"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir + "/x4/summary.json"));
  ASSERT_EQ(run_tsgd({"run", dir + "/x4/config.json", "--output", dir + "/x4", "--quiet"}, &err), 0)
      << err;
  run_part(dir, "whole", whole);
  expect_identical_result_files(dir + "/whole", dir + "/x4");
  fs::remove_all(dir);
}
