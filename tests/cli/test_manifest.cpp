// manifest.json (experiment/manifest.h): the commit the binary was built from
// and the size and hash of every result file.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "experiment/file_io.h"
#include "experiment/version.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

namespace {

// The first line of `command`'s standard output ("" when it fails).
std::string first_line_of(const std::string& command) {
  std::string line;
  if (FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r")) {
    char buffer[256];
    if (std::fgets(buffer, sizeof buffer, pipe)) line = buffer;
    if (::pclose(pipe) != 0) line.clear();
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

TEST(Pipeline, ManifestNamesTheCommitBuiltAndChecksumsEveryFile) {
  // Provenance (docs/architecture.md contract 5): the manifest names the commit the binary was
  // built from, read at build time (cmake/git_version.cmake), and the size and FNV-1a hash of every
  // result file.
  const std::string dir = temp_dir("manifest");
  const json config = {{"name", "manifest"},
                       {"model", {{"N", 40}}},
                       {"training", {{"alpha", 2}}},
                       {"ode", {{"enabled", true}}}};
  const std::string path = write_config(dir, config);
  ASSERT_EQ(run_tsgd({"run", path, "--output", dir + "/out", "--quiet", "--threads", "1"}), 0);
  const json manifest = json::parse(read_file(dir + "/out/manifest.json"));
  const std::string commit = manifest.at("git_commit").get<std::string>();
  // The build's own reading (this test binary and tsgd link the same
  // generated source); that it follows new commits without a reconfigure was
  // checked by hand: HEAD moving between builds is outside a test's reach.
  EXPECT_EQ(commit, git_commit());
  EXPECT_TRUE(std::regex_match(commit, std::regex("[0-9a-f]{12}(-dirty|-unknown-state)?|unknown")))
      << commit;
  const std::string head =
      first_line_of("git -C '" + std::string(TSGD_SOURCE_DIR) + "' rev-parse --short=12 HEAD");
  if (!head.empty() && commit.compare(0, head.size(), head) != 0)
    std::cerr << "note: the build names " << commit << ", the checkout is at " << head
              << " (committed since the build?)\n";
  EXPECT_FALSE(manifest.at("tsgd_version").get<std::string>().empty());
  const json& files = manifest.at("files");
  for (const char* f :
       {"config.json", "points.csv", "runs.csv", "curves.csv", "summary.json", "ode.csv"}) {
    ASSERT_TRUE(files.contains(f)) << f;
    const std::string text = read_file(dir + "/out/" + f);
    EXPECT_EQ(files[f].at("bytes").get<std::uint64_t>(), text.size()) << f;
    EXPECT_EQ(files[f].at("fnv1a").get<std::string>(), fnv1a_hex(text)) << f;
  }
  fs::remove_all(dir);
}
