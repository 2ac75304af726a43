// The scripts of `tsgd slurm` and their checks (experiment/slurm_script.h):
// Slurm's time and memory formats, extra #SBATCH lines, what each script
// requests (the merge job its own small resources), and the per-task
// estimate with the number of tasks that would fit.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/slurm_script.h"

using namespace tsgd;
using nlohmann::json;

namespace {

std::vector<std::string> sbatch_lines(const std::string& script) {
  std::vector<std::string> lines;
  std::istringstream in(script);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("#SBATCH", 0) == 0) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& script, const std::string& line) {
  const std::vector<std::string> lines = sbatch_lines(script);
  return std::count(lines.begin(), lines.end(), line) == 1;
}

SlurmJobSpec spec_of_test() {
  SlurmJobSpec spec;
  spec.name = "sweep";
  spec.tsgd = "/opt/tsgd";
  spec.config = "/home/me/sweep.json";
  spec.directory = "/scratch/sweep";
  spec.tasks = 8;
  return spec;
}

}  // namespace

TEST(SlurmScript, TimeLimitsInEverySlurmForm) {
  const std::vector<std::pair<std::string, long long>> valid{
      {"30", 1800},          {"90", 5400},   {"30:15", 1815},   {"2:03:04", 7384},
      {"100:00:00", 360000}, {"1-2", 93600}, {"1-2:03", 93780}, {"1-02:03:04", 93784},
      {"24:00:00", 86400},   {"0", 0},       {"UNLIMITED", 0},  {"infinite", 0}};
  for (const auto& [text, seconds] : valid) EXPECT_EQ(parse_slurm_time(text), seconds) << text;
  for (const char* text : {"", "1:2:3:4", "1-", "-5", "1-24", "1:60", "1:75:00", "1-2:3:4:5", "abc",
                           "1.5", " 30", "1-2-3", "1:"})
    EXPECT_THROW(parse_slurm_time(text), std::invalid_argument) << text;
}

TEST(SlurmScript, MemoryAndNamesAsSbatchTakesThem) {
  for (const char* text : {"4G", "4000M", "4000", "16g", "1T", "512K", "0"})
    EXPECT_NO_THROW(check_slurm_memory(text)) << text;
  for (const char* text : {"4GB", "", "G", "4.5G", "-1", "4 G"})
    EXPECT_THROW(check_slurm_memory(text), std::invalid_argument) << text;
  for (const char* text : {"gpu", "gpu,cpu", "proj-1_a"}) EXPECT_NO_THROW(check_slurm_word(text));
  for (const char* text : {"", "a b", "a'b", "a#b", "a\nb"})
    EXPECT_THROW(check_slurm_word(text), std::invalid_argument) << text;
}

TEST(SlurmScript, ExtraSbatchLinesAreOptionsTsgdDoesNotSetItself) {
  EXPECT_EQ(sbatch_option("--constraint=a100", SlurmJob::array), "--constraint=a100");
  EXPECT_EQ(sbatch_option("  #SBATCH   --mail-type=END ", SlurmJob::array), "--mail-type=END");
  EXPECT_EQ(sbatch_option("-C a100", SlurmJob::array), "-C a100");
  for (const char* line : {"#SBATCH", "", "constraint=a100", "--a\n--b", "--a\r"})
    EXPECT_THROW(sbatch_option(line, SlurmJob::array), std::invalid_argument) << line;
  // What a flag sets names the flag (for each job its own); what tsgd writes says so.
  const auto refusal = [](const std::string& line, SlurmJob job) {
    try {
      sbatch_option(line, job);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal("--time=5", SlurmJob::array).find("--time instead"), std::string::npos);
  EXPECT_NE(refusal("-t 5", SlurmJob::array).find("--time instead"), std::string::npos);
  EXPECT_NE(refusal("--time=5", SlurmJob::merge).find("--merge-time instead"), std::string::npos);
  EXPECT_NE(refusal("--mem 4G", SlurmJob::merge).find("--merge-mem"), std::string::npos);
  EXPECT_NE(refusal("-G 2", SlurmJob::array).find("--gpus-per-task"), std::string::npos);
  EXPECT_NE(refusal("--array=0-3", SlurmJob::array).find("writes --array itself"),
            std::string::npos);
  EXPECT_NE(refusal("--output=x", SlurmJob::merge).find("writes --output itself"),
            std::string::npos);
  // The merge may be given a GPU or CPUs explicitly ("unless told otherwise").
  EXPECT_EQ(refusal("--gpus-per-task=1", SlurmJob::merge), "accepted");
  EXPECT_EQ(refusal("--cpus-per-task=4", SlurmJob::merge), "accepted");
  EXPECT_NE(refusal("--gpus-per-task=1", SlurmJob::array), "accepted");
}

TEST(SlurmScript, EachFlagIsOneLineOfItsScript) {
  SlurmJobSpec spec = spec_of_test();
  spec.partition = "gpu";
  spec.time = "1-00:00:00";
  spec.account = "proj1";
  spec.qos = "normal";
  spec.mem = "16G";
  spec.gpus_per_task = 2;
  spec.cpus_per_task = 8;
  spec.sbatch = {"--constraint=h200", "--mail-type=END"};
  spec.merge_sbatch = {"--mail-user=me@example.org"};
  const SlurmScripts s = slurm_scripts(spec);
  EXPECT_EQ(
      sbatch_lines(s.array),
      (std::vector<std::string>{
          "#SBATCH --job-name=tsgd-sweep", "#SBATCH --output=/scratch/sweep/slurm/shard-%a.log",
          "#SBATCH --ntasks=1", "#SBATCH --partition=gpu", "#SBATCH --time=1-00:00:00",
          "#SBATCH --account=proj1", "#SBATCH --qos=normal", "#SBATCH --mem=16G",
          "#SBATCH --array=0-7", "#SBATCH --gpus-per-task=2", "#SBATCH --cpus-per-task=8",
          "#SBATCH --constraint=h200", "#SBATCH --mail-type=END"}));
  EXPECT_NE(s.array.find("--shard \"${SLURM_ARRAY_TASK_ID}/8\""), std::string::npos);
  // The merge: no GPU, no GPU partition, its own time, the account and QoS.
  EXPECT_EQ(
      sbatch_lines(s.merge),
      (std::vector<std::string>{
          "#SBATCH --job-name=tsgd-sweep-merge", "#SBATCH --output=/scratch/sweep/slurm/merge.log",
          "#SBATCH --ntasks=1", "#SBATCH --time=00:30:00", "#SBATCH --account=proj1",
          "#SBATCH --qos=normal", "#SBATCH --mail-user=me@example.org"}));
  EXPECT_NE(s.merge.find("exec '/opt/tsgd' merge '/scratch/sweep'"), std::string::npos);
}

TEST(SlurmScript, TheMergeJobHasItsOwnResources) {
  SlurmJobSpec spec = spec_of_test();
  spec.partition = "cpu";
  spec.qos = "long";
  spec.time = "2-00:00:00";
  spec.mem = "64G";
  // An array without a GPU: the merge shares its partition, not its time or memory.
  SlurmScripts s = slurm_scripts(spec);
  EXPECT_TRUE(has_line(s.merge, "#SBATCH --partition=cpu"));
  EXPECT_TRUE(has_line(s.merge, "#SBATCH --time=00:30:00"));
  EXPECT_EQ(s.merge.find("--mem"), std::string::npos);
  EXPECT_EQ(s.merge.find("gpu"), std::string::npos);
  // With a GPU, the array's partition is taken for a GPU partition: none for the merge.
  spec.partition = "gpu-h200";
  spec.gpus_per_task = 1;
  s = slurm_scripts(spec);
  EXPECT_EQ(s.merge.find("--partition"), std::string::npos);
  EXPECT_EQ(s.merge.find("gpu"), std::string::npos);
  // Told otherwise: its own partition, time, memory and QoS.
  spec.merge_partition = "short";
  spec.merge_time = "10";
  spec.merge_mem = "2000M";
  spec.merge_qos = "quick";
  s = slurm_scripts(spec);
  for (const char* line : {"#SBATCH --partition=short", "#SBATCH --time=10", "#SBATCH --mem=2000M",
                           "#SBATCH --qos=quick"})
    EXPECT_TRUE(has_line(s.merge, line)) << line << "\n" << s.merge;
  EXPECT_TRUE(has_line(s.array, "#SBATCH --qos=long"));
  // An empty --merge-partition: the cluster's default.
  spec.merge_partition = "";
  EXPECT_EQ(slurm_scripts(spec).merge.find("--partition"), std::string::npos);
}

TEST(SlurmScript, TheFewestTasksThatFitAreFound) {
  // Runs of three costs (K = 1, 4, 8 at N = 2000, alpha = 2e4) and 5 seeds:
  // the search must agree with trying every task count from 1 to the 15 runs.
  const Experiment e = parse_experiment(json{{"name", "mixed"},
                                             {"model", {{"N", 2000}, {"K", {1, 4, 8}}, {"M", 2}}},
                                             {"training", {{"alpha", 2e4}}},
                                             {"seeds", {{"count", 5}}},
                                             {"ode", {{"enabled", false}}}});
  const std::vector<double> runs = estimate_run_seconds(e, 0, 1);
  const double longest = *std::max_element(runs.begin(), runs.end());
  for (double limit :
       {longest * 0.99, longest, longest * 1.5, longest * 2.2, longest * 4.0, longest * 100.0}) {
    int brute_force = 0;
    for (int n = 1; n <= 15 && brute_force == 0; ++n)
      if (estimate_largest_shard(e, n, 0, 1).seconds <= limit) brute_force = n;
    EXPECT_EQ(tasks_that_fit(e, 0, 1, limit), brute_force) << "limit " << limit;
  }
  // Over the limit: refused, naming what fits; within it or without a limit: accepted.
  const TaskEstimate one = estimate_task(e, 1, 0, 1);
  try {
    check_task_time(e, one, "1");
    ADD_FAILURE() << "accepted";
  } catch (const std::runtime_error& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("more than --time 1 (60 s)"), std::string::npos) << what;
    EXPECT_NE(what.find("--ignore-estimate"), std::string::npos) << what;
  }
  EXPECT_NO_THROW(check_task_time(e, one, ""));
  EXPECT_NO_THROW(check_task_time(e, one, "UNLIMITED"));
  EXPECT_NO_THROW(check_task_time(e, one, "1000-00"));
}

TEST(SlurmScript, AnOdeOnlyExperimentHasNoSgdToEstimate) {
  const Experiment e = parse_experiment(json{{"name", "ode"},
                                             {"model", {{"N", 784}}},
                                             {"training", {{"alpha", 1000}}},
                                             {"simulate", {{"enabled", false}}}});
  const TaskEstimate t = estimate_task(e, 1, 0, 1);
  EXPECT_EQ(describe(t), "no SGD runs (the ODE's time is not estimated)");
  EXPECT_NO_THROW(check_task_time(e, t, "1"));
}

TEST(SlurmScript, DurationsReadAsPeopleSayThem) {
  EXPECT_EQ(format_duration(0.52), "0.52 s");
  EXPECT_EQ(format_duration(45), "45 s");
  EXPECT_EQ(format_duration(720), "12 min");
  EXPECT_EQ(format_duration(5.2 * 3600), "5.2 h");
  EXPECT_EQ(format_duration(3.5 * 86400), "3.5 days");
  EXPECT_EQ(format_duration(44 * 86400), "44 days");
}
