// The commands of the tsgd executable, one file each (run, ode, fixed-point,
// validate, merge, slurm, devices). A command registers its subcommand and
// options with CLI11 and runs when it is the one given. Only main.cpp turns
// exceptions into exit statuses: InputError (bad configuration or arguments)
// is 2, any other failure 1.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "experiment/config.h"
#include "experiment/pipeline.h"

namespace tsgd::cli {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Command {
 public:
  virtual ~Command() = default;
  // Adds the subcommand and its options to APP; returns it.
  virtual CLI::App* add_to(CLI::App& app) = 0;
  // Runs the command after parsing; COMMAND_LINE for the manifest. Returns the exit status.
  virtual int run(const std::string& command_line) = 0;
  // Whether SIGINT/SIGTERM stop it cleanly after saving its work (run, ode);
  // the other commands stop at once.
  virtual bool saves_its_work() const { return false; }
};

std::unique_ptr<Command> make_run_command();
std::unique_ptr<Command> make_ode_command();
std::unique_ptr<Command> make_fixed_point_command();
std::unique_ptr<Command> make_validate_command();
std::unique_ptr<Command> make_merge_command();
std::unique_ptr<Command> make_slurm_command();
std::unique_ptr<Command> make_devices_command();

// The CONFIG argument and the flags that run, ode and fixed-point share.
struct ExperimentArguments {
  std::string config_path;
  RunOptions options;
};
void add_experiment_arguments(CLI::App* command, ExperimentArguments& arguments);

// The configuration at PATH; any error reading or checking it is an InputError.
Experiment load_config(const std::string& path);

// An integer option of at least LO, with a message that says so (CLI11's own
// numeric checks print their range up to the largest double).
CLI::Validator integer_at_least(long long lo);

}  // namespace tsgd::cli
