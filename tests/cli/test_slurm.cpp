// `tsgd slurm` through the binary: the per-task estimate printed, a --time it
// exceeds refused with the number of tasks that would fit, and the flags in
// the written scripts. Nothing is submitted (tests/slurm runs a real cluster).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/resources.h"
#include "tests/support/test_util.h"

using namespace tsgd;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace tsgd::testing;

namespace {

// 128 equal runs of about 10 CPU-days each (N = 10^4, K = M = 8, alpha = 10^6;
// no ODE, so nothing but the estimate is involved): 64 tasks hold two each.
json huge_config() {
  return json{{"name", "huge"},
              {"model", {{"N", 10000}, {"K", 8}, {"M", 8}}},
              {"training", {{"alpha", 1e6}}},
              {"seeds", {{"count", 128}}},
              {"simulate", {{"backend", "cpu"}}},
              {"ode", {{"enabled", false}}}};
}

std::vector<std::string> sbatch_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("#SBATCH", 0) == 0) lines.push_back(line);
  return lines;
}

}  // namespace

TEST(SlurmCommand, RefusesATimeTheTasksExceedAndNamesTheTasksThatFit) {
  const std::string dir = temp_dir("slurm_refusal");
  const std::string config = write_config(dir, huge_config());
  const std::string out_dir = dir + "/out";
  std::string err, out;
  // On 1 CPU per task: 2 runs of ~10 days each; one run alone is longer than a day.
  EXPECT_EQ(
      run_tsgd({"slurm", config, "--tasks", "64", "--time", "24:00:00", "-o", out_dir}, &err, &out),
      1);
  EXPECT_NE(out.find("per task: about"), std::string::npos) << out;
  EXPECT_NE(out.find("largest of 64 shards, 2 runs of SGD on 1 CPU thread"), std::string::npos)
      << out;
  EXPECT_NE(err.find("more than --time 24:00:00 (24.0 h)"), std::string::npos) << err;
  EXPECT_NE(err.find("no number of tasks fits"), std::string::npos) << err;
  EXPECT_NE(err.find("--ignore-estimate"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out_dir + "/slurm"));  // nothing written

  // On 16 CPUs a run takes about 15.6 h (the estimate's rule): ceil(128 / floor(24 h /
  // run)) tasks fit, computed here from the library's per-run estimate.
  const double run = estimate_run_seconds(parse_experiment(huge_config()), 0, 16).front();
  ASSERT_LT(run, 86400.0);
  ASSERT_GT(run, 86400.0 / 2);  // two runs per task do not fit: the answer is one run per task
  const int fit = static_cast<int>(std::ceil(128 / std::floor(86400.0 / run)));
  EXPECT_EQ(run_tsgd({"slurm", config, "--tasks", "64", "--time", "1-00", "--cpus-per-task", "16",
                      "-o", out_dir},
                     &err, &out),
            1);
  EXPECT_NE(err.find(std::to_string(fit) + " tasks would fit (--tasks " + std::to_string(fit)),
            std::string::npos)
      << err;
  EXPECT_FALSE(fs::exists(out_dir + "/slurm"));

  // With that many tasks it is accepted, and so are 64 with --ignore-estimate.
  EXPECT_EQ(run_tsgd({"slurm", config, "--tasks", std::to_string(fit), "--time", "1-00",
                      "--cpus-per-task", "16", "-o", out_dir},
                     &err, &out),
            0)
      << err;
  EXPECT_NE(out.find("largest of 128 shards, 1 run of SGD on 16 CPU threads"), std::string::npos)
      << out;
  EXPECT_TRUE(fs::exists(out_dir + "/slurm/array.sbatch"));
  EXPECT_EQ(run_tsgd({"slurm", config, "--tasks", "64", "--time", "24:00:00", "--ignore-estimate",
                      "-o", out_dir},
                     &err, &out),
            0)
      << err;
  EXPECT_NE(out.find("per task: about"), std::string::npos) << out;
  fs::remove_all(dir);
}

TEST(SlurmCommand, TheNewFlagsAreLinesOfTheWrittenScripts) {
  const std::string dir = temp_dir("slurm_flags");
  json small = huge_config();
  small["training"]["alpha"] = 1;
  small["simulate"]["backend"] = "auto";  // the runs may use the GPU the array requests
  const std::string config = write_config(dir, small);
  const std::string out_dir = dir + "/out";
  std::string err, out;
  ASSERT_EQ(run_tsgd({"slurm",
                      config,
                      "--tasks",
                      "4",
                      "--partition",
                      "gpu",
                      "--time",
                      "2:00:00",
                      "--gpus-per-task",
                      "1",
                      "--account",
                      "proj1",
                      "--qos",
                      "normal",
                      "--mem",
                      "8G",
                      "--sbatch",
                      "--constraint=h200",
                      "--sbatch",
                      "#SBATCH --mail-type=END",
                      "--merge-sbatch",
                      "--mail-type=END",
                      "-o",
                      out_dir},
                     &err, &out),
            0)
      << err;
  const std::string slurm = out_dir + "/slurm/";
  const std::vector<std::string> array = sbatch_lines(slurm + "array.sbatch");
  for (const char* line :
       {"#SBATCH --partition=gpu", "#SBATCH --time=2:00:00", "#SBATCH --account=proj1",
        "#SBATCH --qos=normal", "#SBATCH --mem=8G", "#SBATCH --array=0-3",
        "#SBATCH --gpus-per-task=1", "#SBATCH --constraint=h200", "#SBATCH --mail-type=END"})
    EXPECT_EQ(std::count(array.begin(), array.end(), line), 1) << line;
  // The merge: no GPU, not the GPU partition, its own time; account and QoS shared.
  EXPECT_EQ(sbatch_lines(slurm + "merge.sbatch"),
            (std::vector<std::string>{
                "#SBATCH --job-name=tsgd-huge-merge", "#SBATCH --output=" + slurm + "merge.log",
                "#SBATCH --ntasks=1", "#SBATCH --time=00:30:00", "#SBATCH --account=proj1",
                "#SBATCH --qos=normal", "#SBATCH --mail-type=END"}));
  // The GPU estimate says what it assumes.
  EXPECT_NE(out.find("on 1 GPU, with each GPU taken as an NVIDIA H200"), std::string::npos) << out;
  // Without a GPU the merge shares the array's partition, unless given its own ("": none).
  const auto merge_partition = [&](const std::vector<std::string>& merge_flags) {
    std::vector<std::string> args{"slurm", config,  "--tasks",         "4", "--partition", "cpu",
                                  "-o",    out_dir, "--gpus-per-task", "0"};
    args.insert(args.end(), merge_flags.begin(), merge_flags.end());
    EXPECT_EQ(run_tsgd(args, &err), 0) << err;
    const std::vector<std::string> merge = sbatch_lines(slurm + "merge.sbatch");
    for (const std::string& line : merge)
      if (line.rfind("#SBATCH --partition=", 0) == 0) return line.substr(20);
    return std::string("none");
  };
  EXPECT_EQ(merge_partition({}), "cpu");
  EXPECT_EQ(merge_partition({"--merge-partition", "short"}), "short");
  EXPECT_EQ(merge_partition({"--merge-partition", ""}), "none");
  fs::remove_all(dir);
}

TEST(SlurmCommand, BadFlagValuesAreRefusedWithExitStatus2) {
  const std::string dir = temp_dir("slurm_bad_flags");
  const std::string config = write_config(dir, huge_config());
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--sbatch", "--constraint=a\n--time=9"}, "--sbatch: expected one #SBATCH line"},
      {{"--sbatch", "--time=5"}, "--sbatch: --time=5: set it with --time instead"},
      {{"--merge-sbatch", "-p debug"}, "set it with --merge-partition instead"},
      {{"--time", "1-25"}, "--time: expected a Slurm time"},
      {{"--time", "1:60:00"}, "--time: expected a Slurm time"},
      {{"--merge-time", "soon"}, "--merge-time: expected a Slurm time"},
      {{"--mem", "8GB"}, "--mem: expected a size"},
      {{"--merge-mem", "lots"}, "--merge-mem: expected a size"},
      {{"--account", "a b"}, "--account: expected a Slurm name"},
      {{"--merge-partition", "a b"}, "--merge-partition: expected a Slurm name"}};
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args{"slurm", config, "--tasks", "2", "-o", dir + "/out"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::string err;
    EXPECT_EQ(run_tsgd(args, &err), 2) << flags.front();
    EXPECT_NE(err.find(message), std::string::npos) << err;
  }
  EXPECT_FALSE(fs::exists(dir + "/out"));
  fs::remove_all(dir);
}
