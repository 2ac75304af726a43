// `tsgd merge DIR`: join the shards of a sharded run and recompute the statistics;
// `tsgd merge OUT DIR1 DIR2 ...`: join result directories of one experiment.
#include "experiment/merge.h"

#include <iostream>
#include <optional>
#include <stdexcept>
#include <vector>

#include "cli/command.h"
#include "experiment/join.h"

namespace tsgd::cli {

namespace {

class MergeCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "merge",
        "join the shards of a sharded run (tsgd merge DIR), or result directories of one "
        "experiment computed separately, with disjoint seeds or grid points (tsgd merge OUT "
        "DIR1 DIR2 ...), and recompute the statistics");
    cmd->add_option("DIR", dir_,
                    "output directory holding shard-I-of-N subdirectories; with DIRS: the new "
                    "directory of the joined experiment")
        ->required();
    cmd->add_option("DIRS", parts_,
                    "result directories to join into DIR: their configurations may differ only "
                    "in their seeds (contiguous ranges) or in the values of one model or "
                    "training key, unless --config gives the joined configuration");
    cmd->add_option("--config", config_,
                    "with DIRS: the joined configuration (every run of each directory must be "
                    "one of its runs)");
    cmd->add_flag("--quiet,-q", quiet_, "no summary");
    cmd->add_flag(
        "--force", force_,
        "replace the results of another configuration in DIR; on the same one, discard DIR's own "
        "work units and results first");
    return cmd;
  }

  int run(const std::string& command_line) override {
    if (parts_.empty()) {
      if (config_) throw std::invalid_argument("--config: only with directories to join (DIRS)");
      return merge_shards(dir_, force_, quiet_, command_line, std::cout);
    }
    return join_directories(dir_, parts_, config_, force_, quiet_, command_line, std::cout);
  }

 private:
  std::string dir_;
  std::vector<std::string> parts_;
  std::optional<std::string> config_;
  bool quiet_ = false, force_ = false;
};

}  // namespace

std::unique_ptr<Command> make_merge_command() { return std::make_unique<MergeCommand>(); }

}  // namespace tsgd::cli
