// `tsgd ode CONFIG`: the ODEs only (the SGD runs already in the output
// directory stay in its results).
#include <iostream>

#include "cli/command.h"

namespace tsgd::cli {

namespace {

class OdeCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand("ode", "integrate the ODEs only");
    add_experiment_arguments(cmd, arguments_);
    return cmd;
  }

  int run(const std::string& command_line) override {
    arguments_.options.command_line = command_line;
    Experiment experiment = load_config(arguments_.config_path);
    if (!experiment.ode.enabled)
      throw InputError(arguments_.config_path + ": ode.enabled is false");
    experiment.simulate.enabled = false;
    arguments_.options.ode_only = true;
    return run_experiment(experiment, arguments_.options, std::cout);
  }

  bool saves_its_work() const override { return true; }

 private:
  ExperimentArguments arguments_;
};

}  // namespace

std::unique_ptr<Command> make_ode_command() { return std::make_unique<OdeCommand>(); }

}  // namespace tsgd::cli
