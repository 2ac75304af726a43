// `tsgd validate CONFIG`: checks a configuration and prints the size of its
// grid, its work, memory and CPU time, the GPUs and waves it would use, and
// exits 1 with the reason when `tsgd run` would refuse it on this machine.
#include <cstdio>

#include "cli/command.h"
#include "core/threads.h"
#include "cuda/cuda_engine.h"
#include "experiment/file_io.h"
#include "experiment/plan.h"
#include "experiment/resources.h"

namespace tsgd::cli {

namespace {

void print_size(const Experiment& e) {
  const auto runs = static_cast<double>(e.points.size()) * e.seeds.count;
  const ResourceEstimate r = estimate_resources(e, 1);
  std::printf("%s: valid\n", e.name.c_str());
  std::printf("  grid points   %zu", e.points.size());
  if (!e.swept.empty()) {
    std::printf("  (swept:");
    for (const auto& k : e.swept) std::printf(" %s", k.c_str());
    std::printf(")");
  }
  std::printf("\n  seeds         %d (first %llu)\n", e.seeds.count,
              static_cast<unsigned long long>(e.seeds.first));
  std::printf("  runs          %.0f\n", runs);
  std::printf("  work          %.3g run-steps (SGD steps summed over runs)%s\n", plan_run_steps(e),
              e.simulate.enabled ? "" : " - simulation disabled");
  std::printf(
      "  memory        %.3g MB of weights per run in float64 (largest point); %.3g MB of records\n",
      r.weights_bytes / 1e6, r.results_bytes / 1e6);
  std::printf("  CPU time      about %.3g s on one thread (CPU engine estimate)\n", r.cpu_seconds);
}

// The GPUs `tsgd run` would use and the waves it would make; FREE_BYTES gets their free memory.
void print_gpus(const Experiment& e, std::vector<double>& free_bytes) {
  const Precision precision = engine_precision(e.simulate, true);
  std::string gpus, why;
  for (const auto& g : list_gpus(&why)) {
    free_bytes.push_back(static_cast<double>(g.free_bytes));
    gpus += (gpus.empty() ? "" : ", ") + std::to_string(g.index) + ": " + g.name + " (" +
            format_bytes(static_cast<double>(g.free_bytes)) + " free)";
  }
  if (free_bytes.empty())
    gpus =
        cuda_built() ? "none usable: " + why : "none: this tsgd was built without the CUDA engine";
  const GpuWaves sizes = plan_gpu_waves(e, {}, precision);  // no GPU needed
  const double runs = static_cast<double>(e.points.size()) * e.seeds.count;
  std::printf("  GPU memory    %s per run in %s (largest point); %s for all runs at once\n",
              format_bytes(sizes.run_bytes).c_str(), to_string(precision),
              format_bytes(sizes.run_bytes * runs).c_str());
  std::printf("  GPUs          %s\n", gpus.c_str());
  if (free_bytes.empty()) return;
  try {
    const GpuWaves w = plan_gpu_waves(e, free_bytes, precision);
    std::printf(
        "  GPU waves     %zu (largest %zu runs, at most %.0f%% of each GPU's free memory)\n",
        w.waves, w.largest_wave, 100 * kGpuMemoryShare);
  } catch (const std::exception& error) {
    std::printf("  GPU waves     none: %s\n", error.what());
  }
}

int validate(const Experiment& e) {
  print_size(e);
  std::vector<double> free_bytes;  // of the GPUs tsgd run would use
  if (e.simulate.enabled && e.simulate.backend == Backend::cpu)
    std::printf("  GPUs          not used (simulate.backend is \"cpu\")\n");
  else if (e.simulate.enabled)
    print_gpus(e, free_bytes);
  std::printf("  ODE           %s\n", e.ode.enabled ? "enabled" : "disabled");
  std::printf("  output        %s\n", e.output.c_str());
  // What `tsgd run` would refuse on this machine (all cores, its GPUs).
  if (e.simulate.enabled && e.simulate.backend == Backend::cuda && free_bytes.empty()) {
    std::printf(
        "  this machine  tsgd run would refuse it: simulate.backend is \"cuda\" and no GPU can be "
        "used\n");
    return 1;
  }
  try {
    check_resources(e, thread_count(0), free_bytes);
  } catch (const std::exception& error) {
    std::printf("  this machine  tsgd run would refuse it: %s\n", error.what());
    return 1;
  }
  return 0;
}

class ValidateCommand final : public Command {
 public:
  CLI::App* add_to(CLI::App& app) override {
    CLI::App* cmd =
        app.add_subcommand("validate", "check a configuration and print the size of its grid");
    cmd->add_option("CONFIG", config_path_, "experiment configuration (JSON)")->required();
    return cmd;
  }

  int run(const std::string&) override { return validate(load_config(config_path_)); }

 private:
  std::string config_path_;
};

}  // namespace

std::unique_ptr<Command> make_validate_command() { return std::make_unique<ValidateCommand>(); }

}  // namespace tsgd::cli
