// `tsgd run CONFIG`: SGD runs (GPU if present, else CPU), ODE and statistics;
// with --shard I/N one slice of the sweep.
#include <cstdio>
#include <iostream>

#include "cli/command.h"

namespace tsgd::cli {

namespace {

class RunCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd =
        app.add_subcommand("run", "SGD runs (GPU if present, else CPU), ODE and statistics");
    add_experiment_arguments(cmd, arguments_);
    cmd->add_flag("--plot", arguments_.options.plot,
                  "draw the figures (scripts/plot.py) at the end");
    cmd->add_option("--shard", shard_,
                    "run slice I of N (0 <= I < N) into DIR/shard-I-of-N; join with tsgd merge");
    cmd->add_option("--backend", backend_, "engine: auto, cpu or cuda")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    return cmd;
  }

  int run(const std::string& command_line) override {
    RunOptions& o = arguments_.options;
    o.command_line = command_line;
    if (!shard_.empty()) parse_shard(o);
    const Experiment experiment = load_config(arguments_.config_path);
    if (backend_ == "cpu") o.backend = Backend::cpu;
    if (backend_ == "cuda") o.backend = Backend::cuda;
    if (backend_ == "auto") o.backend = Backend::automatic;
    return run_experiment(experiment, o, std::cout);
  }

  bool saves_its_work() const override { return true; }

 private:
  void parse_shard(RunOptions& o) const {
    int index = -1, count = 0;
    char tail = 0;
    if (std::sscanf(shard_.c_str(), "%d/%d%c", &index, &count, &tail) != 2 || count < 1 ||
        index < 0 || index >= count)
      throw InputError("--shard " + shard_ + ": expected I/N with 0 <= I < N");
    o.shard_index = index;
    o.shard_count = count;
  }

  ExperimentArguments arguments_;
  std::string shard_, backend_;
};

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace tsgd::cli
