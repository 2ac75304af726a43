// Weight files (experiment/weight_file.h) and the configuration keys that read
// them (model.teacher_file, training.init_file, model.teacher_sparsity,
// seeds.teacher; experiment/config_weights.cpp): good files in both formats,
// and each bad one refused naming the key and the file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/initial_weights.h"
#include "experiment/config.h"
#include "experiment/weight_file.h"
#include "experiment/work_units.h"
#include "tests/support/test_util.h"

using namespace tsgd;
using nlohmann::json;
using tsgd::testing::temp_dir;

namespace {

// A .npy file (format 1.0) of DESCR and SHAPE holding VALUES (converted to the dtype).
std::string npy(const std::string& descr, const std::string& shape,
                const std::vector<double>& values, const std::string& order = "False") {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  for (double v : values) {
    if (descr == "<f4") {
      const float f = static_cast<float>(v);
      out.append(reinterpret_cast<const char*>(&f), 4);
    } else {
      out.append(reinterpret_cast<const char*>(&v), 8);
    }
  }
  return out;
}

std::string write(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The error of reading PATH as 2 x 3 weights (key model.teacher_file), or "".
std::string error_of(const std::string& path) {
  try {
    read_weight_file(path, "model.teacher_file", 2, "model.M", 3);
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key_path(), "model.teacher_file");
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("model.teacher_file: " + path + ": ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what;
  }
  return "";
}

}  // namespace

TEST(WeightFile, NpyAndJsonGiveTheWeightsAsWritten) {
  const std::string dir = temp_dir("weight_file_good");
  const std::vector<double> w = {0.5, -1.25, 3, 1e-3, 2, -7};
  const std::string a = npy("<f8", "(2, 3)", w);
  LoadedWeights f8 = read_weight_file(write(dir, "a.npy", a), "k", 2, "M", 3);
  EXPECT_EQ(f8.weights.w, w);
  EXPECT_TRUE(f8.weights.v.empty());
  EXPECT_EQ(f8.bytes, a.size());
  EXPECT_EQ(f8.fnv1a, fnv1a_hex(a));
  // float32: each value rounded once to float, then promoted.
  LoadedWeights f4 = read_weight_file(write(dir, "b.npy", npy("<f4", "(2, 3)", w)), "k", 2, "M", 3);
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(f4.weights.w[i], static_cast<double>(static_cast<float>(w[i])));
  // N + 1 columns: the second layer last.
  LoadedWeights v = read_weight_file(
      write(dir, "c.npy", npy("<f8", "(2, 4)", {1, 2, 3, 0.5, 4, 5, 6, -0.5})), "k", 2, "M", 3);
  EXPECT_EQ(v.weights.w, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(v.weights.v, (std::vector<double>{0.5, -0.5}));
  const std::string text = R"({"w": [[1, 2, 3], [4, 5, 6.5]], "v": [0.25, 1]})";
  LoadedWeights j = read_weight_file(write(dir, "d.json", text), "k", 2, "M", 3);
  EXPECT_EQ(j.weights.w, (std::vector<double>{1, 2, 3, 4, 5, 6.5}));
  EXPECT_EQ(j.weights.v, (std::vector<double>{0.25, 1}));
  EXPECT_EQ(j.fnv1a, fnv1a_hex(text));
  EXPECT_EQ(
      read_weight_file(write(dir, "e.json", R"({"w": [[1, 2, 3], [4, 5, 6]]})"), "k", 2, "M", 3)
          .weights.v.size(),
      0u);
  std::filesystem::remove_all(dir);
}

TEST(WeightFile, BadFilesAreRefusedNamingTheKeyAndTheFile) {
  const std::string dir = temp_dir("weight_file_bad");
  const std::vector<double> six(6, 1.0);
  struct Case {
    std::string name, bytes, expect;
  };
  std::string truncated = npy("<f8", "(2, 3)", six);
  truncated.resize(truncated.size() - 5);
  std::string short_header = npy("<f8", "(2, 3)", six).substr(0, 30);
  const Case cases[] = {
      {"shape.npy", npy("<f8", "(3, 3)", std::vector<double>(9, 1.0)), "has 3 rows, model.M = 2"},
      {"columns.npy", npy("<f8", "(2, 5)", std::vector<double>(10, 1.0)), "has 5 columns"},
      {"dims.npy", npy("<f8", "(6,)", six), "expected a 2-d array"},
      {"dtype.npy", npy("<i8", "(2, 3)", six), "dtype '<i8'"},
      {"big.npy", npy(">f8", "(2, 3)", six), "dtype '>f8'"},
      {"fortran.npy", npy("<f8", "(2, 3)", six, "True"), "Fortran order"},
      {"truncated.npy", truncated, "truncated: 43 bytes of data, the shape needs 48"},
      {"header.npy", short_header, "truncated in the header"},
      {"extra.npy", npy("<f8", "(2, 3)", six) + "xx", "2 bytes after the data"},
      {"magic.npy", "PK\x03\x04 not numpy at all", "no \\x93NUMPY magic"},
      {"nan.npy", npy("<f8", "(2, 3)", {1, 2, 3, 4, std::nan(""), 6}), "value 4"},
      {"rows.json", R"({"w": [[1, 2, 3]]})", "\"w\" has 1 rows, model.M = 2"},
      {"row.json", R"({"w": [[1, 2, 3], [4, 5]]})", "\"w\"[1] has 2 numbers, model.N = 3"},
      {"type.json", R"({"w": [[1, 2, 3], [4, "5", 6]]})", "\"w\"[1][1] is not a number"},
      {"v.json", R"({"w": [[1, 2, 3], [4, 5, 6]], "v": [1]})", "\"v\" has 1 numbers"},
      {"key.json", R"({"w": [[1, 2, 3], [4, 5, 6]], "b": [1]})", "unknown key \"b\""},
      {"broken.json", R"({"w": [[1, 2, 3], [4, 5)", "not valid JSON"},
      {"weights.txt", "1 2 3", "must end in .npy or .json"},
  };
  for (const Case& c : cases) {
    const std::string what = error_of(write(dir, c.name, c.bytes));
    EXPECT_NE(what.find(c.expect), std::string::npos) << c.name << ": " << what;
  }
  EXPECT_NE(error_of(dir + "/missing.npy").find("no such file"), std::string::npos);
  std::filesystem::remove_all(dir);
}

namespace {

json file_config(const std::string& teacher, const std::string& student) {
  return {{"name", "files"},
          {"model",
           {{"N", 3}, {"M", 2}, {"K", 2}, {"teacher_init", "file"}, {"teacher_file", teacher}}},
          {"training", {{"alpha", 2}, {"init", "file"}, {"init_file", student}}},
          {"seeds", {{"count", 2}}}};
}

// The key path of the ConfigError of loading CONFIG (written to DIR), or "".
std::string refused_key(const std::string& dir, const json& config) {
  try {
    load_experiment(tsgd::testing::write_config(dir, config));
  } catch (const ConfigError& e) {
    return e.key_path();
  }
  return "";
}

}  // namespace

TEST(WeightFile, ConfigReadsTheFilesRelativeToItsDirectoryIntoTheFingerprint) {
  const std::string dir = temp_dir("weight_file_config");
  std::filesystem::create_directories(dir + "/w");
  write(dir, "w/t.json", R"({"w": [[1, 0, 0], [0, 2, 0]], "v": [1, -1]})");
  write(dir, "w/s.npy", npy("<f8", "(2, 3)", {0.5, 0, 0, 0, 0.5, 0}));
  const json config = file_config("w/t.json", "w/s.npy");
  const Experiment e = load_experiment(tsgd::testing::write_config(dir, config));
  const std::string absolute = std::filesystem::canonical(dir).string();
  EXPECT_EQ(e.resolved["model"]["teacher_file"], absolute + "/w/t.json");
  EXPECT_EQ(e.resolved["training"]["init_file"], absolute + "/w/s.npy");
  EXPECT_EQ(e.resolved["weight_files"]["model.teacher_file"]["bytes"], 43);
  ASSERT_TRUE(e.points[0].teacher_file && e.points[0].student_file);
  const OrderParameters op = initial_order_parameters(RunSpec{0, 5, e.points[0]});
  EXPECT_EQ(op.T, (std::vector<double>{1.0 / 3, 0, 0, 4.0 / 3}));
  EXPECT_EQ(op.R, (std::vector<double>{0.5 / 3, 0, 0, 1.0 / 3}));
  EXPECT_EQ(op.vstar, (std::vector<double>{1, -1}));
  // The resolved configuration read back (merge, join, grow) keeps the record
  // and so the fingerprint, without reading the files.
  const Experiment back = parse_experiment(e.resolved);
  EXPECT_EQ(experiment_fingerprint(back.resolved), experiment_fingerprint(e.resolved));
  EXPECT_FALSE(back.points[0].teacher_file);
  // An edited file: another fingerprint.
  const std::string before = experiment_fingerprint(e.resolved);
  write(dir, "w/t.json", R"({"w": [[1, 0, 0], [0, 2, 0]], "v": [1, -2]})");
  const Experiment edited = load_experiment(tsgd::testing::write_config(dir, config));
  EXPECT_NE(experiment_fingerprint(edited.resolved), before);
  std::filesystem::remove_all(dir);
}

TEST(WeightFile, ConfigRefusesInconsistentKeysNamingThem) {
  const std::string dir = temp_dir("weight_file_keys");
  write(dir, "t.json", R"({"w": [[1, 0, 0], [0, 2, 0]]})");
  json config = file_config("t.json", "t.json");
  EXPECT_EQ(refused_key(dir, config), "");
  json c = config;
  c["model"].erase("teacher_file");
  EXPECT_EQ(refused_key(dir, c), "model.teacher_file");
  c = config;
  c["model"]["teacher_init"] = "gaussian";
  EXPECT_EQ(refused_key(dir, c), "model.teacher_file");  // given, but unused
  c = config;
  c["training"]["init_file"] = "missing.npy";
  EXPECT_EQ(refused_key(dir, c), "training.init_file");
  c = config;
  c["model"]["M"] = 3;  // the file has 2 rows
  EXPECT_EQ(refused_key(dir, c), "model.teacher_file");
  c = config;
  c["model"]["teacher_sparsity"] = 0.5;  // a file teacher is used as read
  EXPECT_EQ(refused_key(dir, c), "model.teacher_sparsity");
  c = config;
  c["model"]["teacher_init"] = "gaussian";
  c["model"].erase("teacher_file");
  for (const json& bad : {json(1.0), json(-0.1), json("half"), json::array({0.1, 0.2})}) {
    c["model"]["teacher_sparsity"] = bad;
    EXPECT_EQ(refused_key(dir, c), "model.teacher_sparsity") << bad;
  }
  c["model"]["teacher_sparsity"] = 0.25;
  c["seeds"]["teacher"] = -1;
  EXPECT_EQ(refused_key(dir, c), "seeds.teacher");
  c["seeds"]["teacher"] = 12;
  const Experiment e = load_experiment(tsgd::testing::write_config(dir, c));
  EXPECT_EQ(e.points[0].teacher_sparsity, 0.25);
  EXPECT_EQ(e.points[0].teacher_seed, std::optional<std::uint64_t>(12));
  EXPECT_EQ(e.resolved["seeds"]["teacher"], 12);
  EXPECT_EQ(e.resolved["model"]["teacher_sparsity"], 0.25);
  // Off (absent, or sparsity 0): the resolved configuration of before the keys.
  c["seeds"].erase("teacher");
  c["model"]["teacher_sparsity"] = 0;
  c["training"]["init"] = "large";
  c["training"].erase("init_file");
  const Experiment off = load_experiment(tsgd::testing::write_config(dir, c));
  EXPECT_FALSE(off.resolved["model"].contains("teacher_sparsity"));
  EXPECT_FALSE(off.resolved["seeds"].contains("teacher"));
  EXPECT_FALSE(off.resolved.contains("weight_files"));
  std::filesystem::remove_all(dir);
}
