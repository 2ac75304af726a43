// tsgd: the command-line interface. Only this file turns exceptions into exit
// codes: 2 for bad input (configuration, arguments), 1 for other failures,
// 128 + signal when interrupted.
#include <omp.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "experiment/config.h"
#include "experiment/file_io.h"
#include "experiment/ode_stage.h"
#include "experiment/runner.h"
#include "experiment/slurm.h"
#include "experiment/version.h"
#include "cuda/cuda_engine.h"

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

// An integer option of at least LO, with a message that says so (CLI11's own
// numeric checks print their range up to the largest double).
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

int validate(const tsgd::Experiment& e) {
  const auto runs = static_cast<double>(e.points.size()) * e.seeds.count;
  const double run_steps = tsgd::plan_run_steps(e);
  const tsgd::ResourceEstimate r = tsgd::estimate_resources(e, 1);
  std::vector<double> free_bytes;  // of the GPUs tsgd run would use
  std::printf("%s: valid\n", e.name.c_str());
  std::printf("  grid points   %zu", e.points.size());
  if (!e.swept.empty()) {
    std::printf("  (swept:");
    for (const auto& k : e.swept) std::printf(" %s", k.c_str());
    std::printf(")");
  }
  std::printf("\n  seeds         %d (first %llu)\n", e.seeds.count, static_cast<unsigned long long>(e.seeds.first));
  std::printf("  runs          %.0f\n", runs);
  std::printf("  work          %.3g run-steps (SGD steps summed over runs)%s\n", run_steps,
              e.simulate.enabled ? "" : " - simulation disabled");
  std::printf("  memory        %.3g MB of weights per run in float64 (largest point); %.3g MB of records\n",
              r.weights_bytes / 1e6, r.results_bytes / 1e6);
  std::printf("  CPU time      about %.3g s on one thread (CPU engine estimate)\n", r.cpu_seconds);
  if (e.simulate.enabled && e.simulate.backend == tsgd::Backend::cpu) {
    std::printf("  GPUs          not used (simulate.backend is \"cpu\")\n");
  } else if (e.simulate.enabled) {
    const tsgd::Precision precision = e.simulate.precision ? *e.simulate.precision : tsgd::Precision::float32;
    std::string gpus;
    std::string why;
    for (const auto& g : tsgd::list_gpus(&why)) {
      free_bytes.push_back(static_cast<double>(g.free_bytes));
      gpus += (gpus.empty() ? "" : ", ") + std::to_string(g.index) + ": " + g.name + " (" +
              tsgd::format_gigabytes(static_cast<double>(g.free_bytes)) + " free)";
    }
    if (free_bytes.empty())
      gpus = tsgd::cuda_built() ? "none usable: " + why : "none: this tsgd was built without the CUDA engine";
    const tsgd::GpuWaves sizes = tsgd::plan_gpu_waves(e, {}, precision);  // no GPU needed
    const double all_bytes = sizes.run_bytes * runs;
    std::printf("  GPU memory    %.3g MB per run in %s (largest point); %.3g %s for all runs at once\n",
                sizes.run_bytes / 1e6, tsgd::to_string(precision), all_bytes >= 1e9 ? all_bytes / 1e9 : all_bytes / 1e6,
                all_bytes >= 1e9 ? "GB" : "MB");
    std::printf("  GPUs          %s\n", gpus.c_str());
    if (!free_bytes.empty()) {
      try {
        const tsgd::GpuWaves w = tsgd::plan_gpu_waves(e, free_bytes, precision);
        std::printf("  GPU waves     %zu (largest %zu runs, at most %.0f%% of each GPU's free memory)\n", w.waves,
                    w.largest_wave, 100 * tsgd::kGpuMemoryShare);
      } catch (const std::exception& error) {
        std::printf("  GPU waves     none: %s\n", error.what());
      }
    }
  }
  std::printf("  ODE           %s\n", e.ode.enabled ? "enabled" : "disabled");
  std::printf("  output        %s\n", e.output.c_str());
  // What `tsgd run` would refuse on this machine (all cores, its GPUs).
  if (e.simulate.enabled && e.simulate.backend == tsgd::Backend::cuda && free_bytes.empty()) {
    std::printf("  this machine  tsgd run would refuse it: simulate.backend is \"cuda\" and no GPU can be used\n");
    return 1;
  }
  try {
    tsgd::check_resources(e, omp_get_max_threads(), free_bytes);
  } catch (const std::exception& error) {
    std::printf("  this machine  tsgd run would refuse it: %s\n", error.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // First of all: a SIGINT/SIGTERM at any moment stops cleanly (exit 128 + signal).
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  CLI::App app{"tsgd: online SGD of two-layer teacher-student networks, simulated and in theory"};
  app.set_version_flag("--version", std::string("tsgd ") + tsgd::version() + " (" + tsgd::git_commit() + ")");
  app.require_subcommand(1);

  tsgd::RunOptions options;
  std::string config_path, backend;

  auto add_run_flags = [&](CLI::App* cmd) {
    cmd->add_option("CONFIG", config_path, "experiment configuration (JSON)")->required();
    cmd->add_option("--output,-o", options.output, "output directory (default: the config's \"output\")");
    cmd->add_option("--threads,-j", options.threads, "CPU threads (default: all cores)")->check(integer_at_least(0));
    cmd->add_flag("--quiet,-q", options.quiet, "no progress or summary");
    cmd->add_flag("--force", options.force,
                  "replace a directory of another configuration; on the same one, run discards its work "
                  "units and results (start over), ode its ODE units, fixed-point nothing (only tsgd's own "
                  "files, by name)");
  };
  CLI::App* run = app.add_subcommand("run", "SGD runs (GPU if present, else CPU), ODE and statistics");
  add_run_flags(run);
  std::string shard;
  run->add_flag("--plot", options.plot, "draw the figures (scripts/plot.py) at the end");
  run->add_option("--shard", shard, "run slice I of N (0 <= I < N) into DIR/shard-I-of-N; join with tsgd merge");
  run->add_option("--backend", backend, "engine: auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  CLI::App* ode = app.add_subcommand("ode", "integrate the ODEs only");
  add_run_flags(ode);
  CLI::App* fixed = app.add_subcommand("fixed-point", "Newton on the ODE from its end state: eps_g*, stability");
  add_run_flags(fixed);
  CLI::App* validate_cmd = app.add_subcommand("validate", "check a configuration and print the size of its grid");
  validate_cmd->add_option("CONFIG", config_path, "experiment configuration (JSON)")->required();
  CLI::App* merge = app.add_subcommand("merge", "join the shards of a sharded run and recompute the statistics");
  std::string merge_dir;
  merge->add_option("DIR", merge_dir, "output directory holding shard-I-of-N subdirectories")->required();
  merge->add_flag("--quiet,-q", options.quiet, "no summary");
  merge->add_flag("--force", options.force,
                  "replace the results of another configuration in DIR; on the same one, discard DIR's own "
                  "work units and results first");
  CLI::App* slurm = app.add_subcommand("slurm", "write (and submit) an sbatch job array and its merge job");
  tsgd::SlurmOptions slurm_options;
  slurm->add_option("CONFIG", config_path, "experiment configuration (JSON)")->required();
  slurm->add_option("--tasks", slurm_options.tasks, "array tasks (shards)")->required()->check(integer_at_least(1));
  slurm->add_option("--partition", slurm_options.partition, "Slurm partition");
  slurm->add_option("--time", slurm_options.time, "time limit per task (Slurm format)");
  slurm->add_option("--gpus-per-task", slurm_options.gpus_per_task, "GPUs per task (default: 1 when a GPU may be used)")
      ->check(integer_at_least(0));
  slurm->add_option("--cpus-per-task", slurm_options.cpus_per_task, "CPUs per task")->check(integer_at_least(0));
  slurm->add_option("--output,-o", slurm_options.output, "output directory (default: the config's \"output\")");
  slurm->add_flag("--submit", slurm_options.submit, "submit both jobs with sbatch and print their ids");
  CLI::App* devices = app.add_subcommand("devices", "list the visible GPUs, or say why there are none");

  // A first word that is no command (CLI11 would only say "A subcommand is required").
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::fprintf(stderr, "tsgd: error: unknown command '%s' (commands: %s; see tsgd --help)\n", argv[1],
                   names.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (!*run && !*ode) {
    // Only run and ode save their work and stop cleanly; the rest stop at once.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (tsgd::g_stop_requested.load()) std::raise(tsgd::g_stop_signal.load());
  }
  try {
    if (*devices) {
      std::string why;
      const auto gpus = tsgd::list_gpus(&why);
      if (gpus.empty()) {
        std::printf("no usable GPU: %s\n", why.c_str());
        return 1;
      }
      for (const auto& g : gpus)
        std::printf("%d: %s, %.1f GiB, compute capability %d.%d, %d SMs\n", g.index, g.name.c_str(),
                    g.memory_bytes / 1073741824.0, g.major, g.minor, g.multiprocessors);
      return 0;
    }
    options.command_line = join_arguments(argc, argv);
    if (*merge) return tsgd::merge_shards(merge_dir, options, std::cout);
    if (!shard.empty()) {
      int index = -1, count = 0;
      char tail = 0;
      if (std::sscanf(shard.c_str(), "%d/%d%c", &index, &count, &tail) != 2 || count < 1 || index < 0 || index >= count) {
        std::fprintf(stderr, "tsgd: error: --shard %s: expected I/N with 0 <= I < N\n", shard.c_str());
        return 2;
      }
      options.shard_index = index;
      options.shard_count = count;
    }
    tsgd::Experiment experiment;
    try {
      experiment = tsgd::load_experiment(config_path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tsgd: error: %s\n", e.what());
      return 2;
    }
    if (*validate_cmd) return validate(experiment);
    if (*slurm) return tsgd::write_slurm_jobs(experiment, config_path, slurm_options, std::cout);

    if (*fixed) {
      if (!experiment.ode.enabled) {
        std::fprintf(stderr, "tsgd: error: %s: ode.enabled is false\n", config_path.c_str());
        return 2;
      }
      return tsgd::run_fixed_points(experiment, options, std::cout);
    }
    options.ode_only = static_cast<bool>(*ode);
    if (options.ode_only) {
      if (!experiment.ode.enabled) {
        std::fprintf(stderr, "tsgd: error: %s: ode.enabled is false\n", config_path.c_str());
        return 2;
      }
      experiment.simulate.enabled = false;
    }
    if (backend == "cpu") options.backend = tsgd::Backend::cpu;
    if (backend == "cuda") options.backend = tsgd::Backend::cuda;
    if (backend == "auto") options.backend = tsgd::Backend::automatic;
    return tsgd::run_experiment(experiment, options, std::cout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tsgd: error: %s\n", e.what());
    return 1;
  }
}
