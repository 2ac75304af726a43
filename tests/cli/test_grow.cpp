// Growing an experiment (experiment/grow.h): more seeds and more grid points
// reuse every run an output directory holds and give the files of a fresh run
// of the grown configuration; any other change is refused naming its key, and
// the directory is left as it was; a growth interrupted at any step is
// completed or discarded on the next run.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "experiment/file_io.h"
#include "experiment/grow.h"
#include "experiment/work_units.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

namespace {

json small_config() {
  return {{"name", "grow"},
          {"model", {{"N", 50}, {"M", 2}, {"K", {2, 3}}}},
          {"training", {{"lr", 0.5}, {"sigma", 0.05}, {"alpha", 4}}},
          {"seeds", {{"count", 10}}},
          {"record", {{"points", 8}}},
          {"ode", {{"init", "measured"}}}};
}

std::string run_config(const std::string& dir, const json& config, const std::string& out,
                       int* status = nullptr) {
  std::string err;
  const int rc = run_tsgd({"run", write_config(dir, config), "--output", out}, &err);
  if (status)
    *status = rc;
  else
    EXPECT_EQ(rc, 0) << err;
  return err;
}

}  // namespace

TEST(Grow, MoreSeedsAndGridPointsReuseEveryRunAndEqualAFreshRun) {
  // 10 -> 20 seeds and K {2, 3} -> {4, 2, 3} (the new K first, so every existing
  // point is renumbered): the 20 runs are kept, 40 computed, and every result
  // file, the ODE's (one curve per seed) included, equals a fresh run's.
  const std::string dir = temp_dir("grow");
  json config = small_config();
  run_config(dir, config, dir + "/grown");
  std::string fp_err;
  ASSERT_EQ(
      run_tsgd({"fixed-point", write_config(dir, config), "--output", dir + "/grown", "--quiet"},
               &fp_err),
      0)
      << fp_err;
  ASSERT_TRUE(fs::exists(dir + "/grown/fixed_points.csv"));
  config["seeds"]["count"] = 20;
  config["model"]["K"] = {4, 2, 3};
  const std::string err = run_config(dir, config, dir + "/grown");
  EXPECT_NE(err.find("20 runs of 10 seed(s) x 2 grid point(s) kept, for 20 seed(s) x 3"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("resuming: 20 runs already complete"), std::string::npos) << err;
  run_config(dir, config, dir + "/fresh");
  expect_identical_result_files(dir + "/fresh", dir + "/grown");
  expect_same_results(dir + "/fresh", dir + "/grown");
  EXPECT_EQ(runs_computed(dir + "/grown"), 60u);              // the kept units' provenance included
  EXPECT_FALSE(fs::exists(dir + "/grown/fixed_points.csv"));  // of the old grid's numbering
  EXPECT_FALSE(fs::exists(dir + "/grown/work.grow"));
  EXPECT_FALSE(fs::exists(dir + "/grown/work.old"));
  fs::remove_all(dir);
}

TEST(Grow, ALongerAlphaContinuesEveryRunFromItsFinalWeights) {
  // Record times that do not depend on alpha (spacing "decades": 0.05 10^(k/4))
  // and the final weights stored: alpha 1.5 -> 4 continues each run from step 75
  // (alpha 1.5, between the records at 0.889 and 1.58, N = 50), and every result
  // file equals a fresh run's with alpha 4, bit for bit (the draws of step t are
  // at (seed, t): nothing of the first part is computed again, nothing differs).
  // With every record's order parameters and with only the last (whose state
  // at the old end is then not a record of the grown schedule), the latter with
  // the grid points renumbered.
  const std::string dir = temp_dir("grow_alpha");
  json config = small_config();
  for (const bool all_states : {true, false}) {
    const std::string grown = dir + "/grown" + (all_states ? "_all" : "_last");
    config["record"] = {{"spacing", "decades"},
                        {"per_decade", 4},
                        {"alpha_min", 0.05},
                        {"final_weights", true},
                        {"order_parameters", all_states}};
    config["training"]["alpha"] = 1.5;
    config["training"]["lr"] = 0.8;  // far from the plateau's end at alpha 1.5
    config["model"]["K"] = {2, 3};
    run_config(dir, config, grown);
    config["training"]["alpha"] = 4;
    // The second time the grown list renumbers the points (K = 3 first): the
    // checkpoints hold each batch's runs in the order the SGD stage gives them.
    if (!all_states) config["model"]["K"] = {3, 2};
    const std::string err = run_config(dir, config, grown);
    EXPECT_NE(err.find("2 point(s) continued to a longer alpha"), std::string::npos) << err;
    EXPECT_NE(err.find("resuming a batch of 20 runs from its checkpoint at step 75"),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("checkpoint(s) of batches cut otherwise"), std::string::npos) << err;
    fs::remove_all(dir + "/fresh");
    run_config(dir, config, dir + "/fresh");
    expect_identical_result_files(dir + "/fresh", grown);
    expect_same_results(dir + "/fresh", grown);
  }
  config["record"]["order_parameters"] = true;
  config["model"]["K"] = {2, 3};
  // Without the final weights a longer alpha is refused, naming what it needs.
  config["record"].erase("final_weights");
  run_config(dir, config, dir + "/plain");
  config["training"]["alpha"] = 8;
  int status = 0;
  const std::string refused = run_config(dir, config, dir + "/plain", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(refused.find("training.alpha: 4 of the existing results is not in this configuration "
                         "(runs continue to a longer alpha only with record.final_weights"),
            std::string::npos)
      << refused;
  fs::remove_all(dir);
}

TEST(Grow, AnyOtherChangeIsRefusedByNameAndChangesNothing) {
  const std::string dir = temp_dir("grow_refused");
  const json config = small_config();
  run_config(dir, config, dir + "/out");
  const std::string summary = read_file(dir + "/out/summary.json");
  const std::string saved_config = read_file(dir + "/out/config.json");
  struct Case {
    const char* key;
    json value;
    const char* named;
  };
  const Case cases[] = {
      {"/training/lr", 0.3, "training.lr: 0.5 of the existing results is not in"},
      {"/seeds/count", 5, "seeds.count: seed 9 of the existing results is not among the 5"},
      {"/model/K", {3, 4}, "model.K: 2 of the existing results is not in"},
      {"/record/points", 9, "record.points: changed from 8 to 9"},
      {"/training/alpha", 8, "training.alpha: 4 of the existing results"},
      {"/seeds/first", 3, "seeds.first: seed 0 of the existing results is below seeds.first = 3"},
  };
  for (const Case& c : cases) {
    json changed = config;
    changed[json::json_pointer(c.key)] = c.value;
    int status = 0;
    const std::string err = run_config(dir, changed, dir + "/out", &status);
    EXPECT_NE(status, 0) << c.key;
    EXPECT_NE(err.find(c.named), std::string::npos) << c.key << ": " << err;
    EXPECT_EQ(read_file(dir + "/out/summary.json"), summary) << c.key;
    EXPECT_EQ(read_file(dir + "/out/config.json"), saved_config) << c.key;
  }
  fs::remove_all(dir);
}

TEST(Grow, AnInterruptedGrowthIsCompletedOrDiscarded) {
  const std::string dir = temp_dir("grow_interrupted");
  json config = small_config();
  run_config(dir, config, dir + "/out");
  const std::string out = dir + "/out";
  // Killed while staging (no target yet): the staged units are discarded and the
  // directory resumes as it was.
  make_directories(out + "/work.grow");
  write_file_atomic(out + "/work.grow/sgd-p0-s0-n3.jsonl", "half");
  std::string err = run_config(dir, config, out);
  EXPECT_NE(err.find("resuming: 20 runs already complete"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out + "/work.grow"));
  // Killed after config.json was switched, between the renames (work.old
  // holds the old units, work.grow the new, no work/): completed.
  const json grown_resolved = json::parse(read_file(out + "/config.json"));
  fs::rename(out + "/work", out + "/work.old");
  fs::copy(out + "/work.old", out + "/work.grow");
  write_file_atomic(out + "/work.grow/target", experiment_fingerprint(grown_resolved));
  finish_interrupted_growth(out);
  EXPECT_TRUE(fs::exists(out + "/work"));
  EXPECT_FALSE(fs::exists(out + "/work.old"));
  EXPECT_FALSE(fs::exists(out + "/work.grow"));
  EXPECT_FALSE(fs::exists(out + "/work/target"));
  err = run_config(dir, config, out);
  EXPECT_NE(err.find("resuming: 20 runs already complete"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(Grow, ANewKeyWhoseValuesIncludeItsDefaultGrows) {
  // model.teacher_init absent (Gaussian) -> ["gaussian", "orthonormal"]: the existing
  // runs are the Gaussian points of the grown grid (a run's identity names every
  // parameter, defaults included), and the files equal a fresh run's.
  const std::string dir = temp_dir("grow_new_key");
  json config = small_config();
  config["seeds"]["count"] = 3;
  run_config(dir, config, dir + "/grown");
  config["model"]["teacher_init"] = {"gaussian", "orthonormal"};
  const std::string err = run_config(dir, config, dir + "/grown");
  EXPECT_NE(err.find("6 runs of 3 seed(s) x 2 grid point(s) kept"), std::string::npos) << err;
  run_config(dir, config, dir + "/fresh");
  expect_identical_result_files(dir + "/fresh", dir + "/grown");
  fs::remove_all(dir);
}

TEST(Grow, ATrainingSetSizeSweepGrowsByAValue) {
  // data.train_size is a grid key like model.K: online -> [null, 60] (the data
  // section added) -> [null, 60, 150] keeps every existing run, and the files
  // equal a fresh run's; a dropped value is refused naming data.train_size.
  const std::string dir = temp_dir("grow_train_size");
  json config = small_config();
  config["seeds"]["count"] = 3;
  config["ode"] = {{"enabled", false}};
  run_config(dir, config, dir + "/grown");
  config["data"]["train_size"] = {nullptr, 60};
  std::string err = run_config(dir, config, dir + "/grown");
  EXPECT_NE(err.find("6 runs of 3 seed(s) x 2 grid point(s) kept"), std::string::npos) << err;
  config["data"]["train_size"] = {nullptr, 60, 150};
  err = run_config(dir, config, dir + "/grown");
  EXPECT_NE(err.find("12 runs of 3 seed(s) x 4 grid point(s) kept"), std::string::npos) << err;
  run_config(dir, config, dir + "/fresh");
  expect_same_results(dir + "/fresh", dir + "/grown");  // (no ODE: no ode.csv)
  config["data"]["train_size"] = {nullptr, 150};
  int status = 0;
  err = run_config(dir, config, dir + "/grown", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(err.find("data.train_size: 60 of the existing results is not in this configuration"),
            std::string::npos)
      << err;
  fs::remove_all(dir);
}
