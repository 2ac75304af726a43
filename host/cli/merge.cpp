// `tsgd merge DIR`: join the shards of a sharded run and recompute the statistics.
#include "experiment/merge.h"

#include <iostream>

#include "cli/command.h"

namespace tsgd::cli {

namespace {

class MergeCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "merge", "join the shards of a sharded run and recompute the statistics");
    cmd->add_option("DIR", dir_, "output directory holding shard-I-of-N subdirectories")
        ->required();
    cmd->add_flag("--quiet,-q", quiet_, "no summary");
    cmd->add_flag(
        "--force", force_,
        "replace the results of another configuration in DIR; on the same one, discard DIR's own "
        "work units and results first");
    return cmd;
  }

  int run(const std::string& command_line) override {
    return merge_shards(dir_, force_, quiet_, command_line, std::cout);
  }

 private:
  std::string dir_;
  bool quiet_ = false, force_ = false;
};

}  // namespace

std::unique_ptr<Command> make_merge_command() { return std::make_unique<MergeCommand>(); }

}  // namespace tsgd::cli
