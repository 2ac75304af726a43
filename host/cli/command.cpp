// What the commands share. See command.h.
#include "cli/command.h"

namespace tsgd::cli {

void add_experiment_arguments(CLI::App* cmd, ExperimentArguments& a) {
  cmd->add_option("CONFIG", a.config_path, "experiment configuration (JSON)")->required();
  cmd->add_option("--output,-o", a.options.output,
                  "output directory (default: the config's \"output\")");
  cmd->add_option("--threads,-j", a.options.threads, "CPU threads (default: all cores)")
      ->check(integer_at_least(0));
  cmd->add_flag("--quiet,-q", a.options.quiet, "no progress or summary");
  cmd->add_flag(
      "--force", a.options.force,
      "replace a directory of another configuration; on the same one, run discards its work "
      "units and results (start over), ode its ODE units, fixed-point nothing (only tsgd's own "
      "files, by name)");
}

Experiment load_config(const std::string& path) {
  try {
    return load_experiment(path);
  } catch (const std::exception& e) {
    throw InputError(e.what());
  }
}

CLI::Validator integer_at_least(long long lo) {
  return CLI::Validator(
      [lo](std::string& text) -> std::string {
        std::size_t used = 0;
        long long value = 0;
        try {
          value = std::stoll(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || value < lo)
          return "expected an integer >= " + std::to_string(lo) + ", got '" + text + "'";
        return "";
      },
      "INT>=" + std::to_string(lo));
}

}  // namespace tsgd::cli
