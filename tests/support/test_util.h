// Helpers of the end-to-end tests: scratch directories, configuration files
// and the tsgd binary as a subprocess.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/file_io.h"

namespace tsgd::testing {

// A fresh directory under the system's temporary directory.
inline std::string temp_dir(const std::string& name) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() /
                                  ("tsgd_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// Writes `config` to DIR/config_in.json and returns the path.
inline std::string write_config(const std::string& dir, const nlohmann::json& config) {
  const std::string path = dir + "/config_in.json";
  std::ofstream(path) << config.dump(2);
  return path;
}

// Runs the tsgd binary with `args`; returns its exit status (-1 when killed),
// its stderr into *err and its stdout into *out.
inline int run_tsgd(const std::vector<std::string>& args, std::string* err = nullptr,
                    std::string* out = nullptr) {
  std::string cmd = TSGD_BINARY;
  for (const auto& a : args) cmd += " " + shell_quote(a);
  const std::string stem =
      (std::filesystem::temp_directory_path() / ("tsgd_" + std::to_string(::getpid()))).string();
  cmd += " > " + (out ? stem + "_out" : std::string("/dev/null")) + " 2> " + stem + "_err";
  const int status = std::system(cmd.c_str());
  if (err) *err = read_file(stem + "_err");
  if (out) *out = read_file(stem + "_out");
  std::filesystem::remove(stem + "_err");
  std::filesystem::remove(stem + "_out");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Starts the tsgd binary in the background (stderr discarded); returns its pid.
inline pid_t start_tsgd(const std::vector<std::string>& args) {
  const pid_t child = ::fork();
  if (child == 0) {
    std::vector<char*> argv{const_cast<char*>(TSGD_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (!std::freopen("/dev/null", "w", stderr)) std::_Exit(126);
    ::execv(TSGD_BINARY, argv.data());
    std::_Exit(127);
  }
  return child;
}

}  // namespace tsgd::testing
