// tsgd: the command-line interface. Parses the command line, runs the command
// given (one file each, command.h), and is the only place that turns
// exceptions into exit statuses: 2 for bad input (configuration, arguments),
// 1 for other failures, 128 + signal when interrupted.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli/command.h"
#include "experiment/pipeline.h"
#include "experiment/version.h"

namespace {

extern "C" void on_stop_signal(int sig) {
  tsgd::g_stop_signal.store(sig);
  tsgd::g_stop_requested.store(true);
}

std::string join_arguments(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

// A first word that is no command (CLI11 would only say "A subcommand is required").
bool is_unknown_command(CLI::App& app, int argc, char** argv) {
  if (argc <= 1 || argv[1][0] == '-') return false;
  std::string names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == argv[1]) return false;
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  std::fprintf(stderr, "tsgd: error: unknown command '%s' (commands: %s; see tsgd --help)\n",
               argv[1], names.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // First of all: a SIGINT/SIGTERM at any moment stops cleanly (exit 128 + signal).
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  CLI::App app{"tsgd: online SGD of two-layer teacher-student networks, simulated and in theory"};
  app.set_version_flag("--version",
                       std::string("tsgd ") + tsgd::version() + " (" + tsgd::git_commit() + ")");
  app.require_subcommand(1);

  using namespace tsgd::cli;
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(make_run_command());
  commands.push_back(make_ode_command());
  commands.push_back(make_fixed_point_command());
  commands.push_back(make_validate_command());
  commands.push_back(make_merge_command());
  commands.push_back(make_slurm_command());
  commands.push_back(make_devices_command());
  std::vector<CLI::App*> subcommands;
  for (auto& c : commands) subcommands.push_back(c->add_to(app));

  if (is_unknown_command(app, argc, argv)) return 2;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  Command* chosen = nullptr;
  for (std::size_t i = 0; i < commands.size(); ++i)
    if (*subcommands[i]) chosen = commands[i].get();
  if (!chosen->saves_its_work()) {
    // Only run and ode save their work and stop cleanly; the rest stop at once.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (tsgd::g_stop_requested.load()) std::raise(tsgd::g_stop_signal.load());
  }
  try {
    return chosen->run(join_arguments(argc, argv));
  } catch (const InputError& e) {
    std::fprintf(stderr, "tsgd: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tsgd: error: %s\n", e.what());
    return 1;
  }
}
