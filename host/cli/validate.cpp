// `tsgd validate CONFIG`: checks a configuration and prints the size of its
// grid, its work, memory and CPU time, the GPUs and waves it would use, and
// exits 1 with the reason when `tsgd run` would refuse it on this machine.
#include <cstdio>

#include "cli/command.h"
#include "core/threads.h"
#include "cuda/cuda_engine.h"
#include "experiment/calibration.h"
#include "experiment/file_io.h"
#include "experiment/plan.h"
#include "experiment/resources.h"

namespace tsgd::cli {

namespace {

struct Shard {
  int index = -1, count = 0;  // count 0: the whole experiment
};

void print_size(const Experiment& e, const Shard& shard) {
  const auto runs = static_cast<double>(e.points.size()) * e.seeds.count;
  const CpuCalibrationReport calibration = calibrate_cpu_rule(e);
  const int threads = thread_count(0);
  const ResourceEstimate one = estimate_resources(e, 1, shard.index, shard.count);
  const ResourceEstimate r = estimate_resources(e, threads, shard.index, shard.count);
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
      "  memory        %.3g MB of weights per run in float64 (largest point); %.3g MB of records "
      "at once\n",
      r.weights_bytes / 1e6, r.results_bytes / 1e6);
  if (r.data_bytes > 0)
    std::printf(
        "  data          %.3g MB of real inputs (data.inputs), held once; about 3x that "
        "while the files are read\n",
        r.data_bytes / 1e6);
  if (!e.simulate.enabled) {
    std::printf("  SGD time      no SGD runs (simulate.enabled is false); the ODE's below\n");
    return;
  }
  std::printf(
      "  SGD time      %sabout %s on one thread, %s on this machine's %d\n",
      shard.count > 0
          ? ("shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count) + ": ")
                .c_str()
          : "",
      format_duration(one.cpu_seconds).c_str(), format_duration(r.cpu_seconds).c_str(), threads);
  std::printf(
      "                measured: the CPU engine on %d of %d record class(es), %.2f s of probe; "
      "%.2fx the rule of thumb\n",
      calibration.shapes, calibration.shapes_total, calibration.probe_seconds,
      calibration.median_factor);
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

int validate(const Experiment& e, const Shard& shard) {
  print_size(e, shard);
  std::vector<double> free_bytes;  // of the GPUs tsgd run would use
  if (e.simulate.enabled && e.simulate.backend == Backend::cpu)
    std::printf("  GPUs          not used (simulate.backend is \"cpu\")\n");
  else if (e.simulate.enabled)
    print_gpus(e, free_bytes);
  if (e.ode.enabled) {
    const OdeTimeEstimate ode = estimate_ode_time(e);
    const int threads = thread_count(0);
    std::printf("  ODE           enabled: about %s on one thread, %s on this machine's %d\n",
                format_duration(ode.seconds).c_str(),
                format_duration(ode.seconds / std::min<double>(threads, e.points.size())).c_str(),
                threads);
    std::printf(
        "                measured: %d of %d ODE class(es) integrated part of the way, %.2f s "
        "of probe, the rest by a model of the adaptive step (docs/benchmarks.md)\n",
        ode.classes, ode.classes_total, ode.probe_seconds);
  } else {
    std::printf("  ODE           disabled\n");
  }
  std::printf("  output        %s\n", e.output.c_str());
  // What `tsgd run` would refuse on this machine (all cores, its GPUs).
  if (e.simulate.enabled && e.simulate.backend == Backend::cuda && free_bytes.empty()) {
    std::printf(
        "  this machine  tsgd run would refuse it: simulate.backend is \"cuda\" and no GPU can be "
        "used\n");
    return 1;
  }
  try {
    check_resources(e, thread_count(0), free_bytes, shard.index, shard.count);
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
    cmd->add_option("--shard", shard_text_,
                    "estimate slice I of N (0 <= I < N) only, as tsgd run --shard I/N runs it");
    return cmd;
  }

  int run(const std::string&) override {
    Shard shard;
    if (!shard_text_.empty()) {
      char tail = 0;
      if (std::sscanf(shard_text_.c_str(), "%d/%d%c", &shard.index, &shard.count, &tail) != 2 ||
          shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
        throw InputError("--shard " + shard_text_ + ": expected I/N with 0 <= I < N");
    }
    return validate(load_config(config_path_), shard);
  }

 private:
  std::string config_path_, shard_text_;
};

}  // namespace

std::unique_ptr<Command> make_validate_command() { return std::make_unique<ValidateCommand>(); }

}  // namespace tsgd::cli
