// tsgd run with real inputs from IDX files (data.inputs, issue 16): N and the
// training set's size from the files, each file's path, size and hash in
// config.json (so the work units' fingerprint) and manifest.json, an edited
// file refused in the old directory naming both hashes; resume, shards and merge
// unchanged (with the test-set columns: eg_source, class_err); merge and join
// (of directories that differ in data.train_size) without the data files; and
// every bad data file refused in one line naming the key and the file, exit
// status 2, nothing written.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/file_io.h"
#include "tests/support/idx_files.h"
#include "tests/support/result_files.h"
#include "tests/support/test_util.h"

using namespace tsgd;
using namespace tsgd::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// COUNT samples of 2 x 2 pixels, a fixed pseudo-random pattern from FIRST.
std::vector<unsigned char> pixels(int count, unsigned first) {
  std::vector<unsigned char> v;
  unsigned x = first;
  for (int i = 0; i < 4 * count; ++i)
    v.push_back(static_cast<unsigned char>((x = x * 69069 + 1) >> 24));
  return v;
}

// 16 training and 6 test samples of N = 4, and labels 0..9.
void write_files(const std::string& dir) {
  write_idx(dir + "/train.idx", {16, 2, 2}, pixels(16, 1));
  write_idx(dir + "/test.idx", {6, 2, 2}, pixels(6, 2));
  write_idx(dir + "/train_labels.idx", {16}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5});
  write_idx(dir + "/test_labels.idx", {6}, {9, 8, 7, 6, 5, 4});
}

json real_config() {
  return {{"name", "real_inputs"},
          {"model", {{"M", 1}, {"K", 2}}},
          {"training", {{"lr", 0.5}, {"sigma", 0.1}, {"alpha", 5}}},
          {"data", {{"inputs", {{"train", "train.idx"}, {"test", "test.idx"}}}}},
          {"seeds", {{"count", 4}}},
          {"record", {{"points", 4}, {"train_error_samples", 8}}},
          {"simulate", {{"backend", "cpu"}}}};
}

// With file labels (parity) and the first 4 test samples.
json labelled_config() {
  json c = real_config();
  c["data"]["test_size"] = 4;
  c["data"]["inputs"]["standardise"] = "per_pixel";
  c["data"]["inputs"]["labels"] = {
      {"train", "train_labels.idx"}, {"test", "test_labels.idx"}, {"task", "parity"}};
  return c;
}

// The files of write_files moved out of reach (as results copied elsewhere).
void move_files_away(const std::string& dir) {
  fs::create_directories(dir + "/away");
  for (const char* f : {"train.idx", "test.idx", "train_labels.idx", "test_labels.idx"})
    fs::rename(dir + "/" + f, dir + "/away/" + f);
}

}  // namespace

TEST(Pipeline, RealInputsTakeNAndTheTrainingSetFromTheFilesAndRecordThem) {
  const std::string dir = temp_dir("data_inputs_cli");
  write_files(dir);
  const std::string config = write_config(dir, real_config());
  std::string err;
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  const json written = json::parse(read_file(dir + "/out/config.json"));
  const std::string train = dir + "/train.idx", test = dir + "/test.idx";
  EXPECT_EQ(written["model"]["N"], 4);                   // from the files
  EXPECT_EQ(written["data"]["train_size"], 16);          // the whole training file
  EXPECT_EQ(written["data"]["test_size"], 6);            // the whole test file
  EXPECT_EQ(written["data"]["inputs"]["train"], train);  // absolute
  EXPECT_EQ(written["data"]["inputs"]["standardise"], "global");
  EXPECT_FALSE(written["ode"]["enabled"].get<bool>());
  const json record = {
      {"path", train}, {"bytes", fs::file_size(train)}, {"fnv1a", fnv1a_file_hex(train)}};
  EXPECT_EQ(written["data_files"]["data.inputs.train"], record);
  EXPECT_EQ(written["data_files"]["data.inputs.test"]["fnv1a"], fnv1a_file_hex(test));
  const json manifest = json::parse(read_file(dir + "/out/manifest.json"));
  EXPECT_EQ(manifest["data_files"]["data.inputs.train"], record);
  // runs.csv lists the training error (a finite training set); no theory entry.
  EXPECT_EQ(read_csv(dir + "/out/runs.csv").at(0).back(), "et");
  const json summary = json::parse(read_file(dir + "/out/summary.json"));
  EXPECT_TRUE(summary["points"][0]["theory"].empty());

  // The same files: the same experiment (resumed, nothing computed).
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0) << err;
  // An edited test file: refused naming its record and both hashes (the record's
  // key holds dots: once read as a path of keys, "changed from absent to absent"),
  // then recomputed with --force.
  const std::string old_hash = fnv1a_file_hex(test);
  write_idx(test, {6, 2, 2}, pixels(6, 3));
  EXPECT_NE(run_tsgd({"run", config, "--output", dir + "/out", "--quiet"}, &err), 0);
  EXPECT_NE(err.find("data_files.data.inputs.test.fnv1a: changed from \"" + old_hash + "\" to \"" +
                     fnv1a_file_hex(test) + "\""),
            std::string::npos)
      << err;
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/out", "--quiet", "--force"}, &err), 0)
      << err;
  EXPECT_EQ(
      json::parse(read_file(dir + "/out/config.json"))["data_files"]["data.inputs.test"]["fnv1a"],
      fnv1a_file_hex(test));
  fs::remove_all(dir);
}

TEST(Pipeline, RealInputsResumeShardAndMergeUnchanged) {
  // A sweep of train_size with file labels: two shards merged give the unsharded
  // files byte for byte, and a rerun reads every run back from its work units.
  const std::string dir = temp_dir("data_inputs_shards");
  write_files(dir);
  json c = labelled_config();
  c["data"]["train_size"] = {8, 16};
  const std::string config = write_config(dir, c);
  std::string err;
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/plain", "--quiet"}, &err), 0) << err;
  EXPECT_EQ(json::parse(read_file(dir + "/plain/config.json"))["data_files"].size(), 4u);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/sharded", "--quiet", "--shard",
                        std::to_string(i) + "/2"},
                       &err),
              0)
        << err;
  ASSERT_EQ(run_tsgd({"merge", dir + "/sharded", "--quiet"}, &err), 0) << err;
  expect_same_results(dir + "/plain", dir + "/sharded");
  const std::size_t computed = runs_computed(dir + "/plain");
  fs::remove(dir + "/plain/summary.json");
  fs::remove(dir + "/plain/runs.csv");
  ASSERT_EQ(run_tsgd({"run", config, "--output", dir + "/plain", "--quiet"}, &err), 0) << err;
  EXPECT_EQ(runs_computed(dir + "/plain"), computed);  // none again
  expect_same_results(dir + "/sharded", dir + "/plain");
  // The merge reads no data file (config.json has the test sets' sizes and whether
  // there are labels; the units' fingerprints carry the files' hashes): with every
  // file moved away, the same files as before.
  move_files_away(dir);
  ASSERT_EQ(run_tsgd({"merge", dir + "/sharded", "--quiet", "--force"}, &err), 0) << err;
  expect_same_results(dir + "/plain", dir + "/sharded");
  fs::remove_all(dir);
}

TEST(Join, DirectoriesOfRealInputsThatDifferInTrainSizeJoinWithoutTheFiles) {
  // data.train_size is a grid key: directories of train_size 8 and 16 join into the
  // files of one run of [8, 16] (with file labels: class_err), the files there or not.
  const std::string dir = temp_dir("data_inputs_join");
  write_files(dir);
  json c = labelled_config();
  std::string err;
  for (const json& size : {json(8), json(16), json({8, 16})}) {
    c["data"]["train_size"] = size;
    const std::string out = dir + "/p" + (size.is_array() ? "all" : size.dump());
    ASSERT_EQ(run_tsgd({"run", write_config(dir, c), "--output", out, "--quiet"}, &err), 0) << err;
  }
  const std::vector<std::string> join = {"merge", dir + "/joined", dir + "/p8", dir + "/p16",
                                         "--quiet"};
  ASSERT_EQ(run_tsgd(join, &err), 0) << err;
  expect_same_results(dir + "/pall", dir + "/joined");
  EXPECT_EQ(read_csv(dir + "/joined/runs.csv").at(0).back(), "class_err");
  move_files_away(dir);
  fs::remove_all(dir + "/joined");
  ASSERT_EQ(run_tsgd(join, &err), 0) << err;
  expect_same_results(dir + "/pall", dir + "/joined");
  fs::remove_all(dir);
}

TEST(Pipeline, BadDataFilesAreRefusedInOneLineBeforeAnythingIsWritten) {
  const std::string dir = temp_dir("data_inputs_bad");
  write_files(dir);
  write_idx(dir + "/flat.idx", {4, 2, 2}, std::vector<unsigned char>(16, 7));
  write_idx(dir + "/truncated.idx", {6, 2, 2}, pixels(5, 2));  // a sample short
  std::ofstream(dir + "/empty.idx").close();
  std::ofstream(dir + "/magic.idx", std::ios::binary) << "P5\n2 2\n255\nabcd";  // a PGM image
  write_idx(dir + "/wide.idx", {6, 3, 2}, std::vector<unsigned char>(36, 1));
  // Review finding 1: a corrupt header (4e9 samples of 4000 x 4000) gave
  // std::bad_alloc; bytes beyond the header's promise were ignored.
  write_idx(dir + "/huge.idx", {4000000000u, 4000, 4000}, pixels(1, 1));
  write_idx(dir + "/long.idx", {6, 2, 2}, pixels(7, 2));  // a sample too many
  const json train_record = {{"path", dir + "/train.idx"},
                             {"bytes", fs::file_size(dir + "/train.idx")},
                             {"fnv1a", fnv1a_file_hex(dir + "/train.idx")}};
  struct Case {
    const char* what;
    json change;  // merged into the configuration
    std::string key, file;
  };
  const std::vector<Case> cases = {
      {"missing file",
       {{"data", {{"inputs", {{"train", "none.idx"}}}}}},
       "data.inputs.train",
       "none.idx"},
      {"wrong magic",
       {{"data", {{"inputs", {{"train", "magic.idx"}}}}}},
       "data.inputs.train",
       "magic.idx"},
      {"truncated",
       {{"data", {{"inputs", {{"test", "truncated.idx"}}}}}},
       "data.inputs.test",
       "truncated.idx"},
      {"empty file",
       {{"data", {{"inputs", {{"test", "empty.idx"}}}}}},
       "data.inputs.test",
       "empty.idx"},
      {"test samples of another size",
       {{"data", {{"inputs", {{"test", "wide.idx"}}}}}},
       "data.inputs.test",
       "wide.idx"},
      {"dimension != model.N", {{"model", {{"N", 5}}}}, "model.N", "train.idx"},
      {"corrupt header",
       {{"data", {{"inputs", {{"train", "huge.idx"}}}}}},
       "data.inputs.train",
       "huge.idx"},
      {"bytes beyond the header's promise",
       {{"data", {{"inputs", {{"test", "long.idx"}}}}}},
       "data.inputs.test",
       "long.idx"},
      // Review finding 2: checked against the default N = 500 only, M = 5 > N = 4
      // ended in std::terminate inside the engine (exit 134, config.json written).
      {"orthonormal teacher with M above the files' N",
       {{"model", {{"M", 5}, {"teacher_init", "orthonormal"}}}},
       "model.teacher_init",
       "train.idx"},
      // Review finding 10: a data_files record without the test file's entry was
      // accepted (and the test file read unchecked).
      {"data_files record missing an entry",
       {{"data", {{"inputs", {{"train", dir + "/train.idx"}, {"test", dir + "/test.idx"}}}}},
        {"data_files", {{"data.inputs.train", train_record}}}},
       "data_files.data.inputs.test",
       "test.idx"},
      {"not finite after standardisation",
       {{"data", {{"inputs", {{"train", "flat.idx"}}}}}},
       "data.inputs.standardise",
       "flat.idx"},
      {"train_size above the file's",
       {{"data", {{"train_size", 17}}}},
       "data.train_size",
       "train.idx"},
      {"test_size above the file's", {{"data", {{"test_size", 7}}}}, "data.test_size", "test.idx"},
      {"labels of another count",
       {{"data",
         {{"inputs",
           {{"labels",
             {{"train", "test_labels.idx"}, {"test", "test_labels.idx"}, {"task", "parity"}}}}}}}},
       "data.inputs.labels.train",
       "test_labels.idx"},
  };
  for (const Case& c : cases) {
    json config = real_config();
    config.merge_patch(c.change);
    std::string err;
    EXPECT_EQ(
        run_tsgd({"run", write_config(dir, config), "--output", dir + "/out", "--quiet"}, &err), 2)
        << c.what;
    EXPECT_NE(err.find(c.key + ": "), std::string::npos) << c.what << ": " << err;
    EXPECT_NE(err.find(dir + "/" + c.file), std::string::npos) << c.what << ": " << err;
    EXPECT_EQ(err.find('\n'), err.size() - 1) << c.what << ": " << err;  // one line
    EXPECT_FALSE(fs::exists(dir + "/out")) << c.what;
    fs::remove_all(dir + "/out");  // each case on its own, whatever the one before left
  }
  fs::remove_all(dir);
}
