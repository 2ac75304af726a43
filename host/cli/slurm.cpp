// `tsgd slurm CONFIG --tasks N`: an sbatch job-array script (one shard per
// array task) and a merge job that depends on the whole array (afterok),
// written to DIR/slurm and optionally submitted. The config and the tsgd
// binary are written as absolute paths.
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "cli/command.h"
#include "cuda/cuda_engine.h"
#include "experiment/file_io.h"

namespace tsgd::cli {

namespace fs = std::filesystem;

namespace {

struct SlurmOptions {
  int tasks = 1;
  std::string partition;   // empty: the cluster's default
  std::string time;        // empty: the partition's default
  int gpus_per_task = -1;  // -1: 1 when the experiment may use a GPU and CUDA is built, else 0
  int cpus_per_task = 0;   // 0: not requested
  bool submit = false;
  std::optional<std::string> output;
};

std::string self_path() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tsgd") : p.string();
}

// Runs a command, returns its stdout; throws with its output on failure.
std::string capture(const std::string& command) {
  std::array<char, 512> buffer{};
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  while (std::fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error(command + " failed: " + output);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

// The job id in sbatch --parsable output ("id" or "id;cluster"), which is its
// last line: warnings that sbatch writes to stderr (merged by capture) come first.
std::string parsable_job_id(const std::string& output) {
  const std::size_t newline = output.rfind('\n');
  std::string id = output.substr(newline == std::string::npos ? 0 : newline + 1);
  id = id.substr(0, id.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error("sbatch --parsable: no job id in its output: " + output);
  return id;
}

int write_slurm_jobs(const Experiment& e, const std::string& config_path, const SlurmOptions& o,
                     std::ostream& out) {
  if (o.tasks < 1) throw std::invalid_argument("--tasks must be >= 1");
  const std::string dir = fs::absolute(o.output ? *o.output : e.output).lexically_normal().string();
  const std::string config = fs::absolute(config_path).lexically_normal().string();
  const std::string tsgd = self_path();
  const std::string slurm_dir = dir + "/slurm";
  if (dir.find_first_of(" \t\n'\"") != std::string::npos)
    throw std::invalid_argument("--output: " + dir +
                                ": #SBATCH lines cannot hold a path with spaces or quotes");
  make_directories(slurm_dir);
  int gpus = o.gpus_per_task;
  if (gpus < 0) {
    gpus = cuda_built() && e.simulate.enabled && e.simulate.backend != Backend::cpu ? 1 : 0;
  }
  auto header = [&](const std::string& job, const std::string& log) {
    std::string h = "#!/bin/bash\n";
    h += "#SBATCH --job-name=" + job + "\n";
    h += "#SBATCH --output=" + slurm_dir + "/" + log + "\n";
    h += "#SBATCH --ntasks=1\n";
    if (!o.partition.empty()) h += "#SBATCH --partition=" + o.partition + "\n";
    if (!o.time.empty()) h += "#SBATCH --time=" + o.time + "\n";
    return h;
  };
  std::string array = header("tsgd-" + e.name, "shard-%a.log");
  array += "#SBATCH --array=0-" + std::to_string(o.tasks - 1) + "\n";
  if (gpus > 0) array += "#SBATCH --gpus-per-task=" + std::to_string(gpus) + "\n";
  if (o.cpus_per_task > 0)
    array += "#SBATCH --cpus-per-task=" + std::to_string(o.cpus_per_task) + "\n";
  array += "# One shard of " + e.name + " per array task; a rerun task resumes its shard.\n";
  array +=
      "# Rerun failed tasks alone with: sbatch --array=I[,J...] " + slurm_dir + "/array.sbatch\n";
  array += "# (the shard count is fixed here, not read from the array's size).\n";
  array += "set -euo pipefail\n";
  array += "exec " + shell_quote(tsgd) + " run " + shell_quote(config) + " --output " +
           shell_quote(dir) + " --shard \"${SLURM_ARRAY_TASK_ID}/" + std::to_string(o.tasks) +
           "\" --threads \"${SLURM_CPUS_PER_TASK:-0}\" --quiet\n";
  std::string merge = header("tsgd-" + e.name + "-merge", "merge.log");
  merge +=
      "# Joins the shards of " + e.name + " (submitted with --dependency=afterok:<array job>).\n";
  merge += "set -euo pipefail\n";
  merge += "exec " + shell_quote(tsgd) + " merge " + shell_quote(dir) + "\n";
  write_file_atomic(slurm_dir + "/array.sbatch", array);
  write_file_atomic(slurm_dir + "/merge.sbatch", merge);
  fs::permissions(slurm_dir + "/array.sbatch", fs::perms::owner_exec, fs::perm_options::add);
  fs::permissions(slurm_dir + "/merge.sbatch", fs::perms::owner_exec, fs::perm_options::add);
  out << "written: " << slurm_dir << "/array.sbatch (" << o.tasks << " array tasks) and "
      << slurm_dir << "/merge.sbatch\n";
  if (!o.submit) {
    out << "submit with: sbatch --parsable " << slurm_dir
        << "/array.sbatch, then sbatch --dependency=afterok:<id> " << slurm_dir
        << "/merge.sbatch (or rerun with --submit)\n";
    return 0;
  }
  const std::string array_id =
      parsable_job_id(capture("sbatch --parsable " + shell_quote(slurm_dir + "/array.sbatch")));
  const std::string merge_id =
      parsable_job_id(capture("sbatch --parsable --dependency=afterok:" + array_id + " " +
                              shell_quote(slurm_dir + "/merge.sbatch")));
  out << "submitted: array job " << array_id << ", merge job " << merge_id << "\n";
  return 0;
}

class SlurmCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd =
        app.add_subcommand("slurm", "write (and submit) an sbatch job array and its merge job");
    cmd->add_option("CONFIG", config_path_, "experiment configuration (JSON)")->required();
    cmd->add_option("--tasks", o_.tasks, "array tasks (shards)")
        ->required()
        ->check(integer_at_least(1));
    cmd->add_option("--partition", o_.partition, "Slurm partition");
    cmd->add_option("--time", o_.time, "time limit per task (Slurm format)");
    cmd->add_option("--gpus-per-task", o_.gpus_per_task,
                    "GPUs per task (default: 1 when a GPU may be used)")
        ->check(integer_at_least(0));
    cmd->add_option("--cpus-per-task", o_.cpus_per_task, "CPUs per task")
        ->check(integer_at_least(0));
    cmd->add_option("--output,-o", o_.output,
                    "output directory (default: the config's \"output\")");
    cmd->add_flag("--submit", o_.submit, "submit both jobs with sbatch and print their ids");
    return cmd;
  }

  int run(const std::string&) override {
    return write_slurm_jobs(load_config(config_path_), config_path_, o_, std::cout);
  }

 private:
  std::string config_path_;
  SlurmOptions o_;
};

}  // namespace

std::unique_ptr<Command> make_slurm_command() { return std::make_unique<SlurmCommand>(); }

}  // namespace tsgd::cli
