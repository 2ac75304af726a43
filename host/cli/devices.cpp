// `tsgd devices`: the visible GPUs, or why there are none (exit status 1).
#include <cstdio>

#include "cli/command.h"
#include "cuda/cuda_engine.h"

namespace tsgd::cli {

namespace {

class DevicesCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    return app.add_subcommand("devices", "list the visible GPUs, or say why there are none");
  }

  int run(const std::string&) override {
    std::string why;
    const auto gpus = list_gpus(&why);
    if (gpus.empty()) {
      std::printf("no usable GPU: %s\n", why.c_str());
      return 1;
    }
    for (const auto& g : gpus)
      std::printf("%d: %s, %.1f GiB, compute capability %d.%d, %d SMs\n", g.index, g.name.c_str(),
                  g.memory_bytes / 1073741824.0, g.major, g.minor, g.multiprocessors);
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> make_devices_command() { return std::make_unique<DevicesCommand>(); }

}  // namespace tsgd::cli
