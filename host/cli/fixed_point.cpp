// `tsgd fixed-point CONFIG`: Newton on the ODE from its end state at
// training.alpha for every grid point: eps_g* and its stability
// (experiment/fixed_point_stage.h).
#include <iostream>

#include "cli/command.h"
#include "core/threads.h"
#include "experiment/fixed_point_stage.h"
#include "experiment/output_directory.h"

namespace tsgd::cli {

namespace {

class FixedPointCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand("fixed-point",
                                       "Newton on the ODE from its end state: eps_g*, stability");
    add_experiment_arguments(cmd, arguments_);
    return cmd;
  }

  int run(const std::string&) override {
    Experiment e = load_config(arguments_.config_path);
    if (!e.ode.enabled) throw InputError(arguments_.config_path + ": ode.enabled is false");
    const RunOptions& o = arguments_.options;
    const std::string dir = o.output ? *o.output : e.output;
    resolve_rng_transform_from_directory(e, dir);
    nlohmann::json resolved = e.resolved;
    resolved["output"] = dir;
    // Refuses another experiment's directory; --force replaces it, but never
    // discards the same experiment's runs.
    prepare_output_directory(dir, resolved, o.force, ForceScope::nothing);
    const std::vector<PointFixedPoint> points = fixed_points_of(e, thread_count(o.threads));
    write_fixed_points(dir, points);
    print_fixed_points(std::cout, e, points, dir);
    return 0;
  }

 private:
  ExperimentArguments arguments_;
};

}  // namespace

std::unique_ptr<Command> make_fixed_point_command() {
  return std::make_unique<FixedPointCommand>();
}

}  // namespace tsgd::cli
