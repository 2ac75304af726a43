// `tsgd slurm CONFIG --tasks N`: an sbatch job-array script (one shard per
// array task) and a merge job that depends on the whole array (afterok),
// written to DIR/slurm and optionally submitted. The config and the tsgd
// binary are written as absolute paths. Prints the estimated time of one task
// and refuses a --time it exceeds before writing anything. The scripts
// themselves: experiment/slurm_script.h; this file parses and submits.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "cli/command.h"
#include "cuda/cuda_engine.h"
#include "experiment/file_io.h"
#include "experiment/slurm_script.h"

namespace tsgd::cli {

namespace fs = std::filesystem;

namespace {

struct SlurmOptions {
  SlurmJobSpec spec;       // tasks, resources and extra lines of both jobs
  int gpus_per_task = -1;  // -1: 1 when the experiment may use a GPU and CUDA is built, else 0
  bool ignore_estimate = false;
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

// Prints the per-task estimate and throws when it exceeds --time (unless
// --ignore-estimate): before anything is written.
void check_estimate(const Experiment& e, const SlurmOptions& o, int gpus, std::ostream& out) {
  // The GPUs count only where the runs may use one (simulate.backend).
  const int gpus_used = e.simulate.backend == Backend::cpu ? 0 : gpus;
  const TaskEstimate estimate =
      estimate_task(e, o.spec.tasks, gpus_used, std::max(1, o.spec.cpus_per_task));
  out << "per task: " << describe(estimate) << std::endl;  // before a refusal on stderr
  if (!o.ignore_estimate) check_task_time(e, estimate, o.spec.time);
}

int write_slurm_jobs(const Experiment& e, const std::string& config_path, const SlurmOptions& o,
                     std::ostream& out) {
  SlurmJobSpec spec = o.spec;
  spec.name = e.name;
  spec.directory = fs::absolute(o.output ? *o.output : e.output).lexically_normal().string();
  spec.config = fs::absolute(config_path).lexically_normal().string();
  spec.tsgd = self_path();
  const std::string slurm_dir = spec.directory + "/slurm";
  if (spec.directory.find_first_of(" \t\n'\"") != std::string::npos)
    throw InputError("--output: " + spec.directory +
                     ": #SBATCH lines cannot hold a path with spaces or quotes");
  spec.gpus_per_task = o.gpus_per_task;
  if (spec.gpus_per_task < 0)
    spec.gpus_per_task =
        cuda_built() && e.simulate.enabled && e.simulate.backend != Backend::cpu ? 1 : 0;
  check_estimate(e, o, spec.gpus_per_task, out);
  const SlurmScripts scripts = slurm_scripts(spec);
  make_directories(slurm_dir);
  write_file_atomic(slurm_dir + "/array.sbatch", scripts.array);
  write_file_atomic(slurm_dir + "/merge.sbatch", scripts.merge);
  fs::permissions(slurm_dir + "/array.sbatch", fs::perms::owner_exec, fs::perm_options::add);
  fs::permissions(slurm_dir + "/merge.sbatch", fs::perms::owner_exec, fs::perm_options::add);
  out << "written: " << slurm_dir << "/array.sbatch (" << spec.tasks << " array tasks) and "
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

// A CLI11 check from one of slurm_script.h's (which throw std::invalid_argument).
template <class Check>
CLI::Validator slurm_format(Check check, const std::string& description) {
  return CLI::Validator(
      [check](std::string& text) -> std::string {
        try {
          check(text);
        } catch (const std::invalid_argument& error) {
          return error.what();
        }
        return "";
      },
      description);
}

const CLI::Validator kSlurmTime = slurm_format(parse_slurm_time, "TIME");
const CLI::Validator kSlurmMemory = slurm_format(check_slurm_memory, "SIZE");
const CLI::Validator kSlurmName = slurm_format(check_slurm_word, "NAME");

// An sbatch line for JOB, stored as its option (sbatch_option).
CLI::Validator sbatch_line(SlurmJob job) {
  return slurm_format([job](std::string& text) { text = sbatch_option(text, job); }, "LINE");
}

void add_array_options(CLI::App* cmd, SlurmOptions& o) {
  SlurmJobSpec& j = o.spec;
  cmd->add_option("--tasks", j.tasks, "array tasks (shards)")
      ->required()
      ->check(integer_at_least(1));
  cmd->add_option("--partition", j.partition, "Slurm partition of the array")->check(kSlurmName);
  cmd->add_option("--time", j.time,
                  "time limit per task (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS); refused "
                  "when the per-task estimate exceeds it")
      ->check(kSlurmTime);
  cmd->add_option("--gpus-per-task", o.gpus_per_task,
                  "GPUs per task (default: 1 when a GPU may be used)")
      ->check(integer_at_least(0));
  cmd->add_option("--cpus-per-task", j.cpus_per_task, "CPUs per task")->check(integer_at_least(0));
  cmd->add_option("--account", j.account, "Slurm account (both jobs)")->check(kSlurmName);
  cmd->add_option("--qos", j.qos, "quality of service (both jobs unless --merge-qos)")
      ->check(kSlurmName);
  cmd->add_option("--mem", j.mem, "memory per array task, as sbatch takes it (4G, 4000M)")
      ->check(kSlurmMemory);
  cmd->add_option("--sbatch", j.sbatch,
                  "an extra #SBATCH line for the array, e.g. --sbatch \"--constraint=a100\" or "
                  "--sbatch \"#SBATCH --mail-type=END\" (repeatable)")
      ->transform(sbatch_line(SlurmJob::array))
      ->allow_extra_args(false)  // one line per --sbatch: CONFIG may follow
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--ignore-estimate", o.ignore_estimate,
                "write the scripts even when the per-task estimate exceeds --time (on the CPU "
                "it may be ~3x pessimistic; on a GPU it assumes an H200 at the engine's target "
                "speed, not yet measured)");
}

void add_merge_options(CLI::App* cmd, SlurmJobSpec& j) {
  cmd->add_option("--merge-partition", j.merge_partition,
                  "partition of the merge job (default: --partition when the array requests no "
                  "GPU, else the cluster's default; \"\": the cluster's default)")
      ->check(slurm_format(
          [](const std::string& text) {
            if (!text.empty()) check_slurm_word(text);
          },
          "NAME"));
  cmd->add_option("--merge-time", j.merge_time, "time limit of the merge job")
      ->check(kSlurmTime)
      ->capture_default_str();
  cmd->add_option("--merge-mem", j.merge_mem, "memory of the merge job (default: the cluster's)")
      ->check(kSlurmMemory);
  cmd->add_option("--merge-qos", j.merge_qos,
                  "quality of service of the merge job (default: --qos)")
      ->check(kSlurmName);
  cmd->add_option("--merge-sbatch", j.merge_sbatch,
                  "an extra #SBATCH line for the merge job (repeatable; it requests no GPU "
                  "unless one says so)")
      ->transform(sbatch_line(SlurmJob::merge))
      ->allow_extra_args(false)  // one line per --sbatch: CONFIG may follow
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

class SlurmCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "slurm",
        "write (and submit) an sbatch job array, one shard per task, and its merge job; prints "
        "the estimated time per task and refuses a --time it exceeds");
    cmd->add_option("CONFIG", config_path_, "experiment configuration (JSON)")->required();
    add_array_options(cmd, o_);
    add_merge_options(cmd, o_.spec);
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
