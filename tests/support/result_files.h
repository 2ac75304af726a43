// Helpers of the end-to-end tests that read result directories: CSV rows,
// the comparison of two directories' result files, the runs in a manifest.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "experiment/file_io.h"

namespace tsgd::testing {

// The cells of every line of a CSV file (no quoting: tsgd writes none).
inline std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> row;
    std::string cell;
    std::istringstream l(line);
    while (std::getline(l, cell, ',')) row.push_back(cell);
    rows.push_back(row);
  }
  return rows;
}

// The result files of two output directories are the same: each file is in
// both or in neither, and byte for byte equal, config.json up to its output
// path (which differs by construction).
inline const std::vector<std::string> kComparedResultFiles = {"points.csv",
                                                              "runs.csv",
                                                              "results.h5",
                                                              "curves.csv",
                                                              "table.csv",
                                                              "escapes.csv",
                                                              "order_parameters.jsonl",
                                                              "final_order_parameters.jsonl",
                                                              "summary.json",
                                                              "config.json"};

inline void expect_same_results(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  for (const auto& f : kComparedResultFiles) {
    const bool ea = fs::exists(a + "/" + f), eb = fs::exists(b + "/" + f);
    ASSERT_EQ(ea, eb) << f;
    if (!ea) continue;
    std::string ta = read_file(a + "/" + f), tb = read_file(b + "/" + f);
    if (f == "config.json") {  // the output path differs by construction
      json ja = json::parse(ta), jb = json::parse(tb);
      ja.erase("output");
      jb.erase("output");
      EXPECT_EQ(ja, jb) << f;
    } else {
      EXPECT_TRUE(ta == tb) << f << " differs between " << a << " and " << b;
    }
  }
}

// Every result file of a run with the ODE, ode.csv included, exists in both
// directories and is byte for byte equal.
inline void expect_identical_result_files(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  for (const char* f : {"points.csv", "runs.csv", "results.h5", "curves.csv", "table.csv",
                        "escapes.csv", "final_order_parameters.jsonl", "summary.json", "ode.csv"}) {
    ASSERT_TRUE(fs::exists(a + "/" + f)) << a << "/" << f;
    ASSERT_TRUE(fs::exists(b + "/" + f)) << b << "/" << f;
    EXPECT_TRUE(read_file(a + "/" + f) == read_file(b + "/" + f)) << f;
  }
}

// Runs per engine in a manifest's "computed_by", summed.
inline std::size_t runs_computed(const std::string& dir) {
  std::size_t n = 0;
  const nlohmann::json manifest = nlohmann::json::parse(read_file(dir + "/manifest.json"));
  for (const nlohmann::json& by : manifest.at("computed_by")) {
    EXPECT_FALSE(by.at("backend").get<std::string>().empty());
    EXPECT_FALSE(by.at("host").get<std::string>().empty());
    n += by.at("runs").get<std::size_t>();
  }
  return n;
}

}  // namespace tsgd::testing
