// tsgd run with a teacher from a file (model.teacher_file): the file's size
// and hash in config.json (and so the work units' fingerprint) and in
// manifest.json; an edited file refused in the old directory, recomputed with
// --force; a bad file refused before anything is written; the ODE from the
// runs' actual initial weights, its N -> infinity expectation refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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
      {"record", {{"points", 4}}},
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

  // The same file again: the same experiment (resumed: nothing to do).
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  // Edited: refused naming the record, then recomputed with --force.
  const std::string second = R"({"w": [[1, 0, 1, 0], [0, 1, 0, -1]], "v": [1, 2]})";
  write_teacher(dir, second);
  EXPECT_NE(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0);
  EXPECT_NE(err.find("weight_files.model.teacher_file"), std::string::npos) << err;
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
