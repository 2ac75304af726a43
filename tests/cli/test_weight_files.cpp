// tsgd run with a teacher from a file (model.teacher_file): the file's size
// and hash in config.json (and so the work units' fingerprint) and in
// manifest.json; an edited file refused in the old directory, recomputed with
// --force; a bad file refused before anything is written; the ODE from the
// runs' actual initial weights, its N -> infinity expectation refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>

#include "experiment/file_io.h"
#include "tests/support/test_util.h"

using namespace tsgd;
using namespace tsgd::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json teacher_config() {
  return {
      {"name", "file_teacher"},
      {"model",
       {{"N", 4}, {"M", 2}, {"K", 2}, {"teacher_init", "file"}, {"teacher_file", "teacher.json"}}},
      {"training", {{"lr", 0.5}, {"sigma", 0.1}, {"alpha", 2}}},
      {"seeds", {{"count", 2}}},
      {"record", {{"points", 4}, {"jsonl", true}}},
      {"simulate", {{"backend", "cpu"}}}};
}

void write_teacher(const std::string& dir, const std::string& text) {
  std::ofstream(dir + "/teacher.json") << text;
}

}  // namespace

TEST(Pipeline, AnEditedWeightFileIsNeverMixedWithOldRuns) {
  const std::string dir = temp_dir("weight_files_cli");
  const std::string first = R"({"w": [[1, 0, 1, 0], [0, 1, 0, -1]], "v": [1, 1]})";
  write_teacher(dir, first);
  const std::string config = write_config(dir, teacher_config());
  std::string err;
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  const json written = json::parse(read_file(dir + "/out/config.json"));
  const std::string path = fs::canonical(dir).string() + "/teacher.json";
  EXPECT_EQ(written["model"]["teacher_file"], path);
  EXPECT_EQ(written["weight_files"]["model.teacher_file"]["fnv1a"], fnv1a_hex(first));
  const json manifest = json::parse(read_file(dir + "/out/manifest.json"));
  EXPECT_EQ(manifest["weight_files"]["model.teacher_file"],
            (json{{"path", path}, {"bytes", first.size()}, {"fnv1a", fnv1a_hex(first)}}));

  // Every record of the SGD runs and of the ODE (from each seed's measured state) has
  // the file's T = diag(1/2, 1/2) exactly: sums of exactly representable products.
  for (const char* file : {"/out/order_parameters.jsonl", "/out/ode_order_parameters.jsonl"}) {
    std::istringstream lines(read_file(dir + file));
    std::string line;
    int records = 0;
    while (std::getline(lines, line)) {
      EXPECT_EQ(json::parse(line)["T"], json::parse("[[0.5, 0.0], [0.0, 0.5]]")) << file;
      ++records;
    }
    EXPECT_GE(records, 2 * 2) << file;  // two seeds, each its start and end at least
  }
  // The same file again: the same experiment (resumed: nothing to do).
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  // Edited: refused naming the record and both hashes (its key holds a dot: once
  // read as a path of keys, "changed from absent to absent"), then recomputed
  // with --force. The same size: the hash is the first difference.
  const std::string second = R"({"w": [[1, 0, 1, 0], [0, 1, 0, -1]], "v": [1, 2]})";
  write_teacher(dir, second);
  EXPECT_NE(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0);
  EXPECT_NE(err.find("weight_files.model.teacher_file.fnv1a: changed from \"" + fnv1a_hex(first) +
                     "\" to \"" + fnv1a_hex(second) + "\""),
            std::string::npos)
      << err;
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet", "--force"}, &err), 0)
      << err;
  EXPECT_EQ(json::parse(
                read_file(dir + "/out/config.json"))["weight_files"]["model.teacher_file"]["fnv1a"],
            fnv1a_hex(second));
  fs::remove_all(dir);
}

TEST(Pipeline, ABadWeightFileOrAnExpectedOdeStateIsRefusedBeforeAnythingIsWritten) {
  const std::string dir = temp_dir("weight_files_bad");
  write_teacher(dir, R"({"w": [[1, 0, 1], [0, 1, 0]]})");  // N = 3, the model has 4
  const std::string config = write_config(dir, teacher_config());
  std::string err;
  EXPECT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 2);
  EXPECT_NE(err.find("model.teacher_file: " + fs::canonical(dir).string() + "/teacher.json: "),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;  // one line
  EXPECT_FALSE(fs::exists(dir + "/out"));
  write_teacher(dir, R"({"w": [[1, 0, 1, 0], [0, 1, 0, -1]]})");
  json expected = teacher_config();
  expected["ode"] = {{"init", "expected"}};
  EXPECT_EQ(
      run_tsgd({"run", write_config(dir, expected), "--output", dir + "/out", "--quiet"}, &err), 2);
  EXPECT_NE(err.find("ode.init"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir + "/out"));
  fs::remove_all(dir);
}

TEST(Pipeline, GrowingKeepsTheSparsityAndTheTeacherSeed) {
  // More seeds grow an experiment; a changed model.teacher_sparsity or seeds.teacher
  // changes every run, so it is refused naming the key, not grown into a mix.
  const std::string dir = temp_dir("weight_files_grow");
  json config = {{"name", "sparse"},
                 {"model", {{"N", 20}, {"M", 1}, {"K", 1}, {"teacher_sparsity", 0.25}}},
                 {"training", {{"lr", 0.5}, {"alpha", 1}}},
                 {"seeds", {{"count", 2}, {"teacher", 7}}},
                 {"record", {{"points", 3}}},
                 {"simulate", {{"backend", "cpu"}}},
                 {"ode", {{"enabled", false}}}};
  std::string err;
  ASSERT_EQ(run_tsgd({"run", write_config(dir, config), "--output", dir + "/out", "--quiet"}, &err),
            0)
      << err;
  config["seeds"]["count"] = 3;
  for (const auto& [section, key, value] :
       {std::tuple<std::string, std::string, json>{"model", "teacher_sparsity", 0.5},
        std::tuple<std::string, std::string, json>{"seeds", "teacher", 8}}) {
    json changed = config;
    changed[section][key] = value;
    EXPECT_NE(
        run_tsgd({"run", write_config(dir, changed), "--output", dir + "/out", "--quiet"}, &err),
        0);
    EXPECT_NE(err.find(section + "." + key), std::string::npos) << err;
  }
  EXPECT_EQ(run_tsgd({"run", write_config(dir, config), "--output", dir + "/out", "--quiet"}, &err),
            0)
      << err;
  EXPECT_NE(err.find("growing"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(Pipeline, ShardsWithFinalWeightsAndFileWeightsMergeToTheUnshardedResults) {
  // record.final_weights writes each run's teacher (final/wstar), rebuilt from its
  // identity; with a file teacher and a file student the merge, which reads the
  // resolved configuration, loads the teacher's file and never builds a student.
  const std::string dir = temp_dir("weight_files_merge");
  write_teacher(dir, R"({"w": [[1, 0, 1, 0], [0, 1, 0, -1]], "v": [1, 1]})");
  std::ofstream(dir + "/student.json") << R"({"w": [[0.5, 0, 0, 0], [0, 0, 0.5, 0]]})";
  json config = teacher_config();
  config["training"]["init"] = "file";
  config["training"]["init_file"] = "student.json";
  config["seeds"]["count"] = 4;
  config["record"] = {{"points", 4}, {"final_weights", true}};
  config["ode"] = {{"enabled", false}};
  const std::string path = write_config(dir, config);
  std::string err;
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/plain", "--quiet"}, &err), 0) << err;
  for (const char* shard : {"0/2", "1/2"})
    ASSERT_EQ(
        run_tsgd({"run", path, "--output", dir + "/sharded", "--quiet", "--shard", shard}, &err), 0)
        << err;
  ASSERT_EQ(run_tsgd({"merge", dir + "/sharded", "--quiet"}, &err), 0) << err;
  for (const char* f : {"results.h5", "runs.csv", "points.csv", "final_order_parameters.jsonl"})
    EXPECT_TRUE(read_file(dir + "/plain/" + f) == read_file(dir + "/sharded/" + f)) << f;
  fs::remove_all(dir);
}
